"""Containers through the real docker CLI and docker-py: run, exit codes,
attach with stdin, logs, stop/kill, rename, wait, remove, isolation basics."""
import subprocess

import pytest



def run(d, *args, input=None, check=False):
    return d.docker("run", *args, check=check, input=input)


def test_run_echo_and_exit_codes(bb):
    r = run(bb, "--rm", "busybox", "echo", "hi")
    assert r.returncode == 0 and r.stdout.strip() == "hi"
    r = run(bb, "--rm", "busybox", "sh", "-c", "echo err >&2; exit 3")
    assert r.returncode == 3 and "err" in r.stderr
    assert bb.docker("ps", "-aq").stdout.strip() == ""


def test_command_not_found_is_127(bb):
    r = run(bb, "--rm", "busybox", "nosuchcmd")
    assert r.returncode == 127
    assert "executable file not found" in r.stderr


def test_stdin_and_isolation(bb):
    r = run(bb, "-i", "--rm", "busybox", "cat", input="hello\n")
    assert r.stdout == "hello\n"
    r = run(bb, "--rm", "--hostname", "box1", "busybox", "sh", "-c", "echo $$; hostname")
    assert r.stdout.split() == ["1", "box1"]
    r = run(bb, "--rm", "--network", "none", "busybox", "ls", "/sys/class/net")
    assert r.stdout.split() == ["lo"]


def test_logs_stop_rename_rm(bb):
    assert run(bb, "--name", "c1", "busybox", "sh", "-c", "echo a; echo b >&2").returncode == 0
    r = bb.docker("logs", "c1")
    assert r.stdout == "a\n" and r.stderr == "b\n"
    assert bb.docker("logs", "--tail", "1", "c1").stderr == "b\n"
    bb.docker("rename", "c1", "c2")
    assert bb.docker("inspect", "-f", "{{.Name}} {{.State.ExitCode}}", "c2").stdout.strip() == "/c2 0"
    cid = bb.docker("run", "-d", "--name", "s1", "busybox", "sleep", "100").stdout.strip()
    assert bb.docker("inspect", "-f", "{{.State.Running}}", "s1").stdout.strip() == "true"
    r = bb.docker("rm", "s1", check=False)
    assert r.returncode != 0 and "container is running" in r.stderr
    bb.docker("kill", "s1")
    assert bb.docker("wait", "s1").stdout.strip() == "137"
    bb.docker("rm", "c2", cid)
    assert bb.docker("ps", "-aq").stdout.strip() == ""


def test_bad_input(bb):
    r = bb.docker("create", "--name", "bad name!", "busybox", check=False)
    assert r.returncode != 0 and "Invalid container name" in r.stderr
    r = bb.docker("create", "--restart", "always", "--rm", "busybox", check=False)
    assert r.returncode != 0
    r = bb.docker("inspect", "nosuch", check=False)
    assert r.returncode != 0
    bb.docker("create", "--name", "dup", "busybox")
    r = bb.docker("create", "--name", "dup", "busybox", check=False)
    assert r.returncode != 0 and "already in use" in r.stderr
    bb.docker("rm", "dup")


def test_docker_py_run(bb):
    c = bb.client()
    assert c.containers.run("busybox", "echo py", remove=True) == b"py\n"
