"""docker pause/unpause (the cgroup freezer) and docker stats, through the
real docker CLI, docker-py and raw HTTP: a paused counter stops and goes on
after unpause, stop/kill/rm -f/daemon shutdown of a paused container, an
exit while paused, a daemon killed while a container is paused; stats of a
container that allocates memory, burns CPU and runs processes, with the
CLI's figures and the API's precpu/preread pairing, streams that end when
the client leaves or the container goes, and every refusal with Docker's
status and wording."""
import glob
import json
import os
import signal
import socket
import time

import httpraw
from ctrwait import inspect, pid_alive, wait_until

ZERO_TIME = "0001-01-01T00:00:00Z"
MIB = 1024 * 1024
CGROUP_V1 = os.path.isdir("/sys/fs/cgroup/freezer")


def state(d, name):
    return inspect(d, name)["State"]


def cgroup_dirs(cid):
    return glob.glob(f"/sys/fs/cgroup/*/berth/{cid}") + glob.glob(f"/sys/fs/cgroup/berth/{cid}")


def freezer_state(cid):
    with open(f"/sys/fs/cgroup/freezer/berth/{cid}/freezer.state") as f:
        return f.read().strip()


def events(d, since, cid):
    r = d.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                 "--filter", f"container={cid}", "--format", "{{.Action}}")
    return r.stdout.split()


def api(d, method, target):
    return httpraw.get(d.sock, target, method=method)


def message(resp):
    return json.loads(resp.body)["message"]


def rfc3339_ns(s):
    """Nanoseconds since the epoch of a Go RFC 3339 time (UTC, up to 9 digits)."""
    import calendar
    date, _, frac = s.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((frac + "000000000")[:9])


# A counter the container bumps 20 times a second; renamed into place so a
# reader never sees a half-written file.
COUNTER = ("i=0; while :; do i=$((i+1)); echo $i > /tmp/c.new; mv /tmp/c.new /tmp/c; "
           "sleep 0.05; done")


def read_counter(d, cid):
    try:
        with open(os.path.join(d.data_root, "containers", cid, "merged", "tmp", "c")) as f:
            return int(f.read())
    except (FileNotFoundError, ValueError):
        return None


def advancing(d, cid):
    first = wait_until("the counter", lambda: read_counter(d, cid))
    return wait_until("the counter to move", lambda: (v := read_counter(d, cid)) > first and v)


# ---- pause / unpause ---------------------------------------------------------


def test_pause_freezes_and_unpause_resumes(bb):
    d = bb
    since = int(time.time())
    cid = d.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c", COUNTER).stdout.strip()
    advancing(d, cid)
    pid = state(d, "ticker")["Pid"]

    assert d.docker("pause", "ticker").stdout.strip() == "ticker"
    s = state(d, "ticker")
    assert (s["Status"], s["Running"], s["Paused"], s["Pid"]) == ("paused", True, True, pid)
    ps = d.docker("ps", "--format", "{{.Names}} {{.Status}} {{.State}}").stdout
    assert "ticker Up" in ps and "(Paused) paused" in ps
    if CGROUP_V1:
        assert freezer_state(cid) == "FROZEN"
    # the counter does not move while frozen: read it across a second
    before = read_counter(d, cid)
    time.sleep(1.0)
    assert read_counter(d, cid) == before
    # the state is on disk (saved on a worker)
    state_file = os.path.join(d.data_root, "containers", cid, "state.json")
    wait_until("state.json says paused", lambda: '"paused"' in open(state_file).read())

    assert d.docker("unpause", "ticker").stdout.strip() == "ticker"
    s = state(d, "ticker")
    assert (s["Status"], s["Running"], s["Paused"], s["Pid"]) == ("running", True, False, pid)
    if CGROUP_V1:
        assert freezer_state(cid) == "THAWED"
    assert advancing(d, cid) > before
    acts = events(d, since, cid)
    assert acts == ["create", "start", "pause", "unpause"], acts
    info = d.client().info()
    assert (info["ContainersRunning"], info["ContainersPaused"]) == (1, 0)
    d.docker("rm", "-f", "ticker")


