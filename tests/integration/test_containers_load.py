"""Many containers at once, and a container that floods stdout: every run
gets its own output and leaves nothing behind (records, mounts, cgroups);
the API keeps answering while the log writer is saturated; rotation keeps
the log on disk bounded."""
import concurrent.futures
import glob
import os
import time

from httpraw import get

N = 20


def own_mounts(d):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if d.data_root in line.split()[4]]


def cgroup_dirs(cid):
    return glob.glob(f"/sys/fs/cgroup/*/berth/{cid}") + glob.glob(f"/sys/fs/cgroup/berth/{cid}")


def test_twenty_concurrent_run_rm(bb, tmp_path):
    def one(i):
        cidfile = tmp_path / f"cid{i}"
        r = bb.docker("run", "--rm", "--cidfile", str(cidfile), "-e", f"N={i}", "busybox",
                      "sh", "-c", "echo $N $(hostname); exit $((N % 3))", check=False)
        return i, r, cidfile.read_text().strip()

    with concurrent.futures.ThreadPoolExecutor(N) as ex:
        results = list(ex.map(one, range(N)))
    hostnames = set()
    for i, r, cid in results:
        assert r.returncode == i % 3, r.stderr
        n, host = r.stdout.split()
        assert n == str(i) and cid.startswith(host)
        hostnames.add(host)
        assert cgroup_dirs(cid) == []
        assert not os.path.exists(os.path.join(bb.data_root, "containers", cid))
    assert len(hostnames) == N
    assert bb.docker("ps", "-aq").stdout.strip() == ""
    assert own_mounts(bb) == []


def log_bytes(d, cid):
    """The log files and their total size; rotation may rename or delete a
    file between listing and stat, so a vanished file means: look again."""
    while True:
        files = glob.glob(os.path.join(d.data_root, "containers", cid, f"{cid}-json.log*"))
        try:
            return files, sum(os.path.getsize(f) for f in files)
        except FileNotFoundError:
            continue


def test_flood_keeps_api_responsive_and_log_bounded(bb):
    cid = bb.docker("run", "-d", "--log-opt", "max-size=1m", "--log-opt", "max-file=2",
                    "busybox", "sh", "-c", "yes 0123456789abcdef0123456789abcdef").stdout.strip()
    written = 0
    # the API answers every request while the flood goes on; socket timeouts
    # (5 s) turn a stalled loop into a failure
    for i in range(50):
        r = get(bb.sock, "/_ping")
        assert r.status == 200 and r.body == b"OK"
        if i % 10 == 0:
            r = get(bb.sock, f"/v1.47/containers/{cid}/json")
            assert r.status == 200 and b'"Running":true' in r.body
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        files, written = log_bytes(bb, cid)
        if len(files) == 2:
            break
    assert bb.docker("logs", "--tail", "1", cid).stdout == "0123456789abcdef0123456789abcdef\n"
    bb.docker("rm", "-f", cid)
    # rotation: at most max-file files of about max-size each
    assert len(files) == 2 and written <= 2 * (1 << 20) + 64 * 1024, (files, written)
