#!/usr/bin/python3
"""Shared by the container benchmarks (bench_run, bench_attach, ...): the two
engines (berthd, and Debian's dockerd with its shims), a docker CLI aimed at
each, API calls, the busybox image, and the quiet-CPU wait between engines.
"""

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from benchlib import (Berth, BenchError, Docker, UnixHTTPConnection, api_request, apt_install,
                      cli_env, kill_procs, procs_mentioning, remove_tree)

INTEGRATION_DIR = Path(__file__).resolve().parents[1] / "integration"
DOCKER_CLI = "/usr/local/bin/docker"
IMAGE = "busybox:latest"
CLI_TIMEOUT = 120.0

# Between engines the bench waits (up to QUIET_TIMEOUT) for a QUIET_WINDOW
# in which the CPUs are under QUIET_BUSY busy.
QUIET_WINDOW, QUIET_BUSY, QUIET_TIMEOUT = 0.2, 0.15, 5.0
QUIET_STATS = {"waits": 0, "missed": 0}

# ---- engines and clients --------------------------------------------------------

class BerthRun(Berth):
    """berthd, optionally with --log-level (debug timestamps for profiling)."""

    def __init__(self, workdir, binary, log_level=None):
        super().__init__(workdir, binary)
        self.log_level = log_level

    def command(self):
        extra = ["--log-level", self.log_level] if self.log_level else []
        return super().command() + extra


# containerd-shims put their sockets here (hard-coded, like /run/docker),
# and dockerd makes its cgroup parent in every hierarchy.
SHIM_DIRS = ("/run/containerd", "/run/containerd/s")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def docker_cgroup_parents():
    """dockerd's parent cgroup ("docker") in each mounted hierarchy."""
    try:
        return [h / "docker" for h in CGROUP_ROOT.iterdir() if h.is_dir()]
    except OSError:
        return []


class DockerRun(Docker):
    """dockerd for container work: its shims live outside its process tree
    (they double-fork to PID 1), so stopping it also looks for shims that
    name its dirs, and removes the shim dirs and parent cgroups it created
    if they are empty."""

    def start(self):
        self.own_dirs = [d for d in SHIM_DIRS if not os.path.exists(d)]
        self.own_dirs += [str(d) for d in docker_cgroup_parents() if not d.exists()]
        super().start()

    def stop(self):
        notes = super().stop()
        shims = procs_mentioning(str(self.workdir))
        if shims:
            notes.append(f"docker: {len(shims)} process(es) naming its dirs outlived it; killed")
            kill_procs(shims)
        for d in reversed(getattr(self, "own_dirs", [])):
            try:
                os.rmdir(d)
            except OSError:
                pass
        return notes


class Side:
    """One engine under test: its daemon, a docker CLI environment aimed at
    it, and API calls on its socket."""

    def __init__(self, engine, cli, cli_config):
        self.engine = engine
        self.name = engine.name
        self.cli = cli
        self.env = cli_env(engine.host, cli_config)

    @property
    def sock(self):
        return self.engine.sock

    def docker(self, *args, timeout=CLI_TIMEOUT, stdout=subprocess.PIPE):
        """Run the CLI; raise unless it exits 0. stdout/stderr are text."""
        try:
            out = subprocess.run([self.cli, *args], env=self.env, stdout=stdout,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                 text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{self.name}: docker {' '.join(args[:4])} took over "
                             f"{timeout:.0f}s") from None
        if out.returncode != 0:
            raise BenchError(f"{self.name}: docker {' '.join(args[:6])} exited "
                             f"{out.returncode}: {(out.stderr or '').strip()[-800:]}")
        return out

    def popen(self, *args, **kw):
        return subprocess.Popen([self.cli, *args], env=self.env, stdin=subprocess.DEVNULL, **kw)

    def api(self, method, path, body=None, want=(200,), timeout=60.0):
        status, doc = api_request(self.sock, method, path, body, timeout)
        if status not in want:
            raise BenchError(f"{self.name}: {method} {path} answered {status}: {doc!r:.300}")
        return doc

    def inspect(self, cid):
        return self.api("GET", f"/containers/{cid}/json")

    def container_ids(self):
        return [c["Id"] for c in self.api("GET", "/containers/json?all=1")]

    def remove_all(self):
        """Force-remove every container (cleanup); returns what went wrong."""
        notes = []
        for cid in self.container_ids():
            status, doc = api_request(self.sock, "DELETE", f"/containers/{cid}?force=1&v=1")
            if status not in (204, 404):
                notes.append(f"{self.name}: cleanup DELETE {cid[:12]} answered {status}: {doc}")
        return notes


