"""Isolation of `docker run` containers, proved from inside them through the
real docker CLI: namespaces (and the host/shareable/container modes), /proc,
/dev, /sys, the per-container /etc files, the overlay root over image layers
(whiteouts, private writes, the image untouched), --read-only, --tmpfs, bind
mounts with their propagation, and Docker's errors for bad values."""
import glob
import os
import socket
import subprocess
import time
import uuid

import docker
import pytest

from fixtures import images

NS = ("pid", "mnt", "uts", "ipc", "net")


def run(d, *args, input=None):
    return d.docker("run", "--rm", *args, check=False, input=input)


def out(d, *args):
    r = run(d, *args)
    assert r.returncode == 0, f"docker run {args} failed ({r.returncode}): {r.stderr}"
    return r.stdout


def fails(d, *args, words):
    """docker run must fail as the CLI does for a daemon error (125), with
    Docker's words in the message."""
    r = d.docker("run", *args, check=False)
    assert r.returncode == 125, (r.returncode, r.stdout, r.stderr)
    assert words in r.stderr, r.stderr
    return r


def host_ns(pid="self"):
    return {n: os.readlink(f"/proc/{pid}/ns/{n}") for n in NS + ("cgroup",)}


def ctr_ns(d, *args):
    text = out(d, *args, "busybox", "sh", "-c",
               "for n in pid mnt uts ipc net cgroup; do readlink /proc/self/ns/$n; done")
    return dict(zip(NS + ("cgroup",), text.split()))


def pid_of(d, name):
    return int(d.docker("inspect", "-f", "{{.State.Pid}}", name).stdout)


