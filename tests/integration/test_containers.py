"""Containers through the real docker CLI and docker-py: run, exit codes,
attach with stdin, logs, stop/kill, rename, wait, remove, isolation basics."""
import json
import subprocess
import time

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


def no_containers(d):
    return d.docker("ps", "-aq").stdout.strip() == ""


@pytest.mark.parametrize("args,message", [
    (["-m", "4m"], "Minimum memory limit allowed is 6MB"),
    (["-m", "64m", "--memory-swap", "32m"], "Minimum memoryswap limit should be larger than memory limit"),
    (["--cpus", "0.5", "--cpu-quota", "50000"], "Nano CPUs and CPU Quota cannot both be set"),
    (["--cpus", "0.5", "--cpu-period", "50000"], "Nano CPUs and CPU Period cannot both be set"),
    (["--cpus", "4096"], "Range of CPUs is from 0.01 to"),
    (["--cpus", "-1"], "Range of CPUs is from 0.01 to"),
    (["--cpuset-cpus", "4095"], "Requested CPUs are not available"),
    (["--cpuset-cpus", "0-x"], "Invalid value 0-x for cpuset cpus"),
    (["--cpu-period", "100"], "CPU cfs period can not be less than 1ms"),
    (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
    (["--memory-reservation", "1m"], "Minimum memory reservation allowed is 6MB"),
    (["--log-opt", "max-size=1x"], "invalid size: '1x'"),
    (["--log-opt", "nosuch=1"], "unknown log opt 'nosuch'"),
    (["--log-opt", "max-file=0"], "max-file cannot be less than 1"),
    (["--log-driver", "syslogx"], "syslogx"),
])
def test_create_rejects_bad_settings(bb, args, message):
    """Docker's create-time checks with its wording; nothing is created."""
    r = bb.docker("create", *args, "busybox", "true", check=False)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert no_containers(bb)


def test_create_stores_docker_defaults(bb):
    """-m without --memory-swap gets twice as much swap, as Docker stores it;
    the warnings list of the reply is a list."""
    bb.docker("create", "--name", "mem", "-m", "64m", "busybox", "true")
    r = bb.docker("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", "mem")
    assert r.stdout.split() == [str(64 << 20), str(128 << 20)]
    reply = bb.client().api.create_container("busybox", "true", host_config={"Memory": 32 << 20})
    assert reply["Warnings"] == [] or all(isinstance(w, str) for w in reply["Warnings"])
    bb.docker("rm", "mem", reply["Id"])


def test_raw_bad_input_wait_logs_attach_kill(bb):
    """Each handler's bad input: the right status and message, no change."""
    from httpraw import get
    bb.docker("create", "--name", "waitee", "busybox", "true")
    r = get(bb.sock, "/v1.47/containers/waitee/wait?condition=bad", method="POST")
    assert r.status == 400 and b"invalid condition" in r.body
    r = get(bb.sock, "/v1.47/containers/waitee/logs")
    assert r.status == 400 and b"You must choose at least one stream" in r.body
    r = get(bb.sock, "/v1.47/containers/waitee/logs?stdout=1&since=notatime")
    assert r.status == 400 and b"since" in r.body
    for target in ("/v1.47/containers/nosuch/logs?stdout=1",
                   "/v1.47/containers/nosuch/attach?stream=1&stdout=1"):
        method = "POST" if "attach" in target else "GET"
        r = get(bb.sock, target, method=method)
        assert r.status == 404 and b"No such container: nosuch" in r.body
    r = get(bb.sock, "/v1.47/containers/waitee/kill?signal=SIGNOPE", method="POST")
    assert r.status == 400 and b"Invalid signal: SIGNOPE" in r.body
    assert bb.docker("inspect", "-f", "{{.State.Status}}", "waitee").stdout.strip() == "created"
    bb.docker("rm", "waitee")


def test_create_refuses_bad_console_size(bb):
    """ConsoleSize is two unsigned numbers, as Go decodes it: 400, nothing made."""
    from httpraw import get
    for size in ([-1, 80], [24], "24x80", [24, 1.5]):
        body = json.dumps({"Image": "busybox", "Cmd": ["true"], "Tty": True,
                           "HostConfig": {"ConsoleSize": size}}).encode()
        r = get(bb.sock, "/v1.47/containers/create", method="POST", body=body,
                headers={"Content-Type": "application/json"})
        assert r.status == 400 and b"ConsoleSize" in r.body, (size, r.body)
    assert no_containers(bb)


def test_info_counts_containers(bb):
    bb.docker("create", "--name", "c1", "busybox", "true")
    bb.docker("run", "-d", "--name", "c2", "busybox", "sleep", "60")
    r = bb.docker("info", "-f", "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}}")
    assert r.stdout.split() == ["2", "1", "1"]
    bb.docker("rm", "-f", "c1", "c2")


def test_run_pulls_a_missing_image(daemon, registry, busybox_image):
    """create answers 404 "No such image", so the CLI pulls and retries."""
    registry.push_image(busybox_image, "library/bb", "v1")
    ref = f"{registry.host}/library/bb:v1"
    r = daemon.docker("run", "--rm", ref, "echo", "pulled")
    assert r.stdout.strip().splitlines()[-1] == "pulled"
    assert f"Unable to find image '{ref}' locally" in r.stderr
    assert daemon.docker("images", "-q", ref).stdout.strip() != ""


def test_docker_py_wait_conditions_and_follow(bb):
    """wait next-exit returns at the next exit only; removed returns once the
    container is gone; logs(stream, follow) ends when the container does."""
    import threading
    api = bb.client().api
    cid = api.create_container("busybox", ["sh", "-c", "echo one; read x; echo two; exit 4"],
                               stdin_open=True)["Id"]
    results = {}
    t1 = threading.Thread(target=lambda: results.update(nx=api.wait(cid, condition="next-exit")))
    t2 = threading.Thread(target=lambda: results.update(rm=api.wait(cid, condition="removed")))
    t1.start()
    t2.start()
    api.start(cid)
    sock = api.attach_socket(cid, params={"stdin": 1, "stream": 1})
    lines = api.logs(cid, stream=True, follow=True)
    assert next(lines) == b"one\n"
    sock._sock.sendall(b"go\n")
    assert list(lines) == [b"two\n"]
    t1.join(10)
    assert results["nx"]["StatusCode"] == 4 and "rm" not in results
    sock.close()
    api.remove_container(cid)
    t2.join(10)
    assert results["rm"]["StatusCode"] == 4


def test_system_df_counts_container_layers(bb):
    bb.docker("run", "--name", "dfc", "busybox", "sh", "-c", "head -c 1048576 /dev/zero > /big")
    df = bb.client().api.df()
    (c,) = df["Containers"]
    assert c["Names"] == ["/dfc"] and c["State"] == "exited"
    assert 1 << 20 <= c["SizeRw"] < (1 << 20) + 64 * 1024
    assert c["SizeRootFs"] > c["SizeRw"]
    r = bb.docker("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Reclaimable}}")
    assert "Containers 1 1.049MB (100%)" in r.stdout.splitlines()
    bb.docker("rm", "dfc")
    assert bb.client().api.df()["Containers"] == []


def test_run_rm_whose_start_fails_ends(bb):
    """A start refused before any process exists still ends `run --rm`:
    the CLI's wait returns and the container is removed."""
    r = bb.docker("run", "--rm", "--ipc", "container:missing", "busybox", "true",
                  check=False, timeout=20)
    assert r.returncode != 0 and "missing" in r.stderr
    deadline = time.monotonic() + 10
    while bb.docker("ps", "-aq").stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bb.docker("ps", "-aq").stdout.strip() == ""


def test_inspect_mounts_as_docker_lists_them(bb, tmp_path):
    """Binds and --mount entries are listed; --tmpfs (HostConfig.Tmpfs) is not."""
    bb.docker("create", "--name", "mnts", "--tmpfs", "/t", "--mount", "type=tmpfs,dst=/u",
              "-v", f"{tmp_path}:/h:ro", "busybox", "true")
    mounts = bb.client().api.inspect_container("mnts")["Mounts"]
    got = {m["Destination"]: (m["Type"], m["Source"], m["RW"], m["Mode"]) for m in mounts}
    assert got == {"/h": ("bind", str(tmp_path), False, "ro"), "/u": ("tmpfs", "", True, "")}
    assert bb.client().api.inspect_container("mnts")["HostConfig"]["Tmpfs"] == {"/t": ""}
    bb.docker("rm", "mnts")


def test_removed_directories_go_through_the_trash(bb):
    """rm moves the container's directory to <data-root>/trash and a worker
    empties it; what a crash leaves there is deleted at the next start."""
    import os
    trash = os.path.join(bb.data_root, "trash")
    cid = bb.docker("create", "busybox", "true").stdout.strip()
    bb.docker("rm", cid)
    assert not os.path.exists(os.path.join(bb.data_root, "containers", cid))
    deadline = time.monotonic() + 10
    while os.listdir(trash) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.listdir(trash) == []
    os.makedirs(os.path.join(trash, "left-by-a-crash", "upper", "x"))
    assert bb.stop() == 0
    bb.start()
    assert os.listdir(trash) == []


def test_rm_force_of_an_auto_remove_container_removes_once(bb):
    cid = bb.docker("run", "-d", "--rm", "busybox", "sleep", "100").stdout.strip()
    bb.docker("rm", "-f", cid)
    assert bb.docker("ps", "-aq").stdout.strip() == ""
    assert "auto-remove failed" not in bb.log_text()
