"""Fixtures: each test gets its own berthd on a temporary socket, data root
and exec root, driven through the real docker CLI, docker-py or raw HTTP."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from fixtures.plugin import (  # noqa: F401  (pytest fixtures)
    make_registry, registry, basic_registry, tls_registry, token_registry, registry_ca,
    busybox_image, busybox_oci_image, layered_image, docker_manifest_list, oci_index,
    zstd_image, random_image, malicious_images)

BERTHD = os.environ.get("BERTHD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build-test", "berthd")
DOCKER = os.environ.get("DOCKER_CLI") or ("/usr/local/bin/docker"
                                         if os.path.exists("/usr/local/bin/docker") else "docker")


def wait_for_socket(path, proc, timeout=15.0):
    """Readiness = the socket accepts a connection; fails fast if berthd died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"berthd exited early with {proc.returncode}")
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.01)
    raise TimeoutError(f"berthd did not listen on {path}")


class Daemon:
    def __init__(self, root, config, extra_args=()):
        self.root = root
        self.sock = os.path.join(root, "berth.sock")
        self.pidfile = os.path.join(root, "berth.pid")
        self.data_root = os.path.join(root, "data")
        self.config_path = os.path.join(root, "daemon.json")
        self.log_path = os.path.join(root, "berthd.log")
        self.docker_config = os.path.join(root, "docker-config")  # the CLI's own login store
        base = {
            "hosts": [f"unix://{self.sock}"],
            "data-root": self.data_root,
            "exec-root": os.path.join(root, "exec"),
            "pidfile": self.pidfile,
        }
        base.update(config)
        self.config = base
        self.data_root = base["data-root"]
        self.write_config(base)
        self.extra_args = list(extra_args)
        self.proc = None
        self.host = f"unix://{self.sock}"

    def write_config(self, cfg):
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BERTHD, "--config-file", self.config_path, *self.extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_socket(self.sock, self.proc)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.log.close()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_log(self, needle, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return
            time.sleep(0.02)
        raise AssertionError(f"{needle!r} never appeared in the berthd log:\n{self.log_text()}")

    def docker(self, *args, check=True, timeout=60, input=None):
        env = dict(os.environ, DOCKER_HOST=self.host, DOCKER_CONFIG=self.docker_config)
        env.pop("DOCKER_CONTEXT", None)
        r = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True,
                           timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({r.returncode}):\n"
                                 f"{r.stdout}\n{r.stderr}")
        return r

    def client(self):
        import docker
        return docker.DockerClient(base_url=self.host, timeout=30)


@pytest.fixture
def make_daemon(tmp_path):
    """Factory: make_daemon(config_overrides) -> started Daemon. Every daemon
    is stopped at teardown and must exit 0 (ASan builds fail on leaks here)."""
    started = []

    def factory(config=None, start=True, extra_args=(), name="d"):
        root = tmp_path / f"{name}{len(started)}"
        root.mkdir()
        d = Daemon(str(root), config or {}, extra_args)
        if start:
            d.start()
        started.append(d)
        return d

    yield factory
    for d in started:
        if d.proc is not None and d.proc.poll() is None:
            code = d.stop()
            assert code == 0, f"berthd exited {code}:\n{d.log_text()}"


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()


@pytest.fixture
def bb(daemon, tmp_path):
    """The daemon with busybox:latest loaded from a docker-archive (the
    image's every byte comes from Debian's busybox-static, fixtures.images)."""
    from fixtures import images
    tar = tmp_path / "bb.tar"
    tar.write_bytes(images.busybox_image("docker").docker_archive(repo_tags=["busybox:latest"]))
    daemon.docker("load", "-i", str(tar))
    return daemon