def wait_log(d, name, needle, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in d.docker("logs", name).stdout:
            return
        time.sleep(0.02)
    raise AssertionError(f"{needle!r} never in the logs of {name}")


def api_error(d, **host_config):
    """POST /containers/create with a raw HostConfig: (status, message)."""
    try:
        d.client().api.create_container("busybox", "true", host_config=host_config)
    except docker.errors.APIError as e:
        return e.status_code, e.explanation
    return 201, ""


# ---- namespaces ---------------------------------------------------------------


def test_pid1_and_other_containers_invisible(bb):
    bb.docker("run", "-d", "--name", "other", "busybox", "sleep", "60")
    lines = out(bb, "busybox", "sh", "-c", "echo $$; exec ps -o pid,comm").split("\n")
    assert lines[0] == "1"
    # the shell became ps: it is alone, as PID 1
    assert [ln.split() for ln in lines[2:] if ln.strip()] == [["1", "ps"]], lines
    assert "sleep" not in "".join(lines)
    bb.docker("rm", "-f", "other")


def test_own_namespaces_by_default(bb):
    host = host_ns()
    ctr = ctr_ns(bb)
    for n in NS:
        assert ctr[n] != host[n], n
    # cgroup: Docker's default is the host's on v1, private on v2; asked for,
    # it is private and its root is the container's own cgroup.
    text = out(bb, "--cgroupns", "private", "busybox", "sh", "-c",
               "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup")
    lines = text.split()
    assert lines[0] != host["cgroup"]
    assert lines[1:] and all(ln.endswith(":/") for ln in lines[1:]), lines


def test_host_modes_share_the_hosts(bb):
    host = host_ns()
    assert ctr_ns(bb, "--pid", "host")["pid"] == host["pid"]
    assert ctr_ns(bb, "--ipc", "host")["ipc"] == host["ipc"]
    assert ctr_ns(bb, "--network", "host")["net"] == host["net"]
    uts = out(bb, "--uts", "host", "busybox", "sh", "-c", "readlink /proc/self/ns/uts; hostname")
    assert uts.split() == [host["uts"], socket.gethostname()]
    # with the host's pid namespace the container sees host processes
    assert str(os.getpid()) in out(bb, "--pid", "host", "busybox", "ls", "/proc").split()


def test_network_none_is_loopback_only(bb):
    assert out(bb, "--network", "none", "busybox", "ls", "/sys/class/net").split() == ["lo"]
    assert "lo" in out(bb, "busybox", "ls", "/sys/class/net").split()
    # the loopback is up, as in Docker: 127.0.0.1 answers
    text = out(bb, "--network", "none", "busybox", "sh", "-c",
               "ip link show lo; ping -c 1 -W 2 127.0.0.1")
    assert "UP" in text.split("\n")[0] and "1 packets received" in text


def test_hostname_and_etc_files(bb):
    cid = bb.docker("run", "-d", "busybox", "sh", "-c",
                    "hostname; cat /etc/hostname; grep -c localhost /etc/hosts; "
                    "grep -c nameserver /etc/resolv.conf; "
                    "grep -E ' /etc/(hosts|hostname|resolv.conf) ' /proc/self/mountinfo | wc -l"
                    ).stdout.strip()
    assert bb.docker("wait", cid).stdout.strip() == "0"
    lines = bb.docker("logs", cid).stdout.split()
    assert lines[0] == lines[1] == cid[:12]
    assert int(lines[2]) >= 1 and int(lines[3]) >= 1 and lines[4] == "3"
    text = out(bb, "--hostname", "box1.example", "busybox", "sh", "-c",
               "hostname; cat /etc/hostname; echo 1.2.3.4 x >> /etc/hosts")
    assert text.split() == ["box1.example", "box1.example"]
    # one container's /etc/hosts is not another's
    assert "1.2.3.4" not in out(bb, "busybox", "cat", "/etc/hosts")
    bb.docker("rm", cid)


def test_ipc_shareable_and_container_modes(bb):
    bb.docker("run", "-d", "--name", "donor", "--ipc", "shareable", "busybox", "sh", "-c",
              "echo shared > /dev/shm/x; echo ready; sleep 60")
    bb.docker("run", "-d", "--name", "private", "busybox", "sleep", "60")
    wait_log(bb, "donor", "ready")
    donor_ipc = os.readlink(f"/proc/{pid_of(bb, 'donor')}/ns/ipc")
    text = out(bb, "--ipc", "container:donor", "busybox", "sh", "-c",
               "readlink /proc/self/ns/ipc; cat /dev/shm/x")
    assert text.split() == [donor_ipc, "shared"]
    # its processes are invisible, unless the pid namespace is joined too
    assert "sleep" not in out(bb, "busybox", "ps")
    assert "sleep 60" in out(bb, "--pid", "container:donor", "busybox", "ps")
    fails(bb, "--ipc", "container:private", "busybox", "true",
                 words="can't join IPC of container private: non-shareable IPC")
    fails(bb, "--ipc", "container:missing", "busybox", "true",
          words="can't join IPC of container missing: No such container: missing")
    fails(bb, "--pid", "container:missing", "busybox", "true",
          words="cannot join PID of a non running container: missing")
    bb.docker("create", "--name", "stopped", "busybox", "true")
    fails(bb, "--ipc", "container:stopped", "busybox", "true", words="is not running")
    fails(bb, "--network", "container:stopped", "busybox", "true",
          words="cannot join network of a non running container: stopped")
    # --ipc none: no /dev/shm at all; private: its own, sized by --shm-size
    assert " /dev/shm " not in out(bb, "--ipc", "none", "busybox", "cat", "/proc/mounts")
    df = out(bb, "--shm-size", "1m", "busybox", "df", "-k", "/dev/shm").split("\n")[1].split()
    assert df[1] == "1024", df
    assert "shared" not in run(bb, "busybox", "cat", "/dev/shm/x").stdout
    # the daemon owns the shareable /dev/shm while the donor runs, not after
    shm = os.path.join(bb.data_root, "containers",
                       bb.docker("inspect", "-f", "{{.Id}}", "donor").stdout.strip(), "shm")
    assert f" {shm} " in open("/proc/self/mountinfo").read()
    bb.docker("rm", "-f", "donor", "private", "stopped")
    assert f" {shm} " not in open("/proc/self/mountinfo").read()


# ---- /proc, /dev, /sys ---------------------------------------------------------


def test_proc_dev_sys(bb):
    text = out(bb, "busybox", "sh", "-c",
               "cat /proc/mounts; echo ---; ls -l /dev | tail -n +2; echo ---; "
               "touch /sys/x 2>&1; ls /dev/pts")
    mounts_text, devs, rest = text.split("---\n")
    mounts = {ln.split()[1]: ln.split() for ln in mounts_text.splitlines()}
    assert mounts["/proc"][2] == "proc"
    assert mounts["/dev"][2] == "tmpfs" and "nosuid" in mounts["/dev"][3]
    assert mounts["/dev/pts"][2] == "devpts" and "ptmxmode=666" in mounts["/dev/pts"][3]
    assert mounts["/dev/shm"][2] == "tmpfs" and "size=65536k" in mounts["/dev/shm"][3]
    assert mounts["/dev/mqueue"][2] == "mqueue"
    assert mounts["/sys"][2] == "sysfs" and mounts["/sys"][3].startswith("ro")
    nodes, links = {}, {}
    for ln in devs.splitlines():
        f = ln.split()
        if ln.startswith("c"):
            nodes[f[-1]] = (f[4].rstrip(","), f[5])
        elif ln.startswith("l"):
            links[f[-3]] = f[-1]
    assert nodes == {"null": ("1", "3"), "zero": ("1", "5"), "full": ("1", "7"),
                     "random": ("1", "8"), "urandom": ("1", "9"), "tty": ("5", "0")}
    assert links == {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                     "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
                     "ptmx": "pts/ptmx", **({"core": "/proc/kcore"}
                                            if os.path.exists("/proc/kcore") else {})}
    assert "Read-only file system" in rest
    assert rest.split()[-1] == "ptmx"  # a new devpts instance: no host ptys


# ---- root filesystem ----------------------------------------------------------


@pytest.fixture
def layered(bb, layered_image, tmp_path):
    tar = tmp_path / "layered.tar"
    tar.write_bytes(layered_image.docker_archive(repo_tags=["layered:latest"]))
    bb.docker("load", "-i", str(tar))
    return layered_image


def test_overlay_whiteouts_and_private_writes(bb, layered):
    absent = " ".join(layered.absent)
    text = out(bb, "layered", "sh", "-c",
               f"pwd; for p in {absent}; do [ -e $p ] && echo present $p; done; "
               "ls -A /data/opaque; cat /data/modify.txt /data/keep.txt")
    assert text.split() == ["/data", "new-c", "v2", "keep"]
    bb.docker("run", "--name", "writer", "layered", "sh", "-c",
              "echo changed > /data/keep.txt; rm /data/modify.txt; touch /data/new")
    # another container of the same image sees none of it
    assert out(bb, "layered", "sh", "-c",
               "cat /data/keep.txt /data/modify.txt; [ -e /data/new ] || echo no-new").split() == \
        ["keep", "v2", "no-new"]
    # the writer's own layer holds it
    cid = bb.docker("inspect", "-f", "{{.Id}}", "writer").stdout.strip()
    upper = os.path.join(bb.data_root, "containers", cid, "upper", "data", "keep.txt")
    assert open(upper).read() == "changed\n"
    # the image's layers are untouched
    keeps = glob.glob(os.path.join(bb.data_root, "layers", "*", "diff", "data", "keep.txt"))
    assert [open(p).read() for p in keeps] == ["keep\n"]
    bb.docker("rm", "writer")


def test_read_only_root_and_tmpfs(bb):
    text = out(bb, "--read-only", "busybox", "sh", "-c",
               "touch /x 2>&1; touch /tmp/x 2>&1; touch /dev/shm/ok && echo shm-ok")
    assert text.count("Read-only file system") == 2 and "shm-ok" in text
    text = out(bb, "--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run:exec,size=8m,mode=700",
               "busybox", "sh", "-c",
               "touch /tmp/ok && echo tmp-ok; grep -E ' /(tmp|run) ' /proc/mounts; "
               "stat -c %a /run; cp /bin/busybox /run/true && /run/true && echo exec-ok; "
               "cp /bin/busybox /tmp/true && /tmp/true 2>&1; true")
    assert "tmp-ok" in text and "exec-ok" in text and "Permission denied" in text
    mounts = {ln.split()[1]: ln.split()[3] for ln in text.splitlines() if " tmpfs " in ln}
    assert "noexec" in mounts["/tmp"] and "nosuid" in mounts["/tmp"] and "nodev" in mounts["/tmp"]
    assert "noexec" not in mounts["/run"] and "size=8192k" in mounts["/run"]
    assert "700" in text.split()


def test_tmpfs_and_mount_bad_input(bb):
    fails(bb, "--tmpfs", "/x:bogus", "busybox", "true", words='invalid tmpfs option ["bogus"]')
    fails(bb, "--tmpfs", "/x:uid=0,foo=1", "busybox", "true",
          words='invalid tmpfs option ["foo" "1"]')
    fails(bb, "--tmpfs", "rel", "busybox", "true", words="must be absolute")
    fails(bb, "--mount", "type=bind,src=/tmp,dst=/x,bind-propagation=bogus", "busybox", "true",
          words='invalid mount config for type "bind": invalid propagation mode: bogus')
    status, msg = api_error(bb, Tmpfs={"/x": "size=1m,nosuch"})
    assert status == 400 and msg == 'invalid tmpfs option ["nosuch"]'
    status, msg = api_error(bb, Mounts=[{"Type": "tmpfs", "Target": "/x",
                                         "TmpfsOptions": {"Options": [["nosuid"]]}}])
    assert status == 400 and "invalid option: nosuid" in msg
    status, msg = api_error(bb, Mounts=[{"Type": "bind", "Source": "/tmp", "Target": "/x",
                                         "BindOptions": {"Propagation": "sideways"}}])
    assert status == 400 and "invalid propagation mode: sideways" in msg
    assert bb.docker("ps", "-aq").stdout.strip() == ""


# ---- bind mounts -------------------------------------------------------------


def test_bind_mounts_rw_ro_and_host_invisible(bb, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("from host\n")
    secret = f"/tmp/berth-secret-{uuid.uuid4().hex}"
    open(secret, "w").close()
    try:
        text = out(bb, "-v", f"{src}:/mnt", "busybox", "sh", "-c",
                   f"cat /mnt/f; echo new > /mnt/g; ls {secret} 2>&1; true")
        assert text.startswith("from host\n") and "No such file" in text
        assert (src / "g").read_text() == "new\n"
        for args in (["-v", f"{src}:/mnt:ro"],
                     ["--mount", f"type=bind,src={src},dst=/mnt,readonly"]):
            text = out(bb, *args, "busybox", "sh", "-c", "cat /mnt/f; touch /mnt/h 2>&1; true")
            assert "from host" in text and "Read-only file system" in text
        assert not (src / "h").exists()
    finally:
        os.unlink(secret)
    fails(bb, "--mount", f"type=bind,src={tmp_path}/nosuch,dst=/mnt", "busybox", "true",
          words="bind source path does not exist")


@pytest.fixture
def shared_dir(tmp_path):
    """A tmpfs mounted shared (this host's mounts are private), so that
    rshared and rslave binds have a source Docker accepts."""
    d = tmp_path / "shared"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(d)], check=True)
    subprocess.run(["mount", "--make-shared", str(d)], check=True)
    yield d
    subprocess.run(["umount", "-R", "-l", str(d)], check=False)


