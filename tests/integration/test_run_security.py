"""Security of `docker run` containers through the real docker CLI, proved
from inside and by effect: Docker's default capability set and
--cap-add/--cap-drop, --privileged, masked and read-only paths, seccomp
(default, unconfined, a profile file), no-new-privileges, --user and
--group-add, --ulimit, no daemon fd in the container, --init; and Docker's
errors for bad values of those flags, through the CLI and the raw API."""
import json
import os
import time

import docker

# moby oci/caps/defaults.go: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID
# SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE
DOCKER_DEFAULT_CAPS = sum(1 << c for c in (0, 1, 4, 3, 27, 13, 6, 7, 31, 8, 10, 18, 5, 29))
CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_CHOWN, CAP_SYS_RESOURCE = 12, 21, 0, 24

# moby oci/defaults.go
MASKED = ["/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
          "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def run(d, *args, input=None):
    return d.docker("run", "--rm", *args, check=False, input=input)


def out(d, *args):
    r = run(d, *args)
    assert r.returncode == 0, f"docker run {args} failed ({r.returncode}): {r.stderr}"
    return r.stdout


def fails(d, *args, words, code=125):
    r = d.docker("run", "--rm", *args, check=False)
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert words in r.stderr, r.stderr
    return r


def status_fields(d, *args):
    text = out(d, *args, "busybox", "cat", "/proc/self/status")
    return dict(ln.split(":\t", 1) for ln in text.splitlines() if ":\t" in ln)


def caps(d, *args):
    f = status_fields(d, *args)
    return {k: int(f[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def host_bounding():
    with open("/proc/self/status") as f:
        return int(next(ln for ln in f if ln.startswith("CapBnd:")).split()[1], 16)


def api_error(d, **host_config):
    """POST /containers/create with a raw HostConfig: (status, message)."""
    try:
        d.client().api.create_container("busybox", "true", host_config=host_config)
    except docker.errors.APIError as e:
        return e.status_code, e.explanation
    return 201, ""


def wait_log(d, name, needle, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in d.docker("logs", name).stdout:
            return
        time.sleep(0.02)
    raise AssertionError(f"{needle!r} never in the logs of {name}")


# ---- capabilities ----------------------------------------------------------------


def test_default_capabilities_exactly_dockers(bb):
    c = caps(bb)
    want = DOCKER_DEFAULT_CAPS & host_bounding()
    assert c["CapPrm"] == c["CapEff"] == c["CapBnd"] == want, {k: hex(v) for k, v in c.items()}
    assert c["CapInh"] == 0 and c["CapAmb"] == 0
    # the same set for a non-root user's bounding set; its effective set is empty
    c = caps(bb, "--user", "nobody")
    assert c["CapBnd"] == want and c["CapEff"] == 0


def test_cap_add_drop_by_effect(bb):
    script = "touch /f; chown 65534 /f 2>&1 && echo chown-ok; true"
    assert "chown-ok" in out(bb, "busybox", "sh", "-c", script)
    text = out(bb, "--cap-drop", "CHOWN", "busybox", "sh", "-c", script)
    assert "chown-ok" not in text and "Operation not permitted" in text
    c = caps(bb, "--cap-drop", "chown", "--cap-add", "NET_ADMIN")
    want = (DOCKER_DEFAULT_CAPS & host_bounding() & ~(1 << CAP_CHOWN)) | (1 << CAP_NET_ADMIN)
    assert c["CapEff"] == c["CapBnd"] == want
    # NET_ADMIN by effect: the loopback can be brought down only with it
    assert run(bb, "--network", "none", "busybox", "ip", "link", "set", "lo", "down"
               ).returncode != 0
    assert run(bb, "--network", "none", "--cap-add", "NET_ADMIN", "busybox", "ip", "link", "set",
               "lo", "down").returncode == 0
    c = caps(bb, "--cap-add", "ALL", "--cap-drop", "CAP_SYS_ADMIN")
    assert c["CapEff"] == host_bounding() & ~(1 << CAP_SYS_ADMIN)


def test_bad_capabilities(bb):
    fails(bb, "--cap-add", "NOSUCH", "busybox", "true", words='unknown capability: "CAP_NOSUCH"')
    fails(bb, "--cap-drop", "cap_bogus", "busybox", "true",
          words='unknown capability: "CAP_BOGUS"')
    if not host_bounding() & (1 << CAP_SYS_RESOURCE):
        fails(bb, "--cap-add", "SYS_RESOURCE", "busybox", "true",
              words='capability not supported by your kernel or not available in the current '
                    'environment: "CAP_SYS_RESOURCE"')
    status, msg = api_error(bb, CapAdd=["NOSUCH"])
    assert status == 400 and msg == 'unknown capability: "CAP_NOSUCH"'
    assert bb.docker("ps", "-aq").stdout.strip() == ""


def test_privileged(bb):
    text = out(bb, "--privileged", "busybox", "sh", "-c",
               "grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status; echo ---; ls /dev; echo ---; "
               "cat /proc/mounts; echo ---; echo timer=$(cat /proc/timer_list 2>/dev/null | wc -c)")
    status, devs, mounts_text, timer = text.split("---\n")
    fields = dict(ln.split(":\t") for ln in status.splitlines()[:3])
    assert int(fields["CapEff"], 16) == int(fields["CapBnd"], 16) == host_bounding()
    assert fields["Seccomp"] == "0"
    host_devs = {n for n in os.listdir("/dev")
                 if os.path.exists(f"/dev/{n}") and not os.path.isdir(f"/dev/{n}")
                 and (os.stat(f"/dev/{n}").st_mode & 0o170000) in (0o020000, 0o060000)}
    missing = host_devs - set(devs.split()) - {"console"}
    assert not missing, missing
    mounts = {ln.split()[1]: ln.split()[3] for ln in mounts_text.splitlines()}
    # /sys read-write, nothing masked or made read-only under /proc
    assert mounts["/sys"].startswith("rw")
    assert not [m for m in mounts if m in MASKED or m in READONLY], mounts
    if os.path.exists("/proc/timer_list"):
        assert int(timer.strip().split("=")[1]) > 0


def test_masked_and_readonly_paths(bb):
    present = [p for p in MASKED if os.path.exists(p)]
    ro = [p for p in READONLY if os.path.exists(p)]
    assert "/proc/timer_list" in present or "/proc/keys" in present
    script = "; ".join(
        [f"echo {p}=$(cat {p} 2>/dev/null | wc -c)" if os.path.isfile(p) else
         f"echo {p}=$(ls -A {p} | wc -l)" for p in present]) + \
        "; { echo 1 > /proc/sys/kernel/printk; } 2>&1; cat /proc/mounts"
    text = out(bb, "busybox", "sh", "-c", script + "; true")
    for p in present:
        assert f"{p}=0" in text, (p, text)
    assert "Read-only file system" in text
    mounts = {}
    for ln in text.splitlines():
        f = ln.split()
        if len(f) >= 4 and f[1].startswith("/proc/"):
            mounts[f[1]] = f[3]
    for p in ro:
        assert mounts.get(p, "").startswith("ro"), (p, mounts.get(p))


# ---- seccomp and no-new-privileges -------------------------------------------


def test_seccomp_profiles(bb, tmp_path):
    assert status_fields(bb)["Seccomp"] == "2"
    assert status_fields(bb, "--security-opt", "seccomp=unconfined")["Seccomp"] == "0"
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}))
    text = out(bb, "--security-opt", f"seccomp={profile}", "busybox", "sh", "-c",
               "touch /f && echo touch-ok; mkdir /d 2>&1; true")
    assert "touch-ok" in text and "Operation not permitted" in text
    assert "mkdir" not in out(bb, "busybox", "sh", "-c", "mkdir /d 2>&1; true")
    # the default profile denies what Docker's does to an unprivileged container
    text = out(bb, "busybox", "sh", "-c", "unshare -U true 2>&1; echo rc=$?")
    assert "rc=0" not in text


def test_no_new_privileges(bb):
    assert status_fields(bb)["NoNewPrivs"] == "0"
    assert status_fields(bb, "--security-opt", "no-new-privileges")["NoNewPrivs"] == "1"
    assert status_fields(bb, "--security-opt", "no-new-privileges=true",
                         "--security-opt", "seccomp=unconfined")["NoNewPrivs"] == "1"


def test_bad_security_opts(bb, tmp_path):
    fails(bb, "--security-opt", "bogus", "busybox", "true", words='Invalid --security-opt')
    status, msg = api_error(bb, SecurityOpt=["bogus"])
    assert status == 400 and msg == 'invalid --security-opt 1: "bogus"'
    status, msg = api_error(bb, SecurityOpt=["no-new-privileges=maybe"])
    assert status == 400 and "invalid --security-opt 2" in msg
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = bb.docker("run", "--rm", "--security-opt", f"seccomp={bad}", "busybox", "true",
                  check=False)
    assert r.returncode == 125 and "seccomp" in r.stderr.lower()


# ---- users, groups, rlimits --------------------------------------------------


def test_user_and_groups(bb):
    assert out(bb, "busybox", "sh", "-c", "id; echo $HOME").split() == \
        ["uid=0(root)", "gid=0(root)", "groups=0(root)", "/root"]
    assert out(bb, "--user", "nobody", "busybox", "sh", "-c", "id; echo $HOME").split() == \
        ["uid=65534(nobody)", "gid=65534(nobody)", "groups=65534(nobody)", "/nonexistent"]
    assert out(bb, "--user", "1000:1000", "busybox", "id").split() == \
        ["uid=1000", "gid=1000", "groups=1000"]
    assert out(bb, "--user", "nobody:root", "busybox", "id").split() == \
        ["uid=65534(nobody)", "gid=0(root)", "groups=0(root)"]
    assert out(bb, "--user", "nobody", "--group-add", "root", "--group-add", "777", "busybox",
               "id").split() == \
        ["uid=65534(nobody)", "gid=65534(nobody)", "groups=0(root),777,65534(nobody)"]
    # the user's identity by effect: root's files are out of reach
    text = out(bb, "--user", "nobody", "busybox", "sh", "-c", "ls /root 2>&1; touch /x 2>&1; true")
    assert text.count("Permission denied") == 2
    fails(bb, "--user", "nosuch", "busybox", "true",
          words="unable to find user nosuch: no matching entries in passwd file")
    fails(bb, "--user", "0:nosuchgroup", "busybox", "true",
          words="unable to find group nosuchgroup: no matching entries in group file")


def test_ulimits(bb):
    text = out(bb, "--ulimit", "nofile=100:200", "--ulimit", "nproc=50", "busybox", "sh", "-c",
               "ulimit -n; ulimit -Hn; ulimit -u")
    assert text.split() == ["100", "200", "50"]
    # by effect: with nofile=4, fd 3 opens and fd 4 does not
    text = out(bb, "--ulimit", "nofile=4", "busybox", "sh", "-c",
               "(exec 3</dev/null) 2>&1 && echo 3-ok; (exec 3</dev/null 4</dev/null) 2>&1 && "
               "echo 4-ok; true")
    assert "3-ok" in text and "4-ok" not in text and "Too many open files" in text


def test_bad_ulimits(bb):
    for arg, words in (("nofile=20:10", "soft limit must be less than or equal to hard limit"),
                       ("bogus=1", "invalid ulimit type: bogus"),
                       ("nofile=abc", "invalid argument")):
        r = bb.docker("run", "--rm", "--ulimit", arg, "busybox", "true", check=False)
        assert r.returncode == 125 and words in r.stderr, (arg, r.stderr)
    status, msg = api_error(bb, Ulimits=[{"Name": "bogus", "Soft": 1, "Hard": 1}])
    assert status == 400 and msg == "invalid ulimit type: bogus"
    status, msg = api_error(bb, Ulimits=[{"Name": "nofile", "Soft": 20, "Hard": 10}])
    assert status == 400 and "20 > 10" in msg
    assert bb.docker("ps", "-aq").stdout.strip() == ""


# ---- fds and --init ------------------------------------------------------------


def test_no_daemon_fd_in_container(bb):
    cid = bb.docker("run", "-d", "-i", "busybox", "sleep", "60").stdout.strip()
    pid = int(bb.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    fds = {n: os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")}
    assert sorted(fds) == ["0", "1", "2"], fds
    assert all(t.startswith("pipe:") for t in fds.values()), fds
    assert os.readlink(f"/proc/{pid}/exe") == "/bin/busybox"
    bb.docker("rm", "-f", cid)
    # PID 1 seen from inside: the shell holds its stdio only
    assert out(bb, "busybox", "sh", "-c", "ls /proc/1/fd; true").split() == ["0", "1", "2"]


def test_init_reaps_zombies_and_forwards_signals(bb):
    text = out(bb, "--init", "busybox", "sh", "-c",
               "(sleep 0.1 &); sleep 0.5; echo pid=$$; ps -o pid,stat,comm")
    assert "pid=1" not in text  # the shell is not PID 1: berth-init is
    rows = [ln.split() for ln in text.splitlines()[2:]]
    assert rows and rows[0][0] == "1"
    assert not [r for r in rows if r[1].startswith("Z")], text
    bb.docker("run", "-d", "--init", "--name", "trap", "busybox", "sh", "-c",
              "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done")
    wait_log(bb, "trap", "ready")
    bb.docker("stop", "-t", "10", "trap")
    assert bb.docker("inspect", "-f", "{{.State.ExitCode}}", "trap").stdout.strip() == "42"
    assert "got-term" in bb.docker("logs", "trap").stdout
    bb.docker("rm", "trap")
