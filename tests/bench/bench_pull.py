#!/usr/bin/python3
"""Image-pull benchmark for berthd, optionally side by side with Docker's dockerd.

Pushes a reproducible image of incompressible gzip layers (200 MB in 5 layers
by default) to a local docker-registry once, then times cold pulls of it:
a fresh daemon and an empty data root for every pull, once through the stock
docker CLI and once through the raw API (POST /images/create, stream read to
its end), sampling the daemon's VmRSS every 20 ms during the pull. Next to
that it measures the machine's floor for the same blobs (sha256 of the
compressed bytes, gunzip, sha256 of the tar, write and fsync) and sha256
throughput of OpenSSL, Python's hashlib and mbedtls (berth's sha256).

It prints figures and never asserts timings: the exit status only says
whether the measurements could be made (1 on a failed pull, a daemon or
registry that would not start, ...; 77 when not root).

Run with the system interpreter, as root:
    /usr/bin/python3 tests/bench/bench_pull.py [--quick | --compare-docker]
Standard library plus tests/integration/fixtures (registry and images).
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from pathlib import Path

from benchlib import (DEFAULT_BERTHD, EXIT_SKIP, BenchError, Berth, Docker, UnixHTTPConnection,
                      apt_install, descendants, ensure_dockerd, log, on_sigterm, print_notes,
                      program_version, remove_tree, rss_kib)

INTEGRATION_DIR = Path(__file__).resolve().parents[1] / "integration"
DOCKER_CLI = "/usr/local/bin/docker"
REPO, TAG = "bench/random", "1"

FULL_IMAGE = {"total_mb": 200, "layers": 5}
QUICK_IMAGE = {"total_mb": 8, "layers": 2}
SAMPLE_INTERVAL = 0.02     # VmRSS sampling period during a pull
TREE_RESCAN = 0.25         # how often the sampler looks for new child processes
PULL_TIMEOUT = 600.0
FLOOR_CHUNK = 128 * 1024   # berth reads layer blobs in 128 KiB blocks too
HASH_UPDATE = 16 * 1024    # update size of the sha256 speed figures
MB = 1e6                   # throughput figures are decimal MB/s, like openssl speed


# ---- fixtures ------------------------------------------------------------------

def load_fixtures():
    """(images, registry) modules of tests/integration/fixtures.

    The registry fixture imports the test CA and token server, which need
    Debian's python3-cryptography and python3-jwt; the registry itself is
    docker-registry. Missing packages are installed, as bench_api does for
    h2load.
    """
    sys.path.insert(0, str(INTEGRATION_DIR))
    try:
        from fixtures import images, registry
    except ImportError as e:
        log(f"fixtures need a package: {e}")
        apt_install(["python3-cryptography", "python3-jwt"])
        from fixtures import images, registry
    if not os.access(registry.REGISTRY_BIN, os.X_OK):
        apt_install(["docker-registry"])
    return images, registry


class BenchImage:
    """The pushed image: its reference, layers and where the registry keeps them."""

    def __init__(self, image, reg, repo=REPO, tag=TAG):
        self.image = image
        self.repo_name = f"{reg.host}/{repo}"
        self.tag = tag
        self.ref = f"{self.repo_name}:{tag}"
        self.id = image.id
        self.layers = [{"digest": l.digest, "diff_id": l.diff_id, "size": l.size,
                        "tar_size": len(l.tar), "path": reg.blob_path(l.digest)}
                       for l in image.layers]
        self.compressed = sum(l["size"] for l in self.layers)
        self.uncompressed = sum(l["tar_size"] for l in self.layers)

    def describe(self):
        return {"ref": self.ref, "id": self.id, "manifest_digest": self.image.manifest_digest,
                "compressed_bytes": self.compressed, "uncompressed_bytes": self.uncompressed,
                "layers": [{k: v for k, v in l.items() if k != "path"} for l in self.layers]}


def start_registry(registry_mod, images_mod, root, size):
    """A docker-registry with the random image pushed once; (Registry, BenchImage)."""
    log(f"building a {size['total_mb']} MiB image in {size['layers']} random layers")
    image = images_mod.random_image(total_mb=size["total_mb"], layers=size["layers"], seed=0)
    reg = registry_mod.Registry(root)
    try:
        reg.start()
    except (RuntimeError, TimeoutError) as e:
        raise BenchError(f"registry: {e}") from None
    try:
        reg.push_image(image, REPO, TAG)
    except (OSError, RuntimeError, AssertionError) as e:
        reg.stop()
        raise BenchError(f"pushing the image to the registry failed: {e}") from None
    return reg, BenchImage(image, reg)


def registry_oddities(reg, since=0):
    """Error lines of the registry's log (it logs at level warn and above)
    after character offset `since`: the push's existence checks (HEAD of a
    blob not uploaded yet) log 404s as errors before any pull starts."""
    return [f"registry log: {l}" for l in reg.log_text()[since:].splitlines()
            if "level=error" in l or "level=fatal" in l or "level=panic" in l]


# ---- memory sampling -------------------------------------------------------------

def vm_hwm_kib(pid):
    """VmHWM (peak RSS since the process started) in KiB, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples VmRSS of a daemon (and of it plus its children) every
    SAMPLE_INTERVAL on a thread, from start() to stop().

    The children are looked up every TREE_RESCAN only: walking /proc costs
    milliseconds, reading one status file microseconds.
    """

    def __init__(self, pid):
        self.pid = pid
        self.main, self.tree = [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, kids):
        m = rss_kib(self.pid)
        self.main.append(m)
        self.tree.append(m + sum(rss_kib(k) for k in kids))

    def _run(self):
        start = time.monotonic()
        kids, rescan, n = {}, 0.0, 0
        while True:
            now = time.monotonic()
            if now >= rescan:
                kids = descendants(self.pid)
                rescan = now + TREE_RESCAN
            self._sample(kids)
            n += 1
            if self._stop.wait(max(0.0, start + n * SAMPLE_INTERVAL - time.monotonic())):
                break
        self._sample(descendants(self.pid))   # the state at the end of the pull

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        return {"samples": len(self.main),
                "peak_main_kib": max(self.main), "median_main_kib": statistics.median(self.main),
                "peak_tree_kib": max(self.tree), "median_tree_kib": statistics.median(self.tree)}


# ---- pulls -------------------------------------------------------------------------

def cli_env(engine, config_dir):
    """The CLI's environment: this daemon, an empty CLI config, no context."""
    env = dict(os.environ, DOCKER_HOST=engine.host, DOCKER_CONFIG=str(config_dir))
    for var in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION"):
        env.pop(var, None)
    return env


