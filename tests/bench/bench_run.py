#!/usr/bin/python3
"""Container benchmark for berthd, optionally side by side with Docker's dockerd.

Both engines get the same busybox image (the integration fixtures' docker
archive, `docker load`ed) and the same work, driven by the real docker CLI
or raw HTTP on the unix socket:

 1. `docker run --rm busybox true`, median wall time of N runs;
 2. create + start + wait + delete over the API on one keep-alive connection;
 3. N parallel `docker run -d busybox sleep 1000`, then one `docker rm -f`
    of them all: total wall time;
 4. memory (PSS) of the daemon and of any per-container helper processes
    while those N containers run; the containers' own processes apart;
 5. `docker logs` of 512 MiB of container output, in MB/s;
 6. GET /_ping latency (p50/p99) while a container floods stdout and a slow
    `docker logs -f` reader is attached.

It prints the figures, the berth/docker ratios and whether each target is
met, and never asserts timings: the exit status only says whether the
measurements could be made (1 on a failed command, a daemon that would not
start, wrong log contents, ...; 77 when not root).

Run with the system interpreter, as root:
    /usr/bin/python3 tests/bench/bench_run.py [--quick | --compare-docker]
Standard library plus tests/integration/fixtures (the busybox image).
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchlib import (DEFAULT_BERTHD, EXIT_SKIP, BenchError, UnixHTTPConnection, cpu_ticks,
                      ensure_dockerd, log, on_sigterm, print_notes, proc_comm, proc_stat,
                      process_table, procs_mentioning, program_version, pss_kib, remove_tree,
                      subtree, wait_gone)
from benchctr import (CLI_TIMEOUT, DOCKER_CLI, IMAGE, QUIET_BUSY, QUIET_STATS, QUIET_TIMEOUT,
                      ApiSession, alternating, blocks, condense, count_output, load_busybox,
                      make_sides, ms, spread, teardown, wait_quiet)

# `yes LINE` writes LINE plus a newline: 64-byte lines, so a size that is a
# multiple of 64 is a whole number of lines.
LINE = ("0123456789abcdef" * 4)[:63]
LINE_BYTES = len(LINE) + 1
MB = 1e6                  # throughput in decimal MB/s of container output
LOG_TIMEOUT = 1800.0      # producing or reading 512 MiB through a slow daemon
WARMUP_RUNS = 2           # untimed runs per engine before figures 1 and 2
PING_INTERVAL = 0.001     # the /_ping client paces itself: one request per ms
FLOOD_READY_BYTES = 4 << 20
FLOOD_LOG_OPTS = ("--log-opt", "max-size=100m", "--log-opt", "max-file=2")
SLOW_CHUNK, SLOW_PAUSE = 4096, 0.01   # the slow follower: ~400 KB/s


FULL = {"runs": 20, "api_runs": 50, "blocks": 2, "parallel": 50, "parallel_reps": 3,
        "log_mib": 512, "log_reads": 3, "pings": 3000, "idle_pings": 1000}
QUICK = {"runs": 5, "api_runs": 5, "blocks": 1, "parallel": 5, "parallel_reps": 1,
         "log_mib": 8, "log_reads": 1, "pings": 300, "idle_pings": 100}

# (key, label, unit, kind, limit): "ratio" targets compare berth/docker with
# limit (<= for times and memory, >= for throughput); "abs" targets compare
# berth's own figure.
TARGETS = (
    ("run_rm_ms", "docker run --rm busybox true", "ms", "ratio", ("<=", 0.4)),
    ("api_cycle_ms", "API create+start+wait+delete", "ms", "ratio", ("<=", 0.1)),
    ("parallel_s", "{parallel}x run -d sleep, then rm -f", "s", "ratio", ("<=", 0.25)),
    ("memory_mib", "daemon PSS, {parallel} running", "MiB", "ratio", ("<=", 0.10)),
    ("logs_mbps", "docker logs of {log_mib} MiB", "MB/s", "ratio", (">=", 10.0)),
    ("ping_p99_ms", "/_ping p99, flood + slow logs -f", "ms", "abs", ("<=", 2.0)),
)

# The slow `docker logs -f` reader: a few KiB at a time with a pause between
# reads, so the daemon's writes to it block; prints what it read at the end.
SLOW_READER = r"""
import os, signal, sys, time
chunk, pause = int(sys.argv[1]), float(sys.argv[2])
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
total = 0
try:
    while True:
        b = os.read(0, chunk)
        if not b:
            break
        total += len(b)
        time.sleep(pause)
