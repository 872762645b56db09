#!/usr/bin/python3
"""Checks api-spec/openapi.yaml against the router's route table.

The route table comes from the route_dump program ("METHOD PATTERN" lines,
plus "# api 1.MIN 1.MAX"). The check fails, listing every difference, when:
  - a route is served but not in the spec, or in the spec but not served
    (method + path, with the router's greedy "{x*}" written "{x}");
  - a parameter is greedy ("{x*}") in the router but not marked
    `x-berth-greedy: true` in the spec, or the other way round;
  - a path template parameter has no `in: path` parameter, or the reverse;
  - an operation documents no response;
  - a $ref points nowhere;
  - the spec's API version bounds differ from the router's.

--self-test also proves that the check can fail: it mutates copies of the
spec in memory (drops each path, adds an unserved one, removes responses,
unmarks a greedy parameter) and requires each copy to be rejected.
"""

import argparse
import copy
import re
import subprocess
import sys

import yaml

METHODS = ("get", "head", "post", "put", "delete", "patch", "options", "trace")
PARAM_RE = re.compile(r"\{([^{}/]+)\}")


def load_routes(dump_cmd):
    out = subprocess.run([dump_cmd], check=True, capture_output=True, text=True).stdout
    routes = set()
    greedy = set()  # (normalised path, param name)
    api = None
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("# api "):
            api = tuple(line.split()[2:4])
            continue
        method, pattern = line.split(None, 1)
        if method == "OTHER":
            raise SystemExit(f"route with an unnamed method: {line}")
        for name in PARAM_RE.findall(pattern):
            if name.endswith("*"):
                greedy.add((pattern.replace("*}", "}"), name[:-1]))
        norm = pattern.replace("*}", "}")
        routes.add((method.upper(), norm))
    return routes, greedy, api


def resolve(doc, ref):
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def walk_refs(doc, node, where, errors):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and resolve(doc, ref) is None:
            errors.append(f"dangling $ref {ref} at {where}")
        for k, v in node.items():
            walk_refs(doc, v, f"{where}/{k}", errors)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(doc, v, f"{where}/{i}", errors)