def poll(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.02)
    return False


def test_bind_propagation(bb, shared_dir, tmp_path):
    (shared_dir / "sub").mkdir()
    # rslave: a mount made on the host after start shows inside
    bb.docker("run", "-d", "--name", "slave", "--mount",
              f"type=bind,src={shared_dir},dst=/mnt,bind-propagation=rslave", "busybox", "sh",
              "-c", "echo ready; while [ ! -e /mnt/sub/marker ]; do sleep 0.02; done; echo seen")
    wait_log(bb, "slave", "ready")
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(shared_dir / "sub")], check=True)
    (shared_dir / "sub" / "marker").write_text("x")
    assert bb.docker("wait", "slave").stdout.strip() == "0"
    assert "seen" in bb.docker("logs", "slave").stdout
    subprocess.run(["umount", str(shared_dir / "sub")], check=True)
    # rshared: a mount made inside reaches the host
    cid = bb.docker("run", "-d", "--cap-add", "SYS_ADMIN", "--mount",
                    f"type=bind,src={shared_dir},dst=/mnt,bind-propagation=rshared", "busybox",
                    "sh", "-c", "grep ' /mnt ' /proc/self/mountinfo; "
                    "mount -t tmpfs none /mnt/sub && echo in > /mnt/sub/f && sleep 60"
                    ).stdout.strip()
    try:
        assert poll(lambda: (shared_dir / "sub" / "f").exists()), bb.docker("logs", cid).stderr
        assert "shared:" in bb.docker("logs", cid).stdout
    finally:
        bb.docker("rm", "-f", cid)
        subprocess.run(["umount", "-l", str(shared_dir / "sub")], check=False)
    # the default (rprivate) keeps the container's mounts to itself
    out(bb, "--cap-add", "SYS_ADMIN", "-v", f"{shared_dir}:/mnt", "busybox", "sh", "-c",
        "mount -t tmpfs none /mnt/sub && touch /mnt/sub/private")
    assert not (shared_dir / "sub" / "private").exists()
    # sources on a private mount can't be shared or slaves
    plain = tmp_path / "plain"
    plain.mkdir()
    fails(bb, "--mount", f"type=bind,src={plain},dst=/mnt,bind-propagation=rshared", "busybox",
          "true", words=f"path {plain} is mounted on")
    fails(bb, "--mount", f"type=bind,src={plain},dst=/mnt,bind-propagation=rslave", "busybox",
          "true", words="but it is not a shared or slave mount")


def test_pid_join_chains_stay_in_the_first_namespace(bb):
    """c3 --pid container:c2, where c2 joined c1: all three share c1's pid
    namespace (never the host's, which c2's setup parent lives in)."""
    bb.docker("run", "-d", "--name", "pc1", "busybox", "sleep", "60")
    bb.docker("run", "-d", "--name", "pc2", "--pid", "container:pc1", "busybox", "sleep", "61")
    first = os.readlink(f"/proc/{pid_of(bb, 'pc1')}/ns/pid")
    text = out(bb, "--pid", "container:pc2", "busybox", "sh", "-c",
               "readlink /proc/self/ns/pid; ps -o args")
    ns, *ps = text.split("\n")
    assert ns == first and ns != host_ns()["pid"]
    assert any("sleep 60" in line for line in ps) and any("sleep 61" in line for line in ps)
    assert len(ps) < 10  # the host's processes stay invisible
    bb.docker("rm", "-f", "pc1", "pc2")
