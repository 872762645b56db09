"""Container events as `docker events` shows them, in Docker's order, for
each lifecycle command (create, attach, start, die with exitCode, kill with
signal, stop, restart, rename, destroy)."""
import json
import time


def actions(d, since, ref):
    """Every event of container ref between since and now, as (action, attrs)."""
    until = time.time() + 0.001
    out = d.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                   "--filter", f"container={ref}", "--format", "{{json .}}").stdout
    evs = [json.loads(line) for line in out.splitlines() if line]
    assert all(e["Type"] == "container" and e["Actor"]["ID"] == ref for e in evs)
    return [(e["Action"], e["Actor"]["Attributes"]) for e in evs]


def names(evs):
    return [a for a, _ in evs]


def test_run_attached_then_rm(bb):
    t0 = time.time()
    cid = bb.docker("create", "--name", "ev1", "--label", "k=v", "busybox",
                    "sh", "-c", "exit 3").stdout.strip()
    r = bb.docker("start", "-a", "ev1", check=False)
    assert r.returncode == 3
    bb.docker("rename", "ev1", "ev2")
    bb.docker("rm", "ev2")
    evs = actions(bb, t0, cid)
    assert names(evs) == ["create", "attach", "start", "die", "rename", "destroy"]
    die = dict(evs)["die"]
    assert die["exitCode"] == "3" and die["k"] == "v" and die["image"] == "busybox"
    assert dict(evs)["rename"]["oldName"] == "/ev1" and dict(evs)["rename"]["name"] == "ev2"


def test_stop_kill_restart(bb):
    t0 = time.time()
    cid = bb.docker("run", "-d", "--name", "ev3", "busybox", "sleep", "100").stdout.strip()
    # sleep as PID 1 has no TERM handler, so the kernel ignores SIGTERM:
    # Docker's stop then sends SIGKILL after the timeout
    bb.docker("stop", "-t", "1", "ev3")
    t1 = time.time()
    evs = actions(bb, t0, cid)
    assert names(evs) == ["create", "start", "kill", "kill", "die", "stop"]
    assert [a["signal"] for n, a in evs if n == "kill"] == ["15", "9"]
    assert dict(evs)["die"]["exitCode"] == "137"

    bb.docker("restart", "-t", "1", "ev3")
    assert names(actions(bb, t1, cid)) == ["start", "restart"]
    t2 = time.time()
    bb.docker("restart", "-t", "1", "ev3")
    assert names(actions(bb, t2, cid)) == ["kill", "kill", "die", "stop", "start", "restart"]
    t4 = time.time()
    bb.docker("rm", "-f", "ev3")
    assert names(actions(bb, t4, cid)) == ["kill", "die", "destroy"]


def test_kill_with_init_forwards_the_signal(bb):
    """--init: berth-init forwards USR1 to sleep, which dies of it (138)."""
    t0 = time.time()
    cid = bb.docker("run", "-d", "--init", "busybox", "sleep", "100").stdout.strip()
    bb.docker("kill", "-s", "USR1", cid)
    assert bb.docker("wait", cid).stdout.strip() == str(128 + 10)
    evs = actions(bb, t0, cid)
    assert names(evs) == ["create", "start", "kill", "die"]
    assert dict(evs)["kill"]["signal"] == "10" and dict(evs)["die"]["exitCode"] == "138"
    bb.docker("rm", cid)


def test_run_rm_ends_with_destroy(bb):
    t0 = time.time()
    bb.docker("run", "--rm", "--name", "ev4", "busybox", "true")
    out = bb.docker("events", "--since", f"{t0:.6f}", "--until", f"{time.time():.6f}",
                    "--filter", "container=ev4", "--format", "{{.Action}}").stdout.split()
    assert out == ["create", "attach", "start", "die", "destroy"]