finally:
    print(total, flush=True)
"""


# ---- 1. docker run --rm ------------------------------------------------------------

def run_rm_once(side):
    t0 = time.perf_counter()
    out = side.docker("run", "--rm", IMAGE, "true")
    wall = time.perf_counter() - t0
    if out.stdout or out.stderr:
        raise BenchError(f"{side.name}: docker run --rm {IMAGE} true printed "
                         f"{(out.stdout + out.stderr)[:300]!r}")
    return wall


def measure_run_rm(sides, plan, notes):
    """Median wall time of `docker run --rm busybox true`, engines alternating."""
    for side in sides:
        for _ in range(WARMUP_RUNS):
            run_rm_once(side)
    walls = {s.name: [] for s in sides}
    for side, k in blocks(sides, plan["runs"], plan["blocks"]):
        walls[side.name] += [ms(run_rm_once(side)) for _ in range(k)]
    for side in sides:
        left = side.container_ids()
        if left:
            notes.append(f"{side.name}: {len(left)} container(s) left after docker run --rm")
            notes += side.remove_all()
    return {name: spread(w) for name, w in walls.items()}


# ---- 2. API create + start + wait + delete ---------------------------------------------

def api_cycle(sess):
    """One container's life over raw HTTP; per-step times in ms."""
    t0 = time.perf_counter()
    cid = sess.call("POST", "/containers/create", {"Image": IMAGE, "Cmd": ["true"]}, (201,))["Id"]
    t1 = time.perf_counter()
    sess.call("POST", f"/containers/{cid}/start", None, (204,))
    t2 = time.perf_counter()
    res = sess.call("POST", f"/containers/{cid}/wait", None, (200,))
    t3 = time.perf_counter()
    sess.call("DELETE", f"/containers/{cid}", None, (204,))
    t4 = time.perf_counter()
    if res.get("StatusCode") != 0:
        raise BenchError(f"{sess.side.name}: wait reported {res}")
    return {"create": ms(t1 - t0), "start": ms(t2 - t1), "wait": ms(t3 - t2),
            "delete": ms(t4 - t3), "total": ms(t4 - t0)}


def measure_api_cycle(sides, plan):
    """Median create+start+wait+delete time, one keep-alive connection per
    engine, in blocks; the steps' medians come along."""
    sessions = {s.name: ApiSession(s) for s in sides}
    cycles = {s.name: [] for s in sides}
    try:
        for side in sides:
            for _ in range(WARMUP_RUNS):
                api_cycle(sessions[side.name])
        for side, k in blocks(sides, plan["api_runs"], plan["blocks"]):
            cycles[side.name] += [api_cycle(sessions[side.name]) for _ in range(k)]
    finally:
        for sess in sessions.values():
            sess.close()
    return {name: {step: spread([c[step] for c in cs])
                   for step in ("total", "create", "start", "wait", "delete")}
            for name, cs in cycles.items()}


# ---- 3 and 4. parallel runs and memory -------------------------------------------------

