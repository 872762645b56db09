"""Image endpoints: list, inspect, history, tag, remove, prune and system df,
driven through the stock docker CLI, docker-py and raw HTTP against images
pulled from a local registry; the store on disk is checked after deletes."""
import json
import os
import time
import urllib.parse

import docker
import pytest

import httpraw
from fixtures import images as fx

CREATED_2000 = 946684800  # fixtures.images.CREATED
ZERO_TIME = "0001-01-01T00:00:00Z"


# ---- helpers -----------------------------------------------------------------


def pull(daemon, registry, image, repo="library/busybox", tag="latest"):
    """Pushes image to the registry and pulls it; returns the familiar ref."""
    registry.push_image(image, repo, tag)
    ref = f"{registry.host}/{repo}:{tag}"
    daemon.docker("pull", ref)
    return ref


def api(daemon, method, target):
    """Raw request; returns (status, decoded JSON body or None)."""
    headers = {"Content-Length": "0"} if method in ("POST", "DELETE") else None
    r = httpraw.get(daemon.sock, target, method=method, headers=headers)
    text = r.body.decode()
    return r.status, (json.loads(text) if text.strip() else None)


def q(obj):
    return urllib.parse.quote(json.dumps(obj), safe="")


def short(image_id):
    return image_id.split(":", 1)[1][:12]


def layer_dir(daemon, chain_id):
    return os.path.join(daemon.data_root, "layers", chain_id.split(":", 1)[1])


def layer_size(daemon, chain_id):
    with open(os.path.join(layer_dir(daemon, chain_id), "layer.json")) as f:
        return json.load(f)["size"]


def image_with(name, created=fx.CREATED, labels=None, base=True):
    """busybox's layer (shared with busybox_image) plus one layer of its own,
    so each call with a new name is a new image."""
    layers = ([fx.busybox_layer()] if base else []) + [
        fx.make_layer(fx.LayerBuilder().file(f"{name}.txt", name + "\n"),
                      description=f"ADD {name}.txt")]
    cfg = {"Env": [fx.PATH_ENV], "Cmd": ["sh"]}
    if labels is not None:
        cfg["Labels"] = labels
    config = fx.image_config(layers, fx._history(layers), config=cfg)
    config["created"] = created
    for h in config["history"]:
        h["created"] = created
    return fx.Image(layers, config, name=name)


def list_ids(daemon, *args):
    """Image IDs as `docker images -q` prints them (one row per tag), deduplicated."""
    out = daemon.docker("images", "-q", "--no-trunc", *args).stdout.split()
    return list(dict.fromkeys(out))


def image_events(daemon, since):
    """Image events since `since` (whole seconds), without the pulls' own."""
    out = daemon.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                        "--filter", "type=image", "--format", "{{json .}}", timeout=15).stdout
    evs = [json.loads(line) for line in out.splitlines()]
    return [e for e in evs if e["Action"] != "pull"]


def wait_gone(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} still exists"
        time.sleep(0.02)


# ---- GET /images/json ------------------------------------------------------------


