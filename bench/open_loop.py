#!/usr/bin/python3
"""open_loop.py - latency under a steady offered load (issue #8: p99 end-of-DATA -> 250 at
half of correod's maximum rate).

First a closed-loop run finds correod's maximum ingest rate with correo-blast (100
sessions, 1 KiB, one message per connection). Then correo-blast offers --fraction of that
rate in open loop (--rate) for --seconds against a fresh correod. Reported: the rate
achieved, correo-blast's MAIL -> final 250 percentiles, and correod's own end-of-DATA -> 250
percentiles (its event=stats line: from the end of the data to the spool's durable
completion).

usage: bench/open_loop.py [--build build] [--fraction 0.5] [--seconds 10] [--sessions 100]
Loopback only; every run is bounded by its duration.
"""
import argparse
import json
import os
import subprocess

from benchlib import IngestCorreod

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blast(build, port, args, extra):
    cmd = [os.path.join(build, "bench", "correo-blast"), f"127.0.0.1:{port}", "--sessions", str(args.sessions),
           "--size", "1024", "--per-conn", "1", "--json"] + extra
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--fraction", type=float, default=0.5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--sessions", type=int, default=100)
    args = ap.parse_args()

    d = IngestCorreod(args.build)
    try:
        peak = blast(args.build, d.port, args, ["--duration", f"{args.seconds}s"])
    finally:
        d.stop()
    rate = peak["msgs_per_s"] * args.fraction
    d = IngestCorreod(args.build)
    try:
        run = blast(args.build, d.port, args, ["--duration", f"{args.seconds}s", "--rate", f"{rate:.0f}"])
    finally:
        stats = d.stop()
    lat = run["latency_ms"]
    print(f"closed loop (max): {peak['msgs_per_s']:.0f} msgs/s; open loop at {args.fraction:.2f} of it: "
          f"offered {rate:.0f}/s, achieved {run['msgs_per_s']:.0f}/s, errors {run['errors']}\n")
    print("| offered msgs/s | achieved msgs/s | blast MAIL→250 ms p50 / p99 / p99.9 "
          "| correod end-of-DATA→250 µs p50 / p99 / p99.9 | msgs per fsync mean |")
    print("|---|---|---|---|---|")
    print(f"| {rate:.0f} | {run['msgs_per_s']:.0f} | {lat['p50']:.2f} / {lat['p99']:.2f} / {lat['p999']:.2f} "
          f"| {stats.get('commit_us_p50')} / {stats.get('commit_us_p99')} / {stats.get('commit_us_p999')} "
          f"| {stats.get('batch_mean')} |")


if __name__ == "__main__":
    main()
