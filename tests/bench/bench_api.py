#!/usr/bin/python3
"""API benchmark for berthd, optionally side by side with Docker's dockerd.

Measures requests/s and latency percentiles of GET /_ping and GET /version over
the unix socket with h2load (1 and 16 keep-alive connections), and the
daemon's resident memory when idle and after the load. It prints figures and
never asserts timings: the exit status only says whether the measurements
could be made (1 on failed requests, a daemon that would not start, ...).

Run with the system interpreter, as root:
    /usr/bin/python3 tests/bench/bench_api.py [--quick | --compare-docker]
Standard library only, so it runs wherever berthd builds.
"""

import argparse
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import (DEFAULT_BERTHD, EXIT_SKIP, BenchError, Berth, Docker, apt_install,
                      cpu_pinner, ensure_dockerd, log, mib, on_sigterm, print_notes,
                      program_version, remove_tree)


ENDPOINTS = ("/_ping", "/version")
CONNECTIONS = (1, 16)
# Requests per measurement, by connection count. Full mode is sized for
# stable figures on a noisy 2-core machine; quick mode only keeps the script
# working under CTest.
FULL_REQUESTS = {1: 50_000, 16: 200_000}
QUICK_REQUESTS = {1: 2_000, 16: 5_000}
# Each measurement is preceded by a timed warm-up (h2load -D) of the same
# endpoint and connection count. Its rate also caps the measured run at about
# MAX_SECONDS: dockerd's /version serves a few hundred requests/s, so 200k of
# them would take ten minutes per repetition.
FULL_WARMUP = "2s"
QUICK_WARMUP = "200ms"
MAX_SECONDS = 15.0
MIN_REQUESTS = 2_000     # floor of a capped run, so p99 rests on 20+ samples

H2LOAD_TIMEOUT = 900.0
LATENCY_REQUESTS = 50000  # requests in each logged (latency) run


def ensure_h2load():
    """Return the h2load path, installing Debian's nghttp2-client if needed."""
    if not shutil.which("h2load"):
        apt_install(["nghttp2-client"])
    path = shutil.which("h2load")
    if not path:
        raise BenchError("h2load not found after installing nghttp2-client")
    return path


def pin_plan(mode):
    """(daemon CPUs, client CPUs) for --pin: none, same (both on one CPU) or
    split (daemon on one CPU, h2load on another)."""
    cpus = sorted(os.sched_getaffinity(0))
    if mode == "none":
        return None, None
    if mode == "same":
        return [cpus[0]], [cpus[0]]
    if len(cpus) < 2:
        raise BenchError("--pin split needs two CPUs")
    return [cpus[0]], [cpus[1]]


class Client:
    """The load generator: h2load's path and the CPUs it runs on."""

    def __init__(self, path, cpus=None):
        self.path = path
        self.cpus = cpus


# ---- h2load ------------------------------------------------------------------

def percentile(sorted_values, pct):
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def parse_h2load_stdout(text):
    """Throughput and counters from h2load's summary (None if it printed none)."""
    rps = re.search(r"finished in .*?, ([\d.]+) req/s", text)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    codes = re.search(r"status codes: (\d+) 2xx", text)
    if not (rps and req and codes):
        return None
    total, _, _, succeeded, failed, errored, timeouts = map(int, req.groups())
    return {"rps": float(rps.group(1)), "total": total, "succeeded": succeeded,
            "failed": failed, "errored": errored, "timeout": timeouts,
            "ok_2xx": int(codes.group(1))}


def latencies_from_log(path):
    """Sorted per-request latencies (µs) from h2load's --log-file.

    Columns: start time (µs since epoch), status (-1 for a failed stream),
    µs until end of response. h2load reports no percentiles itself.
    """
    lat, bad = [], 0
    with open(path) as f:
        for line in f:
            cols = line.split("\t")
            if len(cols) < 3:
                continue
            if not cols[1].strip().startswith("2"):
                bad += 1
                continue
            lat.append(int(cols[2]))
    lat.sort()
    return lat, bad