def test_list_fields_of_pulled_image(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    status, body = api(daemon, "GET", "/images/json")
    assert status == 200 and len(body) == 1
    img = body[0]
    # moby's image.Summary field order; nothing omitted (API-NOTES §7.13)
    assert list(img) == ["Containers", "Created", "Id", "Labels", "ParentId", "RepoDigests",
                         "RepoTags", "SharedSize", "Size"]
    assert img["Id"] == busybox_image.id
    assert img["ParentId"] == ""
    assert img["RepoTags"] == [ref]
    assert img["RepoDigests"] == [f"{registry.host}/library/busybox@{busybox_image.manifest_digest}"]
    assert img["Created"] == CREATED_2000
    assert img["Size"] == layer_size(daemon, busybox_image.chain_ids()[0]) > 900_000
    assert img["SharedSize"] == -1 and img["Containers"] == -1
    assert img["Labels"] is None  # no Labels in the config: null, as moby


def test_list_versioned_fields(daemon, registry, busybox_image):
    pull(daemon, registry, busybox_image)
    _, (img,) = api(daemon, "GET", "/v1.43/images/json")
    assert img["VirtualSize"] == img["Size"]  # removed in 1.44
    _, (img,) = api(daemon, "GET", "/v1.44/images/json")
    assert "VirtualSize" not in img


def test_docker_images_cli(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    lines = daemon.docker("images").stdout.splitlines()
    assert lines[0].split()[:4] == ["REPOSITORY", "TAG", "IMAGE", "ID"]
    repo, tag, image_id = lines[1].split()[:3]
    assert f"{repo}:{tag}" == ref
    assert image_id == short(busybox_image.id)
    assert daemon.docker("images", "-q").stdout.split() == [image_id]
    out = daemon.docker("images", "--digests", "--format", "{{.Repository}} {{.Digest}}").stdout
    assert out.split() == [f"{registry.host}/library/busybox", busybox_image.manifest_digest]
    assert "DIGEST" in daemon.docker("images", "--digests").stdout.splitlines()[0]


def test_list_newest_first(daemon, registry):
    old = image_with("old", created="2001-01-01T00:00:00Z")
    new = image_with("new", created="2020-06-01T12:00:00.5Z")
    mid = image_with("mid", created="2010-01-01T00:00:00+02:00")
    for img in (old, new, mid):
        pull(daemon, registry, img, f"library/{img.name}")
    assert list_ids(daemon) == [new.id, mid.id, old.id]
    _, body = api(daemon, "GET", "/images/json")
    assert [i["Created"] for i in body] == [1591012800, 1262296800, 978307200]


def test_dangling_and_all(daemon, registry, busybox_image):
    other = image_with("other")
    pull(daemon, registry, busybox_image)
    # the same tag pulled again for another image leaves busybox untagged
    # (still known by its digest)
    ref = pull(daemon, registry, other, "library/busybox")
    assert list_ids(daemon, "--filter", "dangling=true") == [busybox_image.id]
    # moby's dangling=false drops only images without any reference: busybox
    # still has its digest
    assert sorted(list_ids(daemon, "--filter", "dangling=false")) == \
        sorted([busybox_image.id, other.id])
    assert sorted(list_ids(daemon)) == sorted([busybox_image.id, other.id])
    assert sorted(list_ids(daemon, "-a")) == sorted([busybox_image.id, other.id])
    _, body = api(daemon, "GET", "/images/json?filters=" + q({"dangling": ["true"]}))
    assert body[0]["RepoTags"] == []
    assert body[0]["RepoDigests"] == [
        f"{registry.host}/library/busybox@{busybox_image.manifest_digest}"]
    row = [l for l in daemon.docker("images").stdout.splitlines() if "<none>" in l]
    assert len(row) == 1 and row[0].split()[1] == "<none>"
    assert daemon.client().images.get(ref).id == other.id


def test_filter_label(daemon, registry, busybox_image, layered_image):
    pull(daemon, registry, busybox_image)
    pull(daemon, registry, layered_image, "library/layered")
    assert list_ids(daemon, "--filter", "label=org.berth.fixture") == [layered_image.id]
    assert list_ids(daemon, "--filter", "label=org.berth.fixture=layered") == [layered_image.id]
    assert list_ids(daemon, "--filter", "label=org.berth.fixture=other") == []
    _, body = api(daemon, "GET", "/images/json?filters=" + q({"label": ["org.berth.fixture"]}))
    assert body[0]["Labels"] == {"org.berth.fixture": "layered"}


def test_filter_before_since(daemon, registry):
    imgs = [image_with(n, created=c) for n, c in
            [("a", "2001-01-01T00:00:00Z"), ("b", "2002-01-01T00:00:00Z"),
             ("c", "2003-01-01T00:00:00Z")]]
    for img in imgs:
        pull(daemon, registry, img, f"library/{img.name}")
    a, b, c = (f"{registry.host}/library/{n}" for n in "abc")
    assert list_ids(daemon, "--filter", f"before={c}") == [imgs[1].id, imgs[0].id]
    assert list_ids(daemon, "--filter", f"since={a}") == [imgs[2].id, imgs[1].id]
    assert list_ids(daemon, "--filter", f"since={a}", "--filter", f"before={c}") == [imgs[1].id]
    # by ID prefix too, and several values AND together
    assert list_ids(daemon, "--filter", f"before={short(imgs[1].id)}") == [imgs[0].id]
    assert list_ids(daemon, "--filter", f"before={c}", "--filter", f"before={b}") == [imgs[0].id]


def test_filter_reference(daemon, registry, busybox_image, layered_image):
    ref = pull(daemon, registry, busybox_image)
    pull(daemon, registry, layered_image, "test/layered", "v1")
    daemon.docker("tag", ref, "busybox:1.36")
    daemon.docker("tag", ref, "myorg/test/tool:2")
    assert list_ids(daemon, "--filter", "reference=busybox:*") == [busybox_image.id]
    assert list_ids(daemon, "--filter", "reference=busy*") == [busybox_image.id]
    assert sorted(list_ids(daemon, "--filter", "reference=*/test/*")) == \
        sorted([busybox_image.id, layered_image.id])
    assert list_ids(daemon, "--filter", "reference=myorg/*/tool:2") == [busybox_image.id]
    assert list_ids(daemon, "--filter", f"reference={registry.host}/test/*") == [layered_image.id]
    assert list_ids(daemon, "--filter", "reference=nomatch*") == []
    # the list keeps only the matching references
    _, body = api(daemon, "GET", "/images/json?filters=" + q({"reference": {"busybox": True}}))
    assert len(body) == 1 and body[0]["RepoTags"] == ["busybox:1.36"]
    assert body[0]["RepoDigests"] == []
    # a digest reference matches by its name
    _, body = api(daemon, "GET", "/images/json?filters=" +
                  q({"reference": [f"{registry.host}/library/busybox"]}))
    assert body[0]["RepoDigests"] == [
        f"{registry.host}/library/busybox@{busybox_image.manifest_digest}"]
    # pre-1.41 `filter` is a reference pattern
    _, body = api(daemon, "GET", "/v1.40/images/json?filter=busybox:*")
    assert [i["Id"] for i in body] == [busybox_image.id]


def test_shared_size(daemon, registry, busybox_image, layered_image):
    pull(daemon, registry, busybox_image)
    pull(daemon, registry, layered_image, "library/layered")
    base = layer_size(daemon, busybox_image.chain_ids()[0])
    _, body = api(daemon, "GET", "/images/json?shared-size=1")
    assert {i["Id"]: i["SharedSize"] for i in body} == {busybox_image.id: base,
                                                         layered_image.id: base}
    total = sum(layer_size(daemon, c) for c in layered_image.chain_ids())
    assert {i["Id"]: i["Size"] for i in body}[layered_image.id] == total
    _, body = api(daemon, "GET", "/v1.41/images/json?shared-size=1")  # added in 1.42
    assert {i["SharedSize"] for i in body} == {-1}


def test_dockerpy_list_and_get(daemon, registry, busybox_image, layered_image):
    ref = pull(daemon, registry, busybox_image)
    pull(daemon, registry, layered_image, "library/layered")
    client = daemon.client()
    listed = {i.id: i for i in client.images.list()}
    assert set(listed) == {busybox_image.id, layered_image.id}
    assert listed[busybox_image.id].tags == [ref]
    assert [i.id for i in client.images.list(name=f"{registry.host}/library/layered")] == \
        [layered_image.id]
    assert [i.id for i in client.images.list(filters={"label": "org.berth.fixture"})] == \
        [layered_image.id]
    img = client.images.get(ref)
    assert img.id == busybox_image.id and img.tags == [ref]
    assert img.attrs["Config"]["Cmd"] == ["sh"]
    assert img.labels == {}
    assert client.images.get(layered_image.id).labels == {"org.berth.fixture": "layered"}
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("nope:1")
    client.close()


@pytest.mark.parametrize("query,status,msg", [
    ("filters=" + q({"bogus": ["x"]}), 400, "invalid filter 'bogus'"),
    ("filters=" + q({"dangling": ["maybe"]}), 400, "invalid filter 'dangling=[maybe]'"),
    ("filters=" + q({"dangling": ["true", "false"]}), 400, "invalid filter 'dangling="),
    ("filters=%7Bnot-json", 400, "invalid filters"),
    ("filters=" + q({"label": "a"}), 400, "invalid filters"),
    ("filters=" + q({"reference": ["busybox[x"]}), 400, "syntax error in pattern"),
    ("filters=" + q({"reference": ["a\\"]}), 400, "syntax error in pattern"),
    ("filters=" + q({"before": ["nope"]}), 404, "No such image: nope:latest"),
    ("filters=" + q({"since": ["Bad/Name"]}), 400, "invalid reference format"),
])
def test_list_bad_queries(daemon, query, status, msg):
    got, body = api(daemon, "GET", f"/images/json?{query}")
    assert got == status and msg in body["message"], body


def test_list_bad_filter_cli(daemon):
    r = daemon.docker("images", "--filter", "dangling=maybe", check=False)
    assert r.returncode != 0 and "invalid filter 'dangling=[maybe]'" in r.stderr


# ---- GET /images/{name}/json -------------------------------------------------------


def test_inspect_fields(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    out = json.loads(daemon.docker("image", "inspect", ref).stdout)
    assert len(out) == 1
    img = out[0]
    assert img["Id"] == busybox_image.id
    assert img["RepoTags"] == [ref]
    assert img["RepoDigests"] == [f"{registry.host}/library/busybox@{busybox_image.manifest_digest}"]
    assert img["Parent"] == "" and img["Comment"] == ""
    assert img["Created"] == "2000-01-01T00:00:00Z"
    assert img["DockerVersion"] == "" and img["Author"] == ""
    assert img["Architecture"] == "amd64" and img["Os"] == "linux"
    assert "Variant" not in img and "VirtualSize" not in img and "ContainerConfig" not in img
    cfg = img["Config"]
    # the image's own keys plus Docker's defaults for the rest (API <= 1.49)
    assert cfg["Cmd"] == ["sh"] and cfg["Env"] == [fx.PATH_ENV]
    assert cfg["Hostname"] == "" and cfg["User"] == "" and cfg["WorkingDir"] == ""
    assert cfg["AttachStdin"] is False and cfg["Tty"] is False and cfg["OpenStdin"] is False
    assert cfg["Entrypoint"] is None and cfg["Labels"] is None and cfg["Volumes"] is None
    assert cfg["OnBuild"] is None and cfg["Image"] == ""
    assert img["Size"] == layer_size(daemon, busybox_image.chain_ids()[0])
    chain = busybox_image.chain_ids()[0]
    assert img["GraphDriver"] == {"Name": "overlay2", "Data": {
        "MergedDir": layer_dir(daemon, chain) + "/merged",
        "UpperDir": layer_dir(daemon, chain) + "/diff",
        "WorkDir": layer_dir(daemon, chain) + "/work"}}
    assert os.path.isdir(img["GraphDriver"]["Data"]["UpperDir"])
    assert img["RootFS"] == {"Type": "layers", "Layers": busybox_image.diff_ids}
    assert img["Metadata"] == {"LastTagTime": ZERO_TIME}


def test_inspect_names_and_format(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    name = f"{registry.host}/library/busybox"
    hexid = busybox_image.id.split(":")[1]
    for n in (ref, name, busybox_image.id, hexid, hexid[:12], hexid[:4], "sha256:" + hexid[:10],
              f"{name}@{busybox_image.manifest_digest}"):
        got = daemon.docker("image", "inspect", "--format", "{{.Id}}", n).stdout.strip()
        assert got == busybox_image.id, n
    # docker inspect without --type finds the image after the container lookup fails
    got = daemon.docker("inspect", "--format", "{{.Os}}/{{.Architecture}}", ref).stdout
    assert got.strip() == "linux/amd64"
    out = daemon.docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", ref).stdout
    assert json.loads(out) == busybox_image.diff_ids


def test_inspect_layered_lowerdirs_and_labels(daemon, registry, layered_image):
    ref = pull(daemon, registry, layered_image, "library/layered")
    img = daemon.client().api.inspect_image(ref)
    chains = layered_image.chain_ids()
    data = img["GraphDriver"]["Data"]
    assert data["UpperDir"] == layer_dir(daemon, chains[-1]) + "/diff"
    assert data["LowerDir"] == ":".join(layer_dir(daemon, c) + "/diff" for c in reversed(chains[:-1]))
    assert img["Config"]["Labels"] == {"org.berth.fixture": "layered"}
    assert img["Config"]["WorkingDir"] == "/data"
    assert img["Size"] == sum(layer_size(daemon, c) for c in chains)


def test_inspect_created_keeps_zone_and_old_api_fields(daemon, registry):
    img = image_with("zoned", created="2010-01-01T10:00:00.120+02:00")
    ref = pull(daemon, registry, img, "library/zoned")
    got = daemon.client().api.inspect_image(ref)
    assert got["Created"] == "2010-01-01T10:00:00.12+02:00"  # Go's RFC3339Nano, same zone
    status, old = api(daemon, "GET", f"/v1.43/images/{ref}/json")
    assert status == 200
    assert old["VirtualSize"] == old["Size"] and old["Container"] == ""
    assert old["ContainerConfig"]["Cmd"] is None and old["ContainerConfig"]["Tty"] is False
    _, mid = api(daemon, "GET", f"/v1.44/images/{ref}/json")
    assert "VirtualSize" not in mid and "ContainerConfig" in mid


def test_inspect_vfs_driver(make_daemon, registry, busybox_image):
    d = make_daemon({"storage-driver": "vfs"})
    ref = pull(d, registry, busybox_image)
    img = json.loads(d.docker("image", "inspect", ref).stdout)[0]
    assert img["GraphDriver"] == {"Name": "vfs", "Data": None}


def test_inspect_unknown_and_bad_names(daemon, registry, busybox_image):
    pull(daemon, registry, busybox_image)
    status, body = api(daemon, "GET", "/images/nope/json")
    assert (status, body["message"]) == (404, "No such image: nope:latest")
    status, body = api(daemon, "GET", "/images/localhost:5000/foo/bar:1/json")
    assert (status, body["message"]) == (404, "No such image: localhost:5000/foo/bar:1")
    status, body = api(daemon, "GET", "/images/Bad/json")
    assert status == 400 and "must be lowercase" in body["message"]
    status, body = api(daemon, "GET", "/images/busybox@sha256:1234/json")
    assert status == 400 and "invalid" in body["message"]
    r = daemon.docker("image", "inspect", "nope", check=False)
    assert r.returncode == 1 and "No such image: nope" in r.stderr
    r = daemon.docker("inspect", "nope", check=False)
    assert r.returncode == 1 and "No such object: nope" in r.stderr


# ---- GET /images/{name}/history ----------------------------------------------------------


def test_history(daemon, registry, layered_image):
    ref = pull(daemon, registry, layered_image, "library/layered")
    status, hist = api(daemon, "GET", f"/images/{ref}/history")
    assert status == 200
    # 5 layers + the trailing CMD entry, newest first
    assert len(hist) == 6
    assert list(hist[0]) == ["Comment", "Created", "CreatedBy", "Id", "Size", "Tags"]
    assert hist[0]["Id"] == layered_image.id and hist[0]["Tags"] == [ref]
    assert hist[0]["CreatedBy"] == '/bin/sh -c #(nop) CMD ["sh"]' and hist[0]["Size"] == 0
    assert all(h["Id"] == "<missing>" and h["Tags"] is None for h in hist[1:])
    sizes = [layer_size(daemon, c) for c in layered_image.chain_ids()]
    assert [h["Size"] for h in hist[1:]] == list(reversed(sizes))
    assert [h["CreatedBy"] for h in hist[1:]] == [l.description for l in reversed(layered_image.layers)]
    assert {h["Created"] for h in hist} == {CREATED_2000}
    out = daemon.docker("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}", ref).stdout
    rows = out.splitlines()
    assert rows[0] == f'{layered_image.id}|/bin/sh -c #(nop) CMD ["sh"]'
    assert rows[1].startswith("<missing>|L4 hardlink")
    assert "IMAGE" in daemon.docker("history", ref).stdout.splitlines()[0]
    assert daemon.client().images.get(ref).history()[0]["Id"] == layered_image.id


def test_history_unknown(daemon):
    status, body = api(daemon, "GET", "/images/nope:2/history")
    assert (status, body["message"]) == (404, "No such image: nope:2")
    r = daemon.docker("history", "nope", check=False)
    assert r.returncode == 1 and "No such image: nope" in r.stderr


# ---- POST /images/{name}/tag -------------------------------------------------------------


def test_tag(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    t0 = int(time.time())
    daemon.docker("tag", ref, "myorg/tool:1.0")
    daemon.docker("tag", short(busybox_image.id), "localhost:5000/foo/bar")
    tags = daemon.client().images.get(ref).tags
    assert sorted(tags) == sorted([ref, "myorg/tool:1.0", "localhost:5000/foo/bar:latest"])
    last = daemon.client().api.inspect_image(ref)["Metadata"]["LastTagTime"]
    assert last != ZERO_TIME and last.startswith(time.strftime("%Y-", time.gmtime()))
    evs = image_events(daemon, t0)
    assert [(e["Action"], e["Actor"]["Attributes"]["name"]) for e in evs] == [
        ("tag", "myorg/tool:1.0"), ("tag", "localhost:5000/foo/bar:latest")]
    assert {e["Actor"]["ID"] for e in evs} == {busybox_image.id}
    # retagging moves the tag to the other image
    other = image_with("other")
    pull(daemon, registry, other, "library/other")
    daemon.docker("tag", f"{registry.host}/library/other", "myorg/tool:1.0")
    assert daemon.client().images.get("myorg/tool:1.0").id == other.id
    assert "myorg/tool:1.0" not in daemon.client().images.get(ref).tags


def test_tag_dockerpy(daemon, registry, layered_image):
    ref = pull(daemon, registry, layered_image, "library/layered")
    client = daemon.client()
    assert client.images.get(ref).tag("example.com/team/app", "v2") is True
    assert client.api.tag(ref, "plain") is True  # default tag "latest"
    assert client.api.tag(ref, "withtag:inrepo") is True  # a tag in repo counts
    assert client.api.tag(ref, "withtag:inrepo", "over") is True  # `tag` wins over it
    assert sorted(client.images.get(ref).tags) == sorted(
        [ref, "example.com/team/app:v2", "plain:latest", "withtag:inrepo", "withtag:over"])
    evs = image_events(daemon, int(time.time()) - 5)
    assert evs[-1]["Actor"]["Attributes"] == {"name": "withtag:over",
                                              "org.berth.fixture": "layered"}


@pytest.mark.parametrize("query,status,msg", [
    ("repo=Upper&tag=1", 400, "repository name (library/Upper) must be lowercase"),
    ("repo=busybox&tag=bad%20tag", 400, "invalid tag format"),
    ("repo=busybox&tag=" + "a" * 129, 400, "invalid tag format"),
    ("repo=busybox@sha256:" + "a" * 64, 400, "cannot import digest reference"),
    ("repo=", 400, "repository name must have at least one component"),
    ("tag=1", 400, "repository name must have at least one component"),
    ("repo=sha256&tag=x", 400, "refusing to create an ambiguous tag"),
    ("repo=a//b", 400, "invalid reference format"),
])
def test_tag_bad_input(daemon, registry, busybox_image, query, status, msg):
    ref = pull(daemon, registry, busybox_image)
    got, body = api(daemon, "POST", f"/images/{ref}/tag?{query}")
    assert got == status and msg in body["message"], body
    assert daemon.client().images.get(ref).tags == [ref]  # nothing changed


def test_tag_unknown_source(daemon):
    status, body = api(daemon, "POST", "/images/nope/tag?repo=x&tag=1")
    assert (status, body["message"]) == (404, "No such image: nope:latest")
    r = daemon.docker("tag", "nope", "x:1", check=False)
    assert r.returncode == 1 and "No such image: nope:latest" in r.stderr


# ---- DELETE /images/{name} -----------------------------------------------------------------


def test_rmi_untags_while_other_tags_remain(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    daemon.docker("tag", ref, "busybox:extra")
    t0 = int(time.time())
    out = daemon.docker("rmi", "busybox:extra").stdout
    assert out.splitlines() == ["Untagged: busybox:extra"]
    assert list_ids(daemon) == [busybox_image.id]
    assert os.path.isdir(layer_dir(daemon, busybox_image.chain_ids()[0]))
    evs = [e for e in image_events(daemon, t0) if e["Action"] != "tag"]
    assert [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]["name"]) for e in evs] == \
        [("untag", busybox_image.id, busybox_image.id)]


def test_rmi_last_tag_deletes_image_and_layers(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    chain = busybox_image.chain_ids()[0]
    record = os.path.join(daemon.data_root, "images", busybox_image.id.split(":")[1] + ".json")
    assert os.path.exists(record) and os.path.isdir(layer_dir(daemon, chain))
    t0 = int(time.time())
    status, body = api(daemon, "DELETE", f"/images/{ref}")
    assert status == 200
    assert body == [{"Untagged": ref},
                    {"Untagged": f"{registry.host}/library/busybox@{busybox_image.manifest_digest}"},
                    {"Deleted": busybox_image.id},
                    {"Deleted": chain}]
    assert not os.path.exists(layer_dir(daemon, chain))  # removed before the reply
    wait_gone(record)
    assert list_ids(daemon, "-a") == []
    evs = image_events(daemon, t0)
    assert [e["Action"] for e in evs] == ["untag", "delete"]
    assert evs[1]["Actor"] == {"ID": busybox_image.id, "Attributes": {"name": busybox_image.id}}
    # and it stays gone after a restart
    assert daemon.stop() == 0
    daemon.start()
    assert list_ids(daemon, "-a") == []
    assert os.listdir(os.path.join(daemon.data_root, "layers")) == []


def test_rmi_keeps_shared_layers(daemon, registry, busybox_image, layered_image):
    pull(daemon, registry, busybox_image)
    layered = pull(daemon, registry, layered_image, "library/layered")
    chains = layered_image.chain_ids()
    out = daemon.docker("rmi", layered).stdout.splitlines()
    assert out[:2] == [f"Untagged: {layered}",
                       f"Untagged: {registry.host}/library/layered@{layered_image.manifest_digest}"]
    # the image, then its own layers top first; the busybox base stays
    assert out[2:] == [f"Deleted: {layered_image.id}"] + [f"Deleted: {c}" for c in
                                                           reversed(chains[1:])]
    assert os.path.isdir(layer_dir(daemon, chains[0]))
    for c in chains[1:]:
        assert not os.path.exists(layer_dir(daemon, c))
    daemon.docker("rmi", busybox_image.id)
    assert not os.path.exists(layer_dir(daemon, chains[0]))


def test_rmi_by_id_multiple_repositories(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    daemon.docker("tag", ref, "other/repo:1")
    r = daemon.docker("rmi", short(busybox_image.id), check=False)
    assert r.returncode == 1
    assert (f"conflict: unable to delete {short(busybox_image.id)} (must be forced) - image is "
            "referenced in multiple repositories") in r.stderr
    status, _ = api(daemon, "DELETE", f"/images/{busybox_image.id}")
    assert status == 409
    assert list_ids(daemon) == [busybox_image.id]  # nothing changed
    out = daemon.docker("rmi", "-f", short(busybox_image.id)).stdout.splitlines()
    assert sorted(out[:3]) == sorted([f"Untagged: {ref}", "Untagged: other/repo:1",
                                      f"Untagged: {registry.host}/library/busybox@"
                                      f"{busybox_image.manifest_digest}"])
    assert out[3:] == [f"Deleted: {busybox_image.id}",
                       f"Deleted: {busybox_image.chain_ids()[0]}"]
    assert list_ids(daemon, "-a") == []


def test_rmi_by_id_single_repository(daemon, registry, busybox_image):
    pull(daemon, registry, busybox_image)
    daemon.docker("tag", f"{registry.host}/library/busybox", f"{registry.host}/library/busybox:2")
    # two tags of one repository are still "referenced in multiple repositories" (moby)
    assert daemon.docker("rmi", busybox_image.id, check=False).returncode == 1
    daemon.docker("rmi", f"{registry.host}/library/busybox:2")
    # one tag and its digest: the ID removes both
    out = daemon.docker("rmi", busybox_image.id.split(":")[1][:6]).stdout.splitlines()
    assert out[-2:] == [f"Deleted: {busybox_image.id}", f"Deleted: {busybox_image.chain_ids()[0]}"]
    assert len(out) == 4 and all(l.startswith("Untagged: ") for l in out[:2])


def test_rmi_by_digest_keeps_tag(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    digest_ref = f"{registry.host}/library/busybox@{busybox_image.manifest_digest}"
    out = daemon.docker("rmi", digest_ref).stdout.splitlines()
    assert out == [f"Untagged: {digest_ref}"]
    img = daemon.client().images.get(ref)
    assert img.tags == [ref] and img.attrs["RepoDigests"] == []


def test_rmi_dockerpy_and_noprune(daemon, registry, busybox_image, layered_image):
    pull(daemon, registry, busybox_image)
    layered = pull(daemon, registry, layered_image, "library/layered")
    client = daemon.client()
    client.images.remove(layered, noprune=True)
    client.images.remove(busybox_image.id, force=True)
    assert client.images.list(all=True) == []
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.remove("nope")
    client.close()
    assert os.listdir(os.path.join(daemon.data_root, "layers")) == []


@pytest.mark.parametrize("name,status,msg", [
    ("nope", 404, "No such image: nope:latest"),
    ("nope:1", 404, "No such image: nope:1"),
    ("localhost:5000/a/b@sha256:" + "0" * 64, 404,
     "No such image: localhost:5000/a/b@sha256:" + "0" * 64),
    ("Upper", 400, "must be lowercase"),
    ("busybox@sha256:12", 400, "invalid"),
    ("%20", 400, "image name cannot be blank"),
])
def test_rmi_bad_names(daemon, name, status, msg):
    got, body = api(daemon, "DELETE", f"/images/{name}")
    assert got == status and msg in body["message"], body


def test_rmi_cli_errors(daemon, registry, busybox_image):
    ref = pull(daemon, registry, busybox_image)
    r = daemon.docker("rmi", "nope", ref, check=False)
    assert r.returncode == 1
    assert "No such image: nope:latest" in r.stderr
    assert f"Untagged: {ref}" in r.stdout  # the other name still went
    assert list_ids(daemon, "-a") == []


# ---- POST /images/prune ------------------------------------------------------------------


def make_dangling(daemon, registry, busybox_image):
    """busybox untagged (known only by digest) + `other` tagged busybox:latest."""
    other = image_with("other")
    pull(daemon, registry, busybox_image)
    pull(daemon, registry, other, "library/busybox")
    return other


def test_prune_dangling(daemon, registry, busybox_image):
    other = make_dangling(daemon, registry, busybox_image)
    t0 = int(time.time())
    out = daemon.docker("image", "prune", "-f").stdout
    assert f"deleted: {busybox_image.id}" in out
    assert "Total reclaimed space: 0B" in out  # the busybox layer is shared with `other`
    assert list_ids(daemon, "-a") == [other.id]
    assert os.path.isdir(layer_dir(daemon, busybox_image.chain_ids()[0]))
    evs = image_events(daemon, t0)
    assert [e["Action"] for e in evs] == ["untag", "delete", "prune"]
    assert evs[-1]["Actor"]["Attributes"] == {"reclaimed": "0"}
    # nothing dangling left: null list, as moby
    status, body = api(daemon, "POST", "/images/prune")
    assert (status, body) == (200, {"ImagesDeleted": None, "SpaceReclaimed": 0})


def test_prune_all(daemon, registry, busybox_image, layered_image):
    pull(daemon, registry, busybox_image)
    pull(daemon, registry, layered_image, "library/layered")
    sizes = {c: layer_size(daemon, c) for c in layered_image.chain_ids()}
    out = daemon.docker("image", "prune", "-a", "-f").stdout
    assert f"deleted: {busybox_image.id}" in out and f"deleted: {layered_image.id}" in out
    assert list_ids(daemon, "-a") == []
    assert os.listdir(os.path.join(daemon.data_root, "layers")) == []
    status, body = api(daemon, "POST", "/images/prune")
    assert body["SpaceReclaimed"] == 0
    assert sum(sizes.values()) > 0


def test_prune_dockerpy_space_reclaimed(daemon, registry, busybox_image, layered_image):
    pull(daemon, registry, layered_image, "library/layered")
    sizes = sum(layer_size(daemon, c) for c in layered_image.chain_ids())
    client = daemon.client()
    assert client.api.prune_images() == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    rep = client.api.prune_images(filters={"dangling": False})
    assert rep["SpaceReclaimed"] == sizes
    deleted = [d["Deleted"] for d in rep["ImagesDeleted"] if "Deleted" in d]
    assert deleted == [layered_image.id] + list(reversed(layered_image.chain_ids()))
    client.close()


def test_prune_until_and_labels(daemon, registry):
    old = image_with("old", created="2001-01-01T00:00:00Z", labels={"keep": "no"})
    new = image_with("new", created="2020-01-01T00:00:00Z", labels={"keep": "no"})
    kept = image_with("kept", created="2001-01-01T00:00:00Z", labels={"keep": "yes"})
    for img in (old, new, kept):
        pull(daemon, registry, img, f"library/{img.name}")
    out = daemon.docker("image", "prune", "-a", "-f", "--filter", "until=2010-01-01T00:00:00Z",
                        "--filter", "label=keep=no").stdout
    assert f"deleted: {old.id}" in out and new.id not in out and kept.id not in out
    client = daemon.client()
    client.api.prune_images(filters={"dangling": False, "label!": "keep=yes"})
    assert list_ids(daemon) == [kept.id]
    rep = client.api.prune_images(filters={"dangling": False, "until": "1h"})
    assert [d["Deleted"] for d in rep["ImagesDeleted"] if "Deleted" in d][0] == kept.id
    client.close()


@pytest.mark.parametrize("filters,msg", [
    ({"bogus": ["1"]}, "invalid filter 'bogus'"),
    ({"before": ["x"]}, "invalid filter 'before'"),
    ({"dangling": ["yes"]}, "invalid filter 'dangling=[yes]'"),
    ({"until": ["soon"]}, "invalid value for 'until' filter"),
    ({"until": ["1h", "2h"]}, "more than one until filter specified"),
    ({"until": ["2020-13-01"]}, "invalid value for 'until' filter"),
])
def test_prune_bad_filters(daemon, registry, busybox_image, filters, msg):
    pull(daemon, registry, busybox_image)
    status, body = api(daemon, "POST", "/images/prune?filters=" + q(filters))
    assert status == 400 and msg in body["message"], body
    assert list_ids(daemon) == [busybox_image.id]


def test_prune_bad_filter_cli(daemon):
    r = daemon.docker("image", "prune", "-f", "--filter", "until=whenever", check=False)
    assert r.returncode != 0 and "invalid value for 'until' filter" in r.stderr


# ---- /system/df and /info --------------------------------------------------------------------


def test_system_df_images(daemon, registry, busybox_image, layered_image):
    pull(daemon, registry, busybox_image)
    layered = pull(daemon, registry, layered_image, "library/layered")
    chains = layered_image.chain_ids()
    base = layer_size(daemon, chains[0])
    total = sum(layer_size(daemon, c) for c in chains)
    status, df = api(daemon, "GET", "/system/df")
    assert status == 200
    assert df["LayersSize"] == total  # the shared base once
    by_id = {i["Id"]: i for i in df["Images"]}
    assert set(by_id) == {busybox_image.id, layered_image.id}
    assert by_id[busybox_image.id]["SharedSize"] == base
    assert by_id[layered_image.id]["SharedSize"] == base
    assert by_id[layered_image.id]["Size"] == total
    assert {i["Containers"] for i in df["Images"]} == {0}
    out = daemon.docker("system", "df").stdout.splitlines()
    images_row = [l for l in out if l.startswith("Images")][0].split()
    assert images_row[1:3] == ["2", "0"]  # TOTAL, ACTIVE
    verbose = daemon.docker("system", "df", "-v").stdout.splitlines()
    row = [l.split() for l in verbose if l.startswith(layered.rsplit(":", 1)[0] + " ")]
    assert row and row[0][1:3] == ["latest", short(layered_image.id)]
    info = json.loads(daemon.docker("info", "--format", "{{json .}}").stdout)
    assert info["Images"] == 2


def test_system_df_empty(daemon):
    _, df = api(daemon, "GET", "/system/df")
    assert df["LayersSize"] == 0 and df["Images"] == []


# ---- responses against api-spec/openapi.yaml --------------------------------------------


def load_spec():
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "spec", "check_responses.py")
    spec = importlib.util.spec_from_file_location("check_responses", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import yaml
    with open(os.path.join(here, "..", "..", "api-spec", "openapi.yaml")) as f:
        return mod.Spec(yaml.safe_load(f))


def test_responses_match_spec(daemon, registry, busybox_image, layered_image):
    spec = load_spec()
    ref = pull(daemon, registry, busybox_image)
    layered = pull(daemon, registry, layered_image, "library/layered")
    schemas = spec.doc["components"]["schemas"]

    def check(value, schema, where):
        errors = []
        spec.validate(value, schema, where, errors)
        assert errors == []

    for v in ("1.47", "1.43", "1.24"):
        _, body = api(daemon, "GET", f"/v{v}/images/json?shared-size=1")
        check(body, {"type": "array", "items": schemas["ImageSummary"]}, f"list {v}")
        _, body = api(daemon, "GET", f"/v{v}/images/{layered}/json")
        check(body, schemas["ImageInspect"], f"inspect {v}")
    _, body = api(daemon, "GET", f"/images/{ref}/history")
    check(body, {"type": "array", "items": schemas["ImageHistoryItem"]}, "history")
    _, body = api(daemon, "GET", "/system/df")
    check(body, schemas["SystemDataUsage"], "df")
    _, body = api(daemon, "DELETE", f"/images/{layered}")
    check(body, {"type": "array", "items": schemas["ImageDeleteResponseItem"]}, "delete")
    for _ in range(2):  # with deletions, then with none (null list)
        _, body = api(daemon, "POST", "/images/prune?filters=" + q({"dangling": ["false"]}))
        check(body, schemas["ImagePruneResponse"], "prune")
    for target, status in [("/images/nope/json", 404), ("/images/Bad/history", 400)]:
        got, body = api(daemon, "GET", target)
        assert got == status
        check(body, schemas["ErrorResponse"], target)
