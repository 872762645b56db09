"""Self-test of the image-pull fixtures, without berth: every registry
variant starts and challenges correctly, pushed images read back
byte-identical through the registry HTTP API (plain urllib), digests hold,
token requests carry the expected scopes, TLS needs the test CA, and the
built images have the contents their docstrings promise."""
import base64
import gzip
import io
import json
import ssl
import subprocess
import tarfile
import urllib.error
import urllib.request

import jwt
import pytest

from fixtures import images
from fixtures.plugin import (  # noqa: F401  (pytest fixtures)
    basic_registry, busybox_image, busybox_oci_image, docker_manifest_list, layered_image,
    make_registry, malicious_images, oci_index, registry, registry_ca, tls_registry,
    token_registry, zstd_image)
from fixtures.tlsca import new_key

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(url, headers=None, context=None, method="GET"):
    """(status, headers, body) with plain urllib: errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    opener = NO_PROXY if context is None else urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def digest_of(data):
    return images.sha256(data)


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def check_read_back(client, repo, ref, image):
    """The manifest under `ref` and every blob and child manifest it names
    come back with the exact bytes (sha256 == digest, right Content-Type)."""
    r = client.get_manifest(repo, ref)
    assert r.status == 200, r.body
    assert r.body == image.manifest
    assert digest_of(r.body) == image.manifest_digest
    assert r.headers["Docker-Content-Digest"] == image.manifest_digest
    assert r.headers["Content-Type"] == image.media_type
    by_digest = client.get_manifest(repo, image.manifest_digest)
    assert by_digest.status == 200 and by_digest.body == image.manifest
    for digest, _, data in image.manifests():
        child = client.get_manifest(repo, digest)
        assert child.status == 200 and digest_of(child.body) == digest and child.body == data
    for digest, data in image.blobs():
        b = client.get_blob(repo, digest)
        assert b.status == 200, (digest, b.status)
        assert digest_of(b.body) == digest and len(b.body) == len(data)


# ------------------------------------------------------------------ registries


def test_plain_registry_anonymous_push_and_read_back(registry, busybox_image):
    status, headers, _ = http(registry.url + "/v2/")
    assert status == 200
    assert headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert registry.host.startswith("127.0.0.1:") and registry.url == f"http://{registry.host}"
    digest = registry.push_image(busybox_image, "library/busybox", "latest")
    assert digest == busybox_image.manifest_digest
    accept = {"Accept": images.DOCKER_MANIFEST}
    status, headers, body = http(f"{registry.url}/v2/library/busybox/manifests/latest", accept)
    assert status == 200 and digest_of(body) == digest
    assert headers["Content-Type"] == images.DOCKER_MANIFEST
    manifest = json.loads(body)
    for desc in [manifest["config"]] + manifest["layers"]:
        status, _, blob = http(f"{registry.url}/v2/library/busybox/blobs/{desc['digest']}")
        assert status == 200 and digest_of(blob) == desc["digest"] and len(blob) == desc["size"]
    status, _, body = http(f"{registry.url}/v2/library/busybox/tags/list")
    assert json.loads(body)["tags"] == ["latest"]


@pytest.mark.parametrize("name", ["busybox_image", "busybox_oci_image", "layered_image",
                                  "docker_manifest_list", "oci_index", "zstd_image"])
def test_every_image_kind_round_trips(registry, request, name):
    image = request.getfixturevalue(name)
    assert registry.push_image(image, f"kinds/{name.replace('_', '-')}", "v1") == \
        image.manifest_digest
    check_read_back(registry.client(), f"kinds/{name.replace('_', '-')}", "v1", image)


def test_push_by_digest_only_and_delete_manifest(registry, busybox_oci_image):
    digest = registry.push_image(busybox_oci_image, "nodigest", tag=None)
    c = registry.client()
    assert c.get_manifest("nodigest", digest).status == 200
    assert c.tags("nodigest") == []
    registry.delete_manifest("nodigest", digest)
    assert c.get_manifest("nodigest", digest).status == 404


def test_blob_path_and_tamper(registry, busybox_image):
    registry.push_image(busybox_image, "tamper", "latest")
    layer = busybox_image.layers[0]
    with open(registry.blob_path(layer.digest), "rb") as f:
        assert f.read() == layer.data
    registry.tamper_blob(layer.digest)
    b = registry.client().get_blob("tamper", layer.digest)
    assert b.status == 200 and len(b.body) == layer.size
    assert digest_of(b.body) != layer.digest      # what a verifying client must catch


def test_basic_auth_registry(basic_registry, busybox_image):
    reg = basic_registry
    status, headers, _ = http(reg.url + "/v2/")
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="berth-basic"'
    assert http(reg.url + "/v2/", {"Authorization": basic(reg.username, "wrong")})[0] == 401
    assert http(reg.url + "/v2/", {"Authorization": basic(reg.username, reg.password)})[0] == 200
    reg.push_image(busybox_image, "private/bb", "1")
    check_read_back(reg.client(), "private/bb", "1", busybox_image)
    assert reg.client(anonymous=True).get_manifest("private/bb", "1").status == 401
    assert reg.auth_config()["serveraddress"] == reg.host


def test_tls_registry_needs_the_test_ca(tls_registry, busybox_image, tmp_path):
    reg = tls_registry
    assert reg.url.startswith("https://127.0.0.1:")
    ctx = ssl.create_default_context(cafile=reg.ca_path)
    assert http(reg.url + "/v2/", context=ctx)[0] == 200
    localhost = reg.url.replace("127.0.0.1", "localhost")
    assert http(localhost + "/v2/", context=ctx)[0] == 200   # the cert names both
    with pytest.raises(urllib.error.URLError) as e:
        http(reg.url + "/v2/", context=ssl.create_default_context())
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)
    reg.push_image(busybox_image, "secure", "latest")
    check_read_back(reg.client(), "secure", "latest", busybox_image)
    path = reg.ca.write_certs_d(tmp_path / "certs.d", reg.host)
    assert path.endswith(f"certs.d/{reg.host}/ca.crt")


def test_tls_and_basic_combined(make_registry, registry_ca, busybox_image):
    reg = make_registry(auth="basic", tls=True, ca=registry_ca)
    assert reg.ca_path == registry_ca.cert_path
    status, headers, _ = http(reg.url + "/v2/", context=reg.ssl_context())
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
    reg.push_image(busybox_image, "both", "latest")
    check_read_back(reg.client(), "both", "latest", busybox_image)


# ------------------------------------------------------------------ token auth


@pytest.mark.parametrize("alg,key_mode", [("RS256", "kid"), ("ES256", "kid"),
                                          ("RS256", "x5c"), ("ES256", "x5c")])
def test_token_registry_push_pull_and_scopes(make_registry, busybox_image, layered_image,
                                             alg, key_mode):
    reg = make_registry(auth="token", token_alg=alg, token_key_mode=key_mode)
    ts = reg.token_server
    status, headers, _ = http(reg.url + "/v2/")
    assert status == 401
    assert headers["WWW-Authenticate"] == \
        f'Bearer realm="{ts.realm}",service="{ts.service}"'
    status, headers, _ = http(f"{reg.url}/v2/alpha/manifests/latest")
    assert status == 401 and 'scope="repository:alpha:pull"' in headers["WWW-Authenticate"]

    reg.push_image(busybox_image, "alpha", "latest")
    reg.push_image(layered_image, "team/beta", "latest")
    scopes = ts.scopes_requested()
    assert "repository:alpha:pull,push" in scopes
    assert "repository:team/beta:pull,push" in scopes
    assert {r for req in ts.log() for r in req.repositories} == {"alpha", "team/beta"}
    assert all(req.user == reg.username and req.account == reg.username and req.status == 200
               for req in ts.log())

    ts.clear_log()
    check_read_back(reg.client(), "team/beta", "latest", layered_image)
    assert ts.scopes_requested() == ["repository:team/beta:pull"]
    token = ts.log()[0].access
    assert token == [{"type": "repository", "name": "team/beta", "actions": ["pull"]}]


def test_token_contents_and_anonymous_policy(token_registry, busybox_image):
    reg, ts = token_registry, token_registry.token_server
    reg.push_image(busybox_image, "private", "latest")
    reg.push_image(busybox_image, "public", "latest")
    anon = reg.client(anonymous=True)
    ts.clear_log()
    r = anon.get_manifest("private", "latest")
    assert r.status == 401 and 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    assert ts.log()[-1].user is None and ts.log()[-1].access == []
    ts.public_repos.add("public")
    assert anon.get_manifest("public", "latest").status == 200
    assert ts.log()[-1].scopes == ["repository:public:pull"] and ts.log()[-1].account == ""

    # What the server hands out: docker's response fields and distribution's claims.
    q = f"?service={ts.service}&scope=repository:public:pull,push&account={reg.username}"
    status, _, body = http(ts.realm + q, {"Authorization": basic(reg.username, reg.password)})
    doc = json.loads(body)
    assert status == 200 and {"token", "access_token", "expires_in", "issued_at"} <= set(doc)
    header = jwt.get_unverified_header(doc["token"])
    assert header["kid"] == ts.key_id and len(header["kid"].split(":")) == 12
    claims = jwt.decode(doc["token"], options={"verify_signature": False})
    assert claims["iss"] == ts.issuer and claims["aud"] == ts.service
    assert claims["access"] == [{"type": "repository", "name": "public",
                                 "actions": ["pull", "push"]}]
    assert http(ts.realm + q, {"Authorization": basic(reg.username, "nope")})[0] == 401


def test_registry_rejects_token_from_unknown_key(token_registry):
    """Proves the registry really verifies signatures against rootcertbundle."""
    reg, ts = token_registry, token_registry.token_server
    good, _, _ = ts.mint(reg.username, ["repository:x:pull"])
    forged = jwt.encode(jwt.decode(good, options={"verify_signature": False}), new_key("rsa"),
                        algorithm="RS256", headers={"kid": ts.key_id})
    url = f"{reg.url}/v2/x/tags/list"
    assert http(url, {"Authorization": "Bearer " + forged})[0] == 401
    assert http(url, {"Authorization": "Bearer " + good})[0] == 404   # authorised; no repo


def test_token_oauth_password_and_refresh_grants(token_registry):
    reg, ts = token_registry, token_registry.token_server

    def post(form):
        data = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        req = urllib.request.Request(ts.realm, data=data, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with NO_PROXY.open(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.loads(e.read())

    base = {"service": ts.service, "client_id": "docker", "scope": "repository:r:pull"}
    status, doc = post(dict(base, grant_type="password", username=reg.username,
                            password=reg.password, access_type="offline"))
    assert status == 200 and doc["refresh_token"] and doc["access_token"]
    status, doc2 = post(dict(base, grant_type="refresh_token", refresh_token=doc["refresh_token"]))
    assert status == 200 and "refresh_token" not in doc2
    assert http(f"{reg.url}/v2/", {"Authorization": "Bearer " + doc2["access_token"]})[0] == 200
    assert post(dict(base, grant_type="refresh_token", refresh_token="bogus"))[0] == 401
    assert [r.grant_type for r in ts.log()] == ["password", "refresh_token", "refresh_token"]
    assert ts.issue_refresh_token(reg.username) in ts.refresh_tokens


def test_token_server_over_tls(make_registry, busybox_image):
    reg = make_registry(auth="token", tls=True, token_tls=True)
    assert reg.token_server.realm.startswith("https://127.0.0.1:")
    reg.push_image(busybox_image, "tls-token", "latest")
    check_read_back(reg.client(), "tls-token", "latest", busybox_image)


# ------------------------------------------------------------------ image contents


def members(layer):
    """{name: (TarInfo, bytes or None)} of a layer's tar, in archive order."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(layer.tar)) as t:
        for m in t.getmembers():
            out[m.name] = (m, t.extractfile(m).read() if m.isreg() else None)
    return out


