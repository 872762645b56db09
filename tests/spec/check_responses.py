#!/usr/bin/python3
"""Validates real berthd responses against api-spec/openapi.yaml.

Each sample request goes through the `exchange` program (the real engine,
server and routes_router() in-process, see tests/fuzz/wire.c). The response
must use a status the spec documents for that operation (unknown routes:
components/responses/PageNotFound), carry every required header with an
allowed value, and have a body that validates against the documented schema
(each line of an NDJSON stream on its own). The validator covers the JSON
Schema subset the spec uses.
"""

import argparse
import json
import re
import subprocess
import sys
import time

import yaml

# Connection: close makes the server end the exchange (exchange.c never half-closes).
CLI = ("Host: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n"
       "Connection: close\r\n")
VERSION_RE = re.compile(r"^/v[0-9.]+(?=/)")


def req(method, target, extra=""):
    return f"{method} {target} HTTP/1.1\r\n{CLI}{extra}\r\n".encode()


def samples():
    now = int(time.time())
    return [
        # (request bytes, expected status)
        (req("GET", "/_ping"), 200),
        (req("HEAD", "/_ping"), 200),
        (req("GET", "/v1.24/_ping"), 200),
        (req("HEAD", "/v1.47/_ping"), 200),
        (req("GET", "/version"), 200),
        (req("GET", "/v1.47/version"), 200),
        (req("GET", "/info"), 200),
        (req("GET", "/v1.44/info"), 200),
        (req("GET", "/system/df"), 200),
        (req("GET", "/v1.47/system/df?type=image&type=volume"), 200),
        (req("GET", f"/events?since=1&until={now}"), 200),
        (req("GET", "/v1.47/events?since=1700000000&until=1700000009&filters=%7B%22type%22%3A"
                    "%7B%22container%22%3Atrue%7D%7D"), 200),
        (req("GET", "/events?until=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"), 200),
        (req("GET", "/events?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D"), 400),
        (req("GET", "/events?filters=notjson"), 400),
        (req("GET", "/events?since=yesterday"), 400),
        (req("GET", "/system/df?type=bogus"), 400),
        (req("GET", "/v1.99/info"), 400),
        (req("GET", "/v1.12/version"), 400),
        (req("GET", "/nope"), 404),
        (req("POST", "/_ping", "Content-Length: 0\r\n"), 404),
        (req("HEAD", "/version"), 404),
        (req("GET", "/v1.99/nope"), 404),
        (req("GET", "/version", "Content-Length: 100000\r\n"), 413),
        (req("GET", "/_ping", "X-Big: " + "a" * 9000 + "\r\n"), 431),
        (b"GET /_ping HTTP/1.1\r\nHost x\r\nConnection: close\r\n\r\n", 400),
    ]


# ---- HTTP ------------------------------------------------------------------

def parse_response(raw, method):
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no end of headers")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.1 (\d{3}) ", lines[0])
    if not m:
        raise ValueError(f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(m.group(1))
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            body += rest[:n]
            rest = rest[n + 2:]
    else:
        body = rest[:int(headers.get("content-length", "0"))]
    return status, headers, body


# ---- schema subset -----------------------------------------------------------

class Spec:
    def __init__(self, doc):
        self.doc = doc

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            node = target
        return node

    def validate(self, value, schema, where, errors):
        schema = self.deref(schema)
        if value is None:
            if not schema.get("nullable"):
                errors.append(f"{where}: null is not allowed")
            return
        if "oneOf" in schema:
            ok = 0
            for sub in schema["oneOf"]:
                sub_errors = []
                self.validate(value, sub, where, sub_errors)
                ok += not sub_errors
            if ok != 1:
                errors.append(f"{where}: matches {ok} of the oneOf schemas, not 1")
            return
        t = schema.get("type")
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
        }
        if t and not checks[t](value):
            errors.append(f"{where}: {json.dumps(value)[:60]} is not of type {t}")
            return
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    errors.append(f"{where}: required key '{key}' is missing")
            extra = schema.get("additionalProperties", True)
            for key, v in value.items():
                if key in props:
                    self.validate(v, props[key], f"{where}.{key}", errors)
                elif extra is False:
                    errors.append(f"{where}: key '{key}' is not in the schema")
                elif isinstance(extra, dict):
                    self.validate(v, extra, f"{where}.{key}", errors)
        if isinstance(value, list):
            if len(value) < schema.get("minItems", 0):
                errors.append(f"{where}: fewer than {schema['minItems']} items")
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                errors.append(f"{where}: more than {schema['maxItems']} items")
            for i, v in enumerate(value):
                if "items" in schema:
                    self.validate(v, schema["items"], f"{where}[{i}]", errors)


