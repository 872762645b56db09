"""docker cp (HEAD/GET/PUT /containers/{id}/archive) through the real CLI,
docker-py and raw HTTP: files, directories, "dir/.", symlinks, the "-" tar
forms, -a, running and stopped containers, bind mounts, read-only roots,
the stat header, bad input, and the escape attempts of the docker cp CVE
class (CVE-2018-15664, CVE-2019-14271): symlinks to "/" and out of the
root, writes through symlinks, hostile tar entries, and a symlink swapped
in a loop while copies run. Every escape test checks the host filesystem."""
import base64
import io
import json
import os
import subprocess
import tarfile
import time
import urllib.parse

import pytest

import httpraw
from conftest import DOCKER

pytestmark = pytest.mark.usefixtures("bb")


# ---- helpers ----

def docker_bin(d, *args, input=None, check=True):
    """The CLI with binary stdin/stdout (tar streams)."""
    env = dict(os.environ, DOCKER_HOST=d.host, DOCKER_CONFIG=d.docker_config)
    r = subprocess.run([DOCKER, *args], env=env, capture_output=True, input=input, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"docker {args} failed: {r.stderr.decode()}")
    return r


def start_box(d, name, script, *opts, ready="/ready"):
    """A running busybox container whose script has finished its setup
    (it touches the ready file last)."""
    d.docker("run", "-d", "--name", name, "--stop-timeout", "1", *opts, "busybox", "sh", "-c",
             f"{script}\ntouch {ready}\nexec sleep 1000")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if docker_bin(d, "cp", f"{name}:{ready}", "-", check=False).returncode == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never got ready: {d.docker('logs', name, check=False)}")


def read_file(d, name, path):
    """A regular file's content out of the container (docker cp c:path -)."""
    r = docker_bin(d, "cp", f"{name}:{path}", "-")
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        member = t.getmembers()[0]
        assert member.isfile(), member
        return t.extractfile(member).read()


def tar_of(d, name, path):
    r = docker_bin(d, "cp", f"{name}:{path}", "-")
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        return {m.name: m for m in t.getmembers()}