def h2load_command(client, sock, endpoint, conns, amount):
    """Keep-alive HTTP/1.1 over the unix socket, one client thread, no
    pipelining (-m 1): each connection has one request in flight, as a Docker
    client would. amount is ["-n", N] or ["-D", duration]."""
    return [client.path, "--h1", "-B", f"unix:{sock}", "-t", "1", "-m", "1",
            "-c", str(conns), *amount, f"http://localhost{endpoint}"]


def run_h2load(client, cmd, what):
    """Run h2load; raise unless every finished request got a 2xx answer."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=H2LOAD_TIMEOUT,
                             preexec_fn=cpu_pinner(client.cpus))
    except subprocess.TimeoutExpired:
        raise BenchError(f"h2load {what} took over {H2LOAD_TIMEOUT:.0f}s") from None
    summary = parse_h2load_stdout(out.stdout + out.stderr)
    if summary is None:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-5:])
        raise BenchError(f"h2load {what} exited {out.returncode} without a summary:\n{tail}")
    if (out.returncode != 0 or summary["failed"] or summary["errored"] or summary["timeout"]
            or summary["succeeded"] == 0 or summary["ok_2xx"] < summary["succeeded"]):
        raise BenchError(
            f"h2load {what}: {summary['succeeded']}/{summary['total']} succeeded, "
            f"{summary['failed']} failed, {summary['errored']} errored, "
            f"{summary['timeout']} timeout, {summary['ok_2xx']} 2xx (exit {out.returncode})")
    return summary


def warm_up(client, sock, endpoint, conns, duration):
    """Timed warm-up run; returns its rate, which sizes the measured run."""
    cmd = h2load_command(client, sock, endpoint, conns, ["-D", duration])
    return run_h2load(client, cmd, f"warm-up {endpoint} c={conns}")["rps"]


def measure_load(engine, client, endpoint, conns, requests):
    """One measured load: throughput and the daemon's CPU per request from a
    run without per-request logging (h2load writing a log line per request
    costs the client about as much CPU as berthd spends serving it, so a
    logged run measures the client), then p50/p99 from a logged run."""
    what = f"{endpoint} c={conns}"
    cmd = h2load_command(client, engine.sock, endpoint, conns, ["-n", str(requests)])
    cpu_before = engine.cpu_seconds()
    summary = run_h2load(client, cmd, what)
    cpu = engine.cpu_seconds() - cpu_before
    if summary["succeeded"] != requests:
        raise BenchError(f"h2load {what}: {summary['succeeded']}/{requests} succeeded")
    log_file = str(engine.workdir / "h2load.log")
    logged = min(requests, LATENCY_REQUESTS)
    cmd = h2load_command(client, engine.sock, endpoint, conns,
                         ["-n", str(logged), f"--log-file={log_file}"])
    run_h2load(client, cmd, what + " (latency)")
    lat, bad = latencies_from_log(log_file)
    os.unlink(log_file)
    if bad or len(lat) != logged:
        raise BenchError(f"h2load {what}: {len(lat)}/{logged} 2xx rows and {bad} other rows "
                         "in its log")
    return {"requests": requests, "rps": summary["rps"], "p50_us": percentile(lat, 50),
            "p99_us": percentile(lat, 99), "cpu_us_per_req": cpu * 1e6 / requests}


def request_count(target, warm_rps, max_seconds):
    """The target count, cut to about max_seconds at the warm-up's rate."""
    return max(min(target, MIN_REQUESTS), min(target, int(warm_rps * max_seconds)))


# ---- one engine, one repetition ---------------------------------------------

def measure_engine(engine, client, plan):
    """Start engine, read idle RSS, warm up, run every load, read RSS, stop.

    A fresh daemon per repetition makes "idle" mean just started, and keeps
    one engine's state from carrying into the next repetition.
    """
    log(f"{engine.name}: starting")
    engine.start()
    result = {"rss_idle": engine.rss(), "loads": []}
    for endpoint in ENDPOINTS:
        for conns in CONNECTIONS:
            warm_rps = warm_up(client, engine.sock, endpoint, conns, plan["warmup"])
            n = request_count(plan["requests"][conns], warm_rps, plan["max_seconds"])
            log(f"{engine.name}: {endpoint} c={conns} n={n} (warm-up {warm_rps:.0f} req/s)")
            load = measure_load(engine, client, endpoint, conns, n)
            result["loads"].append({"endpoint": endpoint, "conns": conns, **load})
    result["rss_after"] = engine.rss()
    return result


