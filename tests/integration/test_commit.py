"""`docker commit` (POST /commit) through the real CLI, docker-py and raw
HTTP: the container's layer (additions, deletions of image files, a
directory deleted and made again, hardlinks) becomes a layer of a new image
that runs with that content and the config the changes made; history,
parent, author, comment, events; an empty diff adds no layer (moby); `docker
save` of the result carries the layer in OCI form; stopped and running
containers; the vfs driver; and bad input answered with Docker's messages
without changing anything."""
import io
import json
import os
import tarfile
import threading
import time
import urllib.parse

import httpraw


def inspect(d, ref):
    return json.loads(d.docker("image", "inspect", ref).stdout)[0]


def image_ids(d):
    return sorted(d.docker("images", "-aq", "--no-trunc").stdout.split())


def run_out(d, image, *cmd):
    return d.docker("run", "--rm", image, *cmd).stdout


CHANGES = ("mkdir -p /x/y && echo hi > /x/y/z && rm /bin/ls && echo added >> /etc/passwd"
           " && rm -rf /root && mkdir /root && echo r > /root/new"
           " && echo h > /h1 && ln /h1 /h2")


def test_commit_cli_changes_and_run(bb):
    bb.docker("run", "--name", "src", "busybox", "sh", "-c", CHANGES)
    parent = inspect(bb, "busybox")
    r = bb.docker("commit", "-m", "my message", "-a", "Jane <j@x>",
                  "-c", 'CMD ["/x/y/z"]', "-c", 'ENTRYPOINT ["cat"]',
                  "-c", 'ENV A=b C="d e"', "-c", "WORKDIR /x", "-c", "EXPOSE 8080/udp 80",
                  "-c", "LABEL team=core", "src", "committed:v1")
    new_id = r.stdout.strip()
    assert new_id.startswith("sha256:") and len(new_id) == 71

    img = inspect(bb, "committed:v1")
    assert img["Id"] == new_id
    assert img["RepoTags"] == ["committed:v1"]
    assert img["Parent"] == parent["Id"]
    assert img["Comment"] == "my message" and img["Author"] == "Jane <j@x>"
    cfg = img["Config"]
    assert cfg["Entrypoint"] == ["cat"] and cfg["Cmd"] == ["/x/y/z"]  # CMD came first: kept
    assert "A=b" in cfg["Env"] and "C=d e" in cfg["Env"]
    assert any(e.startswith("PATH=") for e in cfg["Env"])  # the container's, merged
    assert cfg["WorkingDir"] == "/x"
    assert cfg["ExposedPorts"] == {"8080/udp": {}, "80/tcp": {}}
    assert cfg["Labels"] == {"team": "core"}
    layers = img["RootFS"]["Layers"]
    assert layers[:-1] == parent["RootFS"]["Layers"] and len(layers) == len(parent["RootFS"]["Layers"]) + 1

    # the new image runs with the committed files and config
    assert run_out(bb, "committed:v1") == "hi\n"
    out = bb.docker("run", "--rm", "--entrypoint", "sh", "committed:v1", "-c",
                    "pwd; ls /bin/ls 2>&1; ls -A /root; tail -1 /etc/passwd;"
                    " stat -c %i /h1 /h2 | uniq | wc -l; echo $C").stdout.splitlines()
    assert out[0] == "/x"
    assert "No such file" in out[1]                 # deleted from the image: stays deleted
    assert out[2:] == ["new", "added", "1", "d e"]  # opaque /root: only the new file; hardlink kept

    # history: the commit on top, the container's command as created_by
    hist = json.loads(bb.docker("history", "--no-trunc", "--format", "{{json .}}",
                                "committed:v1").stdout.splitlines()[0])
    assert hist["ID"] == new_id
    assert hist["Comment"] == "my message"
    assert hist["CreatedBy"] == "sh -c " + CHANGES