def test_pause_through_docker_py_and_info(bb):
    d = bb
    client = d.client()
    c = client.containers.run("busybox", ["sleep", "1000"], detach=True, name="pyp")
    c.pause()
    c.reload()
    assert c.status == "paused" and c.attrs["State"]["Paused"] is True
    info = client.info()
    assert (info["ContainersRunning"], info["ContainersPaused"]) == (0, 1)
    assert [x.name for x in client.containers.list(filters={"status": "paused"})] == ["pyp"]
    c.unpause()
    c.reload()
    assert c.status == "running" and c.attrs["State"]["Paused"] is False
    c.remove(force=True)
    client.close()


def test_pause_refusals(bb):
    d = bb
    created = d.docker("create", "--name", "fresh", "busybox", "true").stdout.strip()
    cid = d.docker("run", "-d", "--name", "live", "busybox", "sleep", "1000").stdout.strip()

    # unknown container: 404 for each endpoint
    for method, target in (("POST", "/containers/nope/pause"), ("POST", "/containers/nope/unpause"),
                           ("GET", "/containers/nope/stats?stream=0")):
        r = api(d, method, target)
        assert (r.status, message(r)) == (404, "No such container: nope"), target
    r = d.docker("pause", "nope", check=False)
    assert r.returncode == 1 and "No such container: nope" in r.stderr

    # not running: pause 409, unpause 409 (not paused)
    r = api(d, "POST", "/containers/fresh/pause")
    assert (r.status, message(r)) == (409, f"Container {created} is not running")
    r = api(d, "POST", "/containers/fresh/unpause")
    assert (r.status, message(r)) == (409, f"Container {created} is not paused")
    assert state(d, "fresh")["Status"] == "created"

    # running: unpause refused, pause twice refused the second time
    r = api(d, "POST", "/containers/live/unpause")
    assert (r.status, message(r)) == (409, f"Container {cid} is not paused")
    assert api(d, "POST", "/containers/live/pause").status == 204
    r = api(d, "POST", "/containers/live/pause")
    assert (r.status, message(r)) == (409, f"Container {cid} is already paused")
    r = d.docker("pause", "live", check=False)
    assert r.returncode == 1 and f"Container {cid} is already paused" in r.stderr

    # a paused container refuses start and rm without force, and stays paused
    r = api(d, "POST", "/containers/live/start")
    assert (r.status, message(r)) == (409, "cannot start a paused container, try unpause instead")
    r = api(d, "DELETE", "/containers/live")
    assert (r.status, message(r)) == (
        409, 'cannot remove container "/live": container is paused and must be unpaused first')
    r = d.docker("rm", "live", check=False)
    assert r.returncode == 1 and "container is paused and must be unpaused first" in r.stderr
    assert state(d, "live")["Status"] == "paused"

    # stats: stream and one-shot together is a bad request
    r = api(d, "GET", "/containers/live/stats?stream=1&one-shot=1")
    assert (r.status, message(r)) == (400, "cannot have stream=true and one-shot=true")
    r = api(d, "GET", "/v1.47/containers/live/stats?one-shot=true")  # stream defaults to true
    assert r.status == 400

    # exited: pause refused
    d.docker("unpause", "live")
    d.docker("kill", "live")
    wait_until("live exited", lambda: state(d, "live")["Status"] == "exited")
    r = d.docker("pause", "live", check=False)
    assert r.returncode == 1 and f"Container {cid} is not running" in r.stderr
    d.docker("rm", "fresh", "live")


def test_stop_of_paused_container_delivers_the_stop_signal(bb):
    d = bb
    since = int(time.time())
    # exits 3 on SIGTERM: a stop that ends by the timeout's SIGKILL would be 137
    cid = d.docker("run", "-d", "--name", "calm", "busybox", "sh", "-c",
                   'trap "exit 3" TERM; while :; do sleep 0.1; done').stdout.strip()
    d.docker("pause", "calm")
    t0 = time.monotonic()
    d.docker("stop", "-t", "30", "calm")
    assert time.monotonic() - t0 < 15
    s = state(d, "calm")
    assert (s["Status"], s["ExitCode"], s["Paused"]) == ("exited", 3, False)
    assert events(d, since, cid) == ["create", "start", "pause", "kill", "unpause", "die", "stop"]
    assert cgroup_dirs(cid) == []
    # restarting it later is an ordinary start
    d.docker("start", "calm")
    assert state(d, "calm")["Status"] == "running"
    # restart of a paused container: stopped by its signal, started again
    d.docker("pause", "calm")
    t0 = time.monotonic()
    d.docker("restart", "-t", "30", "calm")
    assert time.monotonic() - t0 < 15
    s = state(d, "calm")
    assert (s["Status"], s["Paused"], s["ExitCode"]) == ("running", False, 0)
    d.docker("rm", "-f", "calm")