def run_repetitions(args, client, plan, workroot, notes):
    """All repetitions, alternating engine order so drift hits both alike.

    Daemon oddities go to notes even when a repetition fails, since they
    usually explain the failure.
    """
    names = ["berth", "docker"] if args.compare_docker else ["berth"]
    runs = []
    for rep in range(plan["reps"]):
        order = names if rep % 2 == 0 else names[::-1]
        for name in order:
            workdir = Path(workroot) / f"r{rep}-{name}"
            engine = (Berth(workdir, args.berthd) if name == "berth"
                      else Docker(workdir, args.dockerd))
            engine.cpus = plan["daemon_cpus"]
            try:
                result = measure_engine(engine, client, plan)
            finally:
                notes += engine.stop()
                if not args.keep_temp:
                    remove_tree(str(workdir))
            runs.append({"rep": rep, "engine": name, **result})
    return runs


# ---- summary and output -------------------------------------------------------

def summarize(runs):
    """Medians over repetitions, per engine and per (endpoint, conns)."""
    summary = {}
    for name in sorted({r["engine"] for r in runs}, key=lambda n: n != "berth"):
        mine = [r for r in runs if r["engine"] == name]
        rows = []
        for endpoint in ENDPOINTS:
            for conns in CONNECTIONS:
                loads = [l for r in mine for l in r["loads"]
                         if l["endpoint"] == endpoint and l["conns"] == conns]
                rows.append({"endpoint": endpoint, "conns": conns,
                             **{k: statistics.median(l[k] for l in loads)
                                for k in ("requests", "rps", "p50_us", "p99_us",
                                          "cpu_us_per_req")}})
        rss = {f"{when}_{part}": statistics.median(r[f"rss_{when}"][part] for r in mine)
               for when in ("idle", "after") for part in ("main", "tree")}
        summary[name] = {"loads": rows, "rss_kib": rss}
    return summary


def ratios(summary):
    """berth/docker ratios: >1 is better for throughput, <1 for p99 and RSS."""
    if "docker" not in summary:
        return {}
    out = {"loads": []}
    for b, d in zip(summary["berth"]["loads"], summary["docker"]["loads"]):
        out["loads"].append({"endpoint": b["endpoint"], "conns": b["conns"],
                             "throughput": b["rps"] / d["rps"],
                             "p99": b["p99_us"] / d["p99_us"],
                             "cpu_per_req": b["cpu_us_per_req"] / d["cpu_us_per_req"]})
    brss, drss = summary["berth"]["rss_kib"], summary["docker"]["rss_kib"]
    out["rss_idle_vs_dockerd"] = brss["idle_tree"] / drss["idle_main"]
    out["rss_idle_vs_docker_tree"] = brss["idle_tree"] / drss["idle_tree"]
    out["rss_after_vs_docker_tree"] = brss["after_tree"] / drss["after_tree"]
    return out


def print_report(summary, rat, plan):
    """The human-readable table, memory lines and ratios on stdout."""
    print(f"\nmedians of {plan['reps']} repetition(s); requests per run up to "
          + ", ".join(f"c{c}={n}" for c, n in plan["requests"].items())
          + f", cut to ~{plan['max_seconds']:g}s of load; CPU pinning: {plan['pin']}")
    print(f"{'engine':<7} {'endpoint':<9} {'conns':>5} {'requests':>9} {'req/s':>10} "
          f"{'p50(us)':>8} {'p99(us)':>8} {'cpu(us/req)':>11}")
    for name, s in summary.items():
        for row in s["loads"]:
            print(f"{name:<7} {row['endpoint']:<9} {row['conns']:>5} {row['requests']:>9.0f} "
                  f"{row['rps']:>10.0f} {row['p50_us']:>8.0f} {row['p99_us']:>8.0f} "
                  f"{row['cpu_us_per_req']:>11.1f}")
    for name, s in summary.items():
        r = s["rss_kib"]
        if name == "berth":
            print(f"berth idle RSS: {mib(r['idle_main'])} (after load: {mib(r['after_main'])})")
        else:
            print(f"{name} idle RSS: dockerd {mib(r['idle_main'])}, +children "
                  f"{mib(r['idle_tree'])} (after load: dockerd {mib(r['after_main'])}, "
                  f"+children {mib(r['after_tree'])})")
    if rat:
        print("ratios (berth/docker):")
        for l in rat["loads"]:
            print(f"  {l['endpoint']} c{l['conns']}: throughput {l['throughput']:.2f}x, "
                  f"p99 {l['p99']:.3f}x, cpu/req {l['cpu_per_req']:.3f}x")
        print(f"  idle RSS: {rat['rss_idle_vs_dockerd']:.3f}x dockerd, "
              f"{rat['rss_idle_vs_docker_tree']:.3f}x dockerd+children; after load: "
              f"{rat['rss_after_vs_docker_tree']:.3f}x dockerd+children")


