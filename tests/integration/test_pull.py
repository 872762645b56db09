"""docker pull against local registries (plain, basic auth, token auth, TLS):
manifest kinds, platforms, layer contents through a real overlay mount,
verification, hostile layers, sharing, cancellation and crash recovery."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import httpraw
from fixtures import images


def refs(d):
    """The references berthd persisted (repositories.json), flattened."""
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


def tmp_entries(d):
    return os.listdir(os.path.join(d.data_root, "tmp"))


# ---- basic pulls -----------------------------------------------------------------------


def test_pull_by_tag_and_again_up_to_date(daemon, registry, busybox_image):
    registry.push_image(busybox_image, "library/busybox", "latest")
    name = f"{registry.host}/library/busybox:latest"
    out = daemon.docker("pull", name).stdout
    assert "latest: Pulling from" in out
    assert f"{busybox_image.layers[0].digest[7:19]}: Pull complete" in out
    assert f"Digest: {busybox_image.manifest_digest}" in out
    assert f"Status: Downloaded newer image for {name}" in out
    assert refs(daemon)[name] == busybox_image.id
    repo_digest = f"{registry.host}/library/busybox@{busybox_image.manifest_digest}"
    assert refs(daemon)[repo_digest] == busybox_image.id
    blob = os.path.join(daemon.data_root, "blobs", "sha256", busybox_image.layers[0].digest[7:])
    assert os.path.getsize(blob) == busybox_image.layers[0].size
    assert os.path.isfile(os.path.join(layer_dir(daemon, busybox_image.chain_ids()[0]),
                                       "bin", "busybox"))
    again = daemon.docker("pull", name).stdout
    assert f"Status: Image is up to date for {name}" in again
    assert "Pull complete" not in again


def test_pull_quiet(daemon, registry, busybox_image):
    registry.push_image(busybox_image, "library/busybox", "q")
    out = daemon.docker("pull", "-q", f"{registry.host}/library/busybox:q").stdout
    assert out.strip() == f"{registry.host}/library/busybox:q"


@pytest.mark.parametrize("fixture_name", ["busybox_image", "busybox_oci_image", "zstd_image"])
def test_pull_by_digest_each_manifest_type(daemon, registry, request, fixture_name):
    img = request.getfixturevalue(fixture_name)
    registry.push_image(img, "kinds/img", "v1")
    out = daemon.docker("pull", f"{registry.host}/kinds/img@{img.manifest_digest}").stdout
    assert f"Digest: {img.manifest_digest}" in out
    assert refs(daemon)[f"{registry.host}/kinds/img@{img.manifest_digest}"] == img.id
    assert f"{registry.host}/kinds/img:v1" not in refs(daemon)  # a digest pull tags nothing
    for chain in img.chain_ids():
        assert os.path.isdir(layer_dir(daemon, chain))


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_manifest_list_platforms(daemon, registry, fmt):
    index = images.manifest_list(fmt)
    registry.push_image(index, "multi/arch", "1")
    name = f"{registry.host}/multi/arch:1"
    daemon.docker("pull", name)
    amd64 = index.child("amd64")
    assert refs(daemon)[name] == amd64.id
    assert refs(daemon)[f"{registry.host}/multi/arch@{index.manifest_digest}"] == amd64.id
    out = daemon.docker("pull", "--platform", "linux/arm64", name).stdout
    arm = index.child("arm64")
    assert refs(daemon)[name] == arm.id
    assert "Downloaded newer image" in out
    with open(os.path.join(layer_dir(daemon, arm.chain_ids()[-1]), "arch")) as f:
        assert f.read() == "arm64\n"
    r = daemon.docker("pull", "--platform", "linux/s390x", name, check=False)
    assert r.returncode != 0
    assert "no matching manifest for linux/s390x" in r.stderr


def test_platform_mismatch_single_manifest(daemon, registry, busybox_image):
    registry.push_image(busybox_image, "single/img", "1")
    r = daemon.docker("pull", "--platform", "linux/arm64", f"{registry.host}/single/img:1",
                      check=False)
    assert r.returncode != 0
    assert "does not match the specified platform" in r.stderr


def overlay_view(d, img, tmp_path):
    """Mounts the image's layers read-only through overlayfs, as containers will."""
    lowers = ":".join(layer_dir(d, c) for c in reversed(img.chain_ids()))
    merged = tmp_path / "merged"
    merged.mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lowers}",
                    str(merged)], check=True)
    return merged