def test_kill_and_rm_f_of_paused_containers(bb):
    d = bb
    k = d.docker("run", "-d", "--name", "victim", "busybox", "sleep", "1000").stdout.strip()
    pid = state(d, "victim")["Pid"]
    d.docker("pause", "victim")
    d.docker("kill", "victim")  # SIGKILL: a frozen v1 task dies only once thawed
    wait_until("victim exited", lambda: state(d, "victim")["Status"] == "exited", timeout=10)
    assert state(d, "victim")["ExitCode"] == 137 and not pid_alive(pid)

    r = d.docker("run", "-d", "--name", "doomed", "busybox", "sleep", "1000").stdout.strip()
    pid = state(d, "doomed")["Pid"]
    d.docker("pause", "doomed")
    d.docker("rm", "-f", "doomed")
    assert d.docker("ps", "-aq", "--filter", "name=doomed").stdout.strip() == ""
    assert not pid_alive(pid) and cgroup_dirs(r) == []
    assert cgroup_dirs(k) == []


def test_other_signals_wait_for_unpause(bb):
    d = bb
    # With a StopSignal set, only it (and SIGKILL) thaws, as moby's killWithSignal.
    cid = d.docker("run", "-d", "--name", "usr", "--stop-signal", "SIGTERM", "busybox", "sh", "-c",
                   'trap "echo got >> /tmp/u" USR1; while :; do sleep 0.1; done').stdout.strip()
    d.docker("pause", "usr")
    d.docker("kill", "-s", "USR1", "usr")
    # freezer operations run in arrival order: had the kill queued a thaw,
    # this pause would find the container running and succeed
    r = d.docker("pause", "usr", check=False)
    assert r.returncode == 1 and "is already paused" in r.stderr
    assert state(d, "usr")["Status"] == "paused"
    d.docker("unpause", "usr")
    u = os.path.join(d.data_root, "containers", cid, "merged", "tmp", "u")
    wait_until("USR1 handled after unpause", lambda: os.path.exists(u) and "got" in open(u).read())
    d.docker("rm", "-f", "usr")


def test_restart_policy_ignores_pause(bb):
    d = bb
    since = int(time.time())
    cid = d.docker("run", "-d", "--name", "keep", "--restart", "always", "busybox", "sleep",
                   "1000").stdout.strip()
    pid = state(d, "keep")["Pid"]
    for _ in range(3):
        d.docker("pause", "keep")
        d.docker("unpause", "keep")
    c = inspect(d, "keep")
    assert (c["State"]["Status"], c["State"]["Pid"], c["RestartCount"]) == ("running", pid, 0)
    assert events(d, since, cid) == ["create", "start"] + ["pause", "unpause"] * 3
    # a stop of the paused container is a user's stop: always stays down
    d.docker("pause", "keep")
    d.docker("stop", "-t", "1", "keep")
    s = state(d, "keep")
    assert s["Status"] == "exited" and not s["Restarting"]
    assert inspect(d, "keep")["RestartCount"] == 0
    d.docker("rm", "keep")


def test_exit_while_paused(bb):
    d = bb
    cid = d.docker("run", "-d", "--name", "frozen", "busybox", "sleep", "1000").stdout.strip()
    pid = state(d, "frozen")["Pid"]
    d.docker("pause", "frozen")
    os.kill(pid, signal.SIGKILL)  # from the host, behind the daemon's back
    if CGROUP_V1:
        # a v1 frozen task does not act on SIGKILL: it is still there, paused
        assert pid_alive(pid) and freezer_state(cid) == "FROZEN"
        assert state(d, "frozen")["Status"] == "paused"
        d.docker("unpause", "frozen")
    wait_until("frozen exited", lambda: state(d, "frozen")["Status"] == "exited", timeout=10)
    s = state(d, "frozen")
    assert (s["ExitCode"], s["Paused"], s["Running"]) == (137, False, False)
    assert cgroup_dirs(cid) == [] and not pid_alive(pid)
    r = d.docker("unpause", "frozen", check=False)
    assert r.returncode == 1 and f"Container {cid} is not paused" in r.stderr
    d.docker("rm", "frozen")


