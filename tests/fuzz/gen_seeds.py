#!/usr/bin/python3
"""Writes the seed corpora of tests/fuzz/corpus/.

http_request seeds come from two sources:
  cap-*   the docker CLI / docker-py requests captured in
          shared/api-captures/raw/*.log (one file per client connection:
          every request it sent, in order, as on the wire; bodies rebuilt
          from the log, stdin bytes of hijacked sessions appended);
  hand-*  requests written here for what the captures lack: the version
          prefix edge cases, events filters, chunked bodies, pipelining,
          Upgrade, limits, malformed HTTP.
The other targets' seeds are written here too. Files are named by content,
so running this again only adds what is new. Regression seeds found by
fuzzing are saved by hand as corpus/<target>/regress-*.

usage: gen_seeds.py [CAPTURE_DIR]   (default: /work/shared/api-captures/raw)
"""

import ast
import hashlib
import json
import os
import re
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def save(target, prefix, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:12]
    name = f"{prefix}-{digest}"
    path = os.path.join(d, name)
    if not any(f.endswith("-" + digest) for f in os.listdir(d)):
        with open(path, "wb") as f:
            f.write(data)
    return name


# ---- captures -------------------------------------------------------------

REQ_RE = re.compile(r"^>> conn#(\d+) (\S+) (\S+) (HTTP/\d\.\d)$")
HDR_RE = re.compile(r"^   ([A-Za-z0-9-]+): (.*?)(    \[decoded: .*\])?$")
BODY_LEN_RE = re.compile(r"^   body\(len=\d+\): (.*)$")
BODY_CHUNKED_RE = re.compile(r"^   body\(chunked\): <tar (\d+) bytes")
STDIN_RE = re.compile(r"^   conn#(\d+) stdin bytes: (b['\"].*['\"])$")
STDIN_EOF_RE = re.compile(r"^   conn#(\d+) stdin EOF")


def chunked(data, size=1024):
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def parse_capture(path):
    """Returns {conn: bytes sent by the client}."""
    conns = {}
    cur = None  # [conn, head lines, headers list, body bytes, chunked]

    def flush():
        nonlocal cur
        if cur is None:
            return
        conn, line, headers, body, is_chunked = cur
        out = line.encode() + b"\r\n"
        for name, value in headers:
            if name.lower() == "content-length" and body is not None and not is_chunked:
                value = str(len(body))
            out += f"{name}: {value}\r\n".encode()
        out += b"\r\n"
        if body is not None:
            out += chunked(body) if is_chunked else body
        conns[conn] = conns.get(conn, b"") + out
        cur = None

    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = REQ_RE.match(line)
            if m:
                flush()
                conn, method, target, version = m.groups()
                cur = [int(conn), f"{method} {target} {version}", [], None, False]
                continue
            if cur is not None:
                m = BODY_LEN_RE.match(line)
                if m:
                    text = m.group(1)
                    try:  # the log re-serialised the JSON with spaces; send it compact
                        text = json.dumps(json.loads(text), separators=(",", ":"))
                    except ValueError:
                        pass
                    cur[3] = text.encode()
                    continue
                m = BODY_CHUNKED_RE.match(line)
                if m:
                    # A tar stand-in: the routes do not parse it; size and framing matter.
                    cur[3] = b"\0" * min(int(m.group(1)), 4096)
                    cur[4] = True
                    continue
                m = HDR_RE.match(line)
                if m and not line.startswith("   body"):
                    cur[2].append((m.group(1), m.group(2)))
                    continue
            m = STDIN_RE.match(line)
            if m:
                flush()
                conn = int(m.group(1))
                conns[conn] = conns.get(conn, b"") + ast.literal_eval(m.group(2))
                continue
            if line.startswith("<<") or line.startswith("##") or STDIN_EOF_RE.match(line):
                flush()
    flush()
    return conns


def capture_seeds(capdir):
    n = 0
    for name in sorted(os.listdir(capdir)):
        if not name.endswith(".log"):
            continue
        for conn, data in sorted(parse_capture(os.path.join(capdir, name)).items()):
            save("http_request", f"cap-{name[:-4]}-c{conn}", data)
            n += 1
    return n


