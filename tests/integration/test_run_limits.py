"""Resource limits of `docker run` containers through the real docker CLI,
proved from inside (the container's own cgroup files) and by effect: an
allocation over -m is OOM-killed (exit 137, State.OOMKilled), a fork loop
stops at --pids-limit, and every other flag shows in its cgroup file.

The assertions hold on cgroup v1 (this machine: one hierarchy per controller
under /sys/fs/cgroup/<ctrl>) and on v2 (one unified tree, where the files and
some units differ: cpu.weight for shares, memory.low for the reservation,
memory.swap.max for swap beyond memory)."""
import pytest

MiB = 1 << 20


def run(d, *args):
    return d.docker("run", "--rm", *args, check=False)


def out(d, *args):
    r = run(d, *args)
    assert r.returncode == 0, f"docker run {args} failed ({r.returncode}): {r.stderr}"
    return r.stdout


def cgroup_files(d, *args, v1=(), v2=()):
    """Reads the named files of the container's cgroup from inside it:
    {"v2": bool, name: text} with the v1 paths (ctrl/file) or the v2 ones."""
    script = ("if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo v2; "
              + " ".join(f"echo {f}=$(cat /sys/fs/cgroup/{f} 2>/dev/null | tr '\\n' ' ');"
                         for f in v2)
              + " else echo v1; "
              + " ".join(f"echo {f}=$(cat /sys/fs/cgroup/{f} 2>/dev/null | tr '\\n' ' ');"
                         for f in v1)
              + " fi")
    lines = out(d, *args, "busybox", "sh", "-c", script).splitlines()
    res = {"v2": lines[0] == "v2"}
    res.update(ln.split("=", 1) for ln in lines[1:])
    return {k: v.strip() if isinstance(v, str) else v for k, v in res.items()}


def test_memory_limit_oom_kills(bb):
    r = bb.docker("run", "--name", "hog", "-m", "16m", "--memory-swap", "16m", "busybox",
                  "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1", check=False)
    assert r.returncode == 137, (r.returncode, r.stderr)
    state = bb.docker("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog")
    assert state.stdout.split() == ["true", "137"]
    # the same allocation under a larger limit survives and is not flagged
    assert bb.docker("run", "--name", "fits", "-m", "128m", "busybox", "dd", "if=/dev/zero",
                     "of=/dev/null", "bs=32M", "count=1", check=False).returncode == 0
    assert bb.docker("inspect", "-f", "{{.State.OOMKilled}}", "fits").stdout.strip() == "false"
    bb.docker("rm", "hog", "fits")


def test_pids_limit_stops_a_fork_loop(bb):
    f = cgroup_files(bb, "--pids-limit", "20", v1=["pids/pids.max"], v2=["pids.max"])
    assert f["pids.max" if f["v2"] else "pids/pids.max"] == "20"
    # 60 background sleeps: forks fail once 20 tasks exist in the container
    r = run(bb, "--pids-limit", "20", "busybox", "sh", "-c",
            "i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); echo $i; done")
    assert r.returncode != 0 and "can't fork" in r.stderr, (r.returncode, r.stderr)
    started = [int(x) for x in r.stdout.split()]
    assert 0 < max(started) < 20, started
    # without the limit the same loop runs to the end
    r = run(bb, "busybox", "sh", "-c",
            "i=0; while [ $i -lt 60 ]; do sleep 0.2 & i=$((i+1)); done; echo $i")
    assert r.returncode == 0 and r.stdout.split() == ["60"]


def test_memory_files(bb):
    f = cgroup_files(bb, "-m", "32m", "--memory-reservation", "16m", "--memory-swap", "64m",
                     v1=["memory/memory.limit_in_bytes", "memory/memory.soft_limit_in_bytes",
                         "memory/memory.memsw.limit_in_bytes"],
                     v2=["memory.max", "memory.low", "memory.swap.max"])
    if f["v2"]:
        assert (f["memory.max"], f["memory.low"], f["memory.swap.max"]) == \
            (str(32 * MiB), str(16 * MiB), str(32 * MiB))
    else:
        assert f["memory/memory.limit_in_bytes"] == str(32 * MiB)
        assert f["memory/memory.soft_limit_in_bytes"] == str(16 * MiB)
        if f["memory/memory.memsw.limit_in_bytes"]:  # swap accounting on
            assert f["memory/memory.memsw.limit_in_bytes"] == str(64 * MiB)
    # Docker's default swap is twice the memory
    f = cgroup_files(bb, "-m", "16m", v1=["memory/memory.memsw.limit_in_bytes"],
                     v2=["memory.swap.max"])
    got = f["memory.swap.max" if f["v2"] else "memory/memory.memsw.limit_in_bytes"]
    assert got in ("", str(16 * MiB) if f["v2"] else str(32 * MiB))


