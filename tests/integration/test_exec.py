"""docker exec through the real docker CLI, docker-py and raw HTTP: output
and exit codes, -u/-w/-e/--privileged, the container's namespaces, cgroup,
environment, limits and security, -d, stdin with EOF, backpressure, the
exec's end when its container stops, exec inspect, events and Docker's
errors for bad input."""
import hashlib
import json
import os
import socket
import struct
import subprocess
import time

import pytest

import httpraw

NAMESPACES = ("cgroup", "ipc", "mnt", "net", "pid", "uts")


@pytest.fixture
def ctr(bb):
    """A running busybox container "ex"; removed (rm -f, no 10 s stop) after."""
    bb.docker("run", "-d", "--name", "ex", "-e", "FROMRUN=yes", "busybox", "sleep", "1000")
    yield "ex"
    bb.docker("rm", "-f", "ex", check=False)


def ex(d, *args, input=None, check=True):
    r = d.docker("exec", *args, check=False, input=input)
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r


def inspect(d, name, fmt):
    return d.docker("inspect", "-f", fmt, name).stdout.strip()


def api(d, method, path, body=None, headers=None):
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    data = json.dumps(body) if isinstance(body, (dict, list)) else body
    return httpraw.get(d.sock, path, method=method, headers=hdrs, body=data)


def create(d, name, body):
    r = api(d, "POST", f"/v1.47/containers/{name}/exec", body)
    assert r.status == 201, (r.status, r.body)
    return json.loads(r.body)["Id"]


def exec_json(d, eid):
    r = api(d, "GET", f"/v1.47/exec/{eid}/json")
    assert r.status == 200, (r.status, r.body)
    return json.loads(r.body)


def message(r):
    return json.loads(r.body)["message"]


def frames(data):
    """Splits a multiplexed stream into (stream, payload) pairs."""
    out = []
    while data:
        assert len(data) >= 8, data
        kind, size = data[0], struct.unpack(">I", data[4:8])[0]
        assert data[1:4] == b"\0\0\0", data[:8]
        out.append((kind, data[8:8 + size]))
        data = data[8 + size:]
    return out


def hijack(d, eid, body=None, version="1.47"):
    """POST /exec/{id}/start with Upgrade: the connection, after the 101."""
    c = httpraw.Conn(d.sock, timeout=30)
    c.request("POST", f"/v{version}/exec/{eid}/start",
              {"Content-Type": "application/json", "Connection": "Upgrade", "Upgrade": "tcp"},
              json.dumps(body or {"Detach": False, "Tty": False}))
    status, _, headers, _ = c.read_head()
    return c, status, headers


def wait_until(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"{what} not met within {timeout}s")


# ---- output, exit codes, stdin ------------------------------------------------