def test_daemon_killed_while_paused_reconciles(bb):
    d = bb
    cid = d.docker("run", "-d", "--name", "iced", "busybox", "sleep", "1000").stdout.strip()
    pid = state(d, "iced")["Pid"]
    d.docker("pause", "iced")
    d.signal(signal.SIGKILL)
    d.proc.wait(timeout=10)
    d.log.close()
    assert pid_alive(pid)  # frozen, and no daemon any more
    d.start()
    # the daemon serves only after reconciling: thawed, killed, cleaned up
    assert not pid_alive(pid)
    s = state(d, "iced")
    assert (s["Status"], s["ExitCode"], s["Paused"], s["Running"]) == ("exited", 255, False, False)
    assert cgroup_dirs(cid) == []
    d.docker("start", "iced")
    assert state(d, "iced")["Status"] == "running"
    d.docker("rm", "-f", "iced")


def test_daemon_shutdown_stops_paused_containers(bb):
    d = bb
    cid = d.docker("run", "-d", "--name", "always", "--restart", "always", "--stop-timeout", "30",
                   "busybox", "sh", "-c", 'trap "exit 3" TERM; while :; do sleep 0.1; done'
                   ).stdout.strip()
    pid = state(d, "always")["Pid"]
    d.docker("pause", "always")
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 15  # thawed for its SIGTERM, not killed after 30 s
    assert not pid_alive(pid) and cgroup_dirs(cid) == []
    d.start()
    # the policy applies at the next start; it comes back running, not paused
    s = wait_until("always running", lambda: (s := state(d, "always"))["Running"] and s)
    assert s["Status"] == "running" and s["Pid"] != pid
    d.docker("rm", "-f", "always")


# ---- stats -------------------------------------------------------------------

# 40 MiB in the container's tmpfs (charged to its memory cgroup), three
# sleepers beside the shell, and the shell itself spinning on one CPU.
BUSY = ("head -c 40m /dev/zero > /dev/shm/f; sleep 1000 & sleep 1000 & sleep 1000 & "
        "while :; do :; done")


def run_busy(d, name):
    cid = d.docker("run", "-d", "--name", name, "-m", "100m", "--pids-limit", "50", "busybox",
                   "sh", "-c", BUSY).stdout.strip()
    # ready once the sleepers run (the tmpfs file was written before them)
    wait_until("four processes", lambda: len(open(cgroup_procs(cid)).read().split()) == 4)
    return cid


def cgroup_procs(cid):
    return (glob.glob(f"/sys/fs/cgroup/pids/berth/{cid}/cgroup.procs") +
            glob.glob(f"/sys/fs/cgroup/berth/{cid}/cgroup.procs"))[0]


def cli_stats(d, *names):
    r = d.docker("stats", "--no-stream", "--format", "{{json .}}", *names)
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_stats_cli_shows_memory_cpu_pids(bb):
    d = bb
    cid = run_busy(d, "busy")
    (s,) = cli_stats(d, "busy")
    assert (s["Name"], s["ID"], s["PIDs"], s["NetIO"]) == ("busy", cid[:12], "4", "0B / 0B")
    used, limit = s["MemUsage"].split(" / ")
    assert limit == "100MiB"
    assert used.endswith("MiB") and 40 <= float(used[:-3]) < 60, used
    assert float(s["MemPerc"].rstrip("%")) >= 40
    # one CPU spinning: about 100% of one CPU
    assert 20 <= float(s["CPUPerc"].rstrip("%")) <= 110, s["CPUPerc"]

    # paused: the same memory and processes, no CPU
    d.docker("pause", "busy")
    (p,) = cli_stats(d, "busy")
    assert p["PIDs"] == "4" and p["MemUsage"].split(" / ")[1] == "100MiB"
    assert p["CPUPerc"] == "0.00%"
    d.docker("unpause", "busy")

    # without names: every running container (this one)
    assert [x["Name"] for x in cli_stats(d)] == ["busy"]

    # stopped: Docker's empty sample, shown as zeros
    d.docker("kill", "busy")
    wait_until("busy exited", lambda: state(d, "busy")["Status"] == "exited")
    (z,) = cli_stats(d, "busy")
    assert (z["CPUPerc"], z["MemUsage"], z["MemPerc"], z["PIDs"], z["BlockIO"]) == (
        "0.00%", "0B / 0B", "0.00%", "0", "0B / 0B")
    r = d.docker("stats", "--no-stream", "nope", check=False)
    assert r.returncode == 1 and "No such container: nope" in r.stderr
    d.docker("rm", "busy")


