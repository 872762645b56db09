"""Helpers shared by the container lifecycle tests: inspect a container,
poll a condition with a deadline, and tell whether a host pid still runs."""

import json
import time


def inspect(d, name):
    return json.loads(d.docker("inspect", name).stdout)[0]


def wait_until(what, fn, timeout=30.0, interval=0.05):
    """fn's first true value, polled until timeout (a failed assert then)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def pid_alive(pid):
    """True when pid is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
