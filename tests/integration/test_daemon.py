"""berthd as a process: configuration, locks, socket permissions, signals."""
import grp
import json
import os
import signal
import stat
import subprocess
import time

import httpraw
from conftest import BERTHD


def run_berthd(*args, timeout=10):
    return subprocess.run([BERTHD, *args], capture_output=True, text=True, timeout=timeout)


def write_json(tmp_path, obj, name="daemon.json"):
    p = tmp_path / name
    p.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return str(p)


def test_validate_ok_and_errors(tmp_path):
    good = write_json(tmp_path, {"data-root": "/tmp/x", "log-level": "debug",
                                 "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]})
    r = run_berthd("--config-file", good, "--validate")
    assert r.returncode == 0 and "configuration OK" in r.stdout
    cases = [
        ({"bogus-key": 1, "other": 2},
         "the following directives don't match any configuration option: bogus-key, other"),
        ({"data-root": 5}, "invalid type for configuration key 'data-root'"),
        ({"data-root": "relative/path"}, "data-root must be an absolute path"),
        ({"log-level": "loud"}, "invalid log-level 'loud'"),
        ({"storage-driver": "aufs"}, "unsupported storage-driver 'aufs'"),
        ({"hosts": ["fd://"]}, "invalid host 'fd://'"),
        ({"insecure-registries": ["http://x"]}, "should not contain '://'"),
        ({"registry-mirrors": ["mirror.example"]}, "invalid mirror"),
        ({"default-address-pools": [{"base": "10.0.0.0/16", "size": 8}]},
         "invalid default address pool"),
        ({"tlsverify": True}, "tls/tlsverify are not supported"),
        ({"http-max-connections": 0}, "invalid value for http-max-connections"),
        ("{not json", "is not a JSON object"),
    ]
    for cfg, msg in cases:
        path = write_json(tmp_path, cfg)
        r = run_berthd("--config-file", path, "--validate")
        assert r.returncode == 1, cfg
        assert msg in r.stderr, (cfg, r.stderr)


def test_flag_and_file_conflict(tmp_path):
    path = write_json(tmp_path, {"log-level": "info"})
    r = run_berthd("--config-file", path, "--log-level", "debug", "--validate")
    assert r.returncode == 1
    assert "specified both as a flag and in the configuration file: log-level" in r.stderr


def test_bad_flags(tmp_path):
    path = write_json(tmp_path, {})
    for args in (["--no-such-flag"], ["--data-root"], ["stray"], ["--debug=maybe"]):
        r = run_berthd("--config-file", path, *args, "--validate")
        assert r.returncode == 1, args
        assert r.stderr.startswith("berthd: "), args
    r = run_berthd("--config-file", str(tmp_path / "missing.json"), "--validate")
    assert r.returncode == 1 and "missing.json" in r.stderr


def test_help_and_version():
    r = run_berthd("--help")
    assert r.returncode == 0
    for flag in ("--host", "--data-root", "--exec-root", "--pidfile", "--group", "--log-level",
                 "--insecure-registry", "--registry-mirror", "--storage-driver", "--tlsverify",
                 "--default-address-pool", "--config-file", "--validate"):
        assert flag in r.stdout, flag
    r = run_berthd("--version")
    assert r.returncode == 0 and "API 1.47" in r.stdout


def test_flags_configure_daemon(tmp_path):
    sock = tmp_path / "f.sock"
    cfg = write_json(tmp_path, {})
    p = subprocess.Popen([BERTHD, "--config-file", cfg, "-H", f"unix://{sock}",
                          "--data-root", str(tmp_path / "data"), "--exec-root", str(tmp_path / "ex"),
                          "-p", str(tmp_path / "pid"), "-D", "-s", "vfs"],
                         stderr=subprocess.PIPE)
    from conftest import wait_for_socket
    wait_for_socket(str(sock), p)
    info = json.loads(httpraw.get(str(sock), "/info").body)
    assert info["Driver"] == "vfs" and info["Debug"] is True
    assert info["DockerRootDir"] == str(tmp_path / "data")
    assert (tmp_path / "pid").read_text().strip() == str(p.pid)
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0


def test_pidfile_and_data_root_locks(make_daemon, tmp_path):
    d = make_daemon()
    with open(d.pidfile) as f:
        assert f.read().strip() == str(d.pid)
    # same pidfile, other data root and socket
    cfg = write_json(tmp_path, {"hosts": [f"unix://{tmp_path}/b.sock"], "pidfile": d.pidfile,
                                "data-root": str(tmp_path / "b"), "exec-root": str(tmp_path / "bx")})
    r = run_berthd("--config-file", cfg)
    assert r.returncode == 1 and "pid file found" in r.stderr
    # same data root, own pidfile and socket
    cfg = write_json(tmp_path, {"hosts": [f"unix://{tmp_path}/c.sock"], "pidfile": str(tmp_path / "c.pid"),
                                "data-root": d.data_root, "exec-root": str(tmp_path / "cx")})
    r = run_berthd("--config-file", cfg)
    assert r.returncode == 1 and "another berthd is using the data root" in r.stderr
    assert not os.path.exists(tmp_path / "c.sock")
    # same socket, own everything else
    cfg = write_json(tmp_path, {"hosts": [d.host], "pidfile": str(tmp_path / "e.pid"),
                                "data-root": str(tmp_path / "e"), "exec-root": str(tmp_path / "ex")})
    r = run_berthd("--config-file", cfg)
    assert r.returncode == 1 and "is in use by another daemon" in r.stderr
    assert httpraw.get(d.sock, "/_ping").status == 200  # the first daemon is untouched


def test_stale_socket_file_replaced(make_daemon):
    d = make_daemon(start=False)
    with open(d.sock, "w") as f:
        f.write("stale")
    d.start()
    assert httpraw.get(d.sock, "/_ping").status == 200


def test_socket_mode_and_group(make_daemon):
    g = grp.getgrnam("daemon")
    d = make_daemon({"group": "daemon"})
    st = os.stat(d.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == g.gr_gid and st.st_uid == 0


def test_missing_explicit_group_refused(make_daemon):
    d = make_daemon({"group": "no-such-group-berth"}, start=False)
    r = run_berthd("--config-file", d.config_path)
    assert r.returncode == 1 and "group 'no-such-group-berth' not found" in r.stderr


def test_sigterm_during_stream(make_daemon):
    d = make_daemon()
    c = httpraw.Conn(d.sock)
    c.request("GET", "/events")
    assert c.read_head()[0] == 200
    d.signal(signal.SIGTERM)
    assert c.read_chunk() == b""      # the stream is ended properly
    assert c.read_to_eof() == b""     # then the connection closes
    assert d.proc.wait(10) == 0
    assert not os.path.exists(d.sock)
    assert not os.path.exists(d.pidfile)
    assert "daemon shutdown complete" in d.log_text()


def test_sighup_reload(make_daemon):
    d = make_daemon()
    info = json.loads(httpraw.get(d.sock, "/info").body)
    assert info["Debug"] is False
    cfg = dict(d.config, debug=True, **{"registry-mirrors": ["https://m.example"],
                                         "data-root": d.data_root + "-moved"})
    d.write_config(cfg)
    t0 = time.time() - 1
    d.signal(signal.SIGHUP)
    d.wait_log("configuration reloaded")
    info = json.loads(httpraw.get(d.sock, "/info").body)
    assert info["Debug"] is True
    assert info["RegistryConfig"]["Mirrors"] == ["https://m.example"]
    assert info["DockerRootDir"] == d.data_root  # not reloadable: unchanged
    assert "'data-root' changed but needs a restart, ignoring" in d.log_text()
    evs = httpraw.get(d.sock, f"/events?since={t0:.3f}&until={time.time() + 1:.3f}").body
    ev = json.loads(evs.splitlines()[-1])
    assert ev["Action"] == "reload" and ev["Actor"]["Attributes"]["debug"] == "true"


def test_sighup_with_broken_file_keeps_config(make_daemon):
    d = make_daemon()
    with open(d.config_path, "w") as f:
        f.write("{broken")
    d.signal(signal.SIGHUP)
    d.wait_log("reload failed, configuration unchanged")
    assert httpraw.get(d.sock, "/_ping").status == 200


def test_not_root_refused():
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir="/tmp") as f:
        f.write("{}")
        f.flush()
        os.chmod(f.name, 0o644)  # readable by the unprivileged user
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BERTHD,
                            "--config-file", f.name], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "root privileges" in r.stderr