def merged_view(layers):
    """A reference overlay applier (OCI image-spec whiteout rules): whiteouts
    and opaque markers hide lower layers only; hardlinks copy the target."""
    fs = {}
    for layer in layers:
        entries = members(layer)
        for name in entries:
            head, _, base = name.rpartition("/")
            if base == ".wh..wh..opq":
                for p in [p for p in fs if p.startswith(head + "/")]:
                    del fs[p]
            elif base.startswith(".wh."):
                gone = f"{head}/{base[4:]}" if head else base[4:]
                for p in [p for p in fs if p == gone or p.startswith(gone + "/")]:
                    del fs[p]
        for name, (m, data) in entries.items():
            if not name.rpartition("/")[2].startswith(".wh."):
                if m.islnk():
                    data = fs[m.linkname][1]
                fs[name] = (m, data)
    return fs


def test_compressed_blobs_match_diff_ids_and_are_deterministic():
    for image in [images.busybox_image("docker"), images.layered_image("oci"),
                  images.zstd_image(mixed=True)]:
        config = json.loads(image.config)
        assert config["rootfs"]["diff_ids"] == image.diff_ids
        assert image.id == digest_of(image.config)
        for layer in image.layers:
            if layer.compression == "gzip":
                assert gzip.decompress(layer.data) == layer.tar
            else:
                assert layer.data[:4] == b"\x28\xb5\x2f\xfd"
                assert subprocess.run(["zstd", "-dc"], input=layer.data, capture_output=True,
                                      check=True).stdout == layer.tar
            assert digest_of(layer.tar) == layer.diff_id
    rebuilt = images.layered_image.__wrapped__("docker")   # bypass the cache
    assert rebuilt.manifest == images.layered_image("docker").manifest


