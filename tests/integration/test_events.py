"""GET /events: replay with since/until, live streaming, filters; published
here by the daemon's own reload (SIGHUP), the one event source so far."""
import json
import signal
import threading
import time

import httpraw


def reload_and_wait(d, count=1):
    """Each SIGHUP publishes one daemon 'reload' event once the file is re-read."""
    for _ in range(count):
        before = d.log_text().count("configuration reloaded")
        d.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while d.log_text().count("configuration reloaded") <= before:
            assert time.monotonic() < deadline, d.log_text()
            time.sleep(0.01)


def test_cli_events_since_until(daemon):
    t0 = int(time.time())
    reload_and_wait(daemon)
    t1 = int(time.time()) + 1
    out = daemon.docker("events", "--since", str(t0), "--until", str(t1),
                        "--format", "{{json .}}", timeout=15).stdout
    events = [json.loads(l) for l in out.splitlines()]
    assert len(events) == 1
    ev = events[0]
    assert ev["Type"] == "daemon" and ev["Action"] == "reload"
    info = json.loads(daemon.docker("info", "--format", "{{json .}}").stdout)
    assert ev["Actor"]["ID"] == info["ID"]
    assert ev["Actor"]["Attributes"]["name"] == info["Name"]
    assert ev["scope"] == "local"
    assert t0 <= ev["time"] <= t1
    assert ev["timeNano"] // 10**9 == ev["time"]


def test_cli_events_filters(daemon):
    t0 = int(time.time())
    reload_and_wait(daemon, 2)
    t1 = int(time.time()) + 1
    def count(*filters):
        args = ["events", "--since", str(t0), "--until", str(t1), "--format", "{{.Action}}"]
        for f in filters:
            args += ["--filter", f]
        return len(daemon.docker(*args, timeout=15).stdout.split())
    assert count() == 2
    assert count("type=daemon") == 2
    assert count("type=container") == 0
    assert count("event=reload") == 2
    assert count("event=start") == 0
    assert count("type=daemon", "event=reload") == 2


def replay(d, query):
    r = httpraw.get(d.sock, f"/v1.47/events?{query}")
    assert r.status == 200
    return [json.loads(l) for l in r.body.splitlines()]


def test_since_excludes_older_events(daemon):
    """since/until take fractional seconds: a window starting 1 ns after the
    first event holds only the second one."""
    t0 = time.time() - 1
    reload_and_wait(daemon, 2)
    now = time.time() + 1
    both = replay(daemon, f"since={t0:.9f}&until={now:.9f}")
    assert len(both) == 2
    first_ns = both[0]["timeNano"] + 1
    later = replay(daemon, f"since={first_ns // 10**9}.{first_ns % 10**9:09d}&until={now:.9f}")
    assert [e["timeNano"] for e in later] == [both[1]["timeNano"]]


def test_live_stream_and_until_in_future(daemon):
    """A stream with until in the future delivers live events, then ends itself."""
    until = time.time() + 2
    c = httpraw.Conn(daemon.sock)
    c.request("GET", f"/v1.47/events?until={until:.3f}")
    status, _, headers, _ = c.read_head()
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    reload_and_wait(daemon)
    ev = json.loads(c.read_chunk())
    assert ev["Action"] == "reload"
    assert c.read_chunk() == b""  # terminating chunk once `until` passes
    assert time.time() >= until - 0.05
    c.close()


def test_dockerpy_events(daemon):
    client = daemon.client()
    t0 = int(time.time())
    reload_and_wait(daemon)
    evs = list(client.events(since=t0, until=int(time.time()) + 1, decode=True,
                             filters={"type": "daemon"}))
    assert [e["Action"] for e in evs] == ["reload"]
    client.close()


def test_bad_event_queries_400(daemon):
    for q, msg in [("since=abc", "invalid value for since"),
                   ("until=1.2.3", "invalid value for until"),
                   ("filters=%7Bnot-json", "invalid filters"),
                   ("filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D", "invalid filter 'bogus'"),
                   ("filters=%7B%22type%22%3A5%7D", "invalid filters")]:
        r = httpraw.get(daemon.sock, f"/events?{q}")
        assert r.status == 400, q
        assert msg in json.loads(r.body)["message"], (q, r.body)
