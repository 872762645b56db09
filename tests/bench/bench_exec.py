#!/usr/bin/python3
"""Exec benchmark for berthd, optionally side by side with Docker's dockerd.

Each engine runs one busybox container (`sleep 1000`); then, engines
alternating in blocks after a quiet wait, as bench_run.py does:

 1. `docker exec c true` through the stock CLI, median wall time of N
    (target: berth <= 0.5x dockerd);
 2. the same over raw HTTP on one keep-alive connection plus one hijacked
    connection per start, as the CLI's requests (exec create, attached
    start with Upgrade, read to EOF, exec inspect), with per-step medians:
    the daemon's own share without the CLI's process start;
 3. the CLI's floor: `docker version --format {{.Server.Version}}`, a
    command that costs the daemon next to nothing, so 1 minus 3 is
    roughly what exec costs beyond starting a CLI;
 4. stdout throughput of `docker exec c head -c SIZE /dev/zero`.

It prints the figures, the berth/docker ratios and whether the target is
met, and never asserts timings: the exit status only says whether the
measurements could be made (1 on a failed command or wrong output, 77 when
not root).

Run with the system interpreter, as root:
    /usr/bin/python3 tests/bench/bench_exec.py [--quick | --compare-docker]
Standard library plus tests/integration/fixtures (the busybox image); the
daemons, CLI environment and cleanup are bench_run.py's.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchctr import (CLI_TIMEOUT, DOCKER_CLI, IMAGE, QUIET_BUSY, QUIET_STATS, QUIET_TIMEOUT,
                      ApiSession, blocks, condense, load_busybox, make_sides, ms, spread,
                      teardown, wait_quiet)
from benchlib import (DEFAULT_BERTHD, EXIT_SKIP, BenchError, ensure_dockerd, log, on_sigterm,
                      print_notes, program_version, remove_tree)

FULL = {"runs": 50, "blocks": 2, "api_runs": 50, "out_mib": 256}
QUICK = {"runs": 5, "blocks": 1, "api_runs": 5, "out_mib": 8}
WARMUP = 3
TARGET = 0.5  # berth / dockerd for `docker exec c true`
CTR = "benchexec"


# ---- 1. and 3. the CLI -----------------------------------------------------------------

def timed_cli(side, *args):
    t0 = time.perf_counter()
    out = side.docker(*args)
    return time.perf_counter() - t0, out


def exec_true(side):
    wall, out = timed_cli(side, "exec", CTR, "true")
    if out.stdout or out.stderr:
        raise BenchError(f"{side.name}: docker exec true printed {(out.stdout + out.stderr)!r:.300}")
    return ms(wall)


def cli_floor(side):
    wall, out = timed_cli(side, "version", "--format", "{{.Server.Version}}")
    if not out.stdout.strip():
        raise BenchError(f"{side.name}: docker version printed nothing")
    return ms(wall)


def measure_cli(sides, plan, fn):
    for side in sides:
        for _ in range(WARMUP):
            fn(side)
    walls = {s.name: [] for s in sides}
    for side, k in blocks(sides, plan["runs"], plan["blocks"]):
        walls[side.name] += [fn(side) for _ in range(k)]
    return {name: spread(w) for name, w in walls.items()}


# ---- 2. raw HTTP ---------------------------------------------------------------------------

def hijacked_start(side, eid):
    """POST /exec/{id}/start with Upgrade on a new connection (as the CLI
    does); returns the stream's bytes once the daemon closes it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(CLI_TIMEOUT)
    try:
        s.connect(side.sock)
        body = b'{"Detach":false,"Tty":false}'
        s.sendall(b"POST /v1.41/exec/" + eid.encode() + b"/start HTTP/1.1\r\nHost: bench\r\n"
                  b"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise BenchError(f"{side.name}: exec start answered {head[:200]!r}")
    return rest


def api_exec(sess):
    t0 = time.perf_counter()
    eid = sess.call("POST", f"/v1.41/containers/{CTR}/exec",
                    {"Cmd": ["true"], "AttachStdout": True, "AttachStderr": True}, (201,))["Id"]
    t1 = time.perf_counter()
    rest = hijacked_start(sess.side, eid)
    t2 = time.perf_counter()
    info = sess.call("GET", f"/v1.41/exec/{eid}/json")
    t3 = time.perf_counter()
    if rest or info.get("ExitCode") != 0:
        raise BenchError(f"{sess.side.name}: exec true: output {rest!r:.100}, inspect {info}")
    return {"create": ms(t1 - t0), "start": ms(t2 - t1), "inspect": ms(t3 - t2),
            "total": ms(t3 - t0)}


def measure_api(sides, plan):
    sessions = {s.name: ApiSession(s) for s in sides}
    runs = {s.name: [] for s in sides}
    try:
        for side in sides:
            for _ in range(WARMUP):
                api_exec(sessions[side.name])
        for side, k in blocks(sides, plan["api_runs"], plan["blocks"]):
            runs[side.name] += [api_exec(sessions[side.name]) for _ in range(k)]
    finally:
        for sess in sessions.values():
            sess.close()
    return {name: {step: spread([r[step] for r in rs])
                   for step in ("total", "create", "start", "inspect")}
            for name, rs in runs.items()}


# ---- 4. output throughput --------------------------------------------------------------

def measure_output(sides, plan):
    size = plan["out_mib"] << 20
    res = {}
    for side in sides:
        wait_quiet()
        proc = side.popen("exec", CTR, "head", "-c", str(size), "/dev/zero",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = 0
        t0 = time.perf_counter()
        while chunk := os.read(proc.stdout.fileno(), 1 << 20):
            got += len(chunk)
        proc.wait(CLI_TIMEOUT)
        wall = time.perf_counter() - t0
        proc.stdout.close()
        proc.stderr.close()
        if proc.returncode != 0 or got != size:
            raise BenchError(f"{side.name}: exec head -c {size}: exit {proc.returncode}, "
                             f"{got} bytes")
        res[side.name] = {"mbps": size / 1e6 / wall, "seconds": wall}
    return res


# ---- report ----------------------------------------------------------------------------------

def print_report(results, names, plan):
    rows = [
        (f"docker exec c true (median of {plan['runs']})", "ms",
         {n: results["exec"][n]["median"] for n in names}),
        ("API create + hijacked start + inspect", "ms",
         {n: results["api"][n]["total"]["median"] for n in names}),
        ("CLI floor: docker version", "ms", {n: results["floor"][n]["median"] for n in names}),
        (f"docker exec stdout, {plan['out_mib']} MiB", "MB/s",
         {n: results["output"][n]["mbps"] for n in names}),
    ]
    head = f"{'figure':44} {'unit':5}" + "".join(f"{n:>10}" for n in names)
    if len(names) > 1:
        head += f"{'ratio':>8}"
    print(head)
    for label, unit, vals in rows:
        line = f"{label:44} {unit:5}" + "".join(f"{vals[n]:10.1f}" for n in names)
        if len(names) > 1 and vals[names[1]]:
            line += f"{vals[names[0]] / vals[names[1]]:8.2f}"
        print(line)
    if len(names) > 1:
        ratio = rows[0][2][names[0]] / rows[0][2][names[1]]
        verdict = "met" if ratio <= TARGET else "NOT met"
        print(f"\ntarget docker exec c true <= {TARGET}x dockerd: {ratio:.2f}x, {verdict}")
    print("\nper step (API, medians, ms):")
    for n in names:
        a = results["api"][n]
        print(f"  {n:8} create {a['create']['median']:.2f}  start+stream {a['start']['median']:.2f}"
              f"  inspect {a['inspect']['median']:.2f}")
    for n in names:
        e, f = results["exec"][n], results["floor"][n]
        print(f"  {n:8} exec CLI min/median/max {e['min']:.1f}/{e['median']:.1f}/{e['max']:.1f}"
              f"; beyond the CLI floor {e['median'] - f['median']:.1f}")


# ---- main ------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--berthd", default=str(DEFAULT_BERTHD),
                   help="berthd binary (default: %(default)s)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="berth only, small sizes")
    mode.add_argument("--compare-docker", action="store_true",
                      help="also measure Debian's dockerd (installs docker.io if absent)")
    p.add_argument("--docker-cli", default=DOCKER_CLI, help="docker CLI (default %(default)s)")
    p.add_argument("--runs", type=int, help="runs of figures 1-3 (default 50)")
    p.add_argument("--berthd-log-level", choices=("debug", "info", "warn", "error"),
                   help="berthd --log-level (debug: timestamps for profiling)")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    p.add_argument("--keep-temp", action="store_true", help="keep daemon dirs and logs")
    args = p.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        p.error("--runs must be at least 1")
    args.berthd = os.path.abspath(args.berthd)
    return args


def run_all(sides, plan):
    for side in sides:
        side.docker("run", "-d", "--name", CTR, IMAGE, "sleep", "1000")
    results = {}
    for key, fn in (("exec", exec_true), ("floor", cli_floor)):
        log(f"measuring {key}")
        results[key] = measure_cli(sides, plan, fn)
    log("measuring the API")
    results["api"] = measure_api(sides, plan)
    log("measuring output")
    results["output"] = measure_output(sides, plan)
    return results


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench_exec: must run as root (berthd needs it); skipped", file=sys.stderr)
        return EXIT_SKIP
    signal.signal(signal.SIGTERM, on_sigterm)
    workroot = Path(tempfile.mkdtemp(prefix="berth-xbench-"))
    notes, sides = [], []
    try:
        plan = dict(QUICK if args.quick else FULL)
        if args.runs:
            plan["runs"] = plan["api_runs"] = args.runs
        if args.compare_docker:
            args.dockerd = ensure_dockerd()
        sides = make_sides(args, workroot)
        for side in sides:
            log(f"{side.name}: starting")
            side.engine.start()
        load_busybox(sides, workroot)
        results = run_all(sides, plan)
        names = [s.name for s in sides]
        print_report(results, names, plan)
        if QUIET_STATS["missed"]:
            notes.append(f"the CPUs were never quiet ({QUIET_BUSY:.0%} busy or more) within "
                         f"{QUIET_TIMEOUT:g}s before {QUIET_STATS['missed']} of "
                         f"{QUIET_STATS['waits']} measurement blocks: others' load")
        for side in sides:
            teardown(side, args.keep_temp, notes)
        sides = []
        print_notes(condense(notes))
        if args.json:
            versions = {"berthd": program_version([args.berthd, "--version"])}
            if args.compare_docker:
                versions["dockerd"] = program_version([args.dockerd, "--version"])
            Path(args.json).write_text(json.dumps(
                {"plan": plan, "versions": versions, "results": results, "notes": notes},
                indent=2, default=str) + "\n")
        return 0
    except BenchError as e:
        print(f"bench_exec: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_exec: interrupted", file=sys.stderr)
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
