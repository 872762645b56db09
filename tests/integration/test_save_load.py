"""docker save / load / import through the real CLI, docker-py and raw HTTP:
the archive layouts Docker 25+ writes and reads, round trips that must give
back the same image ID, tags and layer directories byte for byte, the
fixture archives (legacy docker-archive, new layout, bare OCI layout),
compressed inputs, progress output, events, and every kind of bad input
(which must register nothing and leave tmp/ empty)."""
import gzip
import hashlib
import io
import json
import os
import platform
import stat
import subprocess
import tarfile
import time

import pytest

import httpraw
from fixtures import images as fx

GOARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


# ---- helpers -----------------------------------------------------------------


def refs(d):
    path = os.path.join(d.data_root, "repositories.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        repos = json.load(f)["Repositories"]
    return {ref: iid for names in repos.values() for ref, iid in names.items()}


def layer_dir(d, chain_id):
    return os.path.join(d.data_root, "layers", chain_id.split(":", 1)[1], "diff")


def wait_until(pred, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def tmp_empty(d):
    return os.listdir(os.path.join(d.data_root, "tmp")) == []


def fingerprint(root):
    """Everything extraction decides about a tree: names, types, modes,
    owners, mtimes, contents, link targets, devices, xattrs, hardlink groups."""
    out, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            entry = [stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid]
            if not stat.S_ISDIR(st.st_mode) and not stat.S_ISCHR(st.st_mode):
                entry.append(st.st_mtime_ns)  # whiteouts are made at extraction time
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    entry.append(hashlib.sha256(f.read()).hexdigest())
                if st.st_nlink > 1:
                    entry.append(inodes.setdefault(st.st_ino, rel))
            elif stat.S_ISLNK(st.st_mode):
                entry.append(os.readlink(p))
            elif stat.S_ISCHR(st.st_mode):
                entry.append(st.st_rdev)
            entry.append(sorted((k, os.getxattr(p, k, follow_symlinks=False))
                                for k in os.listxattr(p, follow_symlinks=False)))
            out[rel] = entry
    return out


def members(data):
    """{name: bytes} of a tar (regular members only)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def raw_load(d, body, quiet="0", headers=None):
    """POST /images/load; (status, [messages]) or (status, error body)."""
    r = httpraw.get(d.sock, f"/v1.47/images/load?quiet={quiet}", method="POST",
                    headers=dict({"Content-Type": "application/x-tar"}, **(headers or {})),
                    body=body)
    if r.status != 200:
        return r.status, json.loads(r.body)
    return r.status, [json.loads(line) for line in r.body.decode().splitlines() if line]


def _load_file(d, data, *args, check=True):
    path = os.path.join(d.root, f"in-{time.monotonic_ns()}.tar")
    with open(path, "wb") as f:
        f.write(data)
    return d.docker("load", "-i", path, *args, check=check)


def image_ids(d):
    return sorted(set(d.docker("images", "-q", "--no-trunc").stdout.split()))


def inspect(d, name):
    return json.loads(d.docker("image", "inspect", name).stdout)[0]


def nothing_registered(d):
    assert refs(d) == {}
    assert image_ids(d) == []
    wait_until(lambda: tmp_empty(d), what="tmp/ to empty")
    assert os.listdir(os.path.join(d.data_root, "layers")) == []


def image_events(d, since):
    out = d.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                   "--filter", "type=image", "--format", "{{json .}}", timeout=15).stdout
    return [json.loads(line) for line in out.splitlines()]


# ---- save -> rmi -> load ---------------------------------------------------------


def test_round_trip_matches_pull(daemon, registry, layered_image, tmp_path):
    """A pulled image, saved, removed and loaded: same ID, same tags, and
    every layer directory identical to what the pull extracted."""
    registry.push_image(layered_image, "test/layered", "v1")
    name = f"{registry.host}/test/layered:v1"
    daemon.docker("pull", name)
    daemon.docker("tag", name, "layered:1")
    pulled = {c: fingerprint(layer_dir(daemon, c)) for c in layered_image.chain_ids()}
    out = tmp_path / "saved.tar"
    daemon.docker("save", "-o", str(out), name, "layered:1")
    data = out.read_bytes()

    m = members(data)
    manifest = json.loads(m["manifest.json"])
    assert manifest == [{"Config": f"blobs/sha256/{layered_image.id[7:]}",
                         "RepoTags": [name, "layered:1"],
                         "Layers": [f"blobs/sha256/{d[7:]}" for d in layered_image.diff_ids]}]
    for blob, content in m.items():
        if blob.startswith("blobs/sha256/"):
            assert sha(content) == "sha256:" + blob.split("/")[-1], blob
    for layer in layered_image.layers:  # uncompressed, exactly the registry's tar
        assert m[f"blobs/sha256/{layer.diff_id[7:]}"] == layer.tar
    assert m[f"blobs/sha256/{layered_image.id[7:]}"] == layered_image.config
    assert json.loads(m["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(m["index.json"])
    names = [e["annotations"]["io.containerd.image.name"] for e in index["manifests"]]
    assert names == [f"{registry.host}/test/layered:v1", "docker.io/library/layered:1"]
    oci_manifest = json.loads(m["blobs/sha256/" + index["manifests"][0]["digest"][7:]])
    assert [l["digest"] for l in oci_manifest["layers"]] == layered_image.diff_ids
    assert oci_manifest["config"]["digest"] == layered_image.id
    assert json.loads(m["repositories"])["layered"] == {"1": layered_image.diff_ids[-1][7:]}

    daemon.docker("rmi", name, "layered:1")
    assert image_ids(daemon) == []
    assert os.listdir(os.path.join(daemon.data_root, "layers")) == []

    r = daemon.docker("load", "-i", str(out))
    assert r.stdout.splitlines() == [f"Loaded image: {name}", "Loaded image: layered:1"]
    assert image_ids(daemon) == [layered_image.id]
    assert refs(daemon) == {name: layered_image.id,
                            "docker.io/library/layered:1": layered_image.id}
    for chain, before in pulled.items():
        assert fingerprint(layer_dir(daemon, chain)) == before, chain
    wait_until(lambda: tmp_empty(daemon), what="tmp/ to empty")

    # And saved again: the very same bytes.
    again = tmp_path / "again.tar"
    daemon.docker("save", "-o", str(again), name, "layered:1")
    assert again.read_bytes() == data


def test_save_by_id_and_several(daemon, busybox_image, layered_image):
    _load_file(daemon, busybox_image.docker_archive(["busybox:latest", "busybox:1"]))
    _load_file(daemon, layered_image.docker_archive(["layered:1"]))
    r = httpraw.get(daemon.sock, f"/v1.47/images/get?names={busybox_image.id[7:19]}")
    assert r.status == 200
    assert r.header("content-type") == "application/x-tar"
    assert r.header("transfer-encoding") == "chunked"
    m = members(r.body)
    assert json.loads(m["manifest.json"])[0]["RepoTags"] is None
    assert "repositories" not in m
    assert "annotations" not in json.loads(m["index.json"])["manifests"][0]

    # A bare name is every tag of the repository; two images share a layer.
    r = httpraw.get(daemon.sock, "/v1.47/images/get?names=busybox&names=layered:1")
    m = members(r.body)
    items = json.loads(m["manifest.json"])
    assert [i["RepoTags"] for i in items] == [["busybox:1", "busybox:latest"], ["layered:1"]]
    # two configs, five layers (busybox's shared), two manifests
    assert len([n for n in m if n.startswith("blobs/sha256/")]) == 2 + 5 + 2
    r = httpraw.get(daemon.sock, "/v1.47/images/layered:1/get")
    assert json.loads(members(r.body)["manifest.json"])[0]["RepoTags"] == ["layered:1"]


def test_save_unknown_image(daemon, busybox_image):
    _load_file(daemon, busybox_image.docker_archive(["busybox:latest"]))
    r = httpraw.get(daemon.sock, "/v1.47/images/get?names=busybox&names=nope")
    assert r.status == 404
    assert json.loads(r.body) == {"message": "No such image: nope:latest"}
    r = daemon.docker("save", "-o", os.path.join(daemon.root, "x.tar"), "nope:1", check=False)
    assert r.returncode != 0 and "No such image: nope:1" in r.stderr
    assert httpraw.get(daemon.sock, "/v1.47/images/Bad/get").status == 400
    assert tmp_empty(daemon)


def test_save_events_and_client_gone(daemon, busybox_image):
    _load_file(daemon, busybox_image.docker_archive(["busybox:latest"]))
    since = int(time.time())
    daemon.docker("save", "-o", os.path.join(daemon.root, "x.tar"), "busybox")
    evs = [e for e in image_events(daemon, since) if e["Action"] == "save"]
    assert [(e["Actor"]["ID"], e["Actor"]["Attributes"]["name"]) for e in evs] == \
        [(busybox_image.id, busybox_image.id)]
    c = httpraw.Conn(daemon.sock)
    c.request("GET", "/v1.47/images/get?names=busybox")
    assert c.read_head()[0] == 200
    c.read_chunk()
    c.close()  # leaves mid-stream: the temp archive goes
    wait_until(lambda: tmp_empty(daemon), what="tmp/ to empty")
    assert httpraw.get(daemon.sock, "/_ping").status == 200


# ---- load -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_load_fixture_archives(daemon, layered_image, tmp_path, layout):
    data = layered_image.docker_archive(["layered:1", "localhost:5000/x/y:2"], layout=layout)
    out = _load_file(daemon, data).stdout
    assert out.splitlines() == ["Loaded image: layered:1", "Loaded image: localhost:5000/x/y:2"]
    img = inspect(daemon, "layered:1")
    assert img["Id"] == layered_image.id
    assert sorted(img["RepoTags"]) == ["layered:1", "localhost:5000/x/y:2"]
    assert img["RootFS"]["Layers"] == layered_image.diff_ids
    assert img["Config"]["WorkingDir"] == "/data"
    top = layer_dir(daemon, layered_image.chain_ids()[-1])
    assert os.readlink(os.path.join(top, "data", "symlink")) == "keep.txt"
    st = os.lstat(os.path.join(top, "usr/local/bin/suid-tool"))
    assert (st.st_mode & 0o7777, st.st_uid) == (0o4755, 1000)
    assert os.getxattr(os.path.join(top, "data/xattr.txt"), "user.test") == b"berth"
    wh = os.lstat(os.path.join(layer_dir(daemon, layered_image.chain_ids()[2]), "data",
                               "remove-me.txt"))
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0  # overlay whiteout
    wait_until(lambda: tmp_empty(daemon), what="tmp/ to empty")


def test_load_bare_oci_layout(daemon, busybox_image, busybox_oci_image):
    """index.json only, compressed layers, a bare tag as ref.name: untagged."""
    out = _load_file(daemon, busybox_oci_image.oci_layout()).stdout
    assert out.strip() == f"Loaded image ID: {busybox_oci_image.id}"
    assert image_ids(daemon) == [busybox_oci_image.id]
    # The compressed blob is kept as the layer's, so a save decompresses it.
    r = httpraw.get(daemon.sock, f"/images/get?names={busybox_oci_image.id}")
    layer = busybox_oci_image.layers[0]
    assert members(r.body)[f"blobs/sha256/{layer.diff_id[7:]}"] == layer.tar


@pytest.mark.skipif(GOARCH != "amd64", reason="the fixture index has amd64 and arm64 children")
def test_load_multi_platform_layout(daemon):
    """A nested index (with an attestation entry): the host's child loads."""
    index = fx.manifest_list("oci")
    out = _load_file(daemon, index.oci_layout("1.0")).stdout
    amd64 = index.child("amd64")
    assert out.strip() == f"Loaded image ID: {amd64.id}"
    assert image_ids(daemon) == [amd64.id]


def test_load_gzip_quiet_and_progress(daemon, busybox_image, layered_image):
    gz = gzip.compress(layered_image.docker_archive(["layered:1"]))
    out = _load_file(daemon, gz, "-q").stdout
    assert out.strip() == "Loaded image: layered:1"
    daemon.docker("rmi", "layered:1")
    status, msgs = raw_load(daemon, busybox_image.docker_archive(["busybox:latest"]))
    assert status == 200
    loading = [m for m in msgs if m.get("status") == "Loading layer"]
    layer = busybox_image.layers[0]
    assert loading[0]["id"] == layer.diff_id[7:19]
    assert loading[-1]["progressDetail"] == {"current": len(layer.tar), "total": len(layer.tar)}
    assert msgs[-1] == {"stream": "Loaded image: busybox:latest\n"}
    # quiet absent means quiet (moby's BoolValueOrDefault)
    r = httpraw.get(daemon.sock, "/images/load", method="POST",
                    body=busybox_image.docker_archive(["busybox:2"]))
    assert [json.loads(l) for l in r.body.decode().splitlines()] == \
        [{"stream": "Loaded image: busybox:2\n"}]


def test_load_moves_tag_and_events(daemon, busybox_image, layered_image):
    since = int(time.time())
    _load_file(daemon, busybox_image.docker_archive(["app:1"]))
    out = _load_file(daemon, layered_image.docker_archive(["app:1"])).stdout
    assert out.splitlines() == [
        f"The image app:1 already exists, renaming the old one with ID {busybox_image.id} "
        "to empty string", "Loaded image: app:1"]
    assert refs(daemon)["docker.io/library/app:1"] == layered_image.id
    evs = [e for e in image_events(daemon, since) if e["Action"] == "load"]
    assert [(e["Actor"]["ID"], e["Actor"]["Attributes"]["name"]) for e in evs] == \
        [(busybox_image.id, busybox_image.id), (layered_image.id, layered_image.id)]


def test_load_chunked_with_docker_py(daemon, busybox_image):
    client = daemon.client()
    loaded = client.images.load(busybox_image.docker_archive(["py/bb:1"]))
    assert [i.id for i in loaded] == [busybox_image.id]
    data = b"".join(client.images.get("py/bb:1").save(chunk_size=4096, named=True))
    assert json.loads(members(data)["manifest.json"])[0]["RepoTags"] == ["py/bb:1"]
    client.images.remove("py/bb:1")
    assert [i.id for i in client.images.load(data)] == [busybox_image.id]
    client.close()


def tamper(data, name, fn):
    """The archive with one member's content replaced by fn(content)."""
    src = tarfile.open(fileobj=io.BytesIO(data))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for m in src.getmembers():
            content = src.extractfile(m).read() if m.isfile() else None
            if m.name == name:
                content = fn(content)
                m.size = len(content)
            dst.addfile(m, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


def test_load_bad_archives(daemon, busybox_image, layered_image, tmp_path):
    arch = busybox_image.docker_archive(["busybox:latest"], layout="oci")
    layer_member = f"blobs/sha256/{busybox_image.layers[0].diff_id[7:]}"
    flip = lambda c: c[:-600] + bytes([c[-600] ^ 1]) + c[-599:]
    cases = {
        "garbage": (b"this is not an archive" * 100, "invalid archive"),
        "no manifest": (fx.archive([("hello.txt", b"hi")]), "neither manifest.json nor index.json"),
        "bad json": (tamper(arch, "manifest.json", lambda c: c[:-5]), "not valid JSON"),
        "digest mismatch": (tamper(arch, layer_member, flip), "digest mismatch"),
        "missing blob": (tamper(arch, "manifest.json",
                                lambda c: c.replace(layer_member.encode(), b"blobs/sha256/nope")),
                         "no such file in the archive"),
        "bad tag": (busybox_image.docker_archive(["Bad:tag"]), "invalid reference format"),
    }
    for what, (body, needle) in cases.items():
        status, body = raw_load(daemon, body)
        assert status == 400, what
        assert needle in body["message"], (what, body)
    # legacy layout: a layer that does not hash to its diff ID
    legacy = busybox_image.docker_archive(["busybox:latest"], layout="legacy")
    lid = busybox_image.chain_ids()[0][7:]
    status, body = raw_load(daemon, tamper(legacy, f"{lid}/layer.tar", flip), quiet="1")
    assert status == 400 and "diff ID mismatch" in body["message"], body
    r = _load_file(daemon, b"garbage" * 1000, check=False)
    assert r.returncode != 0 and "invalid archive" in r.stderr
    nothing_registered(daemon)


def test_load_hostile_layer_registers_nothing(daemon, busybox_image, tmp_path):
    """A traversal member in the second layer: the first layer (extracted
    fine) is dropped too, and nothing lands outside the store."""
    unique = tmp_path.name
    evil = fx.malicious_images(unique)["traversal"]
    layers = [fx.busybox_layer(), evil.layers[0]]
    img = fx.Image(layers, fx.image_config(layers, fx._history(layers)), name="evil")
    status, body = raw_load(daemon, img.docker_archive(["evil:1"]), quiet="1")
    assert status == 400 and "invalid layer" in body["message"], body
    nothing_registered(daemon)
    for outside in [os.path.join(daemon.data_root, "..", f"escape-{unique}"),
                    os.path.join(daemon.data_root, f"escape-{unique}")]:
        assert not os.path.lexists(outside)
    # After progress started, the error comes in-band.
    status, msgs = raw_load(daemon, img.docker_archive(["evil:1"]), quiet="0")
    assert status == 200
    assert msgs[-1]["errorDetail"]["message"] == msgs[-1]["error"]
    assert "invalid layer" in msgs[-1]["error"]
    nothing_registered(daemon)


def test_load_client_gone_mid_body(daemon, layered_image):
    data = layered_image.docker_archive(["layered:1"])
    c = httpraw.Conn(daemon.sock)
    c.send(f"POST /v1.47/images/load?quiet=1 HTTP/1.1\r\nHost: x\r\n"
           f"Content-Length: {len(data)}\r\n\r\n".encode() + data[:len(data) // 2])
    time.sleep(0.2)
    c.close()
    nothing_registered(daemon)
    assert httpraw.get(daemon.sock, "/_ping").status == 200


# ---- import --------------------------------------------------------------------------


def rootfs_tar():
    return fx.busybox_layer("none").tar


def test_import_with_changes(daemon, tmp_path):
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(rootfs_tar())
    since = int(time.time())
    r = daemon.docker("import",
                      "--change", 'CMD ["sh", "-c", "echo hi"]',
                      "--change", 'ENV A=1 B="two words"',
                      "--change", "ENV C=$A-x",
                      "--change", "WORKDIR /data",
                      "--change", "WORKDIR sub",
                      "--change", "LABEL org.x=y other=z",
                      "--change", "EXPOSE 80 53/udp",
                      "--change", "USER nobody",
                      "--change", "VOLUME /v1 /v2",
                      "--change", "STOPSIGNAL SIGINT",
                      "-m", "my message", str(tar), "imp:1")
    iid = r.stdout.strip()
    assert iid.startswith("sha256:") and len(iid) == 71
    img = inspect(daemon, "imp:1")
    assert img["Id"] == iid
    c = img["Config"]
    assert c["Cmd"] == ["sh", "-c", "echo hi"]
    assert c["Env"] == ["A=1", "B=two words", "C=1-x"]
    assert c["WorkingDir"] == "/data/sub"
    assert c["Labels"] == {"org.x": "y", "other": "z"}
    assert c["ExposedPorts"] == {"53/udp": {}, "80/tcp": {}}
    assert c["User"] == "nobody"
    assert c["Volumes"] == {"/v1": {}, "/v2": {}}
    assert c["StopSignal"] == "SIGINT"
    assert img["Comment"] == "my message"
    assert (img["Os"], img["Architecture"]) == ("linux", GOARCH)
    assert img["RootFS"]["Layers"] == [fx.busybox_layer("none").diff_id]
    hist = json.loads(daemon.docker("history", "--format", "{{json .}}", "imp:1").stdout)
    assert hist["Comment"] == "my message"
    chain = fx.busybox_layer("none").diff_id
    assert os.path.isfile(os.path.join(layer_dir(daemon, chain), "bin", "busybox"))
    acts = [(e["Action"], e["Actor"]["Attributes"]["name"]) for e in image_events(daemon, since)]
    assert acts == [("tag", "imp:1"), ("import", iid)]


def test_import_gzip_stdin_and_shell_forms(daemon, tmp_path):
    gz = tmp_path / "rootfs.tar.gz"
    gz.write_bytes(gzip.compress(rootfs_tar()))
    with open(gz, "rb") as f:
        r = subprocess.run([os.environ.get("DOCKER_CLI", "/usr/local/bin/docker"), "import",
                            "--change", "ENTRYPOINT /bin/sh -c", "-", "imp:gz"], stdin=f,
                           capture_output=True, text=True,
                           env=dict(os.environ, DOCKER_HOST=daemon.host,
                                    DOCKER_CONFIG=daemon.docker_config))
    assert r.returncode == 0, r.stderr
    img = inspect(daemon, "imp:gz")
    assert img["Comment"] == "Imported from -"
    assert img["Config"]["Entrypoint"] == ["/bin/sh", "-c", "/bin/sh -c"]
    assert img["Config"]["Cmd"] is None
    assert img["RootFS"]["Layers"] == [fx.busybox_layer("none").diff_id]
    raw = json.loads(open(os.path.join(daemon.data_root, "blobs", "sha256",
                                       img["Id"][7:])).read())
    assert raw["history"] == [{"created": raw["created"], "comment": "Imported from -"}]
    assert "created_by" not in raw["history"][0]
    # No repo: untagged, and the answer is the status line.
    r = httpraw.get(daemon.sock, "/v1.47/images/create?fromSrc=-", method="POST",
                    body=rootfs_tar())
    assert r.status == 200
    assert json.loads(r.body) == {"status": json.loads(r.body)["status"]}
    assert json.loads(r.body)["status"] in image_ids(daemon)


def test_import_bad_inputs(daemon, tmp_path):
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(rootfs_tar())
    r = daemon.docker("import", "--change", "RUN echo hi", str(tar), "x:1", check=False)
    assert r.returncode != 0 and "run is not a valid change command" in r.stderr
    r = daemon.docker("import", "--change", "EXPOSE 80/bogus", str(tar), check=False)
    assert "Invalid proto: bogus" in r.stderr
    r = daemon.docker("import", "--change", "STOPSIGNAL SIGNOPE", str(tar), check=False)
    assert "Invalid signal: SIGNOPE" in r.stderr
    bad = {"repo=Bad": "invalid reference format",
           "repo=x@sha256:" + "0" * 64: "cannot import digest reference",
           "repo=x&tag=a:b": "invalid tag format",
           "platform=windows/amd64": "cannot be used on this platform",
           "changes=FROM%20x": "from is not a valid change command"}
    for q, needle in bad.items():
        r = httpraw.get(daemon.sock, f"/v1.47/images/create?fromSrc=-&{q}", method="POST",
                        body=tar.read_bytes())
        assert r.status == 400, q
        assert needle in json.loads(r.body)["message"], (q, r.body)
    r = httpraw.get(daemon.sock, "/images/create?fromSrc=http://x/y.tar", method="POST", body=b"")
    assert r.status == 501
    # A rootfs with a traversal member is refused; nothing escapes or registers.
    unique = tmp_path.name
    evil = fx.LayerBuilder().raw(f"../../escape-{unique}", data=b"x").tar()
    (tmp_path / "evil.tar").write_bytes(evil)
    r = daemon.docker("import", str(tmp_path / "evil.tar"), "evil:1", check=False)
    assert r.returncode != 0 and "invalid layer" in r.stderr
    assert not os.path.lexists(os.path.join(daemon.data_root, "..", f"escape-{unique}"))
    nothing_registered(daemon)


def test_import_with_docker_py(daemon, tmp_path):
    api = daemon.client().api
    out = api.import_image_from_data(rootfs_tar(), repository="py/imp", tag="1",
                                     changes=['CMD ["sh"]', "ENV X=1"])
    iid = json.loads(out)["status"]
    img = api.inspect_image("py/imp:1")
    assert img["Id"] == iid and img["Config"]["Cmd"] == ["sh"] and img["Config"]["Env"] == ["X=1"]
    path = tmp_path / "r.tar"
    path.write_bytes(rootfs_tar())
    out = api.import_image(src=str(path), repository="py/imp", tag="2")
    assert json.loads(out)["status"].startswith("sha256:")
    api.close()


# ---- big images: bounded memory both ways ------------------------------------------


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


@pytest.fixture(scope="module")
def big_image():
    return fx.random_image(total_mb=64, layers=4)


def test_big_save_slow_client_then_load(daemon, big_image):
    """A client that stops reading holds the daemon to what the socket and
    one chunk hold; the archive then arrives whole and loads back."""
    status, body = raw_load(daemon, big_image.docker_archive(["big:1"]), quiet="1")
    assert status == 200, body
    base = rss_kb(daemon.pid)
    c = httpraw.Conn(daemon.sock, timeout=60)
    c.request("GET", "/v1.47/images/get?names=big:1")
    assert c.read_head()[0] == 200
    data = c.read_chunk()
    time.sleep(1.0)  # not reading: the daemon must wait, not buffer 64 MB
    assert rss_kb(daemon.pid) - base < 24 * 1024
    while True:
        chunk = c.read_chunk()
        if not chunk:
            break
        data += chunk
    c.close()
    m = members(data)
    for layer in big_image.layers:
        assert sha(m[f"blobs/sha256/{layer.diff_id[7:]}"]) == layer.diff_id
    wait_until(lambda: tmp_empty(daemon), what="tmp/ to empty")
    daemon.docker("rmi", "big:1")
    r = httpraw.get(daemon.sock, "/v1.47/images/load?quiet=1", method="POST", body=data)
    assert json.loads(r.body) == {"stream": "Loaded image: big:1\n"}
    assert image_ids(daemon) == [big_image.id]