def check_expect(root, path, exp):
    p = os.path.join(root, path.lstrip("/"))
    st = os.lstat(p)
    if exp.kind == "symlink":
        assert os.path.islink(p) and os.readlink(p) == exp.target, path
        return
    if exp.kind == "dir":
        assert os.path.isdir(p), path
    else:
        assert os.path.isfile(p), path
    if exp.content is not None:
        with open(p, "rb") as f:
            assert f.read() == exp.content, path
    if exp.mode is not None:
        assert st.st_mode & 0o7777 == exp.mode, (path, oct(st.st_mode))
    assert (st.st_uid, st.st_gid) == (exp.uid, exp.gid), path
    if exp.kind == "hardlink":
        assert st.st_ino == os.lstat(os.path.join(root, exp.target.lstrip("/"))).st_ino, path
    for k, v in (exp.xattrs or {}).items():
        assert os.getxattr(p, k, follow_symlinks=False) == v, path


def test_layered_image_through_overlay(daemon, registry, layered_image, tmp_path):
    registry.push_image(layered_image, "test/layered", "v1")
    out = daemon.docker("pull", f"{registry.host}/test/layered:v1").stdout
    assert "Waiting" in out  # 5 layers, 3 downloads at a time
    merged = overlay_view(daemon, layered_image, tmp_path)
    try:
        for path, exp in layered_image.expected.items():
            check_expect(str(merged), path, exp)
        for path in layered_image.absent:
            assert not os.path.lexists(os.path.join(merged, path.lstrip("/"))), path
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def test_shared_layers_stored_once(daemon, registry, busybox_image, layered_image):
    registry.push_image(busybox_image, "library/busybox", "latest")
    registry.push_image(layered_image, "test/layered", "v1")
    daemon.docker("pull", f"{registry.host}/library/busybox:latest")
    out = daemon.docker("pull", f"{registry.host}/test/layered:v1").stdout
    assert f"{busybox_image.layers[0].digest[7:19]}: Already exists" in out
    assert len(os.listdir(os.path.join(daemon.data_root, "layers"))) == 5


def test_pull_all_tags(daemon, registry, busybox_image, layered_image):
    registry.push_image(busybox_image, "many/tags", "one")
    registry.push_image(layered_image, "many/tags", "two")
    out = daemon.docker("pull", "-a", f"{registry.host}/many/tags").stdout
    assert "one: Pulling from" in out and "two: Pulling from" in out
    assert out.count("Status:") == 1
    assert refs(daemon)[f"{registry.host}/many/tags:one"] == busybox_image.id
    assert refs(daemon)[f"{registry.host}/many/tags:two"] == layered_image.id


# ---- errors and bad input -----------------------------------------------------------------


def test_bad_references(daemon):
    for bad in ["upper/CASE", "bad:tag:x", "a/-leading", "a//b", "x@sha256:123"]:
        r = daemon.docker("pull", bad, check=False)
        assert r.returncode != 0
        assert "invalid reference format" in r.stderr, (bad, r.stderr)
    for query in ["fromImage=UPPER", "fromImage=busybox&tag=bad%20tag",
                  "fromImage=busybox&tag=sha256:zz", "fromImage=busybox&tag=x&platform=linux/!"]:
        r = httpraw.get(daemon.sock, f"/v1.47/images/create?{query}", method="POST", body=b"")
        assert r.status == 400, query
    r = httpraw.get(daemon.sock, "/v1.47/images/create", method="POST", body=b"")
    assert r.status == 400


def test_unknown_tag_and_repository(daemon, registry, busybox_image):
    registry.push_image(busybox_image, "library/busybox", "latest")
    r = daemon.docker("pull", f"{registry.host}/library/busybox:nope", check=False)
    assert r.returncode != 0
    assert "manifest for" in r.stderr and "not found" in r.stderr
    r = httpraw.get(daemon.sock, f"/v1.47/images/create?fromImage={registry.host}/library/"
                    "busybox&tag=nope", method="POST", body=b"")
    assert r.status == 404  # before any progress: a plain HTTP error


def test_registry_down(daemon):
    r = daemon.docker("pull", "127.0.0.1:1/library/busybox:latest", check=False)
    assert r.returncode != 0
    assert "connection refused" in r.stderr
    assert refs(daemon) == {}


def test_tampered_blob_refused(daemon, registry, busybox_image):
    registry.push_image(busybox_image, "evil/tampered", "1")
    layer = busybox_image.layers[0]
    registry.tamper_blob(layer.digest)
    r = daemon.docker("pull", f"{registry.host}/evil/tampered:1", check=False)
    assert r.returncode != 0
    assert "verification failed" in (r.stdout + r.stderr)
    assert not os.path.exists(os.path.join(daemon.data_root, "blobs", "sha256", layer.digest[7:]))
    assert not os.path.exists(os.path.dirname(layer_dir(daemon, busybox_image.chain_ids()[0])))
    assert refs(daemon) == {}
    wait_until(lambda: tmp_entries(daemon) == [], what="tmp/ to empty")