def make_tar(entries):
    """entries: (name, kind, data_or_target, mode)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = mode
            if kind == "file":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data
                t.addfile(ti)
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = data
                t.addfile(ti)
    return buf.getvalue()


def api(d, method, target, body=None, headers=None):
    return httpraw.get(d.sock, "/v1.47" + target, method=method, body=body, headers=headers)


def q(path):
    return urllib.parse.quote(path, safe="")


def stat_header(resp):
    return json.loads(base64.b64decode(resp.header("X-Docker-Container-Path-Stat")))


def tree(root):
    out = {}
    for base, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(base, n)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "->" + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            else:
                with open(p, "rb") as f:
                    out[rel] = f.read()
    return out


SETUP = ("mkdir -p /d/sub; echo hi > /d/f; echo deep > /d/sub/g; chmod 640 /d/f; "
         "ln -s /d /lnk; ln -s sub /d/rel")


# ---- copying out ----

def test_cp_out_file_dir_contents_symlink(bb, tmp_path):
    start_box(bb, "c1", SETUP)
    out = tmp_path / "out"
    out.mkdir()
    bb.docker("cp", "c1:/d/f", str(out / "f.copy"))
    assert (out / "f.copy").read_bytes() == b"hi\n"
    assert oct((out / "f.copy").stat().st_mode & 0o777) == "0o640"
    bb.docker("cp", "c1:/d", str(out))  # into an existing dir: out/d
    assert tree(out / "d") == {"f": b"hi\n", "sub": "dir", "sub/g": b"deep\n", "rel": "->sub"}
    bb.docker("cp", "c1:/d/.", str(tmp_path / "contents"))  # the contents, to a new name
    assert tree(tmp_path / "contents") == tree(out / "d")
    bb.docker("cp", "c1:/d", str(tmp_path / "renamed"))  # a dir to a new name
    assert tree(tmp_path / "renamed") == tree(out / "d")
    # A symlink is copied as the link itself; "-L" follows it (client side).
    bb.docker("cp", "c1:/lnk", str(tmp_path / "l1"))
    assert os.readlink(tmp_path / "l1") == "/d"
    bb.docker("cp", "-L", "c1:/lnk", str(tmp_path / "l2"))
    assert tree(tmp_path / "l2") == tree(out / "d")


def test_cp_out_tar_names_follow_moby(bb):
    start_box(bb, "c2", SETUP)
    assert sorted(tar_of(bb, "c2", "/d")) == ["d", "d/f", "d/rel", "d/sub", "d/sub/g"]
    assert sorted(tar_of(bb, "c2", "/d/.")) == [".", "./f", "./rel", "./sub", "./sub/g"]
    # A trailing slash resolves the symlink; entries take the name asked.
    assert sorted(tar_of(bb, "c2", "/lnk/")) == ["lnk", "lnk/f", "lnk/rel", "lnk/sub", "lnk/sub/g"]
    link = tar_of(bb, "c2", "/lnk")
    assert list(link) == ["lnk"] and link["lnk"].issym() and link["lnk"].linkname == "/d"
    root = tar_of(bb, "c2", "/")
    assert "/d/f" in root and "/bin/sh" in root
    assert "proc/1" not in " ".join(root)  # /proc is not part of the view


def test_cp_stdout_and_stdin_tar(bb, tmp_path):
    start_box(bb, "c3", SETUP)
    r = docker_bin(bb, "cp", "c3:/d", "-")
    names = subprocess.run(["tar", "t"], input=r.stdout, capture_output=True).stdout.decode().split()
    assert sorted(names) == ["d/", "d/f", "d/rel", "d/sub/", "d/sub/g"]
    upload = make_tar([("t", "dir", None, 0o755), ("t/a.txt", "file", b"A\n", 0o644),
                       ("t/link", "symlink", "a.txt", 0o777)])
    docker_bin(bb, "cp", "-", "c3:/tmp", input=upload)
    assert read_file(bb, "c3", "/tmp/t/a.txt") == b"A\n"
    assert tar_of(bb, "c3", "/tmp/t/link")["link"].linkname == "a.txt"


# ---- copying in ----

def test_cp_in_file_dir_and_contents(bb, tmp_path):
    start_box(bb, "c4", "mkdir /dst")
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "top.txt").write_text("top\n")
    (src / "inner" / "x.bin").write_bytes(os.urandom(300000))
    os.symlink("top.txt", src / "ln")
    bb.docker("cp", str(src / "top.txt"), "c4:/dst/")  # into a dir
    bb.docker("cp", str(src / "top.txt"), "c4:/dst/renamed.txt")  # to a new name
    bb.docker("cp", str(src), "c4:/dst")  # a dir into an existing dir: /dst/src
    bb.docker("cp", str(src), "c4:/newdir")  # a dir to a new name
    bb.docker("cp", str(src) + "/.", "c4:/dst")  # its contents
    assert read_file(bb, "c4", "/dst/top.txt") == b"top\n"
    assert read_file(bb, "c4", "/dst/renamed.txt") == b"top\n"
    assert read_file(bb, "c4", "/dst/src/inner/x.bin") == (src / "inner" / "x.bin").read_bytes()
    assert read_file(bb, "c4", "/newdir/inner/x.bin") == (src / "inner" / "x.bin").read_bytes()
    assert read_file(bb, "c4", "/dst/inner/x.bin") == (src / "inner" / "x.bin").read_bytes()
    assert tar_of(bb, "c4", "/dst/src/ln")["ln"].linkname == "top.txt"


def test_cp_in_lands_in_the_running_view(bb, tmp_path):
    bb.docker("run", "-d", "--name", "c5", "busybox", "sh", "-c",
              "while [ ! -f /drop ]; do sleep 0.05; done; cat /drop; sleep 1000")
    (tmp_path / "msg").write_text("seen by the container\n")
    bb.docker("cp", str(tmp_path / "msg"), "c5:/drop")  # a file named drop
    deadline = time.monotonic() + 10
    while "seen by the container" not in bb.docker("logs", "c5").stdout:
        assert time.monotonic() < deadline, "the running container never saw the file"
        time.sleep(0.05)


def test_cp_ownership_and_archive_mode(bb, tmp_path):
    bb.docker("create", "--name", "c6", "--user", "nobody", "busybox")
    f = tmp_path / "owned"
    f.write_text("o\n")
    os.chown(f, 1234, 2345)
    bb.docker("cp", str(f), "c6:/tmp/plain")
    m = tar_of(bb, "c6", "/tmp/plain")["plain"]
    assert (m.uid, m.gid) == (1234, 2345)  # the archive's owner, as Docker
    bb.docker("cp", "-a", str(f), "c6:/tmp/archived")
    m = tar_of(bb, "c6", "/tmp/archived")["archived"]
    assert (m.uid, m.gid) == (65534, 65534)  # the container's user (its /etc/passwd)


def test_cp_stopped_and_created_containers(bb, tmp_path):
    bb.docker("create", "--name", "c7", "busybox", "cat", "/in/msg")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "msg").write_text("before start\n")
    bb.docker("cp", str(tmp_path / "in"), "c7:/")  # never started
    assert read_file(bb, "c7", "/in/msg") == b"before start\n"
    bb.docker("start", "-a", "c7")
    assert bb.docker("logs", "c7").stdout == "before start\n"
    (tmp_path / "in" / "msg").write_text("after stop\n")
    bb.docker("cp", str(tmp_path / "in" / "msg"), "c7:/in/msg")  # exited
    bb.docker("start", "c7")
    assert bb.docker("wait", "c7").stdout.strip() == "0"
    assert bb.docker("logs", "c7").stdout == "before start\nafter stop\n"
    # Nothing stays mounted once the copies are done.
    with open("/proc/self/mountinfo") as f:
        assert bb.docker("inspect", "-f", "{{.Id}}", "c7").stdout.strip() not in f.read()


def test_cp_bind_mounts(bb, tmp_path):
    host = tmp_path / "bind"
    host.mkdir()
    (host / "from-host").write_text("host file\n")
    ro = tmp_path / "robind"
    ro.mkdir()
    start_box(bb, "c8", "true", "-v", f"{host}:/data", "-v", f"{ro}:/ro:ro")
    assert read_file(bb, "c8", "/data/from-host") == b"host file\n"
    (tmp_path / "up").write_text("into the bind\n")
    bb.docker("cp", str(tmp_path / "up"), "c8:/data/")
    assert (host / "up").read_text() == "into the bind\n"
    r = bb.docker("cp", str(tmp_path / "up"), "c8:/ro/", check=False)
    assert r.returncode != 0 and "mounted volume is marked read-only" in r.stderr
    assert not (ro / "up").exists()
    bb.docker("stop", "-t", "0", "c8")
    bb.docker("cp", str(tmp_path / "up"), "c8:/data/again")  # stopped: the bind still
    assert (host / "again").read_text() == "into the bind\n"
    assert read_file(bb, "c8", "/data/from-host") == b"host file\n"


def test_cp_readonly_rootfs(bb, tmp_path):
    host = tmp_path / "rw"
    host.mkdir()
    start_box(bb, "c9", "true", "--read-only", "-v", f"{host}:/rw", ready="/rw/ready")
    (tmp_path / "f").write_text("x\n")
    r = bb.docker("cp", str(tmp_path / "f"), "c9:/tmp/", check=False)
    assert r.returncode != 0 and "container rootfs is marked read-only" in r.stderr
    bb.docker("cp", str(tmp_path / "f"), "c9:/rw/")
    assert (host / "f").read_text() == "x\n"
    assert read_file(bb, "c9", "/etc/passwd").startswith(b"root:")  # reading is fine
    # Created, never started: the volume's mount point is made for the view.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    bb.docker("create", "--name", "c9b", "--read-only", "-v", f"{fresh}:/newmnt", "busybox")
    bb.docker("cp", str(tmp_path / "f"), "c9b:/newmnt/")
    assert (fresh / "f").read_text() == "x\n"
    r = bb.docker("cp", str(tmp_path / "f"), "c9b:/", check=False)
    assert r.returncode != 0 and "container rootfs is marked read-only" in r.stderr


def test_cp_docker_py(bb):
    start_box(bb, "c10", SETUP)
    cli = bb.client()
    c = cli.containers.get("c10")
    data = make_tar([("py.txt", "file", b"from docker-py\n", 0o600)])
    assert c.put_archive("/d", data) is True
    stream, stat = c.get_archive("/d/py.txt")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
        assert t.extractfile("py.txt").read() == b"from docker-py\n"
    assert stat["name"] == "py.txt" and stat["size"] == 15 and stat["mode"] == 0o600
    assert stat["linkTarget"] == ""
    _, st = c.get_archive("/lnk")
    assert st["mode"] == (1 << 27) | 0o777 and st["linkTarget"] == "/d"
    with pytest.raises(Exception) as e:
        c.get_archive("/no/such")
    assert f"Could not find the file /no/such in container {c.id}" in str(e.value)
    cli.close()


# ---- the stat header and bad input over raw HTTP ----

def test_head_stat_header(bb):
    start_box(bb, "c11", SETUP)
    r = api(bb, "HEAD", f"/containers/c11/archive?path={q('/d')}")
    assert r.status == 200 and r.body == b""
    st = stat_header(r)
    assert st["name"] == "d" and st["mode"] == (1 << 31) | 0o755 and st["linkTarget"] == ""
    assert st["mtime"].endswith("Z") and st["mtime"][:2] == "20"
    st = stat_header(api(bb, "HEAD", f"/containers/c11/archive?path={q('/d/f')}"))
    assert (st["name"], st["size"], st["mode"]) == ("f", 3, 0o640)
    st = stat_header(api(bb, "HEAD", f"/containers/c11/archive?path={q('/d/rel')}"))
    assert st["mode"] == (1 << 27) | 0o777 and st["linkTarget"] == "/d/sub"
    st = stat_header(api(bb, "HEAD", f"/containers/c11/archive?path={q('/lnk/')}"))
    assert st["name"] == "lnk" and st["mode"] & (1 << 31)  # trailing "/": followed
    st = stat_header(api(bb, "HEAD", f"/containers/c11/archive?path={q('d/../d/./f')}"))
    assert st["name"] == "f"  # relative and unclean: from the root, as moby joins it
    st = stat_header(api(bb, "HEAD", f"/containers/c11/archive?path={q('/')}"))
    assert st["name"] == "/"
    r = api(bb, "GET", f"/containers/c11/archive?path={q('/d/f')}")
    assert r.status == 200 and r.header("content-type") == "application/x-tar"
    assert stat_header(r)["name"] == "f"


def test_bad_input_statuses(bb, tmp_path):
    start_box(bb, "c12", SETUP)
    good = make_tar([("ok.txt", "file", b"ok\n", 0o644)])
    cases = [
        ("HEAD", "/containers/c12/archive", None, 400, None),
        ("GET", "/containers/c12/archive?path=", None, 400, "path is empty"),
        ("GET", "/containers/nosuch/archive?path=/", None, 404, "No such container: nosuch"),
        ("GET", f"/containers/c12/archive?path={q('/nope')}", None, 404,
         "Could not find the file /nope in container c12"),
        ("GET", f"/containers/c12/archive?path={q('/d/f/')}", None, 500, "not a directory"),
        ("PUT", f"/containers/c12/archive?path={q('/nope')}", good, 404,
         "Could not find the file /nope in container c12"),
        ("PUT", f"/containers/c12/archive?path={q('/d/f')}", good, 400,
         "extraction point is not a directory"),
        ("PUT", f"/containers/c12/archive?path={q('/d')}", b"this is not a tar" * 40, 400,
         "invalid archive"),
        ("PUT", f"/containers/c12/archive?path={q('/d')}&noOverwriteDirNonDir=1",
         make_tar([("sub", "file", b"x", 0o644)]), 400,
         'cannot overwrite directory "/d/sub" with non-directory "/d"'),
        ("PUT", f"/containers/c12/archive?path={q('/d')}&noOverwriteDirNonDir=1",
         make_tar([("f", "dir", None, 0o755)]), 400,
         'cannot overwrite non-directory "/d/f" with directory "/d"'),
        ("PUT", f"/containers/c12/archive?path={q('/d')}",
         make_tar([("../../escape", "file", b"x", 0o644)]), 400, "escapes the root"),
        ("PUT", "/containers/c12/archive?path=", good, 400, "path is empty"),
        ("PUT", "/containers/nosuch/archive?path=/", good, 404, "No such container: nosuch"),
    ]
    for method, target, body, status, msg in cases:
        r = api(bb, method, target, body=body)
        assert r.status == status, (method, target, r.status, r.body)
        if msg and method != "HEAD":
            assert msg in json.loads(r.body)["message"], (target, r.body)
    # None of the refused uploads changed anything.
    assert sorted(tar_of(bb, "c12", "/d")) == ["d", "d/f", "d/rel", "d/sub", "d/sub/g"]
    assert tar_of(bb, "c12", "/d/sub")["sub"].isdir()
    # Without the flag a directory does replace a file, as Docker.
    r = api(bb, "PUT", f"/containers/c12/archive?path={q('/d')}",
            body=make_tar([("f", "dir", None, 0o755)]))
    assert r.status == 200 and r.body == b""
    assert tar_of(bb, "c12", "/d/f")["f"].isdir()
    # Compressed uploads: gzip, bzip2, xz.
    for mode, name in (("w:gz", "g.txt"), ("w:bz2", "b.txt"), ("w:xz", "x.txt")):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=mode) as t:
            ti = tarfile.TarInfo(name)
            ti.size = 3
            t.addfile(ti, io.BytesIO(b"zz\n"))
        assert api(bb, "PUT", f"/containers/c12/archive?path={q('/d')}",
                   body=buf.getvalue()).status == 200
        assert read_file(bb, "c12", f"/d/{name}") == b"zz\n"


# ---- escape attempts ----

def host_snapshot(path):
    return sorted(os.listdir(path))


def test_escape_symlinks_to_root_read_the_container(bb, tmp_path):
    canary = tmp_path / "canary"
    canary.write_text("HOST SECRET\n")
    start_box(bb, "e1", f"ln -s / /x; ln -s /../../etc /y; ln -s {tmp_path} /z; "
                        "mkdir /sub; ln -s ../../../../.. /sub/up")
    container_passwd = read_file(bb, "e1", "/etc/passwd")
    assert container_passwd != open("/etc/passwd", "rb").read()
    assert read_file(bb, "e1", "/x/etc/passwd") == container_passwd
    assert read_file(bb, "e1", "/y/passwd") == container_passwd
    assert read_file(bb, "e1", "/sub/up/etc/passwd") == container_passwd
    for p in (f"/x{canary}", f"/z/canary", f"/sub/up{canary}", f"/y/../..{canary}"):
        r = docker_bin(bb, "cp", f"e1:{p}", "-", check=False)
        assert r.returncode != 0 and b"HOST SECRET" not in r.stdout, p
        assert b"Could not find the file" in r.stderr
    # A directory copy through the links stays in the container too.
    names = tar_of(bb, "e1", "/x/")
    assert "x/bin/sh" in names and f"x{tmp_path}/canary" not in names
    st = stat_header(api(bb, "HEAD", f"/containers/e1/archive?path={q('/y')}"))
    assert st["linkTarget"] == "/etc"  # "/../../etc" stops at the root


def test_escape_writes_through_symlinks_stay_inside(bb, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    before = host_snapshot(victim)
    start_box(bb, "e2", f"ln -s {victim} /v; mkdir -p {victim}; ln -s {victim} /w; "
                        f"ln -s /../../../{victim} /dotdot")
    (tmp_path / "payload").write_text("payload\n")
    for dest in ("e2:/v/", "e2:/w", "e2:/dotdot/", f"e2:{victim}"):
        bb.docker("cp", str(tmp_path / "payload"), dest)
    assert host_snapshot(victim) == before  # nothing landed on the host
    assert read_file(bb, "e2", f"{victim}/payload") == b"payload\n"  # but in the container
    # A link to a host path the container lacks: 404, and still nothing on the host.
    start_box(bb, "e3", f"ln -s {victim} /v")
    r = bb.docker("cp", str(tmp_path / "payload"), "e3:/v/", check=False)
    assert r.returncode != 0 and host_snapshot(victim) == before


def test_escape_hostile_tar_entries(bb, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    start_box(bb, "e4", f"mkdir -p /up {target}")
    marker = f"berth-cp-escape-{os.getpid()}"
    hostile = [
        [("../../" + marker, "file", b"x", 0o644)],
        [("a/../../../" + marker, "file", b"x", 0o644)],
        [("hl", "hardlink", "../../etc/passwd", 0o644)],
        [("hostlink", "hardlink", "/etc/passwd", 0o644)],  # a member below /up: none
    ]
    for entries in hostile:
        r = api(bb, "PUT", f"/containers/e4/archive?path={q('/up')}", body=make_tar(entries))
        assert r.status == 400, entries
    # Absolute names and links land below the destination, inside the root.
    tricky = make_tar([
        ("/" + marker, "file", b"abs\n", 0o644),
        ("lnk", "symlink", str(target), 0o777),
        ("lnk/pwned", "file", b"through a link\n", 0o644),
        ("root", "symlink", "/", 0o777),
        ("root/" + marker, "file", b"via root\n", 0o644),
        ("dots", "symlink", "../../../../../../..", 0o777),
        ("dots/" + marker + "2", "file", b"via dots\n", 0o644),
        ("hl", "hardlink", "/lnk/pwned", 0o644),
    ])
    r = api(bb, "PUT", f"/containers/e4/archive?path={q('/up')}", body=tricky)
    assert r.status == 200, r.body
    assert host_snapshot(target) == []
    for p in ("/" + marker, "/" + marker + "2", f"/tmp/{marker}"):
        assert not os.path.exists(p), p
    assert read_file(bb, "e4", f"/up/{marker}") == b"abs\n"
    assert read_file(bb, "e4", f"{target}/pwned") == b"through a link\n"
    assert read_file(bb, "e4", f"/{marker}") == b"via root\n"
    assert read_file(bb, "e4", f"/{marker}2") == b"via dots\n"
    # A hardlink target is a member's name: below the destination, through its links.
    assert read_file(bb, "e4", "/up/hl") == b"through a link\n"
    assert not os.path.exists(f"/up/{marker}")


def test_escape_symlink_swap_race(bb, tmp_path):
    """A process in the container swaps /race/d between a directory and a
    symlink to a host path (which also exists inside the container) as fast
    as it can, while copies in and out run: nothing of the host is read and
    nothing lands on the host."""
    hostdir = tmp_path / "hostdir"
    hostdir.mkdir()
    (hostdir / "secret").write_text("HOST CANARY\n")
    before = host_snapshot(hostdir)
    start_box(bb, "e5", f"mkdir -p /race {hostdir}; echo inside > {hostdir}/secret; "
                        "(while true; do mkdir -p /race/d.tmp; echo dir > /race/d.tmp/secret; "
                        f"rm -f /race/d; mv -T /race/d.tmp /race/d; ln -sfn {hostdir} /race/l.tmp; "
                        "rm -rf /race/d; mv -T /race/l.tmp /race/d; done) &")
    (tmp_path / "drop").write_text("dropped\n")
    seen = set()
    deadline = time.monotonic() + 12
    rounds = 0
    while rounds < 40 and time.monotonic() < deadline:
        rounds += 1
        r = docker_bin(bb, "cp", "e5:/race/d/secret", "-", check=False)
        assert b"HOST CANARY" not in r.stdout
        if r.returncode == 0:
            seen.add(read_member(r.stdout))
        r = docker_bin(bb, "cp", "e5:/race/d", "-", check=False)
        assert b"HOST CANARY" not in r.stdout
        bb.docker("cp", str(tmp_path / "drop"), "e5:/race/d/", check=False)
        assert host_snapshot(hostdir) == before
    assert rounds >= 10
    assert (hostdir / "secret").read_text() == "HOST CANARY\n"
    # What was read came from the container: its directory, or its own
    # copy of the host path the link names.
    assert seen and seen <= {b"dir\n", b"inside\n"}, seen


def read_member(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        m = t.getmembers()[0]
        return t.extractfile(m).read() if m.isfile() else None


def test_no_fd_or_view_left_behind(bb, tmp_path):
    """Copies, stats, failed copies and a client that leaves mid-stream
    leave the daemon with the fds it had (each view is a detached mount
    tree that lives only as long as its fds)."""
    start_box(bb, "f1", SETUP + "; dd if=/dev/zero of=/big bs=1048576 count=64 2>/dev/null")
    bb.docker("create", "--name", "f2", "busybox")

    def nfds():
        return len(os.listdir(f"/proc/{bb.pid}/fd"))

    read_file(bb, "f1", "/d/f")  # warm up (lazily opened fds)
    base = nfds()
    (tmp_path / "x").write_text("x\n")
    for name in ("f1", "f2"):
        bb.docker("cp", str(tmp_path / "x"), f"{name}:/tmp/")
        read_file(bb, name, "/tmp/x")
        api(bb, "HEAD", f"/containers/{name}/archive?path={q('/etc')}")
        api(bb, "GET", f"/containers/{name}/archive?path={q('/nope')}")
        api(bb, "PUT", f"/containers/{name}/archive?path={q('/tmp')}", body=b"junk" * 300)
    c = httpraw.Conn(bb.sock)
    c.request("GET", f"/v1.47/containers/f1/archive?path={q('/big')}")
    assert c.read_head()[0] == 200
    c.close()  # gone mid-stream
    deadline = time.monotonic() + 10
    while nfds() > base:
        assert time.monotonic() < deadline, (base, nfds())
        time.sleep(0.05)
    bb.docker("start", "f2")  # no view of it is left: it starts