def pull_cli(engine, img, ctx):
    """`docker pull REF` with the stock CLI; wall time from exec to exit."""
    cmd = [ctx["cli"], "pull", img.ref]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, env=cli_env(engine, ctx["cli_config"]), capture_output=True,
                             text=True, timeout=PULL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{engine.name}: docker pull took over {PULL_TIMEOUT:.0f}s") from None
    wall = time.perf_counter() - t0
    if out.returncode != 0 or "Downloaded newer image" not in out.stdout:
        raise BenchError(f"{engine.name}: docker pull {img.ref} exited {out.returncode}:\n"
                         f"{out.stdout[-1500:]}{out.stderr[-1500:]}")
    return wall


def stream_messages(body):
    """The JSON messages of a progress stream (concatenated objects)."""
    text, dec, pos, msgs = body.decode(errors="replace"), json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return msgs
        try:
            msg, pos = dec.raw_decode(text, pos)
        except ValueError:
            raise BenchError(f"unparsable pull stream at byte {pos}: {text[pos:pos + 200]!r}")
        msgs.append(msg)


def pull_api(engine, img, ctx):
    """POST /images/create?fromImage=&tag= over the socket; wall time from
    the request to the end of the progress stream."""
    query = urllib.parse.urlencode({"fromImage": img.repo_name, "tag": img.tag})
    conn = UnixHTTPConnection(engine.sock, timeout=PULL_TIMEOUT)
    try:
        t0 = time.perf_counter()
        conn.request("POST", f"/images/create?{query}")
        resp = conn.getresponse()
        body = resp.read()
        wall = time.perf_counter() - t0
    except OSError as e:
        raise BenchError(f"{engine.name}: POST /images/create: {e}") from None
    finally:
        conn.close()
    if resp.status != 200:
        raise BenchError(f"{engine.name}: POST /images/create answered {resp.status}: "
                         f"{body[:500]!r}")
    msgs = stream_messages(body)
    errors = [m for m in msgs if "error" in m or "errorDetail" in m]
    if errors:
        raise BenchError(f"{engine.name}: pull stream reported {errors[0]}")
    if not any("Downloaded newer image" in str(m.get("status", "")) for m in msgs):
        raise BenchError(f"{engine.name}: pull stream ended without 'Downloaded newer image': "
                         f"{msgs[-3:]}")
    return wall


