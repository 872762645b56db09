"""docker top, docker update, docker container prune and container sizes
(ps -s, inspect --size), through the real docker CLI, docker-py and raw
HTTP. Limits are proved from inside the container, from the cgroup files it
sees (v1 hierarchies here, v2's unified files elsewhere)."""
import json
import os
import select
import subprocess
import time
import urllib.parse

import pytest

import httpraw
from conftest import DOCKER

MiB = 1 << 20
# sleep as PID 1 ignores SIGTERM: let daemon shutdown at teardown be quick.
QUICK_STOP = ("--stop-signal", "KILL")


# ---- helpers -----------------------------------------------------------------

def popen_docker(d, *args):
    env = dict(os.environ, DOCKER_HOST=d.host, DOCKER_CONFIG=d.docker_config)
    env.pop("DOCKER_CONTEXT", None)
    return subprocess.Popen([DOCKER, *args], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class Lines:
    """Line reader over a pipe with a deadline (no test can hang on it)."""

    def __init__(self, f):
        self.fd = f.fileno()
        self.buf = b""

    def next(self, timeout=30):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line within {timeout}s, got {self.buf!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 4096)
                if not chunk:
                    raise EOFError(f"pipe closed, got {self.buf!r}")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def block(self, end="--"):
        """key=value lines up to a line `end`, as a dict."""
        out = {}
        while (line := self.next()) != end:
            key, _, value = line.partition("=")
            out[key] = value.strip()
        return out


# Prints the limits the container's own cgroup files hold, once at start
# and once more after a line arrives on stdin.
LIMITS = r'''
show() {
  if [ -f /sys/fs/cgroup/memory.max ]; then
    echo v=2
    echo mem=$(cat /sys/fs/cgroup/memory.max)
    echo swap=$(cat /sys/fs/cgroup/memory.swap.max 2>/dev/null)
    echo cpu=$(cat /sys/fs/cgroup/cpu.max)
    echo pids=$(cat /sys/fs/cgroup/pids.max)
  else
    echo v=1
    echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
    echo swap=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null)
    echo cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    echo pids=$(cat /sys/fs/cgroup/pids/pids.max)
  fi
  echo --
}
show
read go
show
'''


def inspect(d, name, fmt):
    return d.docker("inspect", "-f", fmt, name).stdout.strip()


def host_config(d, name):
    return json.loads(inspect(d, name, "{{json .HostConfig}}"))


def events(d, t0, *filters):
    args = ["events", "--since", str(t0), "--until", str(int(time.time()) + 1),
            "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}"]
    for f in filters:
        args += ["--filter", f]
    return d.docker(*args, timeout=20).stdout.splitlines()


def wait_running(d, name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if inspect(d, name, "{{.State.Running}}") == "true":
            return
        time.sleep(0.05)
    raise TimeoutError(f"{name} never ran")


def host_memory_limit(pid):
    """The memory limit of pid's cgroup, read on the host side."""
    for line in open(f"/proc/{pid}/cgroup"):
        _, ctrls, path = line.strip().split(":", 2)
        if "memory" in ctrls.split(","):
            return open(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes").read().strip()
        if ctrls == "" and os.path.exists(f"/sys/fs/cgroup{path}/memory.max"):
            return open(f"/sys/fs/cgroup{path}/memory.max").read().strip()
    raise AssertionError("no memory cgroup for %d" % pid)


# ---- top -----------------------------------------------------------------------

def test_top_lists_only_the_containers_processes(bb):
    cid = bb.docker("run", "-d", *QUICK_STOP, "--name", "t1", "busybox", "sh", "-c",
                    "sleep 1001 & exec sleep 1002").stdout.strip()
    pid = inspect(bb, "t1", "{{.State.Pid}}")
    # The background sleep is a forked sh until it has executed: poll.
    deadline = time.monotonic() + 20
    while True:
        out = bb.docker("top", "t1").stdout.splitlines()
        rows = [line.split() for line in out[1:]]
        cmds = sorted(" ".join(r[7:]) for r in rows)
        if cmds == ["sleep 1001", "sleep 1002"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert cmds == ["sleep 1001", "sleep 1002"], out
    titles = out[0].split()
    assert titles[:3] == ["UID", "PID", "PPID"] and titles[-1] == "CMD"
    assert pid in [r[1] for r in rows]  # host PIDs, as Docker shows them
    # Custom columns: Docker adds the PID column it needs and hides it again.
    out = bb.docker("top", "t1", "-o", "comm").stdout.split()
    assert out == ["COMMAND", "sleep", "sleep"]
    out = bb.docker("top", "t1", "-o", "pid,comm").stdout.splitlines()
    assert out[0].split() == ["PID", "COMMAND"] and [pid, "sleep"] in [l.split() for l in out[1:]]
    # BSD-style arguments and docker-py.
    assert bb.docker("top", "t1", "aux").stdout.splitlines()[0].split()[:2] == ["USER", "PID"]
    top = bb.client().containers.get(cid).top(ps_args="-o pid,args")
    assert top["Titles"] == ["PID", "COMMAND"]
    assert sorted(p[1] for p in top["Processes"]) == ["sleep 1001", "sleep 1002"]
    assert any(line.split()[1] == "top" and cid in line for line in events(bb, 0, "container=t1"))


def test_top_errors(bb):
    bb.docker("create", "--name", "idle", "busybox", "true")
    r = bb.docker("top", "idle", check=False)
    assert r.returncode != 0 and "is not running" in r.stderr
    r = bb.docker("top", "nosuch", check=False)
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr
    bb.docker("run", "-d", *QUICK_STOP, "--name", "t2", "busybox", "sleep", "1000")
    r = httpraw.get(bb.sock, "/v1.47/containers/t2/top?ps_args=--no-such-option")
    assert r.status == 500 and json.loads(r.body)["message"].startswith("ps: "), r.body
    # Without a PID column there is nothing to filter on.
    r = httpraw.get(bb.sock, "/v1.47/containers/t2/top?ps_args=--no-headers")
    assert r.status == 500 and b"Couldn't find PID field in ps output" in r.body
    r = httpraw.get(bb.sock, "/v1.47/containers/idle/top")
    assert r.status == 409 and b"is not running" in r.body
    bb.docker("rm", "-f", "t2", "idle")


# ---- update --------------------------------------------------------------------

def test_update_running_container_live(bb):
    """The new limits reach the running container's cgroup at once; inspect
    and the events show them."""
    p = popen_docker(bb, "run", "-i", "--name", "u1", "busybox", "sh", "-c", LIMITS)
    lines = Lines(p.stdout)
    try:
        before = lines.block()
        assert before["pids"] == "max"
        t0 = int(time.time())
        r = bb.docker("update", "--memory", "64m", "--memory-swap", "128m", "--cpus", "0.5",
                      "--pids-limit", "50", "--restart", "on-failure:3", "u1")
        assert r.stdout.strip() == "u1"
        p.stdin.write(b"go\n")
        p.stdin.flush()
        after = lines.block()
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    assert after["mem"] == str(64 * MiB) != before["mem"]
    if after["v"] == "1":
        assert after["swap"] == str(128 * MiB)
        assert after["cpu"] == "50000 100000"
    else:
        assert after["swap"] == str(64 * MiB)  # v2 counts swap beyond memory
        assert after["cpu"] == "50000 100000"
    assert after["pids"] == "50"
    hc = host_config(bb, "u1")
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"]) == \
        (64 * MiB, 128 * MiB, 500_000_000, 50)
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    cid = inspect(bb, "u1", "{{.Id}}")
    assert [e.split()[:3] for e in events(bb, t0, "event=update")] == \
        [["container", "update", cid]]
    # Persisted: a restarted daemon still has it.
    bb.stop()
    bb.start()
    assert host_config(bb, "u1")["PidsLimit"] == 50


def test_update_stopped_container_applies_at_next_start(bb):
    bb.docker("create", "-i", "--name", "u2", "busybox", "sh", "-c", LIMITS)
    bb.docker("update", "--memory", "32m", "--memory-swap", "64m", "--pids-limit", "7", "u2")
    assert inspect(bb, "u2", "{{.State.Status}}") == "created"
    r = bb.docker("start", "-ai", "u2", input="go\n")
    first = dict(l.split("=", 1) for l in r.stdout.split("--\n")[0].splitlines())
    assert first["mem"] == str(32 * MiB) and first["pids"] == "7"
    # docker-py: the same endpoint, and its reply.
    c = bb.client().containers.get("u2")
    assert c.update(mem_limit="48m", memswap_limit="96m") == {"Warnings": []}
    assert host_config(bb, "u2")["Memory"] == 48 * MiB


@pytest.mark.parametrize("args,message", [
    (["--cpuset-cpus", "abc"], "Invalid value abc for cpuset cpus: invalid format: abc"),
    (["--cpuset-cpus", "4095"], "Requested CPUs are not available"),
    (["--memory", "4m"], "Minimum memory limit allowed is 6MB"),
    (["--memory", "256m"], "Memory limit should be smaller than already set memoryswap limit, "
                           "update the memoryswap at the same time"),
    (["--memory", "64m", "--memory-swap", "32m"], "Minimum memoryswap limit should be larger"),
    (["--cpu-quota", "50000"], "CPU Quota cannot be updated as NanoCPUs has already been set"),
    (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
    (["--cpus", "4096"], "Range of CPUs is from 0.01 to"),
    (["--restart", "always:3"], "maximum retry count can only be used with 'on-failure'"),
])
def test_update_bad_input_changes_nothing(bb, args, message):
    bb.docker("run", "-d", *QUICK_STOP, "--name", "u3", "-m", "64m", "--cpus", "0.5",
              "busybox", "sleep", "1000")
    pid = int(inspect(bb, "u3", "{{.State.Pid}}"))
    hc, limit = host_config(bb, "u3"), host_memory_limit(pid)
    t0 = int(time.time())
    r = bb.docker("update", *args, "u3", check=False)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert host_config(bb, "u3") == hc
    assert host_memory_limit(pid) == limit == str(64 * MiB)
    assert events(bb, t0, "event=update") == []


def test_update_raw_bad_input(bb):
    bb.docker("create", "--name", "u4", "busybox", "true")
    hc = host_config(bb, "u4")
    for body, status, msg in [
        ('{"Memory":"64m"}', 400, b"cannot unmarshal string into Go struct field UpdateConfig.Memory"),
        ('{"Memory":1.5}', 400, b"UpdateConfig.Memory of type int64"),
        ('{"RestartPolicy":{"Name":"sometimes"}}', 400, b"invalid restart policy: unknown policy"),
        ('{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}', 400,
         b"maximum retry count can't be negative"),
        ('[1]', 400, b"invalid JSON"),
        ('{"Memory":', 400, b"invalid JSON"),
    ]:
        r = httpraw.get(bb.sock, "/v1.47/containers/u4/update", method="POST",
                        headers={"Content-Type": "application/json"}, body=body)
        assert r.status == status and msg in r.body, (body, r.status, r.body)
    r = httpraw.get(bb.sock, "/v1.47/containers/nosuch/update", method="POST",
                    headers={"Content-Type": "application/json"}, body='{"Memory":67108864}')
    assert r.status == 404 and b"No such container: nosuch" in r.body
    r = bb.docker("update", "--cpus", "1", "nosuch", check=False)
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr
    assert host_config(bb, "u4") == hc
    # AutoRemove containers keep "no".
    bb.docker("create", "--rm", "--name", "u5", "busybox", "true")
    r = bb.docker("update", "--restart", "always", "u5", check=False)
    assert r.returncode != 0 and "Restart policy cannot be updated because AutoRemove is " \
                                 "enabled for the container" in r.stderr


def test_update_kernel_refusal_restores_limits(bb):
    """A value the kernel refuses (v1: memory+swap below memory) fails the
    update and leaves both the cgroup and the config as they were."""
    bb.docker("run", "-d", *QUICK_STOP, "--name", "u6", "-m", "64m", "busybox", "sleep",
              "1000")
    pid = int(inspect(bb, "u6", "{{.State.Pid}}"))
    if not any(":memory:" in l for l in open(f"/proc/{pid}/cgroup")):
        pytest.skip("memory+swap as one limit is cgroup v1's")
    hc = host_config(bb, "u6")
    r = bb.docker("update", "--memory-swap", "32m", "u6", check=False)
    assert r.returncode != 0 and "Cannot update container" in r.stderr, r.stderr
    assert host_config(bb, "u6") == hc
    assert host_memory_limit(pid) == str(64 * MiB)


# ---- prune ---------------------------------------------------------------------

def test_container_prune(bb):
    bb.docker("run", "-d", *QUICK_STOP, "--name", "running", "busybox", "sleep", "1000")
    e1 = bb.docker("run", "--name", "e1", "busybox", "sh", "-c",
                   "head -c 1048576 /dev/zero > /one-mib").returncode == 0
    assert e1
    ids = {n: inspect(bb, n, "{{.Id}}") for n in ("running", "e1")}
    ids["c1"] = bb.docker("create", "--name", "c1", "--label", "keep=yes", "busybox",
                          "true").stdout.strip()
    bb.docker("run", "--name", "e2", "--label", "keep=yes", "--label", "x=1", "busybox", "true")
    ids["e2"] = inspect(bb, "e2", "{{.Id}}")
    t0 = int(time.time())
    # label! keeps the labelled ones; label= takes exactly them, without x=1.
    r = bb.docker("container", "prune", "-f", "--filter", "label=keep=yes",
                  "--filter", "label!=x=1")
    assert r.stdout.split()[:3] == ["Deleted", "Containers:", ids["c1"]], r.stdout
    names = set(bb.docker("ps", "-a", "--format", "{{.Names}}").stdout.split())
    assert names == {"running", "e1", "e2"}
    # Created after the until time: kept.
    assert bb.client().containers.prune(filters={"until": "1h"}) == \
        {"ContainersDeleted": None, "SpaceReclaimed": 0}
    rep = bb.client().containers.prune()
    assert sorted(rep["ContainersDeleted"]) == sorted([ids["e1"], ids["e2"]])
    assert MiB <= rep["SpaceReclaimed"] < MiB + 64 * 1024, rep
    assert bb.docker("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["running"]
    assert inspect(bb, "running", "{{.State.Running}}") == "true"
    evs = events(bb, t0, "type=container")
    destroyed = [e.split()[2] for e in evs if e.split()[1] == "destroy"]
    assert sorted(destroyed) == sorted([ids["c1"], ids["e1"], ids["e2"]])
    prunes = [json.loads(e.split(None, 2)[2]) for e in evs if e.split()[1] == "prune"]
    assert [p["reclaimed"] for p in prunes] == ["0", "0", str(rep["SpaceReclaimed"])]
    r = bb.docker("container", "prune", "-f")
    assert "Total reclaimed space: 0B" in r.stdout


def test_container_prune_cli_reports_space(bb):
    bb.docker("run", "--name", "w1", "busybox", "sh", "-c", "head -c 1048576 /dev/zero > /f")
    r = bb.docker("container", "prune", "-f")
    assert "Total reclaimed space: 1.049MB" in r.stdout, r.stdout


def test_container_prune_bad_filters(bb):
    bb.docker("create", "--name", "keepme", "busybox", "true")
    for f, msg in [("bogus=1", "invalid filter 'bogus'"),
                   ("until=xyz", "invalid value for 'until' filter"),
                   ("status=exited", "invalid filter 'status'")]:
        r = bb.docker("container", "prune", "-f", "--filter", f, check=False)
        assert r.returncode != 0 and msg in r.stderr, r.stderr
    q = urllib.parse.quote('{"until":["1h","2h"]}')
    r = httpraw.get(bb.sock, f"/v1.47/containers/prune?filters={q}", method="POST")
    assert r.status == 400 and b"more than one until filter specified" in r.body
    assert bb.docker("ps", "-aq").stdout.split() != []


# ---- sizes ---------------------------------------------------------------------

def test_sizes_grow_with_the_writable_layer(bb):
    image_size = int(bb.docker("image", "inspect", "-f", "{{.Size}}", "busybox").stdout)
    p = popen_docker(bb, "run", "-i", "--name", "sz", "busybox", "sh", "-c",
                     "echo ready; read x; head -c 1048576 /dev/zero > /one-mib; echo written;"
                     " read y")
    lines = Lines(p.stdout)
    try:
        assert lines.next() == "ready"
        r = bb.docker("inspect", "--size", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "sz")
        rw0, root0 = map(int, r.stdout.split())
        assert root0 == rw0 + image_size and rw0 < 64 * 1024
        p.stdin.write(b"go\n")
        p.stdin.flush()
        assert lines.next() == "written"
        rw1, root1 = sizes_cli(bb, "sz")
        assert MiB <= rw1 - rw0 < MiB + 64 * 1024
        assert root1 == rw1 + image_size
        ps = bb.docker("ps", "-s", "--format", "{{.Names}} {{.Size}}").stdout.strip()
        assert ps.startswith("sz 1.05MB (virtual "), ps
        listed = bb.client().api.containers(size=True)
        assert [(c["SizeRw"], c["SizeRootFs"]) for c in listed] == [(rw1, root1)]
        # Without size=1, no size members.
        assert "SizeRw" not in bb.client().api.containers()[0]
        assert "SizeRw" not in bb.client().api.inspect_container("sz")
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def sizes_cli(d, name):
    r = d.docker("inspect", "--size", "-f", "{{.SizeRw}} {{.SizeRootFs}}", name)
    return tuple(map(int, r.stdout.split()))


def test_sizes_with_vfs(make_daemon, tmp_path):
    """vfs copies the whole image: SizeRw counts only what differs from it."""
    from fixtures import images
    d = make_daemon({"storage-driver": "vfs"})
    tar = tmp_path / "bb.tar"
    tar.write_bytes(images.busybox_image("docker").docker_archive(repo_tags=["busybox:latest"]))
    d.docker("load", "-i", str(tar))
    d.docker("create", "--name", "fresh", "busybox", "true")
    assert sizes_cli(d, "fresh")[0] == 0
    d.docker("run", "--name", "vv", "busybox", "sh", "-c",
             "head -c 1048576 /dev/zero > /one-mib; echo x >> /etc/passwd")
    passwd = len(d.docker("run", "--rm", "busybox", "cat", "/etc/passwd").stdout) + 2
    rw, _ = sizes_cli(d, "vv")
    assert rw == MiB + passwd, (rw, passwd)