def test_malicious_layers_refused(daemon, registry, tmp_path):
    """Nothing lands outside the layer directories. Traversal names, hardlinks
    out of the tree and a symlink followed in its own layer are refused; a
    symlink from a lower layer is harmless with overlay (the next layer
    extracts into its own directory), so that image may pull."""
    unique = tmp_path.name
    must_fail = {"traversal", "hardlink-passwd", "hardlink-outside", "symlink-same-layer"}
    for name, img in images.malicious_images(unique).items():
        registry.push_image(img, f"evil/{name}", "1")
        r = daemon.docker("pull", f"{registry.host}/evil/{name}:1", check=False)
        if name in must_fail:
            assert r.returncode != 0, name
            assert f"{registry.host}/evil/{name}:1" not in refs(daemon), name
            assert "invalid layer" in r.stderr or "escape" in r.stderr, (name, r.stderr)
    tag = unique.strip("/").replace("/", "_")
    for outside in [f"/tmp/berth-escape-{tag}", f"/tmp/berth-escape1-{tag}",
                    os.path.join(daemon.data_root, "..", f"escape-{tag}"),
                    os.path.join(daemon.data_root, "layers", f"escape-{tag}")]:
        assert not os.path.lexists(outside), outside
    with open("/etc/passwd", "rb") as f:
        assert b"pwned" not in f.read()
    wait_until(lambda: tmp_entries(daemon) == [], what="tmp/ to empty")


# ---- authentication and TLS -----------------------------------------------------------


def test_basic_auth_login_and_pull(daemon, basic_registry, busybox_image):
    reg = basic_registry
    reg.push_image(busybox_image, "private/app", "1")
    name = f"{reg.host}/private/app:1"
    r = daemon.docker("pull", name, check=False)
    assert r.returncode != 0 and "unauthorized" in (r.stderr.lower())
    bad = daemon.docker("login", "-u", reg.username, "--password-stdin", reg.host,
                        input="wrong\n", check=False)
    assert bad.returncode != 0
    assert "incorrect username or password" in bad.stderr
    ok = daemon.docker("login", "-u", reg.username, "--password-stdin", reg.host,
                       input=reg.password + "\n")
    assert "Login Succeeded" in ok.stdout
    daemon.docker("pull", name)
    assert refs(daemon)[name] == busybox_image.id


def test_token_auth_anonymous_and_credentials(daemon, make_registry, busybox_image):
    reg = make_registry(auth="token", public_repos={"public/app"})
    reg.push_image(busybox_image, "public/app", "1")
    reg.push_image(busybox_image, "private/app", "1")
    reg.token_server.clear_log()
    daemon.docker("pull", f"{reg.host}/public/app:1")
    assert "repository:public/app:pull" in reg.token_server.scopes_requested()
    r = daemon.docker("pull", f"{reg.host}/private/app:1", check=False)
    assert r.returncode != 0
    assert "pull access denied" in r.stderr or "denied" in r.stderr
    daemon.docker("login", "-u", reg.username, "--password-stdin", reg.host,
                  input=reg.password + "\n")
    reg.token_server.clear_log()
    daemon.docker("pull", f"{reg.host}/private/app:1")
    scopes = reg.token_server.scopes_requested()
    assert "repository:private/app:pull" in scopes
    assert all("public/app" not in s for s in scopes)  # one repository per token
    assert any(e.user == reg.username for e in reg.token_server.log())


@pytest.fixture
def test_net_ip():
    """A TEST-NET-3 address on a veth pair this test makes: Docker treats
    loopback registries as insecure (no certificate checks), so TLS trust is
    tested on another local address. (This kernel has no dummy driver.)"""
    n = os.getpid() % 100000
    name, ip = f"bt{n}a", f"203.0.113.{n % 200 + 20}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", f"bt{n}b"],
                   check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", name], check=True)
        for dev in (name, f"bt{n}b"):
            subprocess.run(["ip", "link", "set", dev, "up"], check=True)
        yield ip
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


def test_tls_registry_via_certs_d(make_daemon, make_registry, busybox_image, tmp_path,
                                  test_net_ip):
    reg = make_registry(tls=True, bind_ip=test_net_ip)
    certs = tmp_path / "certs.d"
    d = make_daemon({"certs-dir": str(certs)})
    reg.push_image(busybox_image, "secure/app", "1")
    name = f"{reg.host}/secure/app:1"
    r = d.docker("pull", name, check=False)
    assert r.returncode != 0
    assert "x509" in r.stderr, r.stderr
    assert refs(d) == {}
    reg.ca.write_certs_d(str(certs), reg.host)
    d.docker("pull", name)
    assert refs(d)[name] == busybox_image.id


def test_insecure_registry_config_skips_verification(make_daemon, make_registry, busybox_image,
                                                    test_net_ip):
    reg = make_registry(tls=True, bind_ip=test_net_ip)
    d = make_daemon({"insecure-registries": [reg.host]})
    reg.push_image(busybox_image, "secure/app", "1")
    d.docker("pull", f"{reg.host}/secure/app:1")
    assert refs(d)[f"{reg.host}/secure/app:1"] == busybox_image.id