# ---- hand-written requests --------------------------------------------------

CLI = "Host: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n"


def get(target, extra="", method="GET", version="HTTP/1.1"):
    return f"{method} {target} {version}\r\n{CLI}{extra}\r\n"


def q(obj):
    return urllib.parse.quote(json.dumps(obj, separators=(",", ":")), safe="")


def hand_seeds():
    s = {}
    # Version prefix and routing.
    for p in ["/_ping", "/v1.47/_ping", "/v1.24/_ping", "/v1.12/_ping", "/v1.51/version",
              "/v1.47.0/info", "/v1/_ping", "/v/_ping", "/v1.47//info", "/v1.47", "/v1.47/",
              "/v99999999999999999999999.1/version", "/v1.4a/_ping", "/V1.47/_ping",
              "/version/", "//version", "/system/df/", "/containers/json?all=1",
              "/v1.47/images/localhost:5000/foo/bar/json", "/" + "/".join(["s"] * 70)]:
        s[f"route{p}"] = get(p)
    s["head-ping"] = get("/_ping", method="HEAD")
    s["head-version-404"] = get("/v1.47/version", method="HEAD")
    s["post-ping-404"] = get("/_ping", "Content-Length: 0\r\n", method="POST")
    s["options-star"] = "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"
    s["absolute-form"] = get("http://api.moby.localhost/v1.47/_ping")
    # Query decoding.
    s["query-odd"] = get("/v1.47/system/df?&&=&type&type=&=x&type=%69mage&a+b=c+d&%zz")
    s["query-encoded-path"] = get("/v1.47/%5Fping?x=%2F%2f")
    s["query-nul"] = get("/v1.47/_ping?a=%00")
    s["path-nul"] = get("/v1.47/_pi%00ng")
    s["df-types"] = get("/v1.47/system/df?type=image&type=container&type=volume&type=build-cache")
    s["df-bad-type"] = get("/system/df?type=bogus")
    # Events.
    s["events-type"] = get("/v1.47/events?filters=" + q({"type": {"container": True}}) +
                           "&since=1700000000")
    s["events-list-form"] = get("/events?since=0&until=1700000002.5&filters=" +
                                q({"type": ["container", "image"], "event": ["start"]}))
    s["events-labels"] = get("/events?since=1&until=1800000000&filters=" +
                             q({"label": {"com.example.lb=1": True, "com.example.lb": True}}))
    s["events-image"] = get("/events?since=1&until=1700000009&filters=" +
                            q({"image": ["busybox", "busybox:latest"], "container": ["web"]}))
    s["events-exec"] = get("/events?since=1699999999.999999999&until=1700000005&filters=" +
                           q({"event": {"exec_start": True, "health_status": True}}))
    s["events-net-vol"] = get("/events?since=1&until=1700000009&filters=" +
                              q({"network": ["bridge"], "volume": ["data"], "scope": ["local"],
                                 "daemon": ["berth"]}))
    s["events-swarm"] = get("/events?until=1&filters=" + q({"node": ["x"], "service": ["y"]}))
    s["events-bad-filter"] = get("/events?filters=" + q({"bogus": ["x"]}))
    s["events-bad-json"] = get("/events?filters=%7B%22type%22%3A")
    s["events-bad-values"] = get("/events?filters=" + q({"type": {"container": "yes"}}))
    s["events-bad-since"] = get("/events?since=abc")
    s["events-long-since"] = get("/events?since=9999999999999999999&until=1.0000000001")
    s["events-future-until"] = get("/events?since=1700000000&until=4102444800")
    s["events-live"] = get("/v1.47/events")
    # Bodies.
    s["chunked-version"] = get("/version", "Transfer-Encoding: chunked\r\n") + \
        "5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n" + get("/_ping")
    s["body-version"] = get("/version", "Content-Length: 5\r\n") + "hello" + get("/_ping", method="HEAD")
    s["expect-continue"] = get("/version", "Content-Length: 4\r\nExpect: 100-continue\r\n") + "body"
    s["expect-continue-404"] = get("/nope", "Content-Length: 4\r\nExpect: 100-continue\r\n") + "body"
    s["body-too-large"] = get("/version", "Content-Length: 100000\r\n") + "x" * 100
    s["body-too-large-chunked"] = get("/version", "Transfer-Encoding: chunked\r\n") + \
        "4e20\r\n" + "y" * 20000 + "\r\n0\r\n\r\n"
    s["cl-and-te"] = get("/version", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n") + \
        "0\r\n\r\n"
    s["cl-dup"] = get("/version", "Content-Length: 1\r\nContent-Length: 2\r\n") + "ab"
    s["cl-negative"] = get("/version", "Content-Length: -1\r\n")
    s["cl-huge"] = get("/version", "Content-Length: 99999999999999999999999\r\n")
    # Pipelining and keep-alive.
    s["pipeline"] = (get("/_ping", method="HEAD") + get("/v1.47/version") + get("/v1.47/info") +
                     get("/v1.47/system/df") + get("/nope") + get("/v1.47/events?until=1&since=1"))
    s["pipeline-pings"] = get("/_ping") * 200
    s["pipeline-close-middle"] = get("/_ping", "Connection: close\r\n") + get("/version")
    s["pipeline-info-events"] = get("/info") + get("/events") + get("/_ping")
    s["http10"] = get("/_ping", version="HTTP/1.0") + get("/version", version="HTTP/1.0")
    s["http10-keepalive"] = get("/_ping", "Connection: keep-alive\r\n", version="HTTP/1.0") + \
        get("/version", version="HTTP/1.0")
    s["partial-request"] = "GET /v1.47/version HTTP/1.1\r\nHost: x\r\n"
    s["partial-body"] = get("/version", "Content-Length: 10\r\n") + "abc"
    # Upgrade / hijack.
    s["upgrade-attach"] = get("/v1.47/containers/x/attach?stream=1&stdin=1&stdout=1",
                              "Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                              "Content-Type: text/plain\r\n", method="POST") + "hello\n"
    s["upgrade-ping"] = get("/_ping", "Connection: Upgrade\r\nUpgrade: tcp\r\n") + "raw bytes"
    s["upgrade-ws"] = get("/events", "Connection: Upgrade\r\nUpgrade: websocket\r\n") + "\x81\x00"
    # Limits.
    s["huge-header"] = get("/_ping", "X-Big: " + "a" * 9000 + "\r\n")
    s["huge-url"] = get("/_ping?" + "a" * 9000)
    s["many-headers"] = get("/_ping", "".join(f"X-{i}: {i}\r\n" for i in range(300)))
    s["headers-at-limit"] = get("/_ping", "".join(f"X-{i}: v\r\n" for i in range(250)))
    # Malformed.
    s["bad-method"] = "BREW /_ping HTTP/1.1\r\n\r\n"
    s["no-version"] = "GET /_ping\r\n\r\n"
    s["bad-version"] = "GET /_ping HTTP/2.0\r\n\r\n"
    s["header-no-colon"] = "GET /_ping HTTP/1.1\r\nHost x\r\n\r\n"
    s["bare-lf"] = "GET /_ping HTTP/1.1\nHost: x\n\n"
    s["obs-fold"] = "GET /_ping HTTP/1.1\r\nX: a\r\n b\r\n\r\n"
    s["space-in-header-name"] = "GET /_ping HTTP/1.1\r\nX Y: z\r\n\r\n"
    s["ctl-in-url"] = "GET /_p\x01ing HTTP/1.1\r\n\r\n"
    s["binary"] = bytes(range(256)) * 2
    s["empty-lines-first"] = "\r\n\r\n" + get("/_ping")
    s["bad-chunk"] = get("/version", "Transfer-Encoding: chunked\r\n") + "zz\r\nab\r\n0\r\n\r\n"
    s["te-gzip"] = get("/version", "Transfer-Encoding: gzip\r\n")
    for name, data in s.items():
        save("http_request", "hand-" + re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:40], data)
    return len(s)


def filter_seeds():
    seeds = [
        {"type": {"container": True}},
        {"type": ["container", "image"], "event": ["start", "die"]},
        {"label": {"com.example.lb=1": True, "com.example.empty=": True, "missing": True}},
        {"label": ["com.example.lb"]},
        {"image": ["busybox", "busybox:latest", "docker.io/library/busybox:latest",
                   "localhost:5000/foo/bar"]},
        {"container": {"web": True, "c0ffee": True, "other": False}},
        {"event": {"exec_start": True, "health_status": True, "tag": True}},
        {"network": ["bridge"], "volume": ["data"], "scope": ["local"], "daemon": ["ENGINE"]},
        {"plugin": ["x"], "node": ["y"]},
        {"bogus": ["x"]},
        {"type": "container"},
        {"type": {"container": "yes"}},
        {"type": [1, 2]},
        {},
    ]
    for i, obj in enumerate(seeds):
        save("filters", f"seed{i:02d}", json.dumps(obj))
    for i, raw in enumerate(['{"type":', "[]", "null", '"x"', '{"a":{"b":true},"a":["c"]}',
                             '{"label":["=","=x","k="]}', ""]):
        save("filters", f"raw{i:02d}", raw)


def config_seeds():
    seeds = [
        {"hosts": ["unix:///run/berth.sock", "tcp://0.0.0.0:2375"], "data-root": "/var/lib/berth",
         "exec-root": "/run/berth", "pidfile": "/run/berth.pid", "group": "docker",
         "log-level": "debug", "debug": True, "storage-driver": "vfs",
         "insecure-registries": ["10.0.0.0/8", "reg:5000"],
         "registry-mirrors": ["https://mirror.example"],
         "default-address-pools": [{"base": "172.30.0.0/16", "size": 24}],
         "shutdown-timeout": 15, "http-max-connections": 100, "http-header-timeout": 5,
         "http-idle-timeout": 10, "http-max-header-bytes": 8192,
         "http-max-body-bytes": 1048576},
        {"tls": True, "tlsverify": True, "tlscacert": "/ca.pem", "tlscert": "/c.pem",
         "tlskey": "/k.pem"},
        {"shutdown-timeout": 1e300},
        {"http-max-connections": -1.5},
        {"default-address-pools": [{"base": "10.0.0.0/8", "size": 4}]},
        {"default-address-pools": [{"base": "x" * 200, "size": 24}]},
        {"insecure-registries": ["http://x"]},
        {"unknown-key": 1, "other": 2},
        {"hosts": []},
        {"log-level": "loud"},
    ]
    for i, obj in enumerate(seeds):
        save("config", f"seed{i:02d}", json.dumps(obj))
    for i, raw in enumerate(['{"debug":true,"debug":false}', "[]", "{", "base=10.0.0.0/8,size=24",
                             "base=10.0.0.0/33,size=8,other", ""]):
        save("config", f"raw{i:02d}", raw)


def router_seeds():
    seeds = [
        "/images/localhost:5000/foo/bar/push",
        "/images/busybox/json",
        "/images/a/b/c/d/e/f/tag",
        "/containers/abc/json",
        "/plugins/vieux/sshfs:latest/enable",
        "/x/y/z/x/w",
        "/images//json",
        "/images/json",
        "/{a*}/{b}/{c*}/{d}\n/1/2/3/4/5/6",
        "/{a}/{b}/{c}/{d}/{e}\n/1/2/3/4/5",
        "/a/{x*}\n/a/" + "/".join(["s"] * 70),
        "/{a*}{b}\n/ab",
        "relative\n/x",
        "/\n/",
    ]
    for i, text in enumerate(seeds):
        save("router", f"seed{i:02d}", text)


def main():
    capdir = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/api-captures/raw"
    n = capture_seeds(capdir) if os.path.isdir(capdir) else 0
    m = hand_seeds()
    filter_seeds()
    config_seeds()
    router_seeds()
    print(f"http_request: {n} captured connections, {m} hand-written requests")


if __name__ == "__main__":
    main()