def test_busybox_image_contents(busybox_image, busybox_oci_image):
    cfg = json.loads(busybox_image.config)
    assert (cfg["architecture"], cfg["os"], cfg["config"]["Cmd"]) == ("amd64", "linux", ["sh"])
    assert cfg["config"]["Env"] == [images.PATH_ENV]
    assert len(cfg["history"]) == 2 and cfg["history"][1]["empty_layer"]
    m = members(busybox_image.layers[0])
    with open(images.BUSYBOX, "rb") as f:
        assert m["bin/busybox"][1] == f.read() and m["bin/busybox"][0].mode == 0o755
    assert m["bin/sh"][0].issym() and m["bin/sh"][0].linkname == "busybox"
    assert b"nobody:x:65534:65534:" in m["etc/passwd"][1] and b"root:x:0:" in m["etc/group"][1]
    assert m["tmp"][0].isdir() and m["tmp"][0].mode == 0o1777
    assert all(ti.mtime == images.MTIME for ti, _ in m.values())
    assert json.loads(busybox_oci_image.manifest)["layers"][0]["mediaType"] == \
        images.OCI_LAYER_GZIP
    assert busybox_oci_image.id == busybox_image.id   # same config bytes either way


def test_layered_image_merged_view_matches_its_documentation(layered_image):
    assert len(layered_image.layers) == 5
    fs = merged_view(layered_image.layers)
    for path, exp in layered_image.expected.items():
        m, data = fs[path.lstrip("/")]
        kind = {tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
                tarfile.LNKTYPE: "hardlink"}.get(m.type, "file")
        assert kind == exp.kind, path
        if exp.content is not None:
            assert data == exp.content, path
        if exp.mode is not None:
            assert m.mode == exp.mode, path
        assert (m.uid, m.gid) == (exp.uid, exp.gid), path
        if exp.kind == "symlink":
            assert m.linkname == exp.target
        if exp.kind == "hardlink":
            assert "/" + m.linkname == exp.target
        for k, v in (exp.xattrs or {}).items():
            assert m.pax_headers[f"SCHILY.xattr.{k}"].encode() == v
    for path in layered_image.absent:
        assert not any(p == path.lstrip("/") or p.startswith(path.lstrip("/") + "/")
                       for p in fs), path
    names = [n for layer in layered_image.layers[1:] for n in members(layer)]
    assert "data/.wh.remove-me.txt" in names and "data/opaque/.wh..wh..opq" in names


