"""TTY containers (docker run -t / -it, attach, resize, detach keys) through
the real docker CLI on a pty of its own, docker-py and raw HTTP.

The CLI runs on a fresh pty (python's pty module) whose window size is set
before it starts, so `docker run -it` sends it as HostConfig.ConsoleSize and
SIGWINCH makes it call /resize. Every wait reads until the expected output
appears, with a deadline; nothing sleeps to synchronise."""
import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import termios
import time

import pytest

import httpraw
from conftest import DOCKER

DEADLINE = 30.0


def winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Term:
    """The docker CLI on a pty: send keys, read until a pattern shows up."""

    def __init__(self, d, *args, rows=24, cols=80):
        self.master, slave = pty.openpty()
        winsize(slave, rows, cols)
        env = dict(os.environ, DOCKER_HOST=d.host, DOCKER_CONFIG=d.docker_config, TERM="xterm")
        env.pop("DOCKER_CONTEXT", None)
        self.proc = subprocess.Popen([DOCKER, *args], stdin=slave, stdout=slave, stderr=slave,
                                     env=env, start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.out = b""  # everything read so far
        self.pos = 0  # expect() searches from here
        self.eof = False

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the CLI and every child closed the pty
            data = b""
        if not data:
            self.eof = True
        self.out += data

    def expect(self, pattern, timeout=DEADLINE):
        """Reads until pattern (bytes or compiled regex) matches after the
        previous match; returns the match text (or re.Match)."""
        deadline = time.monotonic() + timeout
        while True:
            if isinstance(pattern, bytes):
                i = self.out.find(pattern, self.pos)
                if i >= 0:
                    self.pos = i + len(pattern)
                    return pattern
            else:
                m = pattern.search(self.out, self.pos)
                if m:
                    self.pos = m.end()
                    return m
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                raise AssertionError(f"{pattern!r} never came; output so far:\n{self.out!r}")
            self._read(left)

    def send(self, data):
        os.write(self.master, data if isinstance(data, bytes) else data.encode())

    def resize(self, rows, cols):
        """What a terminal emulator does: new size, then SIGWINCH."""
        winsize(self.master, rows, cols)
        self.proc.send_signal(signal.SIGWINCH)

    def wait(self, timeout=DEADLINE):
        """Waits for the CLI to exit, keeps its last output; returns the code."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read(0.2)
            if self.proc.poll() is not None:
                self._read(0)
                break
        return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def term(bb):
    """term(*docker_args, rows=, cols=) -> Term; every one is closed at teardown."""
    made = []

    def factory(*args, **kw):
        t = Term(bb, *args, **kw)
        made.append(t)
        return t

    yield factory
    for t in made:
        t.close()


PROMPT = b"/ # "


def shell_says(t, cmd, pattern):
    """Types a command line into the shell and reads until pattern."""
    t.send(cmd + "\r")
    return t.expect(pattern)


def inspect(d, fmt, name):
    return d.docker("inspect", "-f", fmt, name).stdout.strip()


def wait_state(d, name, want, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        got = inspect(d, "{{.State.Status}}", name)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def stty_size_until(t, want, timeout=DEADLINE):
    """Polls `stty size` in the shell until it reports want (a resize is
    asynchronous: the CLI posts it after SIGWINCH)."""
    deadline = time.monotonic() + timeout
    size = None
    while time.monotonic() < deadline:
        m = shell_says(t, "stty size", re.compile(rb"\r\n(\d+ \d+)\r\n"))
        size = m.group(1).decode()
        if size == want:
            return size
    return size


# ---- docker run -it: a real shell ------------------------------------------------------------

def test_run_it_shell_tty_size_and_exit_code(bb, term):
    t = term("run", "-it", "--name", "sh1", "busybox", "sh", rows=30, cols=100)
    t.expect(PROMPT)
    shell_says(t, "echo $((6*7))", b"\r\n42\r\n")
    shell_says(t, "tty", b"\r\n/dev/pts/0\r\n")
    # HostConfig.ConsoleSize: the size is there from the first byte
    assert stty_size_until(t, "30 100", timeout=0.1) == "30 100"
    t.resize(40, 120)
    assert stty_size_until(t, "40 120") == "40 120"
    assert inspect(bb, "{{json .HostConfig.ConsoleSize}}", "sh1") == "[30,100]"
    t.send("exit 7\r")
    assert t.wait() == 7
    assert inspect(bb, "{{.State.ExitCode}}", "sh1") == "7"


def test_ctrl_c_reaches_the_foreground_process(bb, term):
    t = term("run", "-it", "--rm", "busybox", "sh")
    t.expect(PROMPT)
    t.send("sh -c 'trap \"echo got-INT; exit 9\" INT; echo re\"\"ady; while :; do sleep 1; done'\r")
    t.expect(b"ready\r\n")
    t.send(b"\x03")
    t.expect(b"got-INT\r\n")
    shell_says(t, "echo rc=$?", b"rc=9\r\n")
    t.send("exit\r")
    assert t.wait() == 0


def test_detach_and_reattach(bb, term):
    t = term("run", "-it", "--name", "d1", "busybox", "sh")
    t.expect(PROMPT)
    shell_says(t, "echo before", b"\r\nbefore\r\n")
    t.send(b"\x10\x11")  # ctrl-p ctrl-q
    assert t.wait() == 0  # docker run -it: detaching is a success, no message
    assert b"read escape sequence" not in t.out
    assert inspect(bb, "{{.State.Running}}", "d1") == "true"

    a = term("attach", "d1")
    a.expect(PROMPT)  # the +1/-1 resize of docker attach makes the shell redraw
    shell_says(a, "echo again $((7*6))", b"again 42\r\n")
    a.send(b"\x10\x11")
    assert a.wait() == 1  # docker attach reports the detach as an error
    assert b"read escape sequence" in a.out
    assert inspect(bb, "{{.State.Running}}", "d1") == "true"

    # --detach-keys ctrl-x,y: ctrl-p ctrl-q now reach the shell (ctrl-p
    # recalls the last command, ctrl-u kills that line again)
    a = term("attach", "--detach-keys", "ctrl-x,y", "d1")
    a.expect(PROMPT)
    a.send(b"\x10\x11")
    a.expect(b"echo again $((7*6))")
    a.send(b"\x15")
    shell_says(a, "echo still", b"\r\nstill\r\n")
    a.send(b"\x18y")
    assert a.wait() == 1
    assert inspect(bb, "{{.State.Running}}", "d1") == "true"

    a = term("attach", "d1")
    a.expect(PROMPT)
    a.send("exit 3\r")
    assert a.wait() == 3
    assert wait_state(bb, "d1", "exited") == "exited"


def test_detach_keys_from_run_flag_and_cli_config(bb, term):
    """docker run --detach-keys, then the CLI config's detachKeys: both are
    sent as detachKeys, which the daemon accepts."""
    t = term("run", "-it", "--detach-keys", "ctrl-a,b", "--name", "k1", "busybox", "sh")
    t.expect(PROMPT)
    t.send(b"\x01b")
    assert t.wait() == 0
    assert inspect(bb, "{{.State.Running}}", "k1") == "true"
    os.makedirs(bb.docker_config, exist_ok=True)
    with open(os.path.join(bb.docker_config, "config.json"), "w") as f:
        json.dump({"detachKeys": "ctrl-e,e"}, f)
    a = term("attach", "k1")
    a.expect(PROMPT)
    shell_says(a, "echo cfg", b"\r\ncfg\r\n")
    a.send(b"\x05e")
    assert a.wait() == 1 and b"read escape sequence" in a.out
    assert inspect(bb, "{{.State.Running}}", "k1") == "true"
    bb.docker("rm", "-f", "k1")


def test_detach_publishes_detach_event(bb, term):
    since = str(int(time.time()) - 1)
    t = term("run", "-it", "--name", "ev1", "busybox", "sh")
    t.expect(PROMPT)
    t.send(b"\x10\x11")
    assert t.wait() == 0
    until = str(int(time.time()) + 1)
    r = bb.docker("events", "--since", since, "--until", until, "--filter", "container=ev1",
                  "--format", "{{.Action}}")
    actions = r.stdout.split()
    assert actions[:3] == ["create", "attach", "start"]
    assert "detach" in actions and "die" not in actions
    bb.docker("rm", "-f", "ev1")


def test_start_ai(bb, term):
    bb.docker("create", "-it", "--name", "s1", "busybox", "sh")
    t = term("start", "-ai", "s1")
    t.expect(PROMPT)
    shell_says(t, "echo $((6*7))", b"\r\n42\r\n")
    t.send("exit 4\r")
    assert t.wait() == 4
    # and again: a second start gets a fresh terminal
    t = term("start", "-ai", "s1")
    t.expect(PROMPT)
    shell_says(t, "tty", b"\r\n/dev/pts/0\r\n")
    t.send("exit 5\r")
    assert t.wait() == 5


def test_non_root_user_owns_its_terminal(bb, term):
    t = term("run", "-it", "--rm", "--user", "1000:1000", "busybox", "sh")
    t.expect(b"$ ")
    m = shell_says(t, "stat -c '%u %g %a' $(tty)", re.compile(rb"\r\n(\d+ \d+ \d+)\r\n"))
    assert m.group(1) == b"1000 5 620"
    shell_says(t, "echo ok >/dev/tty", b"\r\nok\r\n")
    t.send("exit\r")
    assert t.wait() == 0


# ---- docker run -t without -i: output only ---------------------------------------------------

def docker_bytes(d, *args, timeout=120):
    """The CLI with byte output (text mode would turn \r\n into \n)."""
    env = dict(os.environ, DOCKER_HOST=d.host, DOCKER_CONFIG=d.docker_config)
    env.pop("DOCKER_CONTEXT", None)
    return subprocess.run([DOCKER, *args], env=env, capture_output=True, timeout=timeout)


def test_run_t_output_is_raw_with_crlf_and_logs_are_raw(bb):
    r = docker_bytes(bb, "run", "-t", "--name", "o1", "busybox", "sh", "-c",
                     "echo out; echo err >&2; exit 2")
    assert r.returncode == 2
    # the pty's onlcr, and stderr merged into the one stream
    assert r.stdout == b"out\r\nerr\r\n" and r.stderr == b""
    r = docker_bytes(bb, "logs", "o1")
    assert r.stdout == b"out\r\nerr\r\n" and r.stderr == b""
    log = inspect(bb, "{{.LogPath}}", "o1")
    with open(log) as f:
        lines = [json.loads(x) for x in f]
    assert {x["stream"] for x in lines} == {"stdout"}
    assert "".join(x["log"] for x in lines) == "out\r\nerr\r\n"


def test_run_t_with_init_and_privileged(bb):
    """--init: PID 1 holds no slave, the command has the terminal; a
    privileged container's /dev/ptmx (the host node) still opens the
    container's own devpts instance."""
    r = docker_bytes(bb, "run", "--rm", "-t", "--init", "busybox", "sh", "-c",
                     "tty; ls -l /proc/1/fd/ | grep -c pts; exit 3")
    assert r.returncode == 3
    assert r.stdout == b"/dev/pts/0\r\n0\r\n"
    r = docker_bytes(bb, "run", "--rm", "-t", "--privileged", "busybox", "sh", "-c",
                     "tty; ls -1 /dev/pts")
    assert r.returncode == 0
    assert r.stdout == b"/dev/pts/0\r\n0\r\nptmx\r\n"


# The command records a SIGHUP instead of dying of it, lets go of the
# terminal (no slave fd is left in the container: the master reads EIO),
# and says it got to the end a moment later.
LETS_GO = ('trap "echo hup >> /verdict" HUP; exec </dev/null >/dev/null 2>&1;'
           ' sleep 1; echo end >> /verdict; exec sleep 1000')


def verdict(d, *exec_args):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        r = d.docker("exec", *exec_args, "cat", "/verdict", check=False)
        if "end" in r.stdout:
            return r.stdout
        time.sleep(0.1)
    raise AssertionError("the command never got to its end")


def test_run_t_command_letting_go_of_the_terminal_is_not_hung_up(bb):
    """The terminal stays until the container's process exits, as
    containerd keeps the console: the EIO of a master no slave holds any
    more ends the output, but closing the master then would hang the
    terminal up and SIGHUP its session leader (the command, with --init)."""
    bb.docker("run", "-d", "-t", "--init", "--name", "letgo", "busybox", "sh", "-c", LETS_GO)
    assert verdict(bb, "letgo") == "end\n"
    assert inspect(bb, "{{.State.Status}}", "letgo") == "running"
    bb.docker("rm", "-f", "letgo")


def test_run_t_large_output_is_complete(bb):
    """Everything the process wrote before exiting is read before the
    master's EIO ends the output."""
    r = docker_bytes(bb, "run", "--rm", "-t", "busybox", "sh", "-c",
                     "yes abcdefgh | head -n 200000")
    assert r.returncode == 0
    assert r.stdout == b"abcdefgh\r\n" * 200000


# ---- docker-py -------------------------------------------------------------------------------

def read_sock_until(sock, want, deadline=DEADLINE):
    sock.settimeout(deadline)
    got = b""
    end = time.monotonic() + deadline
    while want not in got:
        if time.monotonic() > end:
            raise AssertionError(f"{want!r} never came: {got!r}")
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed before {want!r}: {got!r}")
        got += chunk
    return got


def test_docker_py_attach_socket_raw_and_resize(bb):
    api = bb.client().api
    c = api.create_container("busybox", "sh", tty=True, stdin_open=True)
    cid = c["Id"]
    s = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    sock = s._sock
    api.start(cid)
    sock.sendall(b"echo $((6*7))\n")
    got = read_sock_until(sock, b"\r\n42\r\n")
    assert b"\x01\x00\x00\x00" not in got  # raw: no stdcopy frames
    api.resize(cid, height=50, width=60)
    sock.sendall(b"stty size\n")
    read_sock_until(sock, b"\r\n50 60\r\n")
    sock.sendall(b"exit 6\n")
    sock.settimeout(DEADLINE)
    while sock.recv(65536):  # the server closes once the shell has exited
        pass
    assert api.wait(cid)["StatusCode"] == 6
    import docker
    with pytest.raises(docker.errors.APIError) as e:
        api.resize(cid, height=10, width=10)
    assert e.value.status_code == 409
    assert f"Container {cid} is not running" in str(e.value)
    sock.close()
    api.remove_container(cid)


# ---- raw HTTP --------------------------------------------------------------------------------

def test_resize_bad_input_and_states(bb):
    cid = bb.docker("run", "-d", "-t", "busybox", "sleep", "1000").stdout.strip()
    ok = httpraw.get(bb.sock, f"/v1.47/containers/{cid}/resize?h=33&w=44", "POST")
    assert ok.status == 200 and ok.body == b""
    cases = [
        ("h=abc&w=1", 'invalid resize height "abc": invalid syntax'),
        ("w=1", 'invalid resize height "": invalid syntax'),
        ("h=1", 'invalid resize width "": invalid syntax'),
        ("h=-1&w=1", 'invalid resize height "-1": value out of range'),
        ("h=4294967296&w=1", 'invalid resize height "4294967296": value out of range'),
        ("h=1&w=%2B2", 'invalid resize width "+2": invalid syntax'),
        ("h=1&w=1x", 'invalid resize width "1x": invalid syntax'),
    ]
    for q, msg in cases:
        r = httpraw.get(bb.sock, f"/v1.47/containers/{cid}/resize?{q}", "POST")
        assert r.status == 400, q
        assert json.loads(r.body)["message"] == msg
    r = httpraw.get(bb.sock, "/v1.47/containers/nosuch/resize?h=1&w=1", "POST")
    assert r.status == 404
    assert json.loads(r.body)["message"] == "No such container: nosuch"
    bb.docker("kill", cid)
    bb.docker("wait", cid)
    r = httpraw.get(bb.sock, f"/v1.47/containers/{cid}/resize?h=1&w=1", "POST")
    assert r.status == 409
    assert json.loads(r.body)["message"] == f"Container {cid} is not running"
    # a container without a tty accepts the call (containerd ignores it)
    cid2 = bb.docker("run", "-d", "busybox", "sleep", "1000").stdout.strip()
    r = httpraw.get(bb.sock, f"/v1.47/containers/{cid2}/resize?h=10&w=10", "POST")
    assert r.status == 200
    bb.docker("rm", "-f", cid, cid2)


def test_resize_event_attributes(bb):
    cid = bb.docker("run", "-d", "-t", "busybox", "sleep", "1000").stdout.strip()
    since = str(int(time.time()) - 1)
    assert httpraw.get(bb.sock, f"/v1.47/containers/{cid}/resize?h=12&w=34", "POST").status == 200
    until = str(int(time.time()) + 1)
    r = bb.docker("events", "--since", since, "--until", until, "--filter", "event=resize",
                  "--format", "{{.Actor.Attributes.height}}x{{.Actor.Attributes.width}}")
    assert r.stdout.split() == ["12x34"]
    bb.docker("rm", "-f", cid)


def test_attach_bad_detach_keys(bb):
    cid = bb.docker("run", "-d", "-it", "busybox", "sh").stdout.strip()
    for keys in ("ctrl-", "ctrl-1", "abc", "ctrl-a,,b"):
        r = httpraw.get(bb.sock, f"/v1.47/containers/{cid}/attach?stream=1&stdin=1&detachKeys={keys}",
                        "POST", headers={"Connection": "Upgrade", "Upgrade": "tcp"})
        assert r.status == 400, keys
        assert json.loads(r.body)["message"] == f"Invalid detach keys ({keys}) provided"
    bb.docker("rm", "-f", cid)


def raw_attach(d, cid, query):
    conn = httpraw.Conn(d.sock, timeout=DEADLINE)
    conn.request("POST", f"/v1.47/containers/{cid}/attach?{query}",
                 headers={"Connection": "Upgrade", "Upgrade": "tcp"})
    status, _, headers, _ = conn.read_head()
    assert status == 101
    assert headers["content-type"] == "application/vnd.docker.raw-stream"
    return conn


def read_conn_until(conn, want):
    end = time.monotonic() + DEADLINE
    while want not in conn.buf:
        assert time.monotonic() < end, conn.buf
        conn._fill()
    return conn.buf


def test_daemon_side_detach_keys(bb):
    """A client that is not the CLI: the daemon matches the keys, ends the
    session (closes the connection), the container keeps running, and the
    bytes before the sequence reached it."""
    cid = bb.docker("run", "-d", "-it", "busybox", "sh").stdout.strip()
    since = str(int(time.time()) - 1)
    conn = raw_attach(bb, cid, "stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-x,y")
    conn.send(b"echo $((6*7))\n")
    read_conn_until(conn, b"\r\n42\r\n")
    conn.send(b"echo one\x18y; echo never\n")  # "echo one" typed, then detached
    rest = conn.read_to_eof()  # the server closed the session
    assert b"never" not in rest
    assert inspect(bb, "{{.State.Running}}", cid) == "true"
    # the typed "echo one" is still on the shell's line
    conn = raw_attach(bb, cid, "stream=1&stdin=1&stdout=1")
    conn.send(b"\n")
    read_conn_until(conn, b"\r\none\r\n")
    # a broken sequence is passed on (ctrl-p recalls a command, ctrl-u
    # kills it); the default keys apply when none are given
    conn.send(b"\x10x\x15echo two\n")
    read_conn_until(conn, b"\r\ntwo\r\n")
    conn.send(b"\x10\x11")
    conn.read_to_eof()
    assert inspect(bb, "{{.State.Running}}", cid) == "true"
    until = str(int(time.time()) + 1)
    r = bb.docker("events", "--since", since, "--until", until, "--filter", f"container={cid}",
                  "--filter", "event=detach", "--format", "{{.Action}}")
    assert r.stdout.split() == ["detach", "detach"]
    bb.docker("rm", "-f", cid)


def test_stdin_before_start_reaches_the_terminal(bb):
    """Input sent on an attach made before start is buffered, then written
    to the terminal once the container runs (docker run -it's order)."""
    cid = bb.docker("create", "-it", "busybox", "sh").stdout.strip()
    conn = raw_attach(bb, cid, "stream=1&stdin=1&stdout=1&stderr=1")
    conn.send(b"echo early $((6*7))\n")
    bb.docker("start", cid)
    read_conn_until(conn, b"early 42\r\n")
    conn.send(b"exit 0\n")
    conn.read_to_eof()
    conn.close()
    assert bb.docker("wait", cid).stdout.strip() == "0"
    bb.docker("rm", cid)