class ApiSession:
    """One keep-alive connection for a sequence of API calls."""

    def __init__(self, side):
        self.side = side
        self.conn = UnixHTTPConnection(side.sock, timeout=CLI_TIMEOUT)

    def call(self, method, path, body=None, want=(200,)):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self.conn.request(method, path, body=None if body is None else json.dumps(body),
                              headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise BenchError(f"{self.side.name}: {method} {path}: {e}") from None
        if resp.status not in want:
            raise BenchError(f"{self.side.name}: {method} {path} answered {resp.status}: "
                             f"{data[:300]!r}")
        return json.loads(data) if data else None

    def close(self):
        self.conn.close()


def load_busybox(sides, workroot):
    """The integration fixtures' busybox as a docker archive, loaded into
    every engine (needs Debian's busybox-static)."""
    sys.path.insert(0, str(INTEGRATION_DIR))
    if not os.access("/bin/busybox", os.X_OK):
        apt_install(["busybox-static"])
    from fixtures import images
    tar = workroot / "busybox.tar"
    tar.write_bytes(images.busybox_image("docker").docker_archive(repo_tags=[IMAGE]))
    for side in sides:
        out = side.docker("load", "-i", str(tar))
        if IMAGE not in out.stdout:
            raise BenchError(f"{side.name}: docker load printed {out.stdout!r}")


def ms(seconds):
    return seconds * 1000.0


def spread(values):
    """Median, min and max of a list, plus the list, for the JSON."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "samples": values}


def alternating(sides, i):
    """Engines in turn order for iteration i, so drift hits both alike."""
    return sides if i % 2 == 0 else sides[::-1]


def cpu_times():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def wait_quiet(timeout=QUIET_TIMEOUT):
    """Wait (up to timeout) for a window in which the CPUs are mostly idle.

    An engine's work does not end with its answer: dockerd's shims exit,
    namespaces and mounts are torn down in the background. Measuring the
    next engine while that runs would charge it with the other's tail.
    On a machine others keep busy, it gives up and measures anyway.
    """
    QUIET_STATS["waits"] += 1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        b0, t0 = cpu_times()
        time.sleep(QUIET_WINDOW)
        b1, t1 = cpu_times()
        if t1 > t0 and (b1 - b0) / (t1 - t0) < QUIET_BUSY:
            return True
    QUIET_STATS["missed"] += 1
    return False


def blocks(sides, n, nblocks):
    """(side, count) pairs: each engine makes its n measurements in nblocks
    blocks, engines alternating which goes first, after a quiet wait."""
    sizes = [n // nblocks + (1 if i < n % nblocks else 0) for i in range(nblocks)]
    for b, k in enumerate(sizes):
        for side in alternating(sides, b):
            if k:
                wait_quiet()
                yield side, k


def make_sides(args, workroot):
    cli_config = workroot / "docker-config"
    cli_config.mkdir(exist_ok=True)
    sides = [Side(BerthRun(workroot / "berth", args.berthd, args.berthd_log_level),
                  args.docker_cli, cli_config)]
    if args.compare_docker:
        sides.append(Side(DockerRun(workroot / "docker", args.dockerd), args.docker_cli,
                          cli_config))
    return sides


def teardown(side, keep, notes):
    """Remove the engine's containers, stop it, kill what names its dirs,
    and remove its dirs (unmounting what it left mounted)."""
    if side.engine.proc is not None and side.engine.proc.poll() is None:
        try:
            notes += side.remove_all()
        except BenchError as e:
            notes.append(f"{side.name}: cleanup: {e}")
    notes += side.engine.stop()
    leftovers = procs_mentioning(str(side.engine.workdir))
    if leftovers:
        notes.append(f"{side.name}: {len(leftovers)} process(es) naming its dirs left; killed")
        kill_procs(leftovers)
    if not keep:
        remove_tree(str(side.engine.workdir))


def condense(notes):
    """Daemon log lines that differ only in container IDs and paths, once
    each with a count (a race can log the same error for every container)."""
    counts, first = Counter(), {}
    for n in notes:
        key = re.sub(r"time=\S+ ", "", n)
        key = re.sub(r"[0-9a-f]{12,64}", "<id>", re.sub(r"'/[^']*'", "'<path>'", key))
        counts[key] += 1
        first.setdefault(key, n)
    return [first[k] if c == 1 else f"({c}x) {k}" for k, c in counts.items()]


def count_output(proc, timeout, head_len=0):
    """Reads a CLI's stdout to its end, counting bytes and lines (a short
    read would fake a high rate). Returns (bytes, lines, first head_len
    bytes, stderr, seconds); the process is waited for, or killed."""
    nbytes = nlines = 0
    head = b""
    t0 = time.perf_counter()
    try:
        while chunk := os.read(proc.stdout.fileno(), 1 << 20):
            head = head or chunk[:head_len]
            nbytes += len(chunk)
            nlines += chunk.count(b"\n")
        err = proc.stderr.read()
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return nbytes, nlines, head, err, time.perf_counter() - t0
