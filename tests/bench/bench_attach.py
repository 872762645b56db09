#!/usr/bin/python3
"""Attached `docker run` stdout throughput, berthd and optionally dockerd.

`docker run --rm busybox sh -c 'yes LINE | head -c SIZE'` with the CLI
attached (no -d) and its stdout on /dev/null: the container's output goes
through the daemon's attach stream (and its json-file log) to the CLI. The
wall time from the CLI's start to its exit gives MB/s. One more run per
engine goes into a pipe the bench counts, so a short stream can't fake a
high rate.

Prints the figures and the berth/docker ratio (target >= 2x); it never
asserts timings. Exit 1 when a measurement could not be made, 77 when
not root.

    /usr/bin/python3 tests/bench/bench_attach.py [--quick | --compare-docker]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import DEFAULT_BERTHD, EXIT_SKIP, BenchError, ensure_dockerd, log, on_sigterm
from benchlib import print_notes, remove_tree
from benchctr import (DOCKER_CLI, IMAGE, alternating, count_output, load_busybox, make_sides,
                      teardown, wait_quiet)
from bench_run import LINE, LINE_BYTES, LOG_TIMEOUT, MB

TARGET = 2.0


def run_argv(size):
    return ["run", "--rm", IMAGE, "sh", "-c", f"yes {LINE} | head -c {size}"]


def timed_run(side, size):
    """Seconds for one attached run with stdout on /dev/null."""
    t0 = time.perf_counter()
    side.docker(*run_argv(size), timeout=LOG_TIMEOUT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def counted_run(side, size):
    """One attached run into a pipe: every byte and line must arrive."""
    proc = side.popen(*run_argv(size), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    nbytes, nlines, _, err, wall = count_output(proc, LOG_TIMEOUT)
    if proc.returncode != 0 or nbytes != size or nlines != size // LINE_BYTES:
        raise BenchError(f"{side.name}: attached run gave {nbytes}/{size} bytes, {nlines} "
                         f"lines, exit {proc.returncode}, stderr {err[:200]!r}")
    return wall


def measure(sides, size, runs):
    walls = {s.name: [] for s in sides}
    for i in range(runs):
        for side in alternating(sides, i):
            wait_quiet()
            walls[side.name].append(timed_run(side, size))
    out = {}
    for side in sides:
        wait_quiet()
        counted = counted_run(side, size)
        med = statistics.median(walls[side.name])
        out[side.name] = {"mbps": size / MB / med, "median_s": med,
                          "min_s": min(walls[side.name]), "counted_s": counted}
    return out


def report(res, size):
    print(f"\nattached `docker run` stdout, {size >> 20} MiB to /dev/null:")
    for name, r in res.items():
        print(f"  {name:<7} {r['mbps']:8.1f} MB/s  (median {r['median_s']:.2f}s, min "
              f"{r['min_s']:.2f}s; counted into a pipe {r['counted_s']:.2f}s)")
    if "docker" in res:
        ratio = res["berth"]["mbps"] / res["docker"]["mbps"]
        met = "yes" if ratio >= TARGET else "NO"
        print(f"  ratio berth/docker {ratio:.2f}x (target >= {TARGET:g}x): met {met}")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--berthd", default=str(DEFAULT_BERTHD))
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="berth only, 8 MiB, one run")
    mode.add_argument("--compare-docker", action="store_true",
                      help="also measure Debian's dockerd (installs docker.io if absent)")
    p.add_argument("--docker-cli", default=DOCKER_CLI)
    p.add_argument("--mib", type=int, default=512, help="container output (default 512)")
    p.add_argument("--runs", type=int, default=3, help="timed runs per engine (default 3)")
    args = p.parse_args(argv)
    if args.mib < 1 or args.runs < 1:
        p.error("--mib and --runs must be at least 1")
    if args.quick:
        args.mib, args.runs = 8, 1
    args.berthd = os.path.abspath(args.berthd)
    args.berthd_log_level = None
    return args


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench_attach: must run as root; skipped", file=sys.stderr)
        return EXIT_SKIP
    signal.signal(signal.SIGTERM, on_sigterm)
    workroot = Path(tempfile.mkdtemp(prefix="berth-abench-"))
    notes, sides = [], []
    try:
        if args.compare_docker:
            args.dockerd = ensure_dockerd()
        sides = make_sides(args, workroot)
        for side in sides:
            log(f"{side.name}: starting")
            side.engine.start()
        load_busybox(sides, workroot)
        report(measure(sides, args.mib << 20, args.runs), args.mib << 20)
        return 0
    except BenchError as e:
        print(f"bench_attach: {e}", file=sys.stderr)
        return 1
    finally:
        for side in sides:
            teardown(side, False, notes)
        print_notes(notes)
        remove_tree(str(workroot))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