def test_commit_empty_diff_adds_no_layer(bb):
    """moby: an empty layer is not added; the history entry says empty_layer."""
    bb.docker("run", "--name", "idle", "busybox", "true")
    new_id = bb.docker("commit", "idle").stdout.strip()
    img, parent = inspect(bb, new_id), inspect(bb, "busybox")
    assert img["RootFS"]["Layers"] == parent["RootFS"]["Layers"]
    assert img["RepoTags"] == []
    hist = bb.client().api.history(new_id)
    assert hist[0]["Id"] == new_id and hist[0]["Size"] == 0
    assert len(hist) == len(bb.client().api.history("busybox")) + 1


def container_actions(bb, since, until):
    out = bb.docker("events", "--since", f"{since:.6f}", "--until", f"{until + 0.001:.6f}",
                    "--filter", "type=container", "--format", "{{.Action}}").stdout
    return out.split()


def test_commit_running_and_stopped(bb):
    bb.docker("run", "-d", "--name", "live", "--stop-signal", "KILL", "busybox", "sh", "-c",
              "echo up > /state; exec sleep 1000")
    deadline = time.monotonic() + 20
    while bb.docker("diff", "live").stdout.split() != ["A", "/state"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    t0 = time.time()
    bb.docker("commit", "live", "fromlive")                 # pause=true (default)
    t1 = time.time()
    bb.docker("commit", "--pause=false", "live", "fromlive:nopause")
    # the default pauses the container for the commit and unpauses it after;
    # --pause=false leaves it running
    assert container_actions(bb, t0, t1) == ["pause", "unpause", "commit"]
    assert container_actions(bb, t1, time.time()) == ["commit"]
    assert bb.docker("inspect", "-f", "{{.State.Status}}", "live").stdout.strip() == "running"
    assert run_out(bb, "fromlive", "cat", "/state") == "up\n"
    assert run_out(bb, "fromlive:nopause", "cat", "/state") == "up\n"
    bb.docker("stop", "live")
    bb.docker("commit", "live", "fromstopped")
    assert run_out(bb, "fromstopped", "cat", "/state") == "up\n"
    # the same content in the same place is the same layer
    assert (inspect(bb, "fromlive")["RootFS"]["Layers"]
            == inspect(bb, "fromstopped")["RootFS"]["Layers"])


def test_commit_of_commit(bb):
    bb.docker("run", "--name", "one", "busybox", "sh", "-c", "echo 1 > /one")
    bb.docker("commit", "one", "gen1")
    bb.docker("run", "--name", "two", "gen1", "sh", "-c", "echo 2 > /two && rm /one")
    bb.docker("commit", "two", "gen2")
    assert run_out(bb, "gen2", "sh", "-c", "cat /two; ls /one 2>&1 | grep -c 'No such'") == "2\n1\n"
    assert len(inspect(bb, "gen2")["RootFS"]["Layers"]) == 3


def test_commit_save(bb, make_daemon, tmp_path):
    """docker save of a committed image: its layer is an OCI tar with the
    whiteout and opaque markers; the archive loads back into a new daemon."""
    bb.docker("run", "--name", "src", "busybox", "sh", "-c", CHANGES)
    new_id = bb.docker("commit", "src", "saved:1").stdout.strip()
    out = tmp_path / "saved.tar"
    bb.docker("save", "-o", str(out), "saved:1")
    with tarfile.open(out) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["saved:1"]
        assert manifest[0]["Config"] == f"blobs/sha256/{new_id[7:]}"
        top = manifest[0]["Layers"][-1]
        layer = tarfile.open(fileobj=io.BytesIO(t.extractfile(top).read()))
    names = layer.getnames()
    assert names == ["bin", "bin/.wh.ls", "etc", "etc/passwd", "h1", "h2",
                     "root", "root/.wh..wh..opq", "root/new", "x", "x/y", "x/y/z"]
    assert layer.getmember("h2").islnk() and layer.getmember("h2").linkname == "h1"
    assert layer.getmember("bin/.wh.ls").size == 0
    other = make_daemon(name="other")
    other.docker("load", "-i", str(out))
    assert inspect(other, "saved:1")["Id"] == new_id
    assert run_out(other, "saved:1", "sh", "-c",
                   "cat /x/y/z; ls -A /root; ls /bin/ls 2>&1 | grep -c 'No such'") == "hi\nnew\n1\n"


def test_commit_docker_py(bb):
    client = bb.client()
    try:
        c = client.containers.run("busybox", ["sh", "-c", "echo py > /py"], detach=True)
        c.wait()
        img = c.commit(repository="pyimg", tag="t1", message="from py", author="py",
                       changes=["ENV FROM=py", "CMD cat /py"], conf={"User": "nobody"})
        assert img.tags == ["pyimg:t1"]
        cfg = img.attrs["Config"]
        assert cfg["User"] == "nobody"
        assert cfg["Cmd"] == ["/bin/sh", "-c", "cat /py"]  # shell form
        assert "FROM=py" in cfg["Env"]
        assert img.attrs["Comment"] == "from py"
        assert client.containers.run("pyimg:t1", remove=True) == b"py\n"
        # docker-py sends "{}" without conf: the container's Config is used
        img2 = c.commit()
        assert img2.attrs["Config"]["Cmd"] == ["sh", "-c", "echo py > /py"]
    finally:
        client.close()


def test_commit_raw_http_body_config(bb):
    bb.docker("run", "--name", "raw", "busybox", "sh", "-c", "echo raw > /r")
    body = json.dumps({"Cmd": ["cat", "/r"], "Labels": {"a": "1"}})
    r = httpraw.get(bb.sock, "/v1.47/commit?container=raw&repo=rawimg&comment=c1",
                    method="POST", headers={"Content-Type": "application/json"}, body=body)
    assert r.status == 201, r.body
    new_id = json.loads(r.body)["Id"]
    cfg = inspect(bb, "rawimg:latest")["Config"]
    assert inspect(bb, "rawimg:latest")["Id"] == new_id
    assert cfg["Cmd"] == ["cat", "/r"] and cfg["Labels"] == {"a": "1"}
    assert any(e.startswith("PATH=") for e in cfg["Env"])  # merged from the container
    assert run_out(bb, "rawimg") == "raw\n"


def test_commit_events(bb):
    bb.docker("run", "--name", "evc", "busybox", "touch", "/e")
    t0 = time.time()
    new_id = bb.docker("commit", "-m", "why", "evc", "evimg:1").stdout.strip()
    out = bb.docker("events", "--since", f"{t0:.6f}", "--until", f"{time.time() + 0.001:.6f}",
                    "--format", "{{json .}}").stdout
    evs = [json.loads(line) for line in out.splitlines() if line]
    assert [(e["Type"], e["Action"]) for e in evs] == [("image", "tag"), ("container", "commit")]
    assert evs[0]["Actor"]["ID"] == new_id and evs[0]["Actor"]["Attributes"]["name"] == "evimg:1"
    attrs = evs[1]["Actor"]["Attributes"]
    assert attrs["comment"] == "why" and attrs["imageID"] == new_id
    assert attrs["imageRef"] == "evimg:1" and attrs["name"] == "evc"


def test_commit_vfs(make_daemon, tmp_path):
    from fixtures import images
    d = make_daemon({"storage-driver": "vfs"})
    tar = tmp_path / "bb.tar"
    tar.write_bytes(images.busybox_image("docker").docker_archive(repo_tags=["busybox:latest"]))
    d.docker("load", "-i", str(tar))
    d.docker("run", "--name", "vv", "busybox", "sh", "-c", CHANGES)
    d.docker("commit", "vv", "vimg")
    out = d.docker("run", "--rm", "vimg", "sh", "-c",
                   "cat /x/y/z; ls /bin/ls 2>&1 | grep -c 'No such'; ls -A /root;"
                   " stat -c %i /h1 /h2 | uniq | wc -l").stdout.splitlines()
    assert out == ["hi", "1", "new", "1"]


def post_commit(d, query, body=None, headers=None):
    target = "/commit?" + urllib.parse.urlencode(query, doseq=True)
    return httpraw.get(d.sock, target, method="POST", headers=headers, body=body)


def test_commit_bad_input(bb):
    bb.docker("run", "--name", "ok", "busybox", "touch", "/f")
    before = image_ids(bb)
    cases = [
        ({"container": "nope"}, None, None, 404, "No such container: nope"),
        ({}, None, None, 400, 'invalid name or ID supplied: ""'),
        ({"container": "ok", "repo": "Bad Name"}, None, None, 400, "invalid reference format"),
        ({"container": "ok", "repo": "UPPER"}, None, None, 400,
         "invalid reference format: repository name (library/UPPER) must be lowercase"),
        ({"container": "ok", "repo": "x", "tag": "bad tag"}, None, None, 400,
         "invalid tag format"),
        ({"container": "ok", "repo": "x@sha256:" + "a" * 64}, None, None, 400,
         "cannot import digest reference"),
        ({"container": "ok", "changes": "FOO bar"}, None, None, 400,
         "foo is not a valid change command"),
        ({"container": "ok", "changes": "EXPOSE 99999"}, None, None, 400,
         "Invalid containerPort: 99999"),
        ({"container": "ok"}, "{not json", {"Content-Type": "application/json"}, 400,
         "invalid JSON"),
        ({"container": "ok"}, "{}", {"Content-Type": "text/plain"}, 400,
         "unsupported Content-Type header (text/plain): must be 'application/json'"),
    ]
    for query, body, headers, status, message in cases:
        r = post_commit(bb, query, body, headers)
        assert r.status == status, (query, r.status, r.body)
        assert message in json.loads(r.body)["message"], (query, r.body)
    assert image_ids(bb) == before  # nothing was created
    r = bb.docker("commit", "-c", "BOGUS x", "ok", check=False)
    assert r.returncode != 0 and "bogus is not a valid change command" in r.stderr
    r = bb.docker("commit", "nope", check=False)
    assert r.returncode != 0 and "No such container: nope" in r.stderr
    assert image_ids(bb) == before


def test_commit_while_removed(bb):
    """`docker rm` of a container while its commit is archiving the layer:
    as in moby (the commit holds its own reference on the RW layer) the
    commit completes with the whole layer and the removal goes through; it
    must never register an image that silently lacks files."""
    # a/big first in the sorted walk: gzip of 48 MiB of random data keeps the
    # job busy while the removal lands; b/ holds 500 files archived after it
    bb.docker("run", "--name", "gone", "busybox", "sh", "-c",
              "mkdir -p /a /b && head -c 50331648 /dev/urandom > /a/big"
              " && cd /b && i=0; while [ $i -lt 500 ]; do echo $i > f$i; i=$((i+1)); done")
    tmp = os.path.join(bb.data_root, "tmp")
    box = {}

    def commit():
        box["r"] = post_commit(bb, {"container": "gone", "repo": "kept"})

    t = threading.Thread(target=commit)
    t.start()
    deadline = time.monotonic() + 20   # the job has begun once its blob exists
    while not any(n.startswith("commit-") for n in os.listdir(tmp)):
        assert time.monotonic() < deadline and t.is_alive()
        time.sleep(0.005)
    bb.docker("rm", "gone")
    t.join(60)
    r = box["r"]
    assert r.status == 201, r.body
    out = run_out(bb, "kept", "sh", "-c", "wc -c < /a/big; ls /b | wc -l; cat /b/f499")
    assert out.split() == ["50331648", "500", "499"]
    assert bb.docker("ps", "-aq", "--filter", "name=gone").stdout == ""
