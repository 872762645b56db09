"""`docker diff` (GET /containers/{id}/changes) through the real CLI,
docker-py and raw HTTP: additions, modifications, deletions of files the
image had (also from a lower image layer), directories deleted and made
again (overlay opaque directories: moby reports them deleted, then their new
content), nested additions, running and stopped containers, the runtime's
mount stubs never listed, and the vfs driver."""
import json
import time

import httpraw


def load_layered(d, tmp_path):
    from fixtures import images
    tar = tmp_path / "layered.tar"
    tar.write_bytes(images.layered_image("docker").docker_archive(repo_tags=["layered:latest"]))
    d.docker("load", "-i", str(tar))


def diff_lines(d, name):
    return d.docker("diff", name).stdout.splitlines()


def test_diff_cli_lines(bb):
    bb.docker("run", "--name", "c1", "busybox", "sh", "-c",
              "mkdir -p /a/b && echo x > /a/b/c && rm /bin/ls && echo y >> /etc/passwd"
              " && rm -rf /root && mkdir /root && touch /root/r && touch /tmp/t")
    assert diff_lines(bb, "c1") == [
        "A /a", "A /a/b", "A /a/b/c",
        "C /bin", "D /bin/ls",
        "C /etc/passwd",                # /etc itself unchanged: not listed
        "D /root", "A /root/r",         # deleted and made again (opaque)
        "C /tmp", "A /tmp/t",
    ]


def test_fresh_container_has_no_changes(bb):
    """/proc, /sys, /dev, /etc/hosts, /etc/hostname, /etc/resolv.conf are
    mount targets the runtime made (Docker's init layer): never listed."""
    bb.docker("run", "--name", "fresh", "busybox", "true")
    assert bb.docker("diff", "fresh").stdout == ""
    r = httpraw.get(bb.sock, "/containers/fresh/changes")
    assert r.status == 200
    assert json.loads(r.body) is None  # moby's empty list is null
    # a working directory the runtime had to make is the container's
    bb.docker("run", "--name", "wd", "-w", "/work/dir", "busybox", "true")
    assert diff_lines(bb, "wd") == ["A /work", "A /work/dir"]


def test_diff_running_container(bb):
    bb.docker("run", "-d", "--name", "live", "--stop-signal", "KILL", "busybox", "sh", "-c",
              "echo 1 > /ready; exec sleep 1000")
    deadline = time.monotonic() + 20
    while (lines := diff_lines(bb, "live")) != ["A /ready"]:
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)
    bb.docker("stop", "live")
    assert diff_lines(bb, "live") == ["A /ready"]  # stopped: the same layer


def test_diff_against_lower_layers(daemon, tmp_path):
    """The layered image: keep.txt comes from its second layer, /data/opaque
    is already opaque in its fourth; a deleted lower file is D, a directory
    deleted and made again is D followed by what it holds now."""
    load_layered(daemon, tmp_path)
    daemon.docker("run", "--name", "l1", "layered", "sh", "-c",
                  "rm /data/keep.txt && rm -rf /data/opaque && mkdir /data/opaque"
                  " && echo n > /data/opaque/fresh && mkdir -p /data/deep/er"
                  " && touch /data/deep/er/f && echo v3 > /data/modify.txt")
    assert diff_lines(daemon, "l1") == [
        "C /data",
        "A /data/deep", "A /data/deep/er", "A /data/deep/er/f",
        "D /data/keep.txt",
        "C /data/modify.txt",
        "D /data/opaque", "A /data/opaque/fresh",
    ]
    # a name a lower layer deleted is new again, not a modification
    daemon.docker("run", "--name", "again", "layered", "sh", "-c",
                  "echo back > /data/remove-me.txt")
    assert "A /data/remove-me.txt" in diff_lines(daemon, "again")


def test_diff_docker_py(bb):
    client = bb.client()
    try:
        c = client.containers.run("busybox", ["sh", "-c", "touch /new && rm /bin/rm"],
                                  detach=True)
        assert c.wait()["StatusCode"] == 0
        assert c.diff() == [{"Path": "/bin", "Kind": 0}, {"Path": "/bin/rm", "Kind": 2},
                            {"Path": "/new", "Kind": 1}]
    finally:
        client.close()


def test_diff_unknown_container(bb):
    r = httpraw.get(bb.sock, "/containers/nope/changes")
    assert r.status == 404
    assert json.loads(r.body) == {"message": "No such container: nope"}
    r = bb.docker("diff", "nope", check=False)
    assert r.returncode != 0 and "No such container: nope" in r.stderr


def test_diff_vfs(make_daemon, tmp_path):
    """vfs: the container's whole root against the image's (moby's naive
    diff): a deleted directory is one D, changed directories are C."""
    from fixtures import images
    d = make_daemon({"storage-driver": "vfs"})
    tar = tmp_path / "bb.tar"
    tar.write_bytes(images.busybox_image("docker").docker_archive(repo_tags=["busybox:latest"]))
    d.docker("load", "-i", str(tar))
    d.docker("run", "--name", "v1", "busybox", "sh", "-c",
             "mkdir -p /a/b && touch /a/b/c && rm /bin/ls && echo y >> /etc/passwd"
             " && rm -rf /root")
    d.docker("run", "--name", "vfresh", "busybox", "true")
    assert diff_lines(d, "v1") == ["A /a", "A /a/b", "A /a/b/c", "C /bin", "D /bin/ls",
                                  "C /etc", "C /etc/passwd", "D /root"]
    assert d.docker("diff", "vfresh").stdout == ""
