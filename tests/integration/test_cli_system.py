"""docker version / info / system df through the stock CLI and docker-py."""
import json
import os
import platform
import socket

import pytest


def host_cgroup_version():
    """What is mounted at /sys/fs/cgroup decides the version Docker reports."""
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if parts[1] == "/sys/fs/cgroup":
                return "2" if parts[2] == "cgroup2" else "1"
    return "1"


def test_docker_version_reports_berth(daemon):
    out = json.loads(daemon.docker("version", "--format", "{{json .}}").stdout)
    server = out["Server"]
    assert server["ApiVersion"] == "1.47"
    assert server["MinAPIVersion"] == "1.24"
    assert server["Platform"]["Name"] == "berth"
    assert server["Os"] == "linux"
    assert server["KernelVersion"] == platform.release()
    assert server["Components"][0]["Name"] == "Engine"
    # the CLI negotiated down to our version
    assert out["Client"]["ApiVersion"] == "1.47"


def test_docker_info_real_values(daemon):
    info = json.loads(daemon.docker("info", "--format", "{{json .}}").stdout)
    assert info["DockerRootDir"] == daemon.data_root
    assert info["Driver"] == "overlay2"
    assert info["NCPU"] == os.cpu_count()
    with open("/proc/meminfo") as f:
        kb = int(f.readline().split()[1])
    assert info["MemTotal"] == kb * 1024
    assert info["KernelVersion"] == platform.release()
    assert info["CgroupVersion"] == host_cgroup_version()
    assert info["CgroupDriver"] == "cgroupfs"
    assert info["Name"] == socket.gethostname()
    assert info["OSType"] == "linux"
    assert info["Architecture"] == platform.machine()
    assert info["Swarm"]["LocalNodeState"] == "inactive"
    # engine ID persists across restarts of the same data root
    with open(os.path.join(daemon.data_root, "engine-id")) as f:
        assert info["ID"] == f.read().strip()


def test_info_registry_config_from_daemon_json(make_daemon):
    d = make_daemon({"insecure-registries": ["10.1.0.0/16", "myreg:5000"],
                     "registry-mirrors": ["https://mirror.example"],
                     "storage-driver": "vfs"})
    info = json.loads(d.docker("info", "--format", "{{json .}}").stdout)
    rc = info["RegistryConfig"]
    assert "10.1.0.0/16" in rc["InsecureRegistryCIDRs"]
    assert "127.0.0.0/8" in rc["InsecureRegistryCIDRs"]
    assert rc["IndexConfigs"]["myreg:5000"]["Secure"] is False
    assert rc["IndexConfigs"]["docker.io"]["Mirrors"] == ["https://mirror.example"]
    assert rc["Mirrors"] == ["https://mirror.example"]
    assert info["Driver"] == "vfs"
    text = d.docker("info").stdout
    assert "myreg:5000" in text and "https://mirror.example" in text


def test_engine_id_stable_across_restart(make_daemon):
    d = make_daemon()
    first = json.loads(d.docker("info", "--format", "{{json .}}").stdout)["ID"]
    assert d.stop() == 0
    d.start()
    assert json.loads(d.docker("info", "--format", "{{json .}}").stdout)["ID"] == first


def test_system_df(daemon):
    out = daemon.docker("system", "df").stdout
    assert out.splitlines()[0].split()[:2] == ["TYPE", "TOTAL"]
    assert "Images" in out and "Containers" in out and "Local Volumes" in out


def test_dockerpy_version_info_ping_df(daemon):
    c = daemon.client()
    assert c.ping() is True
    assert c.version()["ApiVersion"] == "1.47"
    assert c.api.api_version == "1.47"
    info = c.info()
    assert info["DockerRootDir"] == daemon.data_root
    df = c.df()
    assert df["Images"] == [] and df["LayersSize"] == 0
    c.close()


def test_tcp_listener_with_warning(make_daemon):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = make_daemon()
    d.stop()
    d.config["hosts"].append(f"tcp://127.0.0.1:{port}")
    d.write_config(d.config)
    d.start()
    d.host = f"tcp://127.0.0.1:{port}"
    info = json.loads(d.docker("info", "--format", "{{json .}}").stdout)
    assert any("without encryption" in w for w in info["Warnings"])
    assert d.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