def find_operation(doc, method, path):
    for template, item in doc["paths"].items():
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(regex, path) and method.lower() in item:
            return template, item[method.lower()]
    return None, None


def check_one(spec, exchange, raw_req, want_status):
    line = raw_req.split(b"\r\n", 1)[0].decode("latin-1")
    method, target = line.split(" ")[:2]
    where = f"{method} {target[:70]}"
    out = subprocess.run([exchange], input=raw_req, capture_output=True, check=True).stdout
    try:
        status, headers, body = parse_response(out, method)
    except (ValueError, IndexError) as e:
        return [f"{where}: unparsable response ({e}): {out[:120]!r}"]
    errors = []
    if status != want_status:
        errors.append(f"{where}: status {status}, the sample expects {want_status}")
    path = VERSION_RE.sub("", target.split("?", 1)[0])
    template, op = find_operation(spec.doc, method, path)
    if op is None:
        if status != 404:
            return errors + [f"{where}: no operation in the spec, but status {status}"]
        resp = spec.deref(spec.doc["components"]["responses"]["PageNotFound"])
    else:
        responses = op.get("responses", {})
        resp = responses.get(str(status), responses.get("default"))
        if resp is None:
            return errors + [f"{where}: status {status} is not documented for "
                             f"{method} {template}"]
        resp = spec.deref(resp)
    for name, h in (resp.get("headers") or {}).items():
        h = spec.deref(h)
        value = headers.get(name.lower())
        if value is None:
            if h.get("required"):
                errors.append(f"{where}: required header {name} is missing")
            continue
        schema = dict(spec.deref(h.get("schema", {})))
        if schema.get("type") == "integer":
            value = int(value)
        spec.validate(value, schema, f"{where} header {name}", errors)
    content = resp.get("content") or {}
    ctype = headers.get("content-type")
    if not body:
        return errors
    if ctype not in content:
        return errors + [f"{where}: Content-Type {ctype!r} is not documented "
                         f"({', '.join(content) or 'no body'})"]
    media = content[ctype]
    schema = media.get("schema", {})
    if ctype.startswith("application/json"):
        text = body.decode()
        docs = text.splitlines() if resp.get("x-berth-stream") == "ndjson" else [text]
        for i, d in enumerate(docs):
            try:
                value = json.loads(d)
            except ValueError as e:
                errors.append(f"{where}: body is not JSON ({e}): {d[:80]!r}")
                continue
            spec.validate(value, schema, f"{where} body[{i}]" if len(docs) > 1 else
                          f"{where} body", errors)
    else:
        spec.validate(body.decode(), schema, f"{where} body", errors)
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--exchange", required=True, help="the exchange executable")
    args = ap.parse_args()
    with open(args.spec, encoding="utf-8") as f:
        spec = Spec(yaml.safe_load(f))
    errors = []
    n = 0
    for raw, want in samples():
        errs = check_one(spec, args.exchange, raw, want)
        n += 1
        errors += errs
    if errors:
        print(f"responses disagree with {args.spec} ({len(errors)} problem(s)):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    print(f"{n} sample responses match the spec")
    return 0


if __name__ == "__main__":
    sys.exit(main())
