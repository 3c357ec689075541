#!/usr/bin/python3
"""blast_compare.py - correo-blast against Postfix's smtp-source as the load generator.

Both send the same workload into the same sink (correo-sink, a fresh process per run): 1 KiB
messages over 100 sessions, one message per connection and then connections reused
(smtp-source -d; correo-blast --per-conn 0), with PIPELINING (smtp-source uses it whenever
it is offered; correo-blast --pipelining). The two generators alternate, --reps times each.
Reported: msgs/s (median) and the generator's own CPU seconds per 1000 messages
(utime + stime from wait4, i.e. /usr/bin/time's figures).

usage: bench/blast_compare.py [--build build] [--reps 3] [--messages 100000] [--sessions 100]
Loopback only; every run is bounded by its message count and a timeout.
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import time

from benchlib import free_port, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = "/usr/sbin/smtp-source"


def run_child(cmd, timeout):
    """Run cmd; (wall seconds, CPU seconds of that child alone, stdout)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    out = p.stdout.read()
    p.stdout.close()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{cmd[0]} failed: {status}")
    return wall, usage.ru_utime + usage.ru_stime, out


def run_point(kind, args, reuse):
    port = free_port()
    sink = subprocess.Popen([os.path.join(args.build, "bench", "correo-sink"), "--listen", f"127.0.0.1:{port}",
                             "--threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    try:
        if kind == "smtp-source":
            cmd = [SOURCE, "-s", str(args.sessions), "-m", str(args.messages), "-l", "1024",
                   "-f", "bench@source.test", "-t", "user@example.test"] + (["-d"] if reuse else []) + [f"127.0.0.1:{port}"]
        else:
            cmd = [os.path.join(args.build, "bench", "correo-blast"), f"127.0.0.1:{port}", "--sessions", str(args.sessions),
                   "--messages", str(args.messages), "--size", "1024", "--pipelining", "--json",
                   "--per-conn", "0" if reuse else "1"]
        wall, cpu, out = run_child(cmd, 600)
        if kind == "correo-blast":
            r = json.loads(out)
            if r["accepted"] != args.messages:
                raise RuntimeError(f"correo-blast: {r['accepted']} of {args.messages} accepted")
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
    return {"rate": args.messages / wall, "cpu_per_1000": 1000 * cpu / args.messages}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--sessions", type=int, default=100)
    args = ap.parse_args()
    kinds = ("smtp-source", "correo-blast")
    rows = []
    for reuse in (False, True):
        label = "connections reused (-d / --per-conn 0)" if reuse else "1 msg per connection"
        res = {k: [] for k in kinds}
        for rep in range(args.reps):
            for kind in kinds:
                r = run_point(kind, args, reuse)
                res[kind].append(r)
                print(f"# {label} rep {rep + 1} {kind}: {r['rate']:.0f} msgs/s, cpu/1000={r['cpu_per_1000']:.4f}s",
                      flush=True)
        med = {k: (statistics.median(x["rate"] for x in v), statistics.median(x["cpu_per_1000"] for x in v))
               for k, v in res.items()}
        rows.append((label, med["smtp-source"], med["correo-blast"]))
    print(f"\n1024 B messages, {args.sessions} sessions, {args.messages} messages per run, into correo-sink "
          f"(1 thread), median of {args.reps}; {os.cpu_count()} CPUs\n")
    print("| workload | smtp-source msgs/s | correo-blast msgs/s | ratio | smtp-source CPU s per 1000 msgs "
          "| correo-blast CPU s per 1000 msgs | ratio |")
    print("|---|---|---|---|---|---|---|")
    for label, (sr, sc), (br, bc) in rows:
        print(f"| {label} | {sr:.0f} | {br:.0f} | {br / sr:.2f}× | {sc:.4f} | {bc:.4f} | {bc / sc:.2f}× |")


if __name__ == "__main__":
    main()