def test_oom_kill_disable_file(bb):
    f = cgroup_files(bb, "-m", "32m", "--oom-kill-disable", v1=["memory/memory.oom_control"])
    if f["v2"]:
        pytest.skip("cgroup v2 has no oom-kill switch (Docker ignores the flag there)")
    assert "oom_kill_disable 1" in f["memory/memory.oom_control"]
    f = cgroup_files(bb, "-m", "32m", v1=["memory/memory.oom_control"])
    assert "oom_kill_disable 0" in f["memory/memory.oom_control"]


def test_cpu_files(bb):
    f = cgroup_files(bb, "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0",
                     v1=["cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "cpu/cpu.shares",
                         "cpuset/cpuset.cpus"],
                     v2=["cpu.max", "cpu.weight", "cpuset.cpus"])
    if f["v2"]:
        # runc's conversion: weight = 1 + (shares - 2) * 9999 / 262142
        assert (f["cpu.max"], f["cpu.weight"], f["cpuset.cpus"]) == ("50000 100000", "20", "0")
    else:
        assert (f["cpu/cpu.cfs_quota_us"], f["cpu/cpu.cfs_period_us"]) == ("50000", "100000")
        assert f["cpu/cpu.shares"] == "512" and f["cpuset/cpuset.cpus"] == "0"
    # by effect: the container runs on the CPU it was given only
    assert out(bb, "--cpuset-cpus", "0", "busybox", "sh", "-c",
               "grep Cpus_allowed_list /proc/self/status").split()[-1] == "0"
    # no flags: no quota, Docker's default shares
    f = cgroup_files(bb, v1=["cpu/cpu.cfs_quota_us", "cpu/cpu.shares"],
                     v2=["cpu.max", "cpu.weight"])
    if f["v2"]:
        assert f["cpu.max"].split()[0] == "max" and f["cpu.weight"] == "100"
    else:
        assert f["cpu/cpu.cfs_quota_us"] == "-1" and f["cpu/cpu.shares"] == "1024"


def test_blkio_weight_file(bb):
    f = cgroup_files(bb, "--blkio-weight", "300",
                     v1=["blkio/blkio.weight", "blkio/blkio.bfq.weight"],
                     v2=["io.bfq.weight", "io.weight"])
    if f["v2"]:
        # runc's conversion when BFQ is absent: 1 + (weight - 10) * 9999 / 990
        assert "300" in f["io.bfq.weight"] or \
            f["io.weight"] == f"default {1 + (300 - 10) * 9999 // 990}", f
        return
    if not (f["blkio/blkio.weight"] or f["blkio/blkio.bfq.weight"]):
        pytest.skip("no blkio weight file on this host's I/O scheduler")
    assert "300" in (f["blkio/blkio.weight"], f["blkio/blkio.bfq.weight"].split()[-1])


def test_bad_limits(bb):
    for args, words in (
            (["-m", "1k"], "Minimum memory limit allowed is 6MB"),
            (["-m", "32m", "--memory-swap", "16m"],
             "Minimum memoryswap limit should be larger than memory limit"),
            (["--cpuset-cpus", "4096"], "Requested CPUs are not available"),
            (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
            (["--cpuset-cpus", "abc"], "Invalid value abc for cpuset cpus"),
            (["--cpuset-cpus", "9000"], "value of out range, maximum is 8192"),
            (["--cpus", "64"], "of CPUs is from 0.01 to")):
        r = run(bb, *args, "busybox", "true")
        assert r.returncode == 125 and words in r.stderr, (args, r.stderr)
    assert bb.docker("ps", "-aq").stdout.strip() == ""
    # the CLI's own refusals
    for args, words in ((["--memory", "lots"], "invalid argument"),
                        (["--pids-limit", "x"], "invalid argument")):
        r = run(bb, *args, "busybox", "true")
        assert r.returncode == 125 and words in r.stderr, (args, r.stderr)