def parallel_cli(side, argv, n):
    """n copies of one CLI command at once; (wall seconds, stdouts)."""
    procs = []
    t0 = time.perf_counter()
    try:
        for _ in range(n):
            procs.append(side.popen(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True))
        outs = [p.communicate(timeout=CLI_TIMEOUT) for p in procs]
    except subprocess.TimeoutExpired:
        raise BenchError(f"{side.name}: {n}x docker {' '.join(argv[:3])} took over "
                         f"{CLI_TIMEOUT:.0f}s") from None
    finally:
        for p in procs:      # only on failure are any still running
            if p.poll() is None:
                p.kill()
                p.wait()
    wall = time.perf_counter() - t0
    bad = [(p.returncode, err) for p, (_, err) in zip(procs, outs) if p.returncode != 0]
    if bad:
        raise BenchError(f"{side.name}: {len(bad)}/{n} of docker {' '.join(argv[:3])} failed, "
                         f"first: exit {bad[0][0]}: {bad[0][1].strip()[-500:]}")
    return wall, [o.strip() for o, _ in outs]


def classify(side, table, ctr_pids):
    """The engine's processes: main daemon, its other children (dockerd's
    containerd), per-container helpers (shims: the parents of container
    processes that are not the daemon, and anything naming the engine's
    dirs), and the containers' own processes, which count apart."""
    main = side.engine.proc.pid
    ctr = set().union(*(subtree(table, p) for p in ctr_pids)) if ctr_pids else set()
    tree = subtree(table, main) - ctr
    parents = {table.get(p) for p in ctr_pids} - {main, None, 0, 1}
    naming = set(procs_mentioning(str(side.engine.workdir))) - tree - ctr
    helpers = (parents | naming) - ctr - {main}
    return {"main": {main}, "children": tree - {main} - helpers, "helpers": helpers,
            "containers": ctr}


def memory_snapshot(side, cids=()):
    """PSS in KiB of each process group, with names, for the containers given
    (their State.Pid is each container's PID 1)."""
    ctr_pids = []
    for cid in cids:
        state = side.inspect(cid)["State"]
        if not state.get("Running") or not state.get("Pid"):
            raise BenchError(f"{side.name}: container {cid[:12]} not running: {state}")
        ctr_pids.append(state["Pid"])
    groups = classify(side, process_table(), ctr_pids)
    snap = {g: {"kib": sum(pss_kib(p) for p in pids), "count": len(pids),
                "names": dict(Counter(proc_comm(p) for p in pids))}
            for g, pids in groups.items()}
    snap["pid1_names"] = dict(Counter(proc_comm(p) for p in ctr_pids))
    snap["engine_kib"] = sum(snap[g]["kib"] for g in ("main", "children", "helpers"))
    snap["container_pids"] = groups["containers"]
    return snap


def check_containers_gone(side, cids, ctr_procs, notes):
    """After rm -f: no container left, no container process left."""
    left = set(side.container_ids()) & set(cids)
    if left:
        raise BenchError(f"{side.name}: {len(left)} container(s) still listed after rm -f")
    survivors = wait_gone(ctr_procs, 10.0)
    if survivors:
        notes.append(f"{side.name}: {len(survivors)} container process(es) alive 10s "
                     "after rm -f returned")


def daemon_cpu(side):
    """CPU seconds of the daemon and of dockerd's containerd so far. Not its
    other children: berth's are the containers, whose setup before exec runs
    in the container's own process (as runc's init does under the shim)."""
    main = side.engine.proc.pid
    kids = [p for p, parent in process_table().items()
            if parent == main and proc_comm(p) == "containerd"]
    return (cpu_ticks(main) + sum(cpu_ticks(p) for p in kids)) / os.sysconf("SC_CLK_TCK")


def parallel_once(side, n, notes):
    """n parallel `docker run -d busybox sleep 1000`, memory while they run
    (not timed), then `docker rm -f` of all of them."""
    idle = memory_snapshot(side)
    cpu0 = daemon_cpu(side)
    run_s, cids = parallel_cli(side, ["run", "-d", IMAGE, "sleep", "1000"], n)
    cpu1 = daemon_cpu(side)
    if len(set(cids)) != n or any(len(c) != 64 for c in cids):
        raise BenchError(f"{side.name}: docker run -d printed unexpected IDs: {cids[:3]}")
    mem = memory_snapshot(side, cids)
    procs = {p: st[1] for p in mem.pop("container_pids") if (st := proc_stat(p))}
    idle.pop("container_pids")
    cpu2 = daemon_cpu(side)
    t0 = time.perf_counter()
    side.docker("rm", "-f", *cids)
    rm_s = time.perf_counter() - t0
    cpu3 = daemon_cpu(side)
    check_containers_gone(side, cids, procs, notes)
    return {"run_s": run_s, "rm_s": rm_s, "total_s": run_s + rm_s, "memory": mem, "idle": idle,
            "daemon_cpu_s": (cpu1 - cpu0) + (cpu3 - cpu2)}


