#!/usr/bin/python3
"""compare.py - the same workload through correod, through Postfix and straight into the sink.

The bundled tools drive it: correo-blast sends (100 sessions, one message per connection),
correo-sink receives (one thread, exits after the last expected message). Per message size
and repetition, three runs are interleaved:
  direct    correo-blast -> correo-sink: the ceiling;
  correod   correo-blast -> correod (durable as shipped) -> correo-sink;
  postfix   correo-blast -> a private Postfix (durable as shipped, relayhost = the sink)
            -> correo-sink (bench/relay.py sets the instance up).
Measured: ingest msgs/s (correo-blast's own rate of accepted messages), end-to-end msgs/s
(from the first message sent to the sink's last message received), correo-blast's p99 of
MAIL -> final 250, the relay's CPU seconds per 1000 messages (/proc: correod; Postfix's
master and its processes), and the relay's peak RSS (VmHWM: correod; Postfix: the sum over
its processes alive at the end of the run, as PSS so that the libraries its ~100 processes
share count once).

Writes a markdown table to --md and a PNG chart (gnuplot) to --png; bench/compare.sh runs
it and puts the table into bench/RESULTS.md.

usage: bench/compare.py [--build build] [--reps 3] [--messages 20000] [--sizes 1024,10240,102400]
                        [--sessions 100] [--md FILE] [--png FILE]
Loopback only; every run is bounded by its message count and --timeout. Needs root (Postfix).
"""
import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, wait_port
from relay import Correod, Postfix, proc_cpu, tree_cpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("direct", "correod", "postfix")


def peak_rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def pss_kib(pids):
    """Proportional set size summed over processes: shared pages split between their users,
    so many processes that share libraries are not counted many times over."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def tree_pids(root):
    pids = [root]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == root:
                        pids.append(int(d))
            except OSError:
                pass
    return pids


def run_one(kind, args, size, workdir):
    os.makedirs(workdir)
    sink_port = free_port()
    stats = os.path.join(workdir, "sink.json")
    sink = subprocess.Popen([os.path.join(args.build, "bench", "correo-sink"), "--listen", f"127.0.0.1:{sink_port}",
                             "--threads", "1", "--max-messages", str(args.messages), "--stats-file", stats],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(sink_port)
    relay = None
    if kind == "correod":
        relay = Correod(args.build, workdir, sink_port)
    elif kind == "postfix":
        relay = Postfix(workdir, sink_port)
    port = relay.port if relay else sink_port
    cpu0 = relay.cpu() if relay else 0.0
    t0 = time.monotonic()
    blast = subprocess.run([os.path.join(args.build, "bench", "correo-blast"), f"127.0.0.1:{port}",
                            "--sessions", str(args.sessions), "--messages", str(args.messages), "--size", str(size),
                            "--per-conn", "1", "--json"],
                           capture_output=True, text=True, timeout=args.timeout)
    try:
        sink.wait(timeout=args.timeout)
        elapsed = time.monotonic() - t0
        relay_cpu = relay.cpu() - cpu0 if relay else 0.0
        if kind == "correod":
            rss = peak_rss_kib([relay.proc.pid])
        elif kind == "postfix":
            rss = pss_kib(tree_pids(relay.master))
        else:
            rss = 0
    finally:
        if relay:
            relay.stop()
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    report = json.loads(blast.stdout)
    with open(stats) as f:
        received = json.load(f)["messages"]
    return {"ingest": report["msgs_per_s"], "e2e": args.messages / elapsed, "p99_ms": report["latency_ms"]["p99"],
            "cpu_per_1000": 1000 * relay_cpu / args.messages, "rss_kib": rss, "received": received,
            "accepted": report.get("accepted", args.messages)}


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--sizes", default="1024,10240,102400")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--md", default=os.path.join(ROOT, "bench", "results", "compare.md"))
    ap.add_argument("--png", default=os.path.join(ROOT, "bench", "results", "compare.png"))
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="correo-compare-")
    os.chmod(base, 0o755)
    rows = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            res = collections.defaultdict(list)
            for rep in range(args.reps):
                for kind in KINDS:  # interleaved
                    r = run_one(kind, args, size, os.path.join(base, f"{size}-{rep}-{kind}"))
                    res[kind].append(r)
                    print(f"# {size} B rep {rep + 1} {kind}: ingest {r['ingest']:.0f}/s end-to-end {r['e2e']:.0f}/s "
                          f"p99 {r['p99_ms']:.2f} ms cpu/1000 {r['cpu_per_1000']:.3f}s rss {r['rss_kib']} KiB "
                          f"received {r['received']}", file=sys.stderr, flush=True)
            rows.append((size, {k: {m: median(v, m) for m in ("ingest", "e2e", "p99_ms", "cpu_per_1000", "rss_kib")}
                                for k, v in res.items()},
                         {k: min(r["received"] for r in v) for k, v in res.items()}))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    lines = [f"correo-blast -> relay -> correo-sink, {args.sessions} sessions, 1 message per connection, "
             f"{args.messages} messages per run, median of {args.reps}, interleaved; both relays durable as shipped; "
             f"{os.cpu_count()} CPUs, kernel {os.uname().release}", "",
             "| size | relay | ingest msgs/s | end-to-end msgs/s | vs Postfix | vs ceiling | p99 MAIL→250 ms "
             "| relay CPU s / 1000 msgs | vs Postfix | relay memory MiB (correod peak RSS; Postfix PSS at end) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for size, med, received in rows:
        for kind in KINDS:
            m = med[kind]
            vs_pf = m["e2e"] / med["postfix"]["e2e"]
            vs_ceiling = m["e2e"] / med["direct"]["e2e"]
            cpu_ratio = (m["cpu_per_1000"] / med["postfix"]["cpu_per_1000"]) if kind != "direct" else float("nan")
            lines.append(f"| {size // 1024} KiB | {kind} | {m['ingest']:.0f} | {m['e2e']:.0f} | {vs_pf:.2f}× | "
                         f"{vs_ceiling:.2f}× | {m['p99_ms']:.2f} | "
                         + (f"{m['cpu_per_1000']:.3f} | {cpu_ratio:.2f}× | {m['rss_kib'] / 1024:.0f} |" if kind != "direct"
                            else "– | – | – |"))
        if any(v < args.messages for v in received.values()):
            lines.append(f"| {size // 1024} KiB | **incomplete** | received (min over reps): {received} | | | | | | | |")
    table = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.md), exist_ok=True)
    with open(args.md, "w") as f:
        f.write(table)
    print(table)
    chart(rows, args.png)


def chart(rows, png):
    """Clustered bars: end-to-end msgs/s per size for the ceiling, correod and Postfix."""
    if shutil.which("gnuplot") is None:
        print("# gnuplot not installed: no chart", file=sys.stderr)
        return
    data = os.path.join(os.path.dirname(png), "compare.dat")
    with open(data, "w") as f:
        f.write("# size direct correod postfix\n")
        for size, med, _ in rows:
            f.write(f"{size // 1024}KiB {med['direct']['e2e']:.0f} {med['correod']['e2e']:.0f} {med['postfix']['e2e']:.0f}\n")
    script = f"""set terminal png size 900,500
set output '{png}'
set title 'End-to-end relay throughput (correo-blast -> relay -> correo-sink, 100 sessions)'
set ylabel 'messages/s'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
plot '{data}' using 2:xtic(1) title 'ceiling (direct)', '' using 3 title 'correod', '' using 4 title 'Postfix'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(data)


if __name__ == "__main__":
    main()
