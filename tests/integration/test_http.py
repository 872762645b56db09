"""The HTTP layer as raw bytes: keep-alive, pipelining, chunked bodies,
version prefixes, headers on every response, and each kind of bad input."""
import json

import httpraw

COMMON = {"api-version": "1.47", "docker-experimental": "false", "ostype": "linux"}


def assert_common_headers(r):
    for k, v in COMMON.items():
        assert r.header(k) == v, (k, r.raw_head)
    assert r.header("server").startswith("Berth/")
    assert r.header("date")


def test_ping_get_and_head(daemon):
    r = httpraw.get(daemon.sock, "/_ping")
    assert r.status == 200 and r.body == b"OK"
    assert_common_headers(r)
    h = httpraw.get(daemon.sock, "/_ping", method="HEAD")
    assert h.status == 200 and h.body == b""
    assert h.header("content-length") == "0"
    assert h.header("builder-version") == "1"
    assert h.header("swarm") == "inactive"
    assert h.header("cache-control") == "no-cache, no-store, must-revalidate"
    assert h.header("pragma") == "no-cache"
    assert_common_headers(h)


def test_versioned_and_unversioned_paths(daemon):
    for path in ["/version", "/v1.47/version", "/v1.24/version", "/v1.40/_ping"]:
        r = httpraw.get(daemon.sock, path)
        assert r.status == 200, path


def test_version_bounds_400(daemon):
    r = httpraw.get(daemon.sock, "/v1.48/version")
    assert r.status == 400
    assert json.loads(r.body) == {
        "message": "client version 1.48 is too new. Maximum supported API version is 1.47"}
    r = httpraw.get(daemon.sock, "/v1.23/info")
    assert r.status == 400
    assert json.loads(r.body)["message"].startswith(
        "client version 1.23 is too old. Minimum supported API version is 1.24")
    assert_common_headers(r)


def test_unknown_route_and_method_404(daemon):
    for method, path in [("GET", "/nope"), ("GET", "/v1.47/networks"),
                         ("POST", "/version"), ("DELETE", "/_ping"), ("HEAD", "/version"),
                         ("GET", "/version/"), ("GET", "/v9.99/nope")]:
        r = httpraw.get(daemon.sock, path, method=method)
        assert r.status == 404, (method, path)
        if method != "HEAD":
            assert json.loads(r.body) == {"message": "page not found"}
        assert r.header("content-type") == "application/json"
        assert_common_headers(r)


def test_keepalive_many_requests_one_connection(daemon):
    c = httpraw.Conn(daemon.sock)
    for i in range(200):
        c.request("GET", "/_ping" if i % 2 else "/version")
        r = c.response()
        assert r.status == 200
        assert r.header("connection") is None
    c.close()


def test_pipelined_requests_answered_in_order(daemon):
    c = httpraw.Conn(daemon.sock)
    c.send(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response().body == b"OK"
    assert c.response().status == 404
    assert json.loads(c.response().body)["ApiVersion"] == "1.47"
    c.close()


def test_chunked_request_body_then_keepalive(daemon):
    c = httpraw.Conn(daemon.sock)
    c.send(b"GET /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n")
    assert c.response().status == 200
    c.request("GET", "/_ping")
    assert c.response().body == b"OK"
    c.close()


def test_connection_close_honoured(daemon):
    c = httpraw.Conn(daemon.sock)
    c.request("GET", "/_ping", {"Connection": "close"})
    r = c.response()
    assert r.status == 200 and r.header("connection") == "close"
    assert c.read_to_eof() == b""
    c.close()


def test_http10_closes(daemon):
    c = httpraw.Conn(daemon.sock)
    c.send(b"GET /_ping HTTP/1.0\r\n\r\n")
    assert c.response().body == b"OK"
    assert c.read_to_eof() == b""
    c.close()


def test_malformed_request_400_then_close(daemon):
    for raw in [b"GARBAGE\r\n\r\n", b"GET /_ping HTTP/1.1\r\nNo colon here\r\n\r\n",
                b"GET /_ping HTTP/9.1\r\n\r\n",
                b"GET /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                b"GET /_ping HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"]:
        c = httpraw.Conn(daemon.sock)
        c.send(raw)
        r = c.response()
        assert r.status == 400, raw
        assert "malformed HTTP request" in json.loads(r.body)["message"]
        assert c.read_to_eof() == b""
        c.close()
    assert httpraw.get(daemon.sock, "/_ping").status == 200


def test_bad_percent_encoding_400(daemon):
    r = httpraw.get(daemon.sock, "/_ping?x=%zz")
    assert r.status == 400
    assert json.loads(r.body) == {"message": "malformed request target"}


def test_header_too_large_431(make_daemon):
    d = make_daemon({"http-max-header-bytes": 4096})
    r = httpraw.get(d.sock, "/_ping", headers={"X-Big": "a" * 5000})
    assert r.status == 431
    assert json.loads(r.body) == {"message": "request header fields too large"}
    r = httpraw.get(d.sock, "/_ping", headers={f"X-{i}": "v" for i in range(300)})
    assert r.status == 431
    assert httpraw.get(d.sock, "/_ping", headers={"X-Ok": "a" * 1000}).status == 200


def test_body_too_large_413(make_daemon):
    d = make_daemon({"http-max-body-bytes": 2048})
    r = httpraw.get(d.sock, "/version", body=b"x" * 4096)
    assert r.status == 413
    assert json.loads(r.body) == {"message": "request body too large"}
    c = httpraw.Conn(d.sock)
    chunk = b"800\r\n" + b"y" * 0x800 + b"\r\n"
    c.send(b"GET /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 2)
    assert c.response().status == 413
    c.close()
    assert httpraw.get(d.sock, "/version", body=b"x" * 1000).status == 200


def test_expect_100_continue(daemon):
    c = httpraw.Conn(daemon.sock)
    c.send(b"GET /version HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    status, _, _, _ = c.read_head()
    assert status == 100
    c.send(b"abcd")
    assert c.response().status == 200
    c.close()


def test_system_df_bad_type_400(daemon):
    r = httpraw.get(daemon.sock, "/system/df?type=bogus")
    assert r.status == 400
    assert json.loads(r.body) == {"message": "unknown object type: bogus"}
    r = httpraw.get(daemon.sock, "/system/df?type=image&type=container")
    assert r.status == 200
