"""Helpers shared by the benchmarks in tests/bench (standard library only).

Starting berthd and Debian's dockerd on their own sockets, data roots and
exec roots under a temp dir; stopping them in order and collecting their log
errors; process-tree RSS and CPU time from /proc; unmounting and removing
what a daemon left behind; installing Debian packages a bench needs.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BERTHD = REPO_ROOT / "build" / "berthd"
# Debian's docker.io puts dockerd in /usr/sbin; /usr/bin is accepted too.
DOCKERD_PATHS = ("/usr/sbin/dockerd", "/usr/bin/dockerd")
POLICY_RC_D = "/usr/sbin/policy-rc.d"
SYSTEM_CONTAINERD_SOCK = "/run/containerd/containerd.sock"
# dockerd 20.10 hard-codes its plugin socket dir (socket path length limits);
# the bench removes these again if dockerd created them.
DOCKERD_FIXED_DIRS = ("/run/docker", "/run/docker/plugins")
READY_TIMEOUT = 60.0     # dockerd initialises a fresh data root first
STOP_TIMEOUT = 40.0      # dockerd waits for its containerd on SIGTERM
EXIT_SKIP = 77           # CTest SKIP_RETURN_CODE


class BenchError(Exception):
    """A measurement could not be made; the bench exits 1."""


def log(msg):
    """Progress goes to stderr so that stdout holds only the figures."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---- processes and memory ---------------------------------------------------

def proc_stat(pid):
    """(ppid, starttime) of a process, or None if it is gone.

    The start time tells a process from a later one that reused its PID.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[19])


def descendants(pid):
    """{pid: starttime} of every descendant of pid (walks all of /proc).

    dockerd's managed containerd is a child, not a thread, so a daemon's
    footprint has to include its process tree.
    """
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                children.setdefault(st[0], []).append((int(entry), st[1]))
    found, todo = {}, [pid]
    while todo:
        for child, start in children.get(todo.pop(), []):
            found[child] = start
            todo.append(child)
    return found


def rss_kib(pid):
    """VmRSS of one process in KiB (0 if it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid):
    """VmRSS of pid plus all its descendants, in KiB."""
    return rss_kib(pid) + sum(rss_kib(p) for p in descendants(pid))


def cpu_ticks(pid):
    """utime+stime (all threads) of one process in clock ticks, 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def tree_cpu_seconds(pid):
    """CPU time used so far by pid and its live descendants.

    h2load runs on one of the machine's two cores and can saturate before a
    fast daemon does; the daemon's CPU per request does not depend on that.
    """
    ticks = cpu_ticks(pid) + sum(cpu_ticks(p) for p in descendants(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def still_running(procs):
    """The subset of {pid: starttime} that is still the same live process."""
    alive = {}
    for pid, start in procs.items():
        st = proc_stat(pid)
        if st and st[1] == start:
            alive[pid] = start
    return alive


def wait_gone(procs, timeout):
    """Poll until the given processes have exited; return the survivors."""
    deadline = time.monotonic() + timeout
    alive = still_running(procs)
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = still_running(alive)
    return alive


# ---- HTTP readiness ---------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket, for the readiness probe."""

    def __init__(self, sock_path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.sock_path = sock_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.sock_path)
        self.sock = sock


def ping(sock_path):
    """True if the daemon answers GET /_ping with 200.

    A bare connect is not enough: dockerd listens before its daemon is
    initialised and only serves requests afterwards, so "idle" memory must be
    read once a request has actually been answered.
    """
    conn = UnixHTTPConnection(sock_path, timeout=2.0)
    try:
        conn.request("GET", "/_ping")
        resp = conn.getresponse()
        resp.read()
        return resp.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_ready(sock_path, proc, timeout=READY_TIMEOUT):
    """Poll the socket until the daemon answers; fail if it exits or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"daemon exited with {proc.returncode} before it was ready")
        if os.path.exists(sock_path) and ping(sock_path):
            return
        time.sleep(0.02)
    raise BenchError(f"daemon not ready on {sock_path} after {timeout:.0f}s")


# ---- filesystem cleanup -----------------------------------------------------

def mounts_under(root):
    """Mount points below root, deepest first (dockerd may leave some)."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), mp)
            if mp == root or mp.startswith(root.rstrip("/") + "/"):
                points.append(mp)
    return sorted(points, key=len, reverse=True)


def remove_tree(root):
    """Unmount what a daemon left mounted under root, then delete it."""
    for mp in mounts_under(root):
        subprocess.run(["umount", "-l", mp], check=False)
    shutil.rmtree(root, ignore_errors=True)


# ---- packages ----------------------------------------------------------------