def test_output_and_exit_codes(bb, ctr):
    hostname = inspect(bb, ctr, "{{.Config.Hostname}}")
    assert ex(bb, ctr, "cat", "/etc/hostname").stdout == hostname + "\n"
    r = ex(bb, ctr, "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    r = ex(bb, ctr, "sh", "-c", "kill -9 $$", check=False)
    assert r.returncode == 137


def test_command_not_found_and_not_executable(bb, ctr):
    r = ex(bb, ctr, "nosuchcmd", check=False)
    assert r.returncode == 127, (r.stdout, r.stderr)
    assert ('OCI runtime exec failed: exec failed: unable to start container process: '
            'exec: "nosuchcmd": executable file not found in $PATH: unknown') in r.stdout + r.stderr
    r = ex(bb, ctr, "/etc/passwd", check=False)
    assert r.returncode == 126, (r.stdout, r.stderr)
    assert "permission denied" in r.stdout + r.stderr


def test_stdin_round_trip_with_eof(bb, ctr):
    assert ex(bb, "-i", ctr, "cat", input="data\n").stdout == "data\n"
    # wc only prints once it has read EOF: the half-close reached the process
    assert ex(bb, "-i", ctr, "wc", "-c", input="x" * 1000).stdout.strip() == "1000"
    # without -i the process gets no stdin (EOF at once), whatever is piped
    assert ex(bb, ctr, "wc", "-c", input="ignored").stdout.strip() == "0"


def test_large_stdin_and_output(bb, ctr):
    blob = os.urandom(3 << 20).hex()  # 6 MiB of text
    r = ex(bb, "-i", ctr, "md5sum", input=blob)
    assert r.stdout.split()[0] == hashlib.md5(blob.encode()).hexdigest()
    r = ex(bb, ctr, "sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' x")
    assert len(r.stdout) == 20000000 and set(r.stdout) == {"x"}


def test_background_child_holding_output_does_not_hold_the_session(bb, ctr):
    """As moby waits 2 s for an exec's streams after its exit: a background
    child that keeps stdout open does not keep the CLI waiting."""
    t0 = time.monotonic()
    r = ex(bb, ctr, "sh", "-c", "sleep 30 & echo hi; exit 4", check=False)
    took = time.monotonic() - t0
    assert (r.returncode, r.stdout) == (4, "hi\n")
    assert 1.5 < took < 10, took


def test_detached_exec_runs_in_background(bb, ctr):
    r = ex(bb, "-d", ctr, "sh", "-c", "sleep 0.3; echo done > /tmp/flag")
    assert r.stdout == ""
    wait_until(lambda: ex(bb, ctr, "cat", "/tmp/flag", check=False).stdout == "done\n",
               what="the detached exec's file")


# ---- identity, environment, security ------------------------------------------


def test_user_and_groups(bb):
    bb.docker("run", "-d", "--name", "exu", "--group-add", "123", "-u", "nobody", "busybox",
              "sleep", "1000")
    try:
        assert ex(bb, "exu", "id", "-u").stdout == "65534\n"  # the container's user
        assert ex(bb, "-u", "root", "exu", "id", "-u").stdout == "0\n"
        assert ex(bb, "-u", "1234:5678", "exu", "sh", "-c", "id -u; id -g").stdout == "1234\n5678\n"
        # the container's GroupAdd applies to exec users too (moby getUser)
        assert "123" in ex(bb, "-u", "root", "exu", "id", "-G").stdout.split()
        r = ex(bb, "-u", "nosuchuser", "exu", "true", check=False)
        assert r.returncode != 0
        assert "unable to find user nosuchuser: no matching entries in passwd file" in (
            r.stdout + r.stderr)
    finally:
        bb.docker("rm", "-f", "exu")


def test_workdir(bb):
    bb.docker("run", "-d", "--name", "exw", "-w", "/etc", "busybox", "sleep", "1000")
    try:
        assert ex(bb, "exw", "pwd").stdout == "/etc\n"
        assert ex(bb, "-w", "/tmp", "exw", "pwd").stdout == "/tmp\n"
        r = ex(bb, "-w", "/nonexistent", "exw", "pwd", check=False)
        assert r.returncode == 127, (r.stdout, r.stderr)
        assert "chdir to cwd" in r.stdout + r.stderr
    finally:
        bb.docker("rm", "-f", "exw")


def env_of(text):
    return dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln)


def test_environment(bb, ctr):
    env = env_of(ex(bb, ctr, "env").stdout)
    assert env["FROMRUN"] == "yes"  # the container's Env
    assert env["HOME"] == "/root"  # from the user's passwd entry
    assert env["HOSTNAME"] == inspect(bb, ctr, "{{.Config.Hostname}}")
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert "TERM" not in env
    env = env_of(ex(bb, "-e", "X=1", "-e", "FROMRUN=over", ctr, "env").stdout)
    assert env["X"] == "1" and env["FROMRUN"] == "over"
    # "-e NAME" of a variable the client does not have is sent bare: unset
    r = subprocess.run(["env", "-u", "FROMRUN", os.environ.get("DOCKER_CLI", "docker"), "exec",
                        "-e", "FROMRUN", ctr, "env"], capture_output=True, text=True,
                       env=dict(os.environ, DOCKER_HOST=bb.host, DOCKER_CONFIG=bb.docker_config))
    assert r.returncode == 0, r.stderr
    assert "FROMRUN" not in env_of(r.stdout)


