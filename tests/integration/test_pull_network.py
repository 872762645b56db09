"""Registry behaviours beyond a plain registry: blobs redirected to another
host, docker.io mirrors, and retries of dropped connections."""
import json
import os

import pytest

from fixtures.proxy import RegistryFront


def refs(d):
    with open(os.path.join(d.data_root, "repositories.json")) as f:
        repos = json.load(f)["Repositories"]
    return {ref: iid for names in repos.values() for ref, iid in names.items()}


@pytest.fixture
def front_factory():
    fronts = []

    def make(registry, **kw):
        f = RegistryFront(f"http://{registry.host}", **kw)
        fronts.append(f)
        return f

    yield make
    for f in fronts:
        f.stop()


def test_blobs_redirected_to_another_host(daemon, registry, front_factory, layered_image):
    registry.push_image(layered_image, "cdn/img", "1")
    front = front_factory(registry, redirect_blobs=True)
    daemon.docker("pull", f"{front.host}/cdn/img:1")
    assert refs(daemon)[f"{front.host}/cdn/img:1"] == layered_image.id
    # the config and every layer came through a redirect
    assert front.redirects == len(layered_image.layers) + 1


def test_docker_io_pulled_from_mirror(make_daemon, registry, busybox_image):
    """With a mirror configured, docker.io images come from it (no Internet here)."""
    registry.push_image(busybox_image, "library/busybox", "latest")
    d = make_daemon({"registry-mirrors": [f"http://{registry.host}"]})
    out = d.docker("pull", "busybox").stdout
    assert "Downloaded newer image for busybox:latest" in out
    assert refs(d)["docker.io/library/busybox:latest"] == busybox_image.id
    info = json.loads(d.docker("info", "--format", "{{json .RegistryConfig.Mirrors}}").stdout)
    assert info == [f"http://{registry.host}/"] or info == [f"http://{registry.host}"]


def test_dropped_connections_are_retried(daemon, registry, front_factory, busybox_image):
    registry.push_image(busybox_image, "flaky/img", "1")
    front = front_factory(registry, drop_first=2)
    daemon.docker("pull", f"{front.host}/flaky/img:1")
    assert front.dropped == 2
    assert refs(daemon)[f"{front.host}/flaky/img:1"] == busybox_image.id


def test_too_many_failures_give_a_clear_error(daemon, registry, front_factory, busybox_image):
    registry.push_image(busybox_image, "flaky/img", "1")
    front = front_factory(registry, drop_first=1000)
    r = daemon.docker("pull", f"{front.host}/flaky/img:1", check=False)
    assert r.returncode != 0
    assert "EOF" in r.stderr or "reset" in r.stderr or "unexpected" in r.stderr, r.stderr