def check_sample_shape(s, cid, name):
    assert (s["id"], s["name"], s["num_procs"], s["storage_stats"]) == (cid, "/" + name, 0, {})
    assert "networks" not in s
    cpu = s["cpu_stats"]
    assert cpu["online_cpus"] == os.sysconf("SC_NPROCESSORS_ONLN")
    assert cpu["system_cpu_usage"] > 0 and cpu["cpu_usage"]["total_usage"] > 0
    assert set(cpu["throttling_data"]) == {"periods", "throttled_periods", "throttled_time"}
    blk = s["blkio_stats"]
    assert set(blk) == {"io_service_bytes_recursive", "io_serviced_recursive",
                        "io_queue_recursive", "io_service_time_recursive",
                        "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
                        "sectors_recursive"}
    mem = s["memory_stats"]
    assert mem["limit"] == 100 * MIB
    assert 40 * MIB <= mem["usage"] < 60 * MIB
    key = "total_inactive_file" if CGROUP_V1 else "inactive_file"
    assert key in mem["stats"]
    assert s["pids_stats"] == {"current": 4, "limit": 50}
    if CGROUP_V1:
        assert all(isinstance(v, list) for v in blk.values())
        assert len(cpu["cpu_usage"]["percpu_usage"]) >= cpu["online_cpus"]
        assert mem["max_usage"] >= mem["usage"] and mem["stats"]["shmem"] >= 40 * MIB


def test_stats_api_no_stream_has_precpu(bb):
    d = bb
    cid = run_busy(d, "apis")
    client = d.client()
    c = client.containers.get("apis")
    t0 = time.monotonic()
    s = c.stats(stream=False)
    took = time.monotonic() - t0
    check_sample_shape(s, cid, "apis")
    # moby reads twice, a second apart, so the percentage has a base
    assert 0.9 <= took < 5
    gap = (rfc3339_ns(s["read"]) - rfc3339_ns(s["preread"])) / 1e9
    assert 0.9 <= gap <= 2.0, gap
    pre, cur = s["precpu_stats"], s["cpu_stats"]
    spent = cur["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
    assert 0.2e9 * gap <= spent <= 1.1e9 * gap  # one CPU busy (at most) across the gap
    assert cur["system_cpu_usage"] > pre["system_cpu_usage"]

    # one-shot: a single read at once, nothing to compare it with
    t0 = time.monotonic()
    r = api(d, "GET", "/v1.47/containers/apis/stats?stream=0&one-shot=1")
    assert time.monotonic() - t0 < 0.9
    assert (r.status, r.header("content-type")) == (200, "application/json")
    one = json.loads(r.body)
    check_sample_shape(one, cid, "apis")
    assert one["preread"] == ZERO_TIME and one["read"] != ZERO_TIME
    assert one["precpu_stats"] == {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                                                 "usage_in_usermode": 0},
                                   "throttling_data": {"periods": 0, "throttled_periods": 0,
                                                       "throttled_time": 0}}
    # before API 1.41 one-shot does not exist: stream=0 reads twice again
    t0 = time.monotonic()
    old = json.loads(api(d, "GET", "/v1.40/containers/apis/stats?stream=0&one-shot=1").body)
    assert time.monotonic() - t0 >= 0.9 and old["preread"] != ZERO_TIME
    client.close()
    d.docker("rm", "-f", "apis")