def apt_install(packages):
    """apt-get install, with one apt-get update and retry if the lists are stale."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    log("installing " + " ".join(packages))
    if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode == 0:
        return
    subprocess.run(["apt-get", "update"], env=env, stdout=sys.stderr, check=False)
    if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode != 0:
        raise BenchError("apt-get install " + " ".join(packages) + " failed")


def find_dockerd():
    """Path of an installed Debian dockerd, or None."""
    return next((p for p in DOCKERD_PATHS if os.access(p, os.X_OK)), None)


def ensure_dockerd():
    """Return dockerd's path; install Debian's docker.io first if needed,
    without letting it start a system daemon.

    Maintainer scripts ask invoke-rc.d, which obeys /usr/sbin/policy-rc.d:
    exit 101 forbids starting services. A policy file that already exists is
    someone else's and is left alone; ours lives only for the install.
    """
    if find_dockerd():
        return find_dockerd()
    created = False
    try:
        fd = os.open(POLICY_RC_D, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
    except FileExistsError:
        pass
    else:
        created = True
        with os.fdopen(fd, "w") as f:
            f.write("#!/bin/sh\n# berth bench: no services during install\nexit 101\n")
    try:
        apt_install(["docker.io"])
    finally:
        if created:
            os.unlink(POLICY_RC_D)
    if not find_dockerd():
        raise BenchError("no dockerd in " + " or ".join(DOCKERD_PATHS)
                         + " after installing docker.io")
    return find_dockerd()


# ---- CPU placement -------------------------------------------------------------

def cpu_pinner(cpus):
    """A preexec_fn that confines the child (and its own children) to cpus.

    Unpinned figures are bimodal on this VM: a daemon and h2load sharing a
    core answer c=1 several times faster than across cores (a cross-core
    wake-up is slow), and the scheduler's placement varies from run to run.
    """
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


# ---- engines -----------------------------------------------------------------

class Engine:
    """A daemon started on its own socket and state dirs under workdir."""

    name = "engine"

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.sock = str(self.workdir / f"{self.name}.sock")
        self.log_path = self.workdir / f"{self.name}.log"
        self.proc = None
        self.cpus = None          # set by --pin

    @property
    def host(self):
        """The DOCKER_HOST a client uses to reach this daemon."""
        return f"unix://{self.sock}"

    def command(self):
        raise NotImplementedError

    def start(self):
        """Start the daemon in its own session and wait until it serves.

        Its own session keeps a terminal's Ctrl-C from reaching it before
        the bench has had the chance to stop it in order.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = self.command()
        try:
            with open(self.log_path, "wb") as logf:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=logf, start_new_session=True,
                                             preexec_fn=cpu_pinner(self.cpus))
        except OSError as e:
            raise BenchError(f"{self.name}: cannot run {cmd[0]}: {e}") from None
        try:
            wait_ready(self.sock, self.proc)
        except BenchError as e:
            raise BenchError(f"{self.name}: {e}; log tail:\n{self.log_tail()}") from None

    def log_tail(self, lines=15):
        """Last lines of the daemon's log, to explain a failed start."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cpu_seconds(self):
        """CPU time of the daemon and its process tree so far."""
        return tree_cpu_seconds(self.proc.pid)

    def rss(self):
        """{"main": KiB, "tree": KiB} of the daemon and of its process tree."""
        return {"main": rss_kib(self.proc.pid), "tree": tree_rss_kib(self.proc.pid)}

    def stop(self):
        """SIGTERM the daemon, wait for it and its children; return oddities."""
        if self.proc is None:
            return []
        notes = []
        children = descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            notes.append(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT:.0f}s; killed")
            self.proc.kill()
            self.proc.wait()
        survivors = wait_gone(children, STOP_TIMEOUT)
        for pid in survivors:
            notes.append(f"{self.name} child {pid} outlived the daemon; killed")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.returncode != 0:
            notes.append(f"{self.name} exited with status {self.proc.returncode}")
        self.proc = None
        return notes + self.log_oddities()

    def log_oddities(self):
        """Error and warning lines of the daemon's log, worth reporting."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        bad = [l for l in lines if re.search(r"level=(error|fatal|panic|warn)", l)]
        return [f"{self.name} log: {l}" for l in bad]


class Berth(Engine):
    """berthd from the build under test."""

    name = "berth"

    def __init__(self, workdir, binary):
        super().__init__(workdir)
        self.binary = binary
        self.pidfile = self.workdir / "berth.pid"

    def command(self):
        config = self.workdir / "daemon.json"
        config.write_text(json.dumps({
            "hosts": [f"unix://{self.sock}"],
            "data-root": str(self.workdir / "data"),
            "exec-root": str(self.workdir / "exec"),
            "pidfile": str(self.pidfile),
        }))
        return [self.binary, "--config-file", str(config)]

    def stop(self):
        """Also check berthd's documented shutdown: socket and pidfile gone."""
        notes = super().stop()
        for leftover in (self.sock, self.pidfile):
            if os.path.exists(leftover):
                notes.append(f"berth left {leftover} behind after SIGTERM")
        return notes

    def log_oddities(self):
        """berth is the project under test: every warning matters, except the
        documented notice that the socket stays root-only without a berth group."""
        return [n for n in super().log_oddities() if "group 'berth' not found" not in n]


