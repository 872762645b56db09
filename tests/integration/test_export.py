"""docker export (GET /containers/{id}/export) through the real CLI and raw
HTTP: the image's files plus the container's changes, deleted files absent,
no mounts, running and stopped containers, the tar's naming, streaming with
back-pressure, and bad input."""
import io
import os
import socket
import subprocess
import tarfile
import time

import pytest

import httpraw
from conftest import DOCKER

pytestmark = pytest.mark.usefixtures("bb")


def cli_env(d):
    return dict(os.environ, DOCKER_HOST=d.host, DOCKER_CONFIG=d.docker_config)


def members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name: (m, t.extractfile(m).read() if m.isfile() else None)
                for m in t.getmembers()}


def wait_file(d, name, path, timeout=20):
    env = cli_env(d)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run([DOCKER, "cp", f"{name}:{path}", "-"], env=env,
                          capture_output=True).returncode == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared in {name}")


CHANGES = ("echo new > /added; echo changed > /etc/hostname-ish; rm /bin/cat; "
           "mkdir -p /dir/sub; echo x > /dir/sub/f; ln -s /dir /dirlink; ln /added /hard")


def test_export_content_running_and_stopped(bb, tmp_path):
    host = tmp_path / "bind"
    host.mkdir()
    (host / "host-only").write_text("not exported\n")
    bb.docker("run", "-d", "--name", "x1", "--stop-timeout", "1", "-v", f"{host}:/mnt/bind",
              "busybox", "sh", "-c", CHANGES + "; touch /ready; exec sleep 1000")
    wait_file(bb, "x1", "/ready")
    out = tmp_path / "x1.tar"
    bb.docker("export", "x1", "-o", str(out))  # running
    running = members(out.read_bytes())
    assert running["added"][1] == b"new\n"
    assert running["dir/sub/f"][1] == b"x\n"
    assert running["dirlink"][0].issym() and running["dirlink"][0].linkname == "/dir"
    assert running["hard"][0].islnk() and running["hard"][0].linkname == "added"
    assert "bin/sh" in running and "bin/busybox" in running and "etc/passwd" in running
    assert "bin/cat" not in running  # deleted in the container
    assert "mnt/bind" in running and "mnt/bind/host-only" not in running  # no mounts
    assert not any(n.startswith(("proc/", "sys/")) for n in running)
    assert not any(n.startswith(("/", "./")) for n in running) and "." not in running
    names = [n for n in running if "/" not in n]
    assert names == sorted(names)  # sorted per directory, as moby's walk
    bb.docker("stop", "x1")
    piped = subprocess.run(f"{DOCKER} export x1 | tar t", shell=True, env=cli_env(bb),
                           capture_output=True, text=True, check=True).stdout.split()
    assert set(n.rstrip("/") for n in piped) == set(running)  # stopped: the same tree
    assert "dir/" in piped  # directories end in "/"
    # The stopped container still starts afterwards (its root was mounted
    # for the export only).
    bb.docker("start", "x1")
    assert bb.docker("inspect", "-f", "{{.State.Running}}", "x1").stdout.strip() == "true"


def test_export_created_container_is_the_image(bb, tmp_path):
    bb.docker("create", "--name", "x2", "busybox")
    data = subprocess.run([DOCKER, "export", "x2"], env=cli_env(bb), capture_output=True,
                          check=True).stdout
    got = members(data)
    assert got["etc/passwd"][1].startswith(b"root:x:0:0:")
    assert got["bin/busybox"][0].mode & 0o111
    assert "added" not in got


def test_export_raw_http_and_errors(bb):
    bb.docker("create", "--name", "x3", "busybox")
    r = httpraw.get(bb.sock, "/v1.47/containers/x3/export")
    assert r.status == 200 and r.header("content-type") == "application/x-tar"
    assert r.header("transfer-encoding") == "chunked"
    assert "bin/sh" in members(r.body)
    r = httpraw.get(bb.sock, "/v1.47/containers/nosuch/export")
    assert r.status == 404 and b"No such container: nosuch" in r.body
    r = httpraw.get(bb.sock, "/v1.47/containers/x3/export", method="POST")
    assert r.status == 404


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_export_streams_with_back_pressure(bb, tmp_path):
    """A 192 MiB file in the container, a client that stops reading: the
    daemon keeps only about a megabyte queued (its memory does not grow by
    the file), and the whole archive still arrives once the client reads."""
    bb.docker("run", "--name", "x4", "busybox", "sh", "-c",
              "dd if=/dev/zero of=/big bs=1048576 count=192 2>/dev/null")
    before = rss_kib(bb.pid)
    c = httpraw.Conn(bb.sock, timeout=60)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.request("GET", "/v1.47/containers/x4/export")
    status, _, headers, _ = c.read_head()
    assert status == 200
    # Not reading: the daemon must stop producing.
    peak = before
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        peak = max(peak, rss_kib(bb.pid))
        time.sleep(0.1)
    assert peak - before < 48 * 1024, (before, peak)
    total = 0
    while True:
        chunk = c.read_chunk()
        if not chunk:
            break
        total += len(chunk)
    c.close()
    assert total > 192 * 1024 * 1024


def test_start_and_rm_wait_for_an_export_of_a_stopped_container(bb):
    """The export of a stopped container mounts its root on its own: until
    it ends, start and rm are refused rather than racing it."""
    bb.docker("run", "--name", "x5", "busybox", "sh", "-c",
              "dd if=/dev/zero of=/big bs=1048576 count=64 2>/dev/null")
    c = httpraw.Conn(bb.sock, timeout=60)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.request("GET", "/v1.47/containers/x5/export")
    assert c.read_head()[0] == 200
    r = bb.docker("start", "x5", check=False)
    assert r.returncode != 0 and "is busy" in r.stderr
    r = bb.docker("rm", "x5", check=False)
    assert r.returncode != 0 and "copied from" in r.stderr
    while c.read_chunk():
        pass
    c.close()
    bb.docker("start", "x5")
    assert bb.docker("wait", "x5").stdout.strip() == "0"


def test_rm_f_of_a_running_container_waits_for_its_export(bb):
    """rm -f during the export of a running container: the container is
    killed and removed, but only after the export has read its whole layer
    (its upper dir is not deleted under the reader), as Docker's export
    holds its own reference on the layer."""
    import threading
    bb.docker("run", "-d", "--name", "x6", "busybox", "sh", "-c",
              "mkdir /many && for i in $(seq 300); do echo $i > /many/f$i; done; "
              "dd if=/dev/zero of=/big bs=1048576 count=64 2>/dev/null; touch /ready; "
              "exec sleep 1000")
    wait_file(bb, "x6", "/ready")
    c = httpraw.Conn(bb.sock, timeout=60)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.request("GET", "/v1.47/containers/x6/export")
    assert c.read_head()[0] == 200
    data = bytearray(c.read_chunk())
    removed = []
    rm = threading.Thread(target=lambda: removed.append(bb.docker("rm", "-f", "x6")))
    rm.start()
    while chunk := c.read_chunk():
        data += chunk
    c.close()
    rm.join(60)
    assert removed and removed[0].returncode == 0
    names = members(bytes(data))
    assert all(f"many/f{i}" in names for i in range(1, 301)), "files lost under the export"
    assert "ready" in names
    assert bb.docker("ps", "-aq").stdout.strip() == ""
