import json, os, signal, socket, threading, time
import pytest
import httpraw
from test_tty import Term, term, wait_state, inspect, shell_says, PROMPT, stty_size_until
import re

def test_tty_restart_policy(bb):
    bb.docker("run", "-d", "-t", "--name", "rp", "--restart", "on-failure:3", "busybox", "sh", "-c", "tty; exit 3")
    deadline = time.monotonic() + 30
    while inspect(bb, "{{.RestartCount}}", "rp") != "3" or inspect(bb, "{{.State.Status}}", "rp") != "exited":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    logs = bb.docker("logs", "rp").stdout
    print(repr(logs))
    assert logs.count("/dev/pts/0") == 4

def test_docker_restart_tty_attached(bb, term):
    t = term("run", "-it", "--name", "rs", "busybox", "sh")
    t.expect(PROMPT)
    r = bb.docker("restart", "-t", "1", "rs")
    code = t.wait()
    print("cli exit", code, t.out[-200:])
    t2 = term("attach", "rs")
    t2.send("\r")
    t2.expect(PROMPT)
    assert stty_size_until(t2, "24 80") == "24 80"
    t2.resize(30, 100)
    assert stty_size_until(t2, "30 100") == "30 100"
    t2.send("exit\r")
    print("attach exit", t2.wait())

def test_shutdown_with_attached_exec(bb):
    bb.docker("run", "-d", "--name", "ex", "busybox", "sleep", "1000")
    cl = bb.client()
    c = cl.containers.get("ex")
    eid = cl.api.exec_create(c.id, ["sh", "-c", "while true; do echo x; sleep 0.1; done"], stdin=True, tty=False)["Id"]
    sock = cl.api.exec_start(eid, socket=True)
    eid2 = cl.api.exec_create(c.id, ["sh"], stdin=True, tty=True)["Id"]
    sock2 = cl.api.exec_start(eid2, socket=True, tty=True)
    time.sleep(0.5)
    code = bb.stop()
    print(bb.log_text()[-3000:])
    assert code == 0

def test_kill9_with_exec_and_paused(bb, make_daemon):
    bb.docker("run", "-d", "--name", "k9", "busybox", "sleep", "1000")
    bb.docker("exec", "-d", "k9", "sleep", "999")
    bb.docker("run", "-d", "--name", "k9p", "busybox", "sleep", "1000")
    bb.docker("exec", "-d", "k9p", "sleep", "998")
    bb.docker("pause", "k9p")
    bb.signal(signal.SIGKILL)
    bb.proc.wait()
    bb.log.close()
    bb.start()
    print(bb.docker("ps", "-a").stdout)
    out = os.popen("ps -ef | grep -E 'sleep (999|998|1000)' | grep -v grep").read()
    print(out)
    assert out == ""
    bb.docker("start", "k9", "k9p")
    bb.docker("exec", "k9", "true")
    bb.docker("pause", "k9p")
    bb.docker("unpause", "k9p")