class Docker(Engine):
    """Debian's dockerd 20.10, isolated from any system Docker."""

    name = "docker"

    def __init__(self, workdir, binary):
        super().__init__(workdir)
        self.binary = binary
        self.created_dirs = []

    def command(self):
        # Our own config keeps /etc/docker/daemon.json out; the key path keeps
        # dockerd 20.10 from writing /etc/docker/key.json.
        config = self.workdir / "daemon.json"
        config.write_text(json.dumps({"deprecated-key-path": str(self.workdir / "key.json")}))
        cmd = [self.binary, "-H", f"unix://{self.sock}",
               "--config-file", str(config),
               "--data-root", str(self.workdir / "data"),
               "--exec-root", str(self.workdir / "exec"),
               "--pidfile", str(self.workdir / "docker.pid"),
               "--iptables=false", "--bridge=none"]
        if dockerd_supports(self.binary, "--ip6tables"):
            cmd.append("--ip6tables=false")
        return cmd

    def start(self):
        """Warn when dockerd would reuse a system containerd instead of its own."""
        if os.path.exists(SYSTEM_CONTAINERD_SOCK):
            log(f"warning: {SYSTEM_CONTAINERD_SOCK} exists; dockerd uses that containerd "
                "and its +children RSS leaves it out")
        self.created_dirs = [d for d in DOCKERD_FIXED_DIRS if not os.path.exists(d)]
        super().start()

    def stop(self):
        """Also remove the fixed dirs dockerd made, if it left them empty."""
        notes = super().stop()
        for d in reversed(self.created_dirs):
            try:
                os.rmdir(d)
            except OSError:
                pass
        return notes

    def log_oddities(self):
        """Only dockerd's errors: its warnings (no iptables, ...) are expected."""
        return [n for n in super().log_oddities() if "level=warn" not in n]


_DOCKERD_HELP = None


def dockerd_supports(dockerd, flag):
    """Whether this dockerd version knows a flag (--ip6tables came in 20.10)."""
    global _DOCKERD_HELP
    if _DOCKERD_HELP is None:
        _DOCKERD_HELP = subprocess.run([dockerd, "--help"], capture_output=True,
                                       text=True).stdout
    return re.search(re.escape(flag) + r"\b", _DOCKERD_HELP) is not None


def program_version(cmd):
    """First line of a program's --version output, for the record."""
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


# ---- output ------------------------------------------------------------------

def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def print_notes(notes):
    """Daemon oddities (bad exit, log errors) after the figures, deduplicated."""
    seen = list(dict.fromkeys(notes))
    if seen:
        print("\nnoticed:")
        for n in seen[:40]:
            print("  " + n)
        if len(seen) > 40:
            print(f"  ... and {len(seen) - 40} more")


def on_sigterm(signum, frame):
    """Turn SIGTERM into an exception so the daemons get stopped on the way out."""
    raise KeyboardInterrupt


# ---- additions for bench_run.py ----------------------------------------------

def pss_kib(pid):
    """Proportional set size of one process in KiB (0 if it has gone).

    PSS divides each shared page by the processes that map it, so the sum
    over fifty containerd-shims counts their common binary once, not fifty
    times, and a sum over several processes is a fair footprint.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_table():
    """{pid: ppid} of every process, from one walk of /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                table[int(entry)] = st[0]
    return table


def subtree(table, pid):
    """pid and all its descendants according to a process_table()."""
    children = {}
    for child, parent in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p not in found:
            found.add(p)
            todo.extend(children.get(p, []))
    return found


def proc_cmdline(pid):
    """A process's argv joined by spaces ('' if gone or a kernel thread)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def proc_comm(pid):
    """A process's command name ('' if gone)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def procs_mentioning(text):
    """{pid: starttime} of processes whose command line contains text.

    containerd-shims double-fork away from containerd (their parent becomes
    PID 1), so they are found by the socket path in their arguments, which
    lies under the engine's own temp dir.
    """
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and text in proc_cmdline(entry):
            st = proc_stat(int(entry))
            if st:
                found[int(entry)] = st[1]
    return found


def kill_procs(procs):
    """SIGKILL each {pid: starttime} that is still that same process."""
    for pid in still_running(procs):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def cli_env(host, config_dir):
    """A docker CLI environment for one daemon: its DOCKER_HOST, an empty CLI
    config of our own, and no context, TLS or pinned API version from ours."""
    env = dict(os.environ, DOCKER_HOST=host, DOCKER_CONFIG=str(config_dir))
    for var in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION"):
        env.pop(var, None)
    return env


def api_request(sock_path, method, path, body=None, timeout=60.0):
    """One request on a new connection: (status, parsed JSON or raw bytes).

    Raises BenchError when the daemon cannot be reached, so that a hung or
    dead daemon ends the bench with its reason instead of a traceback.
    """
    conn = UnixHTTPConnection(sock_path, timeout=timeout)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    except (OSError, http.client.HTTPException) as e:
        raise BenchError(f"{method} {path} on {sock_path}: {e}") from None
    finally:
        conn.close()
    try:
        return resp.status, json.loads(data) if data else None
    except ValueError:
        return resp.status, data