def caps_of(d, *args):
    status = ex(d, *args, "cat", "/proc/self/status").stdout
    f = dict(ln.split(":\t", 1) for ln in status.splitlines() if ":\t" in ln)
    return int(f["CapEff"], 16), int(f["CapBnd"], 16), f["Seccomp"].strip(), f["NoNewPrivs"].strip()


def host_bounding():
    with open("/proc/self/status") as f:
        return int(next(ln for ln in f if ln.startswith("CapBnd:")).split()[1], 16)


def test_security_as_the_containers_process(bb):
    bb.docker("run", "-d", "--name", "exs", "--cap-drop", "CHOWN", "--cap-add", "NET_ADMIN",
              "--security-opt", "no-new-privileges", "busybox", "sleep", "1000")
    try:
        pid = inspect(bb, "exs", "{{.State.Pid}}")
        with open(f"/proc/{pid}/status") as f:
            init = dict(ln.split(":\t", 1) for ln in f.read().splitlines() if ":\t" in ln)
        eff, bnd, seccomp, nnp = caps_of(bb, "exs")
        assert eff == int(init["CapEff"], 16) and bnd == int(init["CapBnd"], 16)
        assert not eff & 1 and eff & (1 << 12)  # no CHOWN, NET_ADMIN
        assert (seccomp, nnp) == ("2", "1")
        # --privileged: every capability; the container's seccomp filter and
        # no_new_privs stay, as Docker's exec
        peff, pbnd, pseccomp, pnnp = caps_of(bb, "--privileged", "exs")
        assert peff == pbnd == host_bounding() and peff != eff
        assert (pseccomp, pnnp) == ("2", "1")
    finally:
        bb.docker("rm", "-f", "exs")


def test_ulimits_apply(bb):
    bb.docker("run", "-d", "--name", "exl", "--ulimit", "nofile=100:200", "busybox",
              "sleep", "1000")
    try:
        assert ex(bb, "exl", "sh", "-c", "ulimit -n; ulimit -Hn").stdout == "100\n200\n"
    finally:
        bb.docker("rm", "-f", "exl")


# ---- namespaces and cgroup ----------------------------------------------------


def test_joins_every_namespace_of_the_container(bb, ctr):
    pid = inspect(bb, ctr, "{{.State.Pid}}")
    script = "; ".join(f"readlink /proc/self/ns/{n}" for n in NAMESPACES)
    inside = ex(bb, ctr, "sh", "-c", script).stdout.split()
    host = [os.readlink(f"/proc/{pid}/ns/{n}") for n in NAMESPACES]
    assert inside == host
    own = {n: os.readlink(f"/proc/self/ns/{n}") for n in NAMESPACES}
    for n, link in zip(NAMESPACES, inside):
        if n != "cgroup":  # v1: the host's by default, as Docker's
            assert link != own[n], n
    # the pid namespace: the container's init is PID 1 and the exec sees it
    assert ex(bb, ctr, "cat", "/proc/1/cmdline").stdout.startswith("sleep")
    # and the root is the container's
    assert ex(bb, ctr, "cat", "/etc/hostname").stdout.strip() == inspect(
        bb, ctr, "{{.Config.Hostname}}")


def test_joins_the_containers_cgroup(bb, ctr):
    cid = inspect(bb, ctr, "{{.Id}}")
    mine = ex(bb, ctr, "cat", "/proc/self/cgroup").stdout
    init = ex(bb, ctr, "cat", "/proc/1/cgroup").stdout
    assert mine == init
    assert cid in mine