PULLERS = {"cli": pull_cli, "api": pull_api}


def check_pulled(engine, img):
    """The image is there under its reference with the expected ID."""
    conn = UnixHTTPConnection(engine.sock, timeout=30)
    try:
        conn.request("GET", f"/images/{img.ref}/json")
        resp = conn.getresponse()
        body = resp.read()
    except OSError as e:
        raise BenchError(f"{engine.name}: image inspect after the pull: {e}") from None
    finally:
        conn.close()
    if resp.status != 200:
        raise BenchError(f"{engine.name}: image inspect after the pull answered {resp.status}")
    got = json.loads(body).get("Id")
    if got != img.id:
        raise BenchError(f"{engine.name}: pulled image has ID {got}, expected {img.id}")


def measure_pull(engine, method, img, ctx):
    """One cold pull: start a fresh daemon, sync the page cache's dirty data
    (so an earlier run's writeback does not land in this one), sample memory
    while pulling, check the result, read the peak, and return the figures.
    The caller stops the daemon and removes its dirs."""
    log(f"{engine.name}: starting for a pull via {method}")
    engine.start()
    os.sync()
    pid = engine.proc.pid
    rss_before = engine.rss()
    cpu_before = engine.cpu_seconds()
    sampler = RssSampler(pid).start()
    try:
        wall = PULLERS[method](engine, img, ctx)
    finally:
        mem = sampler.stop()
    cpu = engine.cpu_seconds() - cpu_before
    hwm = vm_hwm_kib(pid)
    check_pulled(engine, img)
    log(f"{engine.name}: pull via {method} {wall:.3f}s, "
        f"{img.compressed / MB / wall:.1f} MB/s, peak RSS {mem['peak_main_kib'] / 1024:.1f} MiB")
    return {"wall_s": wall, "mbps": img.compressed / MB / wall, "cpu_s": cpu,
            "rss_before": rss_before, "hwm_main_kib": hwm, **mem}


# ---- the machine's floor -----------------------------------------------------------

