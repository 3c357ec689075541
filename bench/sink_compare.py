#!/usr/bin/python3
"""sink_compare.py - correo-sink against Postfix's smtp-sink as the benchmarks' ceiling.

Workload: Postfix's smtp-source, 1 KiB messages, 100 concurrent sessions, one message per
connection and then 20 per connection (-d ... smtp-source's -m over -s sessions reuses each
connection until done). The two sinks are run interleaved, --reps times each, every run a
fresh sink process; reported: msgs/s (median) and the sink's CPU seconds per 1000 messages
(from /proc/PID/stat). A sink that takes less CPU leaves more of the 2 cores to the load
generator and the relay, so it measures a higher ceiling.

usage: bench/sink_compare.py [--build build] [--reps 3] [--messages 100000] [--sessions 100] [--size 1024]
Loopback only; every run is bounded by its message count and a timeout.
"""
import argparse
import os
import signal
import statistics
import subprocess
import time

from benchlib import cpu_seconds, free_port, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"


def start_sink(kind, build):
    port = free_port()
    if kind == "correo-sink":
        cmd = [os.path.join(build, "bench", "correo-sink"), "--listen", f"127.0.0.1:{port}"]
    else:
        cmd = [SMTP_SINK, "-u", "nobody", "-c", f"127.0.0.1:{port}", "1000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def run_point(kind, args, reuse):
    proc, port = start_sink(kind, args.build)
    try:
        cpu0 = cpu_seconds(proc.pid)
        cmd = [SOURCE, "-s", str(args.sessions), "-m", str(args.messages), "-l", str(args.size),
               "-f", "bench@source.test", "-t", "user@example.test"]
        if reuse:
            cmd.append("-d")
        start = time.monotonic()
        subprocess.run(cmd + [f"127.0.0.1:{port}"], check=True, timeout=600, stdout=subprocess.DEVNULL)
        elapsed = time.monotonic() - start
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    return {"rate": args.messages / elapsed, "cpu_per_1000": 1000 * cpu / args.messages}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    kinds = ("smtp-sink", "correo-sink")
    rows = []
    for reuse in (False, True):
        label = "20+ msgs per connection (-d)" if reuse else "1 msg per connection"
        results = {k: [] for k in kinds}
        for rep in range(args.reps):
            for kind in kinds:  # interleaved
                r = run_point(kind, args, reuse)
                results[kind].append(r)
                print(f"# {label} rep {rep + 1} {kind}: {r['rate']:.0f} msgs/s, sink cpu/1000={r['cpu_per_1000']:.4f}s",
                      flush=True)
        med = {k: (statistics.median(r["rate"] for r in results[k]),
                   statistics.median(r["cpu_per_1000"] for r in results[k])) for k in kinds}
        rows.append((label, med["smtp-sink"], med["correo-sink"]))
    print(f"\nsmtp-source, {args.size} B messages, {args.sessions} sessions, {args.messages} messages per run, "
          f"median of {args.reps}; {os.cpu_count()} CPUs, kernel {os.uname().release}\n")
    print("| workload | smtp-sink msgs/s | correo-sink msgs/s | ratio | smtp-sink CPU s per 1000 msgs "
          "| correo-sink CPU s per 1000 msgs | ratio |")
    print("|---|---|---|---|---|---|---|")
    for label, (pr, pc), (cr, cc) in rows:
        print(f"| {label} | {pr:.0f} | {cr:.0f} | {cr / pr:.2f}× | {pc:.4f} | {cc:.4f} | {cc / pc:.2f}× |")


if __name__ == "__main__":
    main()