def test_joins_the_namespaces_of_a_pid_sharing_container(bb, ctr):
    bb.docker("run", "-d", "--name", "exp", "--pid", f"container:{ctr}", "busybox",
              "sleep", "1000")
    try:
        a = ex(bb, ctr, "readlink", "/proc/self/ns/pid").stdout
        assert ex(bb, "exp", "readlink", "/proc/self/ns/pid").stdout == a
        assert ex(bb, "exp", "cat", "/proc/1/cmdline").stdout.startswith("sleep")
    finally:
        bb.docker("rm", "-f", "exp")


# ---- stopping --------------------------------------------------------------------


def test_exec_ends_when_the_container_stops(bb):
    bb.docker("run", "-d", "--name", "exk", "busybox", "sleep", "1000")
    c = bb.client()
    eid = c.api.exec_create("exk", ["sleep", "300"])["Id"]
    env = dict(os.environ, DOCKER_HOST=bb.host, DOCKER_CONFIG=bb.docker_config)
    p = subprocess.Popen([os.environ.get("DOCKER_CLI", "docker"), "exec", "exk", "sleep", "200"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        c.api.exec_start(eid, detach=True)
        wait_until(lambda: ex(bb, "exk", "sh", "-c", "ps | grep -c 'sleep [23]00'",
                              check=False).stdout.strip() == "2", what="both execs running")
        bb.docker("kill", "exk")
        assert p.wait(timeout=20) == 137
        info = wait_until(lambda: (lambda j: j if not j["Running"] else None)(
            c.api.exec_inspect(eid)), what="the exec's end")
        assert info["ExitCode"] == 137
    finally:
        p.kill()
        bb.docker("rm", "-f", "exk")


def test_exec_into_stopped_container(bb):
    bb.docker("create", "--name", "exc", "busybox", "true")
    cid = inspect(bb, "exc", "{{.Id}}")
    r = ex(bb, "exc", "true", check=False)
    assert r.returncode == 1
    assert f"container {cid} is not running" in r.stderr.lower()
    r = api(bb, "POST", "/v1.47/containers/exc/exec", {"Cmd": ["true"]})
    assert (r.status, message(r)) == (409, f"Container {cid} is not running")
    bb.docker("start", "-a", "exc")
    r = api(bb, "POST", "/v1.47/containers/exc/exec", {"Cmd": ["true"]})
    assert (r.status, message(r)) == (409, f"Container {cid} is not running")
    r = api(bb, "POST", "/v1.47/containers/nosuch/exec", {"Cmd": ["true"]})
    assert (r.status, message(r)) == (404, "No such container: nosuch")


def test_exec_made_before_a_stop_cannot_start_after(bb, ctr):
    eid = create(bb, ctr, {"Cmd": ["true"]})
    bb.docker("restart", "-t", "0", ctr)
    r = api(bb, "POST", f"/v1.47/exec/{eid}/start", {"Detach": True})
    assert (r.status, message(r)) == (404, f"No such exec instance: {eid}")


def test_exec_into_paused_container(bb, ctr):
    bb.docker("pause", ctr)
    try:
        r = api(bb, "POST", f"/v1.47/containers/{ctr}/exec", {"Cmd": ["true"]})
        assert (r.status, message(r)) == (
            409, f"Container {ctr} is paused, unpause the container before exec")
    finally:
        bb.docker("unpause", ctr, check=False)


# ---- docker-py -------------------------------------------------------------------


def test_docker_py_exec_run(bb, ctr):
    c = bb.client().containers.get(ctr)
    code, (out, err) = c.exec_run(["sh", "-c", "echo o; echo e >&2; exit 4"], demux=True)
    assert (code, out, err) == (4, b"o\n", b"e\n")
    code, out = c.exec_run("pwd", workdir="/tmp", environment={"A": "b"})
    assert (code, out) == (0, b"/tmp\n")
    code, out = c.exec_run(["sh", "-c", "echo $A"], environment=["A=b"], user="nobody")
    assert (code, out) == (0, b"b\n")
    res = c.exec_run(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.05; done"], stream=True)
    assert b"".join(res.output) == b"1\n2\n3\n"


def test_exec_inspect_fields(bb, ctr):
    cid = inspect(bb, ctr, "{{.Id}}")
    c = bb.client()
    eid = c.api.exec_create(ctr, ["sh", "-c", "read x; exit 5"], stdin=True, user="nobody",
                            privileged=True)["Id"]
    assert len(eid) == 64 and int(eid, 16) >= 0
    j = exec_json(bb, eid)
    assert j == {"ID": eid, "Running": False, "ExitCode": None,
                 "ProcessConfig": {"tty": False, "entrypoint": "sh",
                                   "arguments": ["-c", "read x; exit 5"], "privileged": True,
                                   "user": "nobody"},
                 "OpenStdin": True, "OpenStderr": True, "OpenStdout": True, "CanRemove": False,
                 "ContainerID": cid, "DetachKeys": "", "Pid": 0}
    sock = c.api.exec_start(eid, socket=True)
    j = wait_until(lambda: (lambda j: j if j["Running"] else None)(exec_json(bb, eid)),
                   what="Running")
    assert j["ExitCode"] is None and j["Pid"] > 0
    raw = sock._sock
    raw.sendall(b"line\n")
    raw.shutdown(socket.SHUT_WR)
    while raw.recv(4096):
        pass
    j = exec_json(bb, eid)
    assert (j["Running"], j["ExitCode"], j["Pid"] > 0) == (False, 5, True)
    j = exec_json(bb, create(bb, ctr, {"Cmd": ["true"], "DetachKeys": "ctrl-a,x"}))
    assert j["DetachKeys"] == "AXg=" and j["ProcessConfig"]["arguments"] == []
    assert "user" not in j["ProcessConfig"]


# ---- raw HTTP --------------------------------------------------------------------


def test_attached_start_framing_and_headers(bb, ctr):
    eid = create(bb, ctr, {"Cmd": ["sh", "-c", "echo out; echo err >&2"],
                           "AttachStdout": True, "AttachStderr": True})
    c, status, headers = hijack(bb, eid)
    assert status == 101
    assert headers["content-type"] == "application/vnd.docker.multiplexed-stream"
    assert headers["upgrade"] == "tcp" and headers["connection"].lower() == "upgrade"
    got = frames(c.read_to_eof())
    c.close()
    assert sorted(got) == [(1, b"out\n"), (2, b"err\n")]
    # no Upgrade header: plain 200; before 1.42 the raw-stream type
    eid = create(bb, ctr, {"Cmd": ["echo", "hi"], "AttachStdout": True})
    r = api(bb, "POST", f"/v1.41/exec/{eid}/start", {"Detach": False, "Tty": False})
    assert r.status == 200 and r.header("content-type") == "application/vnd.docker.raw-stream"


def test_unattached_streams_are_not_sent(bb, ctr):
    eid = create(bb, ctr, {"Cmd": ["sh", "-c", "echo out; echo err >&2"], "AttachStderr": True})
    c, status, _ = hijack(bb, eid)
    assert status == 101
    assert frames(c.read_to_eof()) == [(2, b"err\n")]
    c.close()


def test_start_failure_after_hijack_is_in_band(bb, ctr):
    eid = create(bb, ctr, {"Cmd": ["nosuchcmd"], "AttachStdout": True})
    c, status, _ = hijack(bb, eid)
    assert status == 101
    got = frames(c.read_to_eof())
    c.close()
    assert len(got) == 1 and got[0][0] == 1
    assert got[0][1].endswith(b"executable file not found in $PATH: unknown\r\n")
    j = exec_json(bb, eid)
    assert (j["Running"], j["ExitCode"]) == (False, 127)
    # detached: an HTTP error instead
    eid = create(bb, ctr, {"Cmd": ["nosuchcmd"]})
    r = api(bb, "POST", f"/v1.47/exec/{eid}/start", {"Detach": True})
    assert r.status == 400 and "executable file not found" in message(r)


def test_bad_requests(bb, ctr):
    unknown = "f" * 64
    for method, path in (("GET", f"/v1.47/exec/{unknown}/json"),
                         ("POST", f"/v1.47/exec/{unknown}/resize?h=1&w=1")):
        r = api(bb, method, path)
        assert (r.status, message(r)) == (404, f"No such exec instance: {unknown}")
    r = api(bb, "POST", f"/v1.47/exec/{unknown}/start", {"Detach": True})
    assert (r.status, message(r)) == (404, f"No such exec instance: {unknown}")
    base = f"/v1.47/containers/{ctr}/exec"
    for body in ({}, {"Cmd": []}, {"Cmd": None}, ""):
        r = api(bb, "POST", base, body)
        assert (r.status, message(r)) == (400, "No exec command specified"), body
    r = api(bb, "POST", base, "{not json")
    assert r.status == 400 and message(r).startswith("invalid JSON")
    r = api(bb, "POST", base, {"Cmd": "true", "User": 5})
    assert (r.status, message(r)) == (400, "invalid JSON: json: cannot unmarshal number into Go "
                                           "struct field ExecOptions.User of type string")
    r = api(bb, "POST", base, {"Cmd": ["true", 1]})
    assert r.status == 400 and "ExecOptions.Cmd" in message(r)
    r = api(bb, "POST", base, {"Cmd": ["true"], "DetachKeys": "ctrl-"})
    assert (r.status, message(r)) == (400, "Invalid escape keys (ctrl-) provided")
    eid = create(bb, ctr, {"Cmd": "true"})  # a lone string is a StrSlice
    r = api(bb, "POST", f"/v1.47/exec/{eid}/start", "[1]")
    assert r.status == 400 and message(r).startswith("invalid JSON")
    r = api(bb, "POST", f"/v1.47/exec/{eid}/resize?h=x&w=1")
    assert r.status == 400 and message(r).startswith('invalid resize height "x"')
    assert api(bb, "POST", f"/v1.47/exec/{eid}/resize?h=10&w=20").status == 200
    # every refusal above changed nothing: the exec still starts once
    r = api(bb, "POST", f"/v1.47/exec/{eid}/start", {"Detach": True})
    assert (r.status, r.body) == (200, b"")
    wait_until(lambda: exec_json(bb, eid)["ExitCode"] == 0, what="exit 0")
    r = api(bb, "POST", f"/v1.47/exec/{eid}/start", {"Detach": True})
    assert (r.status, message(r)) == (409, f"Error: Exec command {eid} has already run")


def test_start_twice_while_running(bb, ctr):
    eid = create(bb, ctr, {"Cmd": ["sleep", "30"]})
    assert api(bb, "POST", f"/v1.47/exec/{eid}/start", {"Detach": True}).status == 200
    r = api(bb, "POST", f"/v1.47/exec/{eid}/start", {"Detach": True})
    assert (r.status, message(r)) == (409, f"Error: Exec command {eid} is already running")
    c, status, _ = hijack(bb, eid)
    assert status == 409
    c.close()


def test_records_go_with_the_container(bb):
    bb.docker("run", "-d", "--name", "exr", "busybox", "sleep", "1000")
    eid = create(bb, "exr", {"Cmd": ["true"]})
    assert exec_json(bb, eid)["ContainerID"]
    bb.docker("rm", "-f", "exr")
    r = api(bb, "GET", f"/v1.47/exec/{eid}/json")
    assert (r.status, message(r)) == (404, f"No such exec instance: {eid}")


def test_exec_ids_in_container_inspect(bb):
    """Container inspect's ExecIDs: moby's container.ExecCommands, the execs
    made in the current run that have not ended (null when none)."""
    bb.docker("run", "-d", "--name", "exi", "busybox", "sleep", "1000")

    def exec_ids():
        return json.loads(inspect(bb, "exi", "{{json .ExecIDs}}"))

    assert exec_ids() is None
    made = create(bb, "exi", {"Cmd": ["true"]})
    running = create(bb, "exi", {"Cmd": ["sleep", "1000"]})
    done = create(bb, "exi", {"Cmd": ["true"]})
    assert api(bb, "POST", f"/v1.47/exec/{running}/start", {"Detach": True}).status == 200
    assert api(bb, "POST", f"/v1.47/exec/{done}/start", {"Detach": True}).status == 200
    wait_until(lambda: exec_json(bb, done)["ExitCode"] == 0, what="the short exec's exit")
    assert sorted(exec_ids()) == sorted([made, running])
    bb.docker("kill", "exi")
    bb.docker("wait", "exi")
    assert exec_ids() is None
    bb.docker("rm", "exi")


def test_slow_client_holds_the_process_back(bb, ctr):
    """Output is not read while the client's connection is backed up, so the
    process blocks in write (and the daemon buffers a bounded amount)."""
    eid = create(bb, ctr, {"Cmd": ["sh", "-c", "head -c 30000000 /dev/zero; touch /tmp/wrote"],
                           "AttachStdout": True})
    c, status, _ = hijack(bb, eid)
    assert status == 101
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(1.0)  # give it time to write everything if nothing held it back
    assert ex(bb, ctr, "ls", "/tmp/wrote", check=False).returncode != 0
    total = sum(len(p) for k, p in frames(c.read_to_eof()) if k == 1)
    c.close()
    assert total == 30000000
    assert ex(bb, ctr, "ls", "/tmp/wrote", check=False).returncode == 0


# ---- events ----------------------------------------------------------------------


def test_events(bb, ctr):
    t0 = time.time()
    cid = inspect(bb, ctr, "{{.Id}}")
    ex(bb, ctr, "sh", "-c", "exit 7", check=False)
    ex(bb, ctr, "true")
    until = time.time() + 0.001
    out = bb.docker("events", "--since", f"{t0:.6f}", "--until", f"{until:.6f}",
                    "--filter", f"container={cid}", "--format", "{{json .}}").stdout
    evs = [json.loads(ln) for ln in out.splitlines() if ln]
    acts = [e["Action"] for e in evs]
    assert acts == ["exec_create: sh -c exit 7", "exec_start: sh -c exit 7", "exec_die",
                    "exec_create: true ", "exec_start: true ", "exec_die"], acts
    ids = {e["Actor"]["Attributes"]["execID"] for e in evs[:3]}
    assert len(ids) == 1 and len(ids.pop()) == 64
    die = evs[2]["Actor"]["Attributes"]
    assert die["exitCode"] == "7" and die["name"] == ctr and die["image"] == "busybox"
    assert evs[5]["Actor"]["Attributes"]["exitCode"] == "0"


# ---- -t: a terminal ----------------------------------------------------------------


class Pty:
    """The docker CLI on a pty of the given size: send keys, read until."""

    def __init__(self, d, *args, rows=24, cols=80):
        import fcntl
        import pty
        import termios
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, DOCKER_HOST=d.host, DOCKER_CONFIG=d.docker_config, TERM="xterm")
        env.pop("DOCKER_CONTEXT", None)
        self.proc = subprocess.Popen([os.environ.get("DOCKER_CLI", "docker"), *args],
                                     stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.out = b""

    def expect(self, needle, timeout=20.0):
        import select
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.master], [], [], max(left, 0))
            if not r:
                raise AssertionError(f"{needle!r} never came: {self.out!r}")
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            if not data:
                raise AssertionError(f"EOF before {needle!r}: {self.out!r}")
            self.out += data
        i = self.out.index(needle) + len(needle)
        seen, self.out = self.out[:i], self.out[i:]
        return seen

    def send(self, data):
        os.write(self.master, data)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


def test_exec_it_shell(bb, ctr):
    t = Pty(bb, "exec", "-it", ctr, "sh", rows=33, cols=111)
    try:
        t.expect(b"/ # ")
        t.send(b"tty; stty size; echo $TERM; echo err >&2\r")
        seen = t.expect(b"err\r\n")
        assert b"/dev/pts/" in seen and b"33 111\r\n" in seen and b"xterm\r\n" in seen
        t.send(b"exit 9\r")
        assert t.proc.wait(timeout=20) == 9
    finally:
        t.close()


def test_exec_t_output_is_raw(bb, ctr):
    r = subprocess.run([os.environ.get("DOCKER_CLI", "docker"), "exec", "-t", ctr, "sh", "-c",
                        "echo out; echo err >&2; exit 2"], capture_output=True,
                       env=dict(os.environ, DOCKER_HOST=bb.host, DOCKER_CONFIG=bb.docker_config))
    # the terminal merges stderr and turns \n into \r\n; no framing
    assert (r.returncode, r.stdout) == (2, b"out\r\nerr\r\n")


def test_exec_t_letting_go_of_the_terminal_is_not_hung_up(bb, ctr):
    """As for a container (test_tty.py): the exec's terminal stays until its
    process exits, so its session leader is not sent SIGHUP when no slave
    fd is left."""
    script = ('trap "echo hup >> /verdict" HUP; exec </dev/null >/dev/null 2>&1;'
              ' sleep 1; echo end >> /verdict')
    ex(bb, "-d", "-t", ctr, "sh", "-c", script)
    deadline = time.monotonic() + 30
    while "end" not in ex(bb, ctr, "cat", "/verdict", check=False).stdout:
        assert time.monotonic() < deadline, "the exec never got to its end"
        time.sleep(0.1)
    assert ex(bb, ctr, "cat", "/verdict").stdout == "end\n"


def test_exec_tty_resize_and_detach_keys(bb, ctr):
    eid = create(bb, ctr, {"Cmd": ["sh"], "Tty": True, "AttachStdin": True,
                           "AttachStdout": True, "DetachKeys": "ctrl-x"})
    c, status, headers = hijack(bb, eid, {"Detach": False, "Tty": True, "ConsoleSize": [20, 70]})
    assert status == 101 and headers["content-type"] == "application/vnd.docker.raw-stream"

    def until(needle):
        while needle not in c.buf:
            c._fill()
        i = c.buf.index(needle) + len(needle)
        out, c.buf = c.buf[:i], c.buf[i:]
        return out

    c.send(b"stty size\n")
    assert b"20 70\r\n" in until(b"20 70\r\n")
    assert api(bb, "POST", f"/v1.47/exec/{eid}/resize?h=44&w=99").status == 200
    c.send(b"stty size\n")
    assert b"44 99\r\n" in until(b"44 99\r\n")
    c.send(b"echo $$ > /tmp/shpid\n")
    wait_until(lambda: ex(bb, ctr, "cat", "/tmp/shpid", check=False).returncode == 0,
               what="the shell's pid file")
    c.send(b"\x18")  # ctrl-x: detach; the shell keeps running
    c.read_to_eof()
    c.close()
    j = exec_json(bb, eid)
    assert (j["Running"], j["ExitCode"]) == (True, None)
    pid = ex(bb, ctr, "cat", "/tmp/shpid").stdout.strip()
    assert ex(bb, ctr, "kill", "-0", pid, check=False).returncode == 0
    ex(bb, ctr, "kill", "-9", pid)
    j = wait_until(lambda: (lambda j: j if not j["Running"] else None)(exec_json(bb, eid)),
                   what="the shell's end")
    assert j["ExitCode"] == 137


def test_exec_resize_right_after_start_applies(bb, ctr):
    """The CLI posts /exec/{id}/resize as soon as the start has answered
    101, which is before the process is spawned: that size must still
    reach the terminal (not only the ConsoleSize of the start)."""
    eid = create(bb, ctr, {"Cmd": ["sh", "-c", "read x; stty size"], "Tty": True,
                           "AttachStdin": True, "AttachStdout": True})
    c, status, _ = hijack(bb, eid, {"Detach": False, "Tty": True, "ConsoleSize": [20, 70]})
    assert status == 101
    assert api(bb, "POST", f"/v1.47/exec/{eid}/resize?h=44&w=99").status == 200
    c.send(b"\n")
    out = c.read_to_eof()
    c.close()
    assert b"44 99\r\n" in out, out
