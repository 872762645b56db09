"""Resource behaviour: many connections, slow clients, vanished clients,
and no fd growth."""
import json
import socket
import threading
import time

import httpraw


def info(d):
    return json.loads(httpraw.get(d.sock, "/info").body)


def test_500_concurrent_connections(daemon):
    conns = [httpraw.Conn(daemon.sock) for _ in range(500)]
    for c in conns:  # all 500 are open at once before any request
        c.request("GET", "/_ping")
    for c in conns:
        r = c.response()
        assert r.status == 200 and r.body == b"OK"
    for c in conns:
        c.request("GET", "/version")
    assert all(json.loads(c.response().body)["ApiVersion"] == "1.47" for c in conns)
    for c in conns:
        c.close()


def test_slow_client_timed_out_while_others_served(make_daemon):
    d = make_daemon({"http-header-timeout": 1})
    slow = httpraw.Conn(d.sock)
    slow.send(b"GET /_ping HTTP/1.1\r\nHo")
    served = 0
    start = time.monotonic()
    result = {}

    def read_slow():
        # the server answers 408 and closes once the head is overdue
        result["resp"] = slow.response()
        result["eof"] = slow.read_to_eof()
        result["t"] = time.monotonic() - start

    t = threading.Thread(target=read_slow)
    t.start()
    while t.is_alive():
        slow.send(b"s")  # keep trickling, slowloris style; it must not extend the deadline
        assert httpraw.get(d.sock, "/_ping").status == 200
        served += 1
        t.join(0.05)
    assert result["resp"].status == 408
    assert json.loads(result["resp"].body)["message"] == "timed out reading the request"
    assert result["eof"] == b""
    assert 0.9 <= result["t"] < 3.0
    assert served >= 5


def test_idle_keepalive_closed(make_daemon):
    d = make_daemon({"http-idle-timeout": 1})
    c = httpraw.Conn(d.sock)
    c.request("GET", "/_ping")
    assert c.response().status == 200
    t = time.monotonic()
    assert c.read_to_eof() == b""  # closed by the server, no response
    assert 0.9 <= time.monotonic() - t < 3.0
    c.close()


def try_hold(d):
    """A connection that got a normal answer, or None when refused with 503."""
    c = httpraw.Conn(d.sock)
    try:
        c.request("GET", "/_ping")
        r = c.response()
    except (BrokenPipeError, ConnectionResetError, EOFError):
        c.close()
        return None
    if r.status == 503:
        c.close()
        return None
    assert r.status == 200
    return c


def test_max_connections_503(make_daemon):
    d = make_daemon({"http-max-connections": 10})
    held = []
    deadline = time.monotonic() + 5
    while len(held) < 10:  # the readiness probe's connection may still be closing
        c = try_hold(d)
        if c:
            held.append(c)
        assert time.monotonic() < deadline
    extra = httpraw.Conn(d.sock)
    r = extra.response()  # refused at accept, before any request
    assert r.status == 503
    assert json.loads(r.body) == {"message": "too many connections"}
    extra.close()
    held.pop().close()
    deadline = time.monotonic() + 5
    while not (c := try_hold(d)):  # the freed slot is usable again
        assert time.monotonic() < deadline
    held.append(c)
    for c in held:
        c.close()


def test_client_dropping_mid_stream(daemon):
    """An events listener that vanishes is unsubscribed and freed."""
    base = info(daemon)["NEventsListener"]
    streams = []
    for _ in range(20):
        c = httpraw.Conn(daemon.sock)
        c.request("GET", "/events")
        assert c.read_head()[0] == 200
        streams.append(c)
    assert info(daemon)["NEventsListener"] == base + 20
    for c in streams:
        c.sock.close()
    deadline = time.monotonic() + 5
    while info(daemon)["NEventsListener"] != base:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_no_fd_growth(daemon):
    """Connections of every kind leave no descriptor behind."""
    def settle(n):
        deadline = time.monotonic() + 5
        while True:
            nfd = info(daemon)["NFd"]
            if n is None or nfd == n or time.monotonic() > deadline:
                return nfd
            time.sleep(0.02)
    before = settle(None)
    for _ in range(100):
        httpraw.get(daemon.sock, "/_ping")
        c = httpraw.Conn(daemon.sock)
        c.request("GET", "/events")
        c.read_head()
        c.close()
        s = socket.socket(socket.AF_UNIX)
        s.connect(daemon.sock)
        s.send(b"GET /_pi")
        s.close()
    assert settle(before) == before