# ---- sharing, cancellation, crashes --------------------------------------------------------


def test_concurrent_pulls_share_one_download(daemon, make_registry, layered_image):
    reg = make_registry(access_log=True)
    reg.push_image(layered_image, "shared/img", "1")
    name = f"{reg.host}/shared/img:1"
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        daemon.docker("pull", name, check=False))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0] * 5, [r.stderr for r in results]
    assert all(name in r.stdout for r in results)
    for layer in layered_image.layers:
        gets = [l for l in reg.requests_for(f"/blobs/{layer.digest}") if '" 200 ' in l]
        assert len(gets) == 1, layer.digest


def start_raw_pull(d, name, tag):
    c = httpraw.Conn(d.sock, timeout=60)
    c.request("POST", f"/v1.47/images/create?fromImage={name}&tag={tag}", body=b"")
    status, _, _, _ = c.read_head()
    assert status == 200
    return c


def read_until(c, pred):
    while True:
        chunk = c.read_chunk()
        assert chunk, "stream ended early"
        for line in chunk.decode().splitlines():
            msg = json.loads(line)
            assert "error" not in msg, msg
            if pred(msg):
                return msg


@pytest.fixture(scope="module")
def big_image():
    return images.random_image(total_mb=64, layers=4)


def test_client_disconnect_cancels_pull(daemon, registry, big_image):
    registry.push_image(big_image, "big/img", "1")
    c = start_raw_pull(daemon, f"{registry.host}/big/img", "1")
    read_until(c, lambda m: m.get("status") == "Downloading")
    c.sock.close()
    wait_until(lambda: tmp_entries(daemon) == [], what="tmp/ to empty after the cancel")
    assert f"{registry.host}/big/img:1" not in refs(daemon)
    daemon.docker("pull", f"{registry.host}/big/img:1")  # and a later pull works
    assert refs(daemon)[f"{registry.host}/big/img:1"] == big_image.id


def test_kill9_mid_pull_then_pull_again(make_daemon, registry, big_image):
    d = make_daemon()
    registry.push_image(big_image, "big/img", "1")
    c = start_raw_pull(d, f"{registry.host}/big/img", "1")
    read_until(c, lambda m: m.get("status") == "Pull complete")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    c.close()
    assert f"{registry.host}/big/img:1" not in refs(d)
    d.start()
    assert tmp_entries(d) == []  # swept at start
    out = d.docker("pull", f"{registry.host}/big/img:1").stdout
    assert "Already exists" in out
    assert refs(d)[f"{registry.host}/big/img:1"] == big_image.id
    for chain in big_image.chain_ids():
        assert os.path.isdir(layer_dir(d, chain))


def test_enospc_clear_error_nothing_registered(make_daemon, registry, big_image, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(small)], check=True)
    try:
        d = make_daemon({"data-root": str(small / "data")})
        registry.push_image(big_image, "big/img", "1")
        r = d.docker("pull", f"{registry.host}/big/img:1", check=False)
        assert r.returncode != 0
        assert "no space left on device" in (r.stdout + r.stderr).lower()
        assert refs(d) == {}
        wait_until(lambda: tmp_entries(d) == [], what="tmp/ to empty")
        assert d.stop() == 0
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


def test_dockerpy_pull(daemon, registry, busybox_image):
    registry.push_image(busybox_image, "library/busybox", "py")
    client = daemon.client()
    lines = list(client.api.pull(f"{registry.host}/library/busybox", tag="py", stream=True,
                                 decode=True))
    assert any(l.get("status", "").startswith("Digest: ") for l in lines)
    assert refs(daemon)[f"{registry.host}/library/busybox:py"] == busybox_image.id
    client.close()


def test_rmi_removes_unshared_blobs(daemon, registry, busybox_image, layered_image):
    """Deleting an image frees its compressed layer blobs unless another
    image's layers still use them."""
    registry.push_image(busybox_image, "library/busybox", "latest")
    registry.push_image(layered_image, "test/layered", "v1")
    daemon.docker("pull", f"{registry.host}/library/busybox:latest")
    daemon.docker("pull", f"{registry.host}/test/layered:v1")
    blobs = os.path.join(daemon.data_root, "blobs", "sha256")
    daemon.docker("rmi", f"{registry.host}/test/layered:v1")
    shared = busybox_image.layers[0].digest[7:]
    assert os.path.exists(os.path.join(blobs, shared))  # busybox still uses it
    for layer in layered_image.layers[1:]:
        assert not os.path.exists(os.path.join(blobs, layer.digest[7:])), layer.digest
    daemon.docker("rmi", f"{registry.host}/library/busybox:latest")
    assert os.listdir(blobs) == []