def floor_python(img, outdir, blobs, keep_blob=False):
    """Per layer, in one pass and one process: sha256 of the compressed
    bytes, gunzip (zlib), sha256 of the tar, write the tar to a file; fsync
    every file at the end. hashlib's sha256 is OpenSSL's (SHA-NI here).
    keep_blob also writes the compressed bytes to a file of their own, as an
    engine that keeps the blob does. The blobs are in memory beforehand: the
    network is not part of the floor. Returns the wall time and the part of
    it spent in the final fsyncs."""
    outdir.mkdir(parents=True, exist_ok=True)
    files = []
    t0 = time.perf_counter()
    for i, (layer, data) in enumerate(zip(img.layers, blobs)):
        hc, hu = hashlib.sha256(), hashlib.sha256()
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = open(outdir / f"layer-{i}.tar", "wb", buffering=0)
        blob = open(outdir / f"layer-{i}.gz", "wb", buffering=0) if keep_blob else None
        files += [f for f in (out, blob) if f]
        view = memoryview(data)
        for off in range(0, len(view), FLOOR_CHUNK):
            chunk = view[off:off + FLOOR_CHUNK]
            hc.update(chunk)
            if blob:
                blob.write(chunk)
            tar = inflate.decompress(chunk)
            hu.update(tar)
            out.write(tar)
        tar = inflate.flush()
        hu.update(tar)
        out.write(tar)
        if not inflate.eof or "sha256:" + hc.hexdigest() != layer["digest"] \
                or "sha256:" + hu.hexdigest() != layer["diff_id"]:
            raise BenchError(f"floor (python): layer {i} does not match its digests")
    t_sync = time.perf_counter()
    for f in files:
        os.fsync(f.fileno())
        f.close()
    t_end = time.perf_counter()
    shutil.rmtree(outdir)
    return {"wall_s": t_end - t0, "fsync_s": t_end - t_sync}


SHELL_FLOOR = r"""set -e -o pipefail
n=0
for blob in "$@"; do
    sha256sum < f$n > c$n.sum &
    tee f$n < "$blob" | gzip -dc | tee u$n.tar | sha256sum > u$n.sum
    wait
    n=$((n + 1))
done
sync u*.tar
"""


def floor_shell(img, outdir):
    """The same with a shell pipeline per layer: tee to sha256sum (through
    a fifo), gzip -dc, tee to the file and to sha256sum; `sync FILE...`
    (fsync) at the end. Its stages run in parallel on both cores. Reads the
    blobs from the registry's storage (in the page cache after the push)."""
    outdir.mkdir(parents=True, exist_ok=True)
    for i in range(len(img.layers)):
        os.mkfifo(outdir / f"f{i}")
    t0 = time.perf_counter()
    out = subprocess.run(["bash", "-c", SHELL_FLOOR, "floor", *(l["path"] for l in img.layers)],
                         cwd=outdir, capture_output=True, text=True, timeout=PULL_TIMEOUT)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise BenchError(f"floor (shell) exited {out.returncode}: {out.stderr[-500:]}")
    for i, layer in enumerate(img.layers):
        c = (outdir / f"c{i}.sum").read_text().split()[0]
        u = (outdir / f"u{i}.sum").read_text().split()[0]
        if "sha256:" + c != layer["digest"] or "sha256:" + u != layer["diff_id"]:
            raise BenchError(f"floor (shell): layer {i} does not match its digests")
    shutil.rmtree(outdir)
    return {"wall_s": wall}


def measure_floor(img, blobs, workroot):
    """One run of each floor implementation; a sync before each one keeps
    the previous one's writeback out of it."""
    os.sync()
    out = {"python": floor_python(img, workroot / "floor", blobs)}
    os.sync()
    out["python_keep_blob"] = floor_python(img, workroot / "floor", blobs, keep_blob=True)
    os.sync()
    out["shell"] = floor_shell(img, workroot / "floor")
    log("floor: " + ", ".join(f"{k} {v['wall_s']:.3f}s" for k, v in out.items()))
    return out


# ---- sha256 speed -------------------------------------------------------------------

MBEDTLS_SPEED_C = r"""
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0, t;
    size_t chunk = argc > 2 ? (size_t)atol(argv[2]) : 16384;
    unsigned char *buf = malloc(chunk), out[32];
    unsigned long long bytes = 0;
    char version[32];
    mbedtls_sha256_context c;
    memset(buf, 0x5a, chunk);
    mbedtls_sha256_init(&c);
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256_starts(&c, 0);
#else
    mbedtls_sha256_starts_ret(&c, 0);
#endif
    double t0 = now();
    do {
        for (int i = 0; i < 64; i++) {
#if MBEDTLS_VERSION_MAJOR >= 3
            mbedtls_sha256_update(&c, buf, chunk);
#else
            mbedtls_sha256_update_ret(&c, buf, chunk);
#endif
            bytes += chunk;
        }
        t = now() - t0;
    } while (t < secs);
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256_finish(&c, out);
#else
    mbedtls_sha256_finish_ret(&c, out);
#endif
    mbedtls_version_get_string(version);
    printf("%s %.0f %02x\n", version, bytes / t, out[0]);
    return 0;
}
"""