def measure_parallel(sides, plan, notes):
    """Parallel run/rm repetitions (engines alternating), and the CLI's own
    cost for as many parallel CLI calls that do little on the daemon."""
    reps = {s.name: [] for s in sides}
    for rep in range(plan["parallel_reps"]):
        for side in alternating(sides, rep):
            log(f"{side.name}: {plan['parallel']} parallel runs, repetition {rep + 1}")
            wait_quiet()
            reps[side.name].append(parallel_once(side, plan["parallel"], notes))
    floor = {s.name: parallel_cli(s, ["version", "--format", "{{.Server.Version}}"],
                                  plan["parallel"])[0] for s in sides}
    return {name: {"reps": r, "cli_floor_s": floor[name]} for name, r in reps.items()}


# ---- 5. docker logs of a big output ----------------------------------------------------

def produce_log(side, size):
    """A detached container writing `size` bytes of 64-byte lines to stdout;
    returns (id, seconds from run to the end of wait)."""
    t0 = time.perf_counter()
    cid = side.docker("run", "-d", IMAGE, "sh", "-c", f"yes {LINE} | head -c {size}").stdout.strip()
    code = side.docker("wait", cid, timeout=LOG_TIMEOUT).stdout.strip()
    wall = time.perf_counter() - t0
    if code != "0":
        raise BenchError(f"{side.name}: the log writer exited {code}")
    return cid, wall