def write_json(path, args, plan, client, runs, summary, rat, notes):
    """Everything, raw repetitions included, for tools that track figures."""
    versions = {"berthd": program_version([args.berthd, "--version"]),
                "h2load": program_version([client.path, "--version"])}
    if args.compare_docker:
        versions["dockerd"] = program_version([args.dockerd, "--version"])
    doc = {"mode": "quick" if args.quick else "full", "plan": plan, "versions": versions,
           "summary": summary, "ratios": rat, "runs": runs, "notes": notes}
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


# ---- main ----------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--berthd", default=str(DEFAULT_BERTHD),
                   help="berthd binary (default: %(default)s)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="small request counts, one repetition, no docker (CTest)")
    mode.add_argument("--compare-docker", action="store_true",
                      help="also measure Debian's dockerd (installs docker.io if absent)")
    p.add_argument("--reps", type=int, default=3, help="repetitions in full mode (default 3)")
    p.add_argument("--max-seconds", type=float, default=MAX_SECONDS,
                   help="cut a measured run to about this long (default %(default)g)")
    p.add_argument("--pin", choices=("none", "same", "split"), default="none",
                   help="CPU placement: none (scheduler's choice, default), same (daemon "
                   "and h2load on one CPU) or split (on two CPUs); see README")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    p.add_argument("--keep-temp", action="store_true", help="keep daemon dirs and logs")
    args = p.parse_args(argv)
    if args.reps < 1 or args.max_seconds <= 0:
        p.error("--reps must be at least 1 and --max-seconds positive")
    args.berthd = os.path.abspath(args.berthd)
    return args


def make_plan(args):
    """Request counts, warm-up, repetitions and CPU placement for the run."""
    daemon_cpus, client_cpus = pin_plan(args.pin)
    plan = {"reps": args.reps, "requests": dict(FULL_REQUESTS), "warmup": FULL_WARMUP,
            "max_seconds": args.max_seconds, "pin": args.pin,
            "daemon_cpus": daemon_cpus, "client_cpus": client_cpus}
    if args.quick:
        plan.update(reps=1, requests=dict(QUICK_REQUESTS), warmup=QUICK_WARMUP)
    return plan


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench_api: must run as root (berthd needs it); skipped", file=sys.stderr)
        return EXIT_SKIP
    if not os.access(args.berthd, os.X_OK):
        print(f"bench_api: no berthd at {args.berthd} (use --berthd)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, on_sigterm)
    workroot = tempfile.mkdtemp(prefix="berth-bench-")
    notes = []
    try:
        plan = make_plan(args)
        client = Client(ensure_h2load(), plan["client_cpus"])
        if args.compare_docker:
            args.dockerd = ensure_dockerd()
        runs = run_repetitions(args, client, plan, workroot, notes)
        summary = summarize(runs)
        rat = ratios(summary)
        print_report(summary, rat, plan)
        print_notes(notes)
        if args.json:
            write_json(args.json, args, plan, client, runs, summary, rat, notes)
        return 0
    except BenchError as e:
        print_notes(notes)
        print(f"bench_api: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_api: interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep_temp:
            log(f"kept {workroot}")
        else:
            remove_tree(workroot)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