def speed_openssl(seconds):
    """openssl speed -evp sha256 at HASH_UPDATE bytes: (bytes/s, version) or None."""
    if not shutil.which("openssl"):
        return None
    out = subprocess.run(["openssl", "speed", "-evp", "sha256", "-bytes", str(HASH_UPDATE),
                          "-seconds", str(max(1, round(seconds))), "-mr"],
                         capture_output=True, text=True, timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("+F:"):
            return float(line.split(":")[-1]), program_version(["openssl", "version"])
    return None


def speed_mbedtls(seconds, workdir):
    """A one-off C program linked with -lmbedcrypto (the library berthd
    uses), compiled in the temp dir: (bytes/s, version) or None."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc or not os.path.exists("/usr/include/mbedtls/sha256.h"):
        return None
    src, exe = workdir / "mbedtls_speed.c", workdir / "mbedtls_speed"
    src.write_text(MBEDTLS_SPEED_C)
    built = subprocess.run([cc, "-O2", "-o", str(exe), str(src), "-lmbedcrypto"],
                           capture_output=True, text=True)
    if built.returncode != 0:
        log(f"mbedtls speed program did not build: {built.stderr.strip()[-300:]}")
        return None
    out = subprocess.run([str(exe), str(seconds), str(HASH_UPDATE)], capture_output=True,
                         text=True, timeout=120)
    fields = out.stdout.split()
    return (float(fields[1]), "mbedtls " + fields[0]) if out.returncode == 0 else None


def speed_hashlib(seconds):
    """Python's hashlib.sha256 (OpenSSL's) at HASH_UPDATE bytes per update."""
    buf, h, n = bytes(HASH_UPDATE), hashlib.sha256(), 0
    t0 = time.perf_counter()
    while True:
        for _ in range(64):
            h.update(buf)
        n += 64 * HASH_UPDATE
        t = time.perf_counter() - t0
        if t >= seconds:
            return n / t, f"Python hashlib ({hashlib.sha256().name}, OpenSSL)"


def measure_hash_speeds(seconds, workdir):
    """sha256 throughput of each implementation in bytes/s (None: not measurable)."""
    speeds = {}
    for name, fn in (("openssl", lambda: speed_openssl(seconds)),
                     ("hashlib", lambda: speed_hashlib(seconds)),
                     ("mbedtls", lambda: speed_mbedtls(seconds, workdir))):
        got = fn()
        speeds[name] = ({"bytes_per_s": got[0], "what": got[1]} if got else None)
    log("sha256: " + ", ".join(f"{k} {v['bytes_per_s'] / MB:.0f} MB/s" if v else f"{k} n/a"
                               for k, v in speeds.items()))
    return speeds


# ---- repetitions -------------------------------------------------------------------

def run_repetitions(args, plan, img, blobs, workroot, notes):
    """Every repetition: the floor once, then a cold pull per engine and
    method. Engines and methods alternate their order across repetitions so
    that drift hits them alike. Daemon oddities go to notes even when a pull
    fails, since they usually explain the failure."""
    names = ["berth", "docker"] if args.compare_docker else ["berth"]
    ctx = {"cli": args.docker_cli, "cli_config": workroot / "docker-config"}
    ctx["cli_config"].mkdir(exist_ok=True)
    pulls, floors = [], []
    for rep in range(plan["reps"]):
        log(f"repetition {rep + 1}/{plan['reps']}")
        floors.append({"rep": rep, **measure_floor(img, blobs, workroot)})
        engines = names if rep % 2 == 0 else names[::-1]
        methods = ["cli", "api"] if rep % 2 == 0 else ["api", "cli"]
        for method in methods:
            for name in engines:
                workdir = workroot / f"r{rep}-{name}-{method}"
                engine = (Berth(workdir, args.berthd) if name == "berth"
                          else Docker(workdir, args.dockerd))
                try:
                    result = measure_pull(engine, method, img, ctx)
                finally:
                    notes += engine.stop()
                    if not args.keep_temp:
                        remove_tree(str(workdir))
                pulls.append({"rep": rep, "engine": name, "method": method, **result})
    return pulls, floors


# ---- summary and output ---------------------------------------------------------------

PULL_FIGURES = ("wall_s", "mbps", "cpu_s", "peak_main_kib", "median_main_kib",
                "peak_tree_kib", "median_tree_kib", "hwm_main_kib")


def summarize(pulls, floors, img, speeds):
    """Medians per engine and method, the floor, and the ratios."""
    summary = {"pulls": {}, "floor": {}, "ratios": {}}
    for name in ("berth", "docker"):
        for method in ("cli", "api"):
            mine = [p for p in pulls if p["engine"] == name and p["method"] == method]
            if mine:
                summary["pulls"][f"{name}/{method}"] = {
                    k: statistics.median(p[k] for p in mine) for k in PULL_FIGURES}
    for impl in ("python", "python_keep_blob", "shell"):
        row = {k: statistics.median(f[impl][k] for f in floors) for k in floors[0][impl]}
        row["mbps"] = img.compressed / MB / row["wall_s"]
        summary["floor"][impl] = row
    best = min(("python", "shell"), key=lambda k: summary["floor"][k]["wall_s"])
    floor = summary["floor"][best]
    summary["floor"]["best"] = best
    for row in summary["pulls"].values():
        row["pct_of_floor"] = 100.0 * row["mbps"] / floor["mbps"]
    for name in ("berth", "docker"):
        cli, api = summary["pulls"].get(f"{name}/cli"), summary["pulls"].get(f"{name}/api")
        if cli and api:
            summary["ratios"][f"{name}_cli_overhead_s"] = cli["wall_s"] - api["wall_s"]
    p = summary["pulls"]
    if "docker/api" in p:
        for method in ("cli", "api"):
            b, d = p[f"berth/{method}"], p[f"docker/{method}"]
            summary["ratios"][method] = {
                "wall": b["wall_s"] / d["wall_s"], "cpu": b["cpu_s"] / d["cpu_s"],
                "peak_rss_vs_dockerd": b["peak_tree_kib"] / d["peak_main_kib"],
                "peak_rss_vs_docker_tree": b["peak_tree_kib"] / d["peak_tree_kib"]}
    # A pull hashes the compressed bytes (blob digest) and the tar (diff ID).
    summary["sha256_bytes"] = img.compressed + img.uncompressed
    summary["sha256_cpu_s"] = {k: summary["sha256_bytes"] / v["bytes_per_s"]
                               for k, v in speeds.items() if v}
    return summary


def mib(kib):
    return kib / 1024


def print_report(summary, plan, img, speeds):
    """The table, floor, hash speeds and ratios on stdout."""
    s, p = summary, summary["pulls"]
    print(f"\nimage {img.ref}: {len(img.layers)} gzip layers of random bytes, "
          f"{img.compressed / MB:.1f} MB compressed, {img.uncompressed / MB:.1f} MB of tar")
    print(f"medians of {plan['reps']} repetition(s); every pull on a fresh daemon with an empty "
          f"data root; MB = 10^6 bytes; RSS sampled every {SAMPLE_INTERVAL * 1000:.0f} ms "
          f"(MiB; '+ch' with child processes); unpinned")
    print(f"{'engine':<7} {'via':<4} {'wall(s)':>8} {'MB/s':>7} {'%floor':>7} {'cpu(s)':>7} "
          f"{'peak':>7} {'median':>7} {'peak+ch':>8} {'med+ch':>7} {'VmHWM':>7}")
    for key, r in p.items():
        name, method = key.split("/")
        print(f"{name:<7} {method:<4} {r['wall_s']:>8.3f} {r['mbps']:>7.1f} "
              f"{r['pct_of_floor']:>6.1f}% {r['cpu_s']:>7.2f} {mib(r['peak_main_kib']):>7.1f} "
              f"{mib(r['median_main_kib']):>7.1f} {mib(r['peak_tree_kib']):>8.1f} "
              f"{mib(r['median_tree_kib']):>7.1f} {mib(r['hwm_main_kib']):>7.1f}")
    overhead = [f"{n} {s['ratios'][f'{n}_cli_overhead_s'] * 1000:.0f} ms"
                for n in ("berth", "docker") if f"{n}_cli_overhead_s" in s["ratios"]]
    print("CLI overhead (cli wall - api wall): " + ", ".join(overhead))
    if "cli" in s["ratios"]:
        print("berth/docker:")
        for method in ("cli", "api"):
            r = s["ratios"][method]
            print(f"  via {method}: wall {r['wall']:.3f}x, daemon cpu {r['cpu']:.3f}x, peak RSS "
                  f"{r['peak_rss_vs_dockerd']:.3f}x dockerd, "
                  f"{r['peak_rss_vs_docker_tree']:.3f}x dockerd+children")
    f = s["floor"]
    print("floor per layer: sha256(gzip) + gunzip + sha256(tar) + write the tar, fsync at the "
          "end, on the data root's filesystem:")
    print(f"  python (hashlib/OpenSSL sha256, zlib), one process, one pass: "
          f"{f['python']['wall_s']:.3f} s, {f['python']['mbps']:.1f} MB/s "
          f"(fsync {f['python']['fsync_s']:.3f} s)")
    print(f"  python, also writing + fsyncing the compressed blob:          "
          f"{f['python_keep_blob']['wall_s']:.3f} s, {f['python_keep_blob']['mbps']:.1f} MB/s "
          f"(fsync {f['python_keep_blob']['fsync_s']:.3f} s)")
    print(f"  shell (tee>sha256sum, gzip -dc | tee file | sha256sum, sync):  "
          f"{f['shell']['wall_s']:.3f} s, {f['shell']['mbps']:.1f} MB/s")
    best = f[f["best"]]
    pct = ", ".join(f"{k} {r['pct_of_floor']:.1f}%" for k, r in p.items())
    print(f"  floor = {f['best']}: {best['mbps']:.1f} MB/s; pull throughput as % of it: {pct}")
    names = {"openssl": "OpenSSL EVP", "hashlib": "Python hashlib", "mbedtls": "mbedtls"}
    parts = [f"{names[k]} {v['bytes_per_s'] / MB:.0f} MB/s" if v else f"{names[k]} n/a"
             for k, v in speeds.items()]
    print(f"sha256, {HASH_UPDATE // 1024} KiB updates, one core: " + ", ".join(parts)
          + (f" ({speeds['mbedtls']['what']})" if speeds.get("mbedtls") else ""))
    cpu = s["sha256_cpu_s"]
    if cpu:
        print(f"  CPU to hash this image's gzip + tar bytes once ({s['sha256_bytes'] / MB:.1f} MB):"
              " " + ", ".join(f"{names[k]} {v:.3f} s" for k, v in cpu.items()))


def write_json(path, args, plan, img, speeds, pulls, floors, summary, notes):
    """Everything, raw repetitions included, for tools that track figures."""
    versions = {"berthd": program_version([args.berthd, "--version"]),
                "docker_cli": program_version([args.docker_cli, "--version"]),
                "registry": program_version([args.registry_bin, "--version"])}
    if args.compare_docker:
        versions["dockerd"] = program_version([args.dockerd, "--version"])
    for k, v in speeds.items():
        if v:
            versions[f"sha256_{k}"] = v["what"]
    doc = {"mode": "quick" if args.quick else "full", "plan": plan, "versions": versions,
           "image": img.describe(), "sha256_speed_bytes_per_s":
           {k: (v["bytes_per_s"] if v else None) for k, v in speeds.items()},
           "summary": summary, "pulls": pulls, "floors": floors, "notes": notes}
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


# ---- main ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--berthd", default=str(DEFAULT_BERTHD),
                   help="berthd binary (default: %(default)s)")
    p.add_argument("--docker-cli", default=DOCKER_CLI,
                   help="docker CLI for the CLI pulls (default: %(default)s)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help=f"a {QUICK_IMAGE['total_mb']} MiB image, one repetition, no docker "
                      "(CTest)")
    mode.add_argument("--compare-docker", action="store_true",
                      help="also measure Debian's dockerd (installs docker.io if absent)")
    p.add_argument("--reps", type=int, default=3, help="repetitions in full mode (default 3)")
    p.add_argument("--size-mb", type=int, help="image size in MiB (default "
                   f"{FULL_IMAGE['total_mb']}, quick {QUICK_IMAGE['total_mb']})")
    p.add_argument("--layers", type=int, help="layer count (default "
                   f"{FULL_IMAGE['layers']}, quick {QUICK_IMAGE['layers']})")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    p.add_argument("--keep-temp", action="store_true",
                   help="keep the daemons' dirs and logs and the registry")
    args = p.parse_args(argv)
    if args.reps < 1 or (args.size_mb is not None and args.size_mb < 1) \
            or (args.layers is not None and args.layers < 1):
        p.error("--reps, --size-mb and --layers must be at least 1")
    args.berthd = os.path.abspath(args.berthd)
    return args


def make_plan(args):
    size = dict(QUICK_IMAGE if args.quick else FULL_IMAGE)
    if args.size_mb:
        size["total_mb"] = args.size_mb
    if args.layers:
        size["layers"] = args.layers
    return {"reps": 1 if args.quick else args.reps, "image": size,
            "engines": ["berth", "docker"] if args.compare_docker else ["berth"],
            "methods": ["cli", "api"], "sample_interval_s": SAMPLE_INTERVAL,
            "hash_seconds": 0.3 if args.quick else 2.0, "floor_chunk": FLOOR_CHUNK}


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench_pull: must run as root (berthd needs it); skipped", file=sys.stderr)
        return EXIT_SKIP
    for what, path in (("berthd", args.berthd), ("docker CLI", args.docker_cli)):
        if not os.access(path, os.X_OK):
            print(f"bench_pull: no {what} at {path}", file=sys.stderr)
            return 1
    signal.signal(signal.SIGTERM, on_sigterm)
    workroot = Path(tempfile.mkdtemp(prefix="berth-pbench-"))
    notes, reg, pushed_log = [], None, 0
    try:
        plan = make_plan(args)
        images_mod, registry_mod = load_fixtures()
        args.registry_bin = registry_mod.REGISTRY_BIN
        if args.compare_docker:
            args.dockerd = ensure_dockerd()
        reg, img = start_registry(registry_mod, images_mod, str(workroot / "registry"),
                                  plan["image"])
        pushed_log = len(reg.log_text())
        blobs = [Path(l["path"]).read_bytes() for l in img.layers]
        speeds = measure_hash_speeds(plan["hash_seconds"], workroot)
        pulls, floors = run_repetitions(args, plan, img, blobs, workroot, notes)
        summary = summarize(pulls, floors, img, speeds)
        notes += registry_oddities(reg, pushed_log)
        print_report(summary, plan, img, speeds)
        print_notes(notes)
        if args.json:
            write_json(args.json, args, plan, img, speeds, pulls, floors, summary, notes)
        return 0
    except BenchError as e:
        if reg is not None:
            notes += registry_oddities(reg, pushed_log)
        print_notes(notes)
        print(f"bench_pull: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_pull: interrupted", file=sys.stderr)
        return 130
    finally:
        if reg is not None:
            reg.stop()
        if args.keep_temp:
            log(f"kept {workroot}")
        else:
            remove_tree(str(workroot))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