def read_logs_counted(side, cid, size):
    """`docker logs` into a pipe we count: every byte and line must be there
    (a short read would fake a high MB/s)."""
    proc = side.popen("logs", cid, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    nbytes, nlines, head, err, wall = count_output(proc, LOG_TIMEOUT, LINE_BYTES)
    if (proc.returncode != 0 or err or nbytes != size or nlines != size // LINE_BYTES
            or head != (LINE + "\n").encode()):
        raise BenchError(f"{side.name}: docker logs gave {nbytes}/{size} bytes, {nlines} lines, "
                         f"exit {proc.returncode}, stderr {err[:200]!r}, first line {head!r}")
    return wall


def measure_logs(sides, plan):
    """Write the output once per engine, time `docker logs > /dev/null`
    log_reads times, then read it once more counting bytes and lines."""
    size = plan["log_mib"] << 20
    out = {}
    for side in sides:
        log(f"{side.name}: writing {plan['log_mib']} MiB of container output")
        wait_quiet()
        cid, write_s = produce_log(side, size)
        reads = []
        for _ in range(plan["log_reads"]):
            t0 = time.perf_counter()
            side.docker("logs", cid, timeout=LOG_TIMEOUT, stdout=subprocess.DEVNULL)
            reads.append(time.perf_counter() - t0)
        counted = read_logs_counted(side, cid, size)
        api_s, frames = read_logs_api(side, cid, size)
        log_size = log_file_size(side, cid)
        side.docker("rm", "-f", cid)
        out[side.name] = {"bytes": size, "write_s": write_s, "write_mbps": size / MB / write_s,
                          "read_s": spread(reads),
                          "mbps": size / MB / statistics.median(reads),
                          "counted_read_s": counted, "api_read_s": api_s,
                          "api_mbps": size / MB / api_s, "frames": frames,
                          "log_file_bytes": log_size}
    return out


def read_logs_api(side, cid, size):
    """GET /containers/ID/logs over raw HTTP, read in big blocks: the
    daemon's rate without the CLI, which writes every frame out on its own.
    Returns (seconds, frames): a non-tty stream is payload plus an 8-byte
    header per frame, so the header bytes count the frames."""
    conn = UnixHTTPConnection(side.sock, timeout=LOG_TIMEOUT)
    total = 0
    t0 = time.perf_counter()
    try:
        conn.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
        resp = conn.getresponse()
        while chunk := resp.read(1 << 20):
            total += len(chunk)
    except (OSError, http.client.HTTPException) as e:
        raise BenchError(f"{side.name}: GET /containers/{cid[:12]}/logs: {e}") from None
    finally:
        conn.close()
    wall = time.perf_counter() - t0
    if resp.status != 200 or total < size or (total - size) % 8:
        raise BenchError(f"{side.name}: GET logs answered {resp.status} with {total} bytes "
                         f"for {size} bytes of output")
    return wall, (total - size) // 8


def log_path(side, cid):
    """The json-file log of a container (inspect's LogPath)."""
    path = side.inspect(cid).get("LogPath")
    if not path:
        raise BenchError(f"{side.name}: inspect of {cid[:12]} has no LogPath")
    return path


def log_file_size(side, cid):
    try:
        return os.stat(log_path(side, cid)).st_size
    except OSError as e:
        raise BenchError(f"{side.name}: log file of {cid[:12]}: {e}") from None


# ---- 6. /_ping under a log flood ---------------------------------------------------------

def percentile(sorted_values, pct):
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return sorted_values[int(rank) - 1]


def ping_latencies(side, n):
    """n GET /_ping on one keep-alive connection, one per PING_INTERVAL at
    most (paced, so the client does not take a core from the daemon);
    summary in ms."""
    conn = UnixHTTPConnection(side.sock, timeout=30.0)
    lat = []
    next_t = time.perf_counter()
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            conn.request("GET", "/_ping")
            resp = conn.getresponse()
            body = resp.read()
            lat.append(ms(time.perf_counter() - t0))
            if resp.status != 200 or body != b"OK":
                raise BenchError(f"{side.name}: /_ping answered {resp.status} {body[:100]!r}")
            next_t = max(next_t + PING_INTERVAL, time.perf_counter())  # no catching up
            time.sleep(max(0.0, next_t - time.perf_counter()))
    except (OSError, http.client.HTTPException) as e:
        raise BenchError(f"{side.name}: /_ping: {e}") from None
    finally:
        conn.close()
    lat.sort()
    return {"n": n, "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1]}


def written_bytes(pid):
    """Bytes a process has written so far (wchar of /proc/PID/io)."""
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_flowing(side, pid, nbytes, timeout=30.0):
    """Poll until the flooding process has written nbytes: with a 64 KiB
    pipe, that means the daemon is consuming its output (the load is on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (written_bytes(pid) or 0) >= nbytes:
            return
        time.sleep(0.05)
    raise BenchError(f"{side.name}: the flooding container wrote {written_bytes(pid)} bytes "
                     f"in {timeout:.0f}s; its output is not being read")


def start_slow_follower(side, cid):
    """`docker logs -f` into a reader that takes a few KiB at a time."""
    follower = side.popen("logs", "-f", cid, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        reader = subprocess.Popen([sys.executable, "-c", SLOW_READER, str(SLOW_CHUNK),
                                   str(SLOW_PAUSE)], stdin=follower.stdout,
                                  stdout=subprocess.PIPE, text=True)
    except OSError:
        follower.kill()
        follower.wait()
        raise
    finally:
        follower.stdout.close()
    return follower, reader


def stop_slow_follower(follower, reader):
    """Stop the follower, then the reader; returns the bytes it read."""
    for proc in (follower, reader):
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    out = reader.stdout.read()
    reader.stdout.close()
    return int(out.strip() or 0)


def ping_under_flood(side, n):
    """Latency while a container floods stdout (its log rotated, so the disk
    use stays bounded) and a slow follower reads; also how fast the
    container's output went meanwhile (the flood really went on)."""
    cid = side.docker("run", "-d", *FLOOD_LOG_OPTS, IMAGE, "yes", LINE).stdout.strip()
    follower, reader = start_slow_follower(side, cid)
    try:
        pid = side.inspect(cid)["State"]["Pid"]
        wait_flowing(side, pid, FLOOD_READY_BYTES)
        w0, t0 = written_bytes(pid), time.perf_counter()
        lat = ping_latencies(side, n)
        w1, t1 = written_bytes(pid), time.perf_counter()
        running = side.inspect(cid)["State"]["Running"]
    finally:
        slow_bytes = stop_slow_follower(follower, reader)
    side.docker("rm", "-f", cid)
    if not running or w1 is None:
        raise BenchError(f"{side.name}: the flooding container stopped during the pings")
    return {**lat, "flood_mbps": (w1 - w0) / MB / (t1 - t0), "slow_reader_bytes": slow_bytes}


def measure_ping(sides, plan):
    out = {}
    for side in sides:
        log(f"{side.name}: /_ping idle, then under a log flood")
        wait_quiet()
        out[side.name] = {"idle": ping_latencies(side, plan["idle_pings"]),
                          "flood": ping_under_flood(side, plan["pings"])}
    return out


# ---- summary and output -------------------------------------------------------------------

def headline(results, name):
    """The six headline figures of one engine."""
    par = results["parallel"][name]["reps"]
    return {"run_rm_ms": results["run_rm"][name]["median"],
            "api_cycle_ms": results["api"][name]["total"]["median"],
            "parallel_s": statistics.median(r["total_s"] for r in par),
            "memory_mib": median_rep(par)["memory"]["engine_kib"] / 1024,
            "logs_mbps": results["logs"][name]["mbps"],
            "ping_p99_ms": results["ping"][name]["flood"]["p99_ms"]}


def judge(kind, limit, berth, docker):
    """(ratio or None, met: True/False/None when it cannot be judged)."""
    op, bound = limit
    ratio = berth / docker if docker else None
    value = ratio if kind == "ratio" else berth
    if value is None:
        return ratio, None
    return ratio, (value <= bound if op == "<=" else value >= bound)


def summarize(results, names):
    heads = {n: headline(results, n) for n in names}
    rows = []
    for key, label, unit, kind, limit in TARGETS:
        b = heads["berth"][key]
        d = heads["docker"][key] if "docker" in heads else None
        ratio, met = judge(kind, limit, b, d)
        rows.append({"key": key, "label": label, "unit": unit, "berth": b, "docker": d,
                     "ratio": ratio, "target": f"{limit[0]} {limit[1]:g}"
                     + ("x" if kind == "ratio" else f" {unit}"), "met": met})
    return rows


def fmt(v, width, prec):
    return f"{'-':>{width}}" if v is None else f"{v:>{width}.{prec}f}"


def print_table(rows, plan):
    print(f"\n{'figure':<44} {'unit':<5} {'berth':>9} {'dockerd':>9} {'ratio':>7} "
          f"{'target':>10} {'met':>4}")
    for r in rows:
        label = r["label"].format(**plan)
        prec = 1 if r["unit"] in ("ms", "MiB", "MB/s") else 2
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        print(f"{label:<44} {r['unit']:<5} {fmt(r['berth'], 9, prec)} "
              f"{fmt(r['docker'], 9, prec)} {fmt(r['ratio'], 7, 3)} {r['target']:>10} {met:>4}")


def print_details(results, names, plan):
    """Where each figure comes from: steps, phases, memory parts, rates."""
    print("\ndetails (medians; times in ms unless marked):")
    for detail in (detail_run_api, detail_parallel, detail_memory, detail_logs, detail_ping):
        for n in names:
            detail(n, results, plan)


def detail_run_api(n, results, plan):
    rr, api = results["run_rm"][n], results["api"][n]
    steps = ", ".join(f"{s} {api[s]['median']:.2f}" for s in ("create", "start", "wait", "delete"))
    print(f"  {n}: run --rm min {rr['min']:.1f} max {rr['max']:.1f}; API steps: {steps}")


def detail_parallel(n, results, plan):
    par = results["parallel"][n]
    med = {k: statistics.median(r[k] for r in par["reps"])
           for k in ("run_s", "rm_s", "daemon_cpu_s")}
    print(f"  {n}: {plan['parallel']} parallel: run -d phase {med['run_s']:.2f}s, rm -f phase "
          f"{med['rm_s']:.2f}s, daemon CPU (+containerd) {med['daemon_cpu_s']:.2f}s; the CLI's "
          f"own cost ({plan['parallel']} parallel `docker version`): {par['cli_floor_s']:.2f}s")


def detail_logs(n, results, plan):
    lg = results["logs"][n]
    per_frame = lg["bytes"] / max(lg["frames"], 1)
    print(f"  {n}: logs: container wrote {lg['bytes'] >> 20} MiB in {lg['write_s']:.2f}s "
          f"({lg['write_mbps']:.0f} MB/s, log file {lg['log_file_bytes'] / MB:.0f} MB); "
          f"docker logs >/dev/null {lg['read_s']['median']:.2f}s (min {lg['read_s']['min']:.2f}s), "
          f"counted {lg['counted_read_s']:.2f}s; raw API read {lg['api_read_s']:.2f}s "
          f"({lg['api_mbps']:.0f} MB/s, {per_frame:.0f} payload bytes per frame)")


def detail_ping(n, results, plan):
    idle, fl = results["ping"][n]["idle"], results["ping"][n]["flood"]
    print(f"  {n}: /_ping idle p50 {idle['p50_ms']:.3f} p99 {idle['p99_ms']:.3f} max "
          f"{idle['max_ms']:.2f}; under flood (n={fl['n']}) p50 {fl['p50_ms']:.3f} p99 "
          f"{fl['p99_ms']:.3f} max {fl['max_ms']:.2f}; the container wrote "
          f"{fl['flood_mbps']:.0f} MB/s meanwhile, the slow follower read "
          f"{fl['slow_reader_bytes'] / 1024:.0f} KiB")


def names_of(group):
    return ", ".join(f"{k}x{v}" if v > 1 else k for k, v in sorted(group["names"].items()))


def median_rep(reps):
    """The repetition with the median engine PSS (the upper one of two)."""
    return sorted(reps, key=lambda r: r["memory"]["engine_kib"])[len(reps) // 2]


def detail_memory(name, results, plan):
    """PSS parts of the median repetition."""
    rep = median_rep(results["parallel"][name]["reps"])
    mem, idle = rep["memory"], rep["idle"]
    total = mem["engine_kib"]
    n = plan["parallel"]
    per_ctr = (mem["engine_kib"] - idle["engine_kib"]) / n
    parts = [f"{g} {mem[g]['kib'] / 1024:.1f} MiB ({names_of(mem[g]) or 'none'})"
             for g in ("main", "children", "helpers") if mem[g]["count"] or g == "helpers"]
    print(f"  {name}: PSS with {n} running: {total / 1024:.1f} MiB = " + " + ".join(parts)
          + f"; idle {idle['engine_kib'] / 1024:.1f} MiB, {per_ctr:.0f} KiB per container")
    ctr = mem["containers"]
    pid1 = ", ".join(f"{k}x{v}" for k, v in sorted(mem["pid1_names"].items()))
    print(f"  {name}: not counted above, the containers' own processes: "
          f"{ctr['count']} ({pid1} as PID 1), {ctr['kib'] / 1024:.1f} MiB PSS")


def write_json(path, args, plan, results, rows, notes):
    versions = {"berthd": program_version([args.berthd, "--version"]),
                "docker-cli": program_version([args.docker_cli, "--version"])}
    if args.compare_docker:
        versions["dockerd"] = program_version([args.dockerd, "--version"])
    doc = {"mode": "quick" if args.quick else "full", "plan": plan, "versions": versions,
           "table": rows, "results": results, "notes": notes}
    Path(path).write_text(json.dumps(doc, indent=2, default=str) + "\n")


# ---- main ------------------------------------------------------------------------------------

MEASUREMENTS = (("run_rm", measure_run_rm, True), ("api", measure_api_cycle, False),
                ("parallel", measure_parallel, True), ("logs", measure_logs, False),
                ("ping", measure_ping, False))


def run_all(sides, plan, notes):
    results = {}
    for key, fn, takes_notes in MEASUREMENTS:
        log(f"measuring {key}")
        results[key] = fn(sides, plan, notes) if takes_notes else fn(sides, plan)
    return results


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--berthd", default=str(DEFAULT_BERTHD),
                   help="berthd binary (default: %(default)s)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="berth only, small sizes (CTest: bench/run-quick)")
    mode.add_argument("--compare-docker", action="store_true",
                      help="also measure Debian's dockerd (installs docker.io if absent)")
    p.add_argument("--docker-cli", default=DOCKER_CLI, help="docker CLI (default %(default)s)")
    p.add_argument("--runs", type=int, help="runs for figures 1 and 2 (default 20 and 50)")
    p.add_argument("--parallel", type=int, help="parallel containers (default 50)")
    p.add_argument("--log-mib", type=int, help="container output for docker logs (default 512)")
    p.add_argument("--pings", type=int, help="/_ping requests under the flood (default 3000)")
    p.add_argument("--berthd-log-level", choices=("debug", "info", "warn", "error"),
                   help="berthd --log-level (debug: timestamps for profiling)")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    p.add_argument("--keep-temp", action="store_true", help="keep daemon dirs and logs")
    args = p.parse_args(argv)
    if any(v is not None and v < 1 for v in (args.runs, args.parallel, args.log_mib, args.pings)):
        p.error("--runs, --parallel, --log-mib and --pings must be at least 1")
    args.berthd = os.path.abspath(args.berthd)
    return args


def make_plan(args):
    plan = dict(QUICK if args.quick else FULL)
    if args.runs:
        plan["runs"] = plan["api_runs"] = args.runs
    for key in ("parallel", "log_mib", "pings"):
        if getattr(args, key):
            plan[key] = getattr(args, key)
    return plan


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench_run: must run as root (berthd needs it); skipped", file=sys.stderr)
        return EXIT_SKIP
    for what, path in (("berthd", args.berthd), ("docker CLI", args.docker_cli)):
        if not os.access(path, os.X_OK):
            print(f"bench_run: no {what} at {path}", file=sys.stderr)
            return 1
    signal.signal(signal.SIGTERM, on_sigterm)
    workroot = Path(tempfile.mkdtemp(prefix="berth-rbench-"))
    notes, sides = [], []
    try:
        plan = make_plan(args)
        if args.compare_docker:
            args.dockerd = ensure_dockerd()
        sides = make_sides(args, workroot)
        for side in sides:
            log(f"{side.name}: starting")
            side.engine.start()
        load_busybox(sides, workroot)
        results = run_all(sides, plan, notes)
        results["quiet"] = dict(QUIET_STATS)
        if QUIET_STATS["missed"]:
            notes.append(f"the CPUs were never quiet ({QUIET_BUSY:.0%} busy or more) within "
                         f"{QUIET_TIMEOUT:g}s before {QUIET_STATS['missed']} of "
                         f"{QUIET_STATS['waits']} measurement blocks: others' load")
        names = [s.name for s in sides]
        rows = summarize(results, names)
        print_table(rows, plan)
        print_details(results, names, plan)
        for side in sides:
            teardown(side, args.keep_temp, notes)
        sides = []
        print_notes(condense(notes))
        if args.json:
            write_json(args.json, args, plan, results, rows, notes)
        return 0
    except BenchError as e:
        print(f"bench_run: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_run: interrupted", file=sys.stderr)
        return 130
    finally:
        for side in sides:
            teardown(side, args.keep_temp, notes)
        if sides:
            print_notes(condense(notes))
        if args.keep_temp:
            log(f"kept {workroot}")
        else:
            remove_tree(str(workroot))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