def test_manifest_lists(docker_manifest_list, oci_index):
    dl = json.loads(docker_manifest_list.manifest)
    assert dl["mediaType"] == images.DOCKER_LIST
    assert [(d["platform"]["architecture"], d["mediaType"]) for d in dl["manifests"]] == \
        [("amd64", images.DOCKER_MANIFEST), ("arm64", images.DOCKER_MANIFEST)]
    oi = json.loads(oci_index.manifest)
    assert [d["platform"] for d in oi["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
        {"architecture": "unknown", "os": "unknown"}]
    att = oi["manifests"][2]["annotations"]
    assert att["vnd.docker.reference.digest"] == oci_index.child("amd64").manifest_digest
    assert att["vnd.docker.reference.type"] == "attestation-manifest"
    arm = oci_index.child("arm64")
    assert members(arm.layers[0])["arch"][1] == b"arm64\n"
    assert json.loads(arm.config)["variant"] == "v8"
    assert oci_index.child("unknown", "unknown").layers[0].media_type("oci") == images.IN_TOTO


def test_malicious_images(malicious_images, registry):
    imgs = malicious_images
    trav = members(imgs["traversal"].layers[0])
    assert any(n.startswith("../../escape-") for n in trav)
    link = members(imgs["symlink"].layers[0])["link"][0]
    assert link.issym() and link.linkname.startswith("/tmp/berth-escape-")
    assert "link/file" in members(imgs["symlink"].layers[1])
    assert set(members(imgs["symlink-same-layer"].layers[0])) == {"link", "link/file"}
    assert members(imgs["hardlink-passwd"].layers[0])["passwd-link"][0].linkname == "/etc/passwd"
    assert members(imgs["hardlink-outside"].layers[0])["outside-link"][0].linkname == "../outside"
    for name, image in imgs.items():     # all pushable: the registry does not look inside
        registry.push_image(image, f"evil/{name}", "latest")
        check_read_back(registry.client(), f"evil/{name}", "latest", image)


def read_tar(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isreg()}


@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_docker_archive(layered_image, layout):
    files = read_tar(layered_image.docker_archive(["berth/layered:v1"], layout=layout))
    [entry] = json.loads(files["manifest.json"])
    assert entry["RepoTags"] == ["berth/layered:v1"]
    assert digest_of(files[entry["Config"]]) == layered_image.config_digest
    assert [digest_of(files[p]) for p in entry["Layers"]] == layered_image.diff_ids
    assert list(json.loads(files["repositories"])) == ["berth/layered"]
    if layout == "oci":
        index = json.loads(files["index.json"])
        desc = index["manifests"][0]
        assert desc["annotations"]["io.containerd.image.name"] == "docker.io/berth/layered:v1"
        manifest = files["blobs/sha256/" + desc["digest"].split(":")[1]]
        assert digest_of(manifest) == desc["digest"]


@pytest.mark.parametrize("name", ["layered_image", "oci_index"])
def test_oci_layout(request, name):
    image = request.getfixturevalue(name)
    files = read_tar(image.oci_layout("v1"))
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    [desc] = json.loads(files["index.json"])["manifests"]
    assert desc["digest"] == image.manifest_digest
    for path, data in files.items():
        if path.startswith("blobs/sha256/"):
            assert digest_of(data) == "sha256:" + path.rsplit("/", 1)[1]
    for digest, _ in image.blobs():
        assert "blobs/sha256/" + digest.split(":")[1] in files


def test_random_image_is_reproducible_and_incompressible():
    build = images.random_image.__wrapped__
    a, b = build(total_mb=4, layers=2, seed=7), build(total_mb=4, layers=2, seed=7)
    assert a.manifest_digest == b.manifest_digest
    assert build(total_mb=4, layers=2, seed=8).manifest_digest != a.manifest_digest
    assert len(a.layers) == 2 and all(layer.size >= 2 << 20 for layer in a.layers)
