#!/usr/bin/python3
"""ingest.py - durable ingest throughput of correod against the smtp-sink ceiling.

Workload (issue 3): Postfix's smtp-source, 1 KiB messages, 100 concurrent sessions, fsync on
(correod as shipped). Each point runs >= --seconds (message count calibrated from a short
run), repeated --reps times, correod and smtp-sink interleaved so machine noise hits both.
The ceiling is smtp-source -> smtp-sink with the same flags (smtp-sink stores nothing).

Reported per point: msgs/s (median of reps), correod CPU seconds per 1000 messages, and
from correod's own stats line (printed at SIGTERM): spool batch sizes (messages per fsync),
WAL fsync latency, and end-of-DATA -> 250 latency p50/p99 (server-side histogram).

With --tools bundled, correo-blast and correo-sink replace smtp-source and smtp-sink
(the reuse workload is then 20 pipelined messages per connection). correo-blast sends faster
than smtp-source, so the ceiling is the generator -> sink rate the bundled tools reach.

With --baseline-build DIR, a correod from another build (an older commit) runs too,
interleaved with the other two, and the table gains its rate and CPU and the ratio
correod / baseline: an A/B of a change's cost on the same machine in the same minutes.

usage: bench/ingest.py [--build build] [--baseline-build DIR] [--reps 3] [--seconds 10]
                       [--sessions 100] [--size 1024] [--tools postfix|bundled]
Loopback only; every run is bounded by its message count and a timeout.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchlib import IngestCorreod, cpu_seconds, free_port, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = "/usr/sbin/smtp-source"
SINK = "/usr/sbin/smtp-sink"


class Sink:
    def __init__(self, args):
        self.port = free_port()
        if args.tools == "bundled":
            cmd = [os.path.join(args.build, "bench", "correo-sink"), "--listen", f"127.0.0.1:{self.port}"]
        else:
            cmd = [SINK, "-u", "nobody", f"127.0.0.1:{self.port}", "1024"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return {}


def blast(port, messages, args, reuse):
    if args.tools == "bundled":
        return correo_blast(port, messages, args, reuse)
    cmd = [SOURCE, "-s", str(args.sessions), "-m", str(messages), "-l", str(args.size),
           "-f", "bench@source.test", "-t", "user@example.test"]
    if reuse:
        cmd.append("-d")
    cmd.append(f"127.0.0.1:{port}")
    start = time.monotonic()
    subprocess.run(cmd, check=True, timeout=600, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def correo_blast(port, messages, args, reuse):
    cmd = [os.path.join(args.build, "bench", "correo-blast"), f"127.0.0.1:{port}", "--sessions", str(args.sessions),
           "--messages", str(messages), "--size", str(args.size), "--json"]
    cmd += ["--per-conn", "20", "--pipelining"] if reuse else ["--per-conn", "1"]
    start = time.monotonic()
    out = subprocess.run(cmd, check=True, timeout=600, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    report = json.loads(out.stdout)
    if report.get("accepted") != messages:
        raise RuntimeError(f"correo-blast: {report.get('accepted')} of {messages} accepted: {out.stdout}")
    return elapsed


def run_point(kind, args, messages, reuse):
    if kind == "sink":
        server = Sink(args)
    else:
        server = IngestCorreod(args.build if kind == "correod" else args.baseline_build)
    cpu0 = cpu_seconds(server.proc.pid)
    elapsed = blast(server.port, messages, args, reuse)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    stats = server.stop()
    if kind != "sink" and int(stats.get("messages", -1)) != messages:
        raise RuntimeError(f"{kind} acknowledged {stats.get('messages')} of {messages} messages")
    return {"rate": messages / elapsed, "elapsed": elapsed, "cpu_per_1000": 1000 * cpu / messages, "stats": stats}


def median_run(runs):
    return sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--baseline-build", help="another build's directory: its correod runs too, for an A/B")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--tools", choices=("postfix", "bundled"), default="postfix",
                    help="load generator and sink: smtp-source/smtp-sink or correo-blast/correo-sink")
    args = ap.parse_args()
    generator, sink_name = ("correo-blast", "correo-sink") if args.tools == "bundled" else ("smtp-source", "smtp-sink")

    kinds = ("sink", "correod", "baseline") if args.baseline_build else ("sink", "correod")
    rows = []
    baseline_rows = []
    for reuse in (False, True):
        if args.tools == "bundled":
            label = "20 msgs per connection, pipelined" if reuse else "1 msg per connection"
        else:
            label = "20+ msgs per connection (-d)" if reuse else "1 msg per connection"
        # Calibrate each target so every counted run lasts >= args.seconds.
        counts = {}
        for kind in kinds:
            probe = run_point(kind, args, 3000, reuse)
            # The probe includes start-up costs and under-estimates: aim at twice the time.
            counts[kind] = max(3000, int(probe["rate"] * args.seconds * 2))
        results = {kind: [] for kind in kinds}
        for rep in range(args.reps):
            for kind in kinds:  # interleaved
                r = run_point(kind, args, counts[kind], reuse)
                results[kind].append(r)
                if r["elapsed"] < args.seconds:
                    print(f"# warning: {kind} run lasted {r['elapsed']:.1f} s < {args.seconds} s", file=sys.stderr)
                print(f"# {label} rep {rep + 1} {kind}: {r['rate']:.0f} msgs/s over {r['elapsed']:.1f} s "
                      f"({counts[kind]} msgs) cpu/1000={r['cpu_per_1000']:.3f}s {r['stats']}", file=sys.stderr)
        sink_rate = statistics.median(r["rate"] for r in results["sink"])
        cor = median_run(results["correod"])
        if args.baseline_build:
            base = median_run(results["baseline"])
            baseline_rows.append((label, base["rate"], cor["rate"], cor["rate"] / base["rate"],
                                  base["cpu_per_1000"], cor["cpu_per_1000"]))
        st = cor["stats"]
        rows.append((label, sink_rate, cor["rate"], cor["rate"] / sink_rate, cor["cpu_per_1000"],
                     st.get("batch_mean", "?"), st.get("batch_p99", "?"), st.get("batch_max", "?"),
                     st.get("fsync_us_p50", "?"), st.get("fsync_us_p99", "?"),
                     st.get("commit_us_p50", "?"), st.get("commit_us_p99", "?"), st.get("commit_us_p999", "?")))

    print(f"{generator}, {args.size} B messages, {args.sessions} sessions, >= {args.seconds:.0f} s per run, "
          f"median of {args.reps}; correod durable (WAL fsync per batch); {os.cpu_count()} CPUs, "
          f"kernel {os.uname().release}\n")
    print(f"| workload | ceiling: {sink_name} msgs/s | correod msgs/s | correod / ceiling | correod CPU s per 1000 msgs "
          "| msgs per fsync mean / p99 / max | WAL write + fsync µs p50 / p99 | end-of-DATA→250 µs p50 / p99 / p99.9 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.0f} | {r[2]:.0f} | {r[3]:.2f}× | {r[4]:.3f} | {r[5]} / {r[6]} / {r[7]} "
              f"| {r[8]} / {r[9]} | {r[10]} / {r[11]} / {r[12]} |")
    if baseline_rows:
        print(f"\nA/B: correod ({args.build}) against the baseline ({args.baseline_build}), same runs\n")
        print("| workload | baseline msgs/s | correod msgs/s | correod / baseline | baseline CPU s per 1000 msgs "
              "| correod CPU s per 1000 msgs |")
        print("|---|---|---|---|---|---|")
        for r in baseline_rows:
            print(f"| {r[0]} | {r[1]:.0f} | {r[2]:.0f} | {r[3]:.2f}× | {r[4]:.3f} | {r[5]:.3f} |")


if __name__ == "__main__":
    main()