def test_stats_stream_pairs_samples(bb):
    d = bb
    cid = run_busy(d, "streamy")
    client = d.client()
    gen = client.api.stats("streamy", stream=True, decode=True)
    first, second = next(gen), next(gen)
    for s in (first, second):
        check_sample_shape(s, cid, "streamy")
    assert first["preread"] == ZERO_TIME
    assert first["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    # each sample carries the previous one's cpu_stats and read time
    assert second["precpu_stats"] == first["cpu_stats"]
    assert second["preread"] == first["read"]
    gap = (rfc3339_ns(second["read"]) - rfc3339_ns(first["read"])) / 1e9
    assert 0.9 <= gap <= 2.0, gap
    assert (second["cpu_stats"]["cpu_usage"]["total_usage"] >
            first["cpu_stats"]["cpu_usage"]["total_usage"])
    gen.close()
    client.close()
    d.docker("rm", "-f", "streamy")


def read_sample(conn):
    return json.loads(conn.read_chunk())


def test_stats_stream_of_stopped_then_started_then_removed(bb):
    d = bb
    cid = d.docker("create", "--name", "later", "busybox", "sleep", "1000").stdout.strip()
    # stream=0 of a container that is not running: the empty sample at once
    t0 = time.monotonic()
    r = api(d, "GET", "/containers/later/stats?stream=0")
    assert time.monotonic() - t0 < 0.9 and r.status == 200
    z = json.loads(r.body)
    assert (z["read"], z["preread"], z["name"], z["id"]) == (ZERO_TIME, ZERO_TIME, "/later", cid)
    assert z["memory_stats"] == {} and z["pids_stats"] == {}
    assert all(v is None for v in z["blkio_stats"].values())

    conn = httpraw.Conn(d.sock, timeout=15)
    conn.request("GET", "/containers/later/stats")
    status, _, headers, _ = conn.read_head()
    assert (status, headers.get("transfer-encoding")) == (200, "chunked")
    s = read_sample(conn)
    assert (s["read"], s["id"]) == (ZERO_TIME, cid)  # streamed while stopped
    d.docker("start", "later")
    s = wait_until("a live sample", lambda: (x := read_sample(conn))["read"] != ZERO_TIME and x)
    assert s["pids_stats"]["current"] == 1
    d.docker("rm", "-f", "later")
    # the container is gone: the stream ends (terminating chunk)
    wait_until("the end of the stream", lambda: conn.read_chunk() == b"", timeout=10)
    conn.close()


def test_stats_clients_leaving_early(bb):
    d = bb
    d.docker("run", "-d", "--name", "watched", "busybox", "sleep", "1000")
    d.docker("pause", "watched")  # stats of a paused container still flow
    for _ in range(3):
        conn = httpraw.Conn(d.sock)
        conn.request("GET", "/containers/watched/stats")
        assert conn.read_head()[0] == 200
        s = read_sample(conn)
        assert s["pids_stats"]["current"] == 1 and s["read"] != ZERO_TIME
        conn.close()
    # a stream=0 request abandoned while its first read primes the second
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.sendall(b"GET /containers/watched/stats?stream=0 HTTP/1.1\r\nHost: x\r\n\r\n")
    s.close()
    # and a docker-py stream closed after one sample
    client = d.client()
    gen = client.api.stats("watched", stream=True, decode=True)
    assert next(gen)["name"] == "/watched"
    gen.close()
    client.close()
    # the daemon is fine and answers the next one
    r = api(d, "GET", "/containers/watched/stats?stream=0&one-shot=1")
    assert r.status == 200 and json.loads(r.body)["pids_stats"]["current"] == 1
    d.docker("rm", "-f", "watched")
    # a stream still open when the daemon shuts down ends with it (exit 0:
    # nothing leaked under ASan)
    d.docker("create", "--name", "idle", "busybox", "true")
    conn = httpraw.Conn(d.sock)
    conn.request("GET", "/containers/idle/stats")
    assert conn.read_head()[0] == 200 and read_sample(conn)["name"] == "/idle"
    assert d.stop() == 0
    rest = conn.read_to_eof()
    assert rest.endswith(b"0\r\n\r\n"), rest[-40:]  # the terminating chunk, then close
    conn.close()