def deref(doc, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 16:
        node = resolve(doc, node["$ref"]) or {}
        seen += 1
    return node


def check(doc, routes, greedy, api):
    """Returns a list of error strings (empty when spec and router agree)."""
    errors = []
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.0"):
        return ["not an OpenAPI 3.0 document (missing or wrong 'openapi' field)"]
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return ["the spec has no 'paths' object"]

    spec_routes = set()
    spec_greedy = set()
    for path, item in paths.items():
        if not isinstance(item, dict):
            errors.append(f"{path}: path item is not an object")
            continue
        shared_params = item.get("parameters", [])
        template_params = set(PARAM_RE.findall(path))
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            spec_routes.add((method.upper(), path))
            where = f"{method.upper()} {path}"
            responses = op.get("responses") if isinstance(op, dict) else None
            if not isinstance(responses, dict) or not responses:
                errors.append(f"{where}: documents no response")
            params = [deref(doc, p) for p in shared_params + (op.get("parameters") or [])]
            path_params = {p.get("name"): p for p in params if p.get("in") == "path"}
            for name in sorted(template_params - set(path_params)):
                errors.append(f"{where}: path parameter '{{{name}}}' is not declared")
            for name in sorted(set(path_params) - template_params):
                errors.append(f"{where}: declared path parameter '{name}' is not in the path")
            for name, p in path_params.items():
                if p.get("x-berth-greedy") is True:
                    spec_greedy.add((path, name))

    for method, path in sorted(routes - spec_routes, key=lambda r: (r[1], r[0])):
        errors.append(f"served by the router but missing from the spec: {method} {path}")
    for method, path in sorted(spec_routes - routes, key=lambda r: (r[1], r[0])):
        errors.append(f"in the spec but not served by the router: {method} {path}")
    for path, name in sorted(greedy - spec_greedy):
        if any(p == path for _, p in spec_routes):
            errors.append(f"{path}: parameter '{name}' is greedy ({{{name}*}}) in the router "
                          f"but lacks x-berth-greedy: true in the spec")
    for path, name in sorted(spec_greedy - greedy):
        if any(p == path for _, p in routes):
            errors.append(f"{path}: parameter '{name}' is marked x-berth-greedy in the spec "
                          f"but matches one segment in the router")

    if api:
        want = (doc.get("x-berth-api-version-min"), doc.get("x-berth-api-version-max"))
        if tuple(str(v) for v in want) != api:
            errors.append(f"spec API range {want[0]}..{want[1]} differs from the router's "
                          f"{api[0]}..{api[1]}")

    walk_refs(doc, doc, "#", errors)
    return errors


def mutations(doc, routes, greedy):
    """Yields (description, mutated spec) pairs that check() must reject."""
    for path in doc["paths"]:
        d = copy.deepcopy(doc)
        del d["paths"][path]
        yield f"path {path} removed", d
        for method in METHODS:
            if method in doc["paths"][path]:
                d = copy.deepcopy(doc)
                d["paths"][path][method]["responses"] = {}
                yield f"responses of {method.upper()} {path} removed", d
                if len([m for m in METHODS if m in doc["paths"][path]]) > 1:
                    d = copy.deepcopy(doc)
                    del d["paths"][path][method]
                    yield f"{method.upper()} {path} removed", d
    d = copy.deepcopy(doc)
    d["paths"]["/berth-selftest-unserved"] = {"get": {"responses": {"200": {"description": "x"}}}}
    yield "unserved path added", d
    d = copy.deepcopy(doc)
    first = next(iter(d["paths"].values()))
    first.setdefault("get", {})["responses"] = {"200": {"$ref": "#/components/responses/Nope"}}
    yield "dangling $ref added", d
    d = copy.deepcopy(doc)
    d["x-berth-api-version-max"] = "1.99"
    yield "API range changed", d


def self_test(doc, routes, greedy, api):
    ok = True
    base = check(doc, routes, greedy, api)
    if base:
        print("self-test: the real spec does not pass:", file=sys.stderr)
        for e in base:
            print("  " + e, file=sys.stderr)
        return False
    n = 0
    for what, mutated in mutations(doc, routes, greedy):
        n += 1
        errs = check(mutated, routes, greedy, api)
        if not errs:
            print(f"self-test: NOT detected: {what}", file=sys.stderr)
            ok = False
        else:
            print(f"self-test: detected: {what}: {errs[0]}")
    # A greedy route the spec does not mark must be caught too.
    if routes:
        method, path = sorted(routes)[0]
        fake_path = path.rstrip("/") + "/{selftest}"
        fake_routes = routes | {(method, fake_path)}
        fake_greedy = greedy | {(fake_path, "selftest")}
        d = copy.deepcopy(doc)
        d["paths"][fake_path] = {method.lower(): {
            "parameters": [{"name": "selftest", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "x"}}}}
        errs = check(d, fake_routes, fake_greedy, api)
        n += 1
        if not any("x-berth-greedy" in e for e in errs):
            print("self-test: NOT detected: greedy parameter without x-berth-greedy",
                  file=sys.stderr)
            ok = False
        else:
            print(f"self-test: detected: unmarked greedy parameter: {errs[0]}")
    print(f"self-test: {n} mutations, {'all' if ok else 'NOT all'} detected")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True, help="path of openapi.yaml")
    ap.add_argument("--dump", required=True, help="route_dump executable")
    ap.add_argument("--self-test", action="store_true",
                    help="also require mutated copies of the spec to fail the check")
    args = ap.parse_args()

    with open(args.spec, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    routes, greedy, api = load_routes(args.dump)

    if args.self_test:
        return 0 if self_test(doc, routes, greedy, api) else 1

    errors = check(doc, routes, greedy, api)
    if errors:
        print(f"{args.spec} and the router disagree ({len(errors)} problem(s)):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    print(f"spec and router agree: {len(routes)} routes")
    for method, path in sorted(routes, key=lambda r: (r[1], r[0])):
        print(f"  {method} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
