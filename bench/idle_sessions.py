#!/usr/bin/python3
"""idle_sessions.py - correod's memory per idle SMTP session (issue #8, item 5).

Starts a Release correod (durable, as shipped, delivery off), then correo-blast --idle opens
--sessions connections: each reads its greeting, says EHLO and holds the connection silent
for --hold, then QUITs. correod's VmRSS (/proc/PID/status) is read after one warm-up
session, and sampled every 200 ms while correo-blast runs; the largest sample minus the
first, over the session count, is what one idle session costs. correo-blast's report must
show every session held (accepted = sessions, no errors).

usage: bench/idle_sessions.py [--build build] [--sessions 10000] [--hold 5]
Loopback only; bounded by the session count and the hold time.
"""
import argparse
import os
import resource
import json
import subprocess
import socket
import time

from benchlib import IngestCorreod

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=5)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.sessions + 200
    if hard < need:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {need}: raise it (ulimit -Hn) first")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # correod inherits it too

    d = IngestCorreod(args.build)
    try:
        warm = socket.create_connection(("127.0.0.1", d.port))
        warm.recv(512)
        time.sleep(1)
        base = rss_kib(d.proc.pid)
        blast = subprocess.Popen([os.path.join(args.build, "bench", "correo-blast"), f"127.0.0.1:{d.port}", "--idle",
                                  "--sessions", str(args.sessions), "--hold", f"{args.hold:g}s", "--json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held = base
        while blast.poll() is None:
            held = max(held, rss_kib(d.proc.pid))
            time.sleep(0.2)
        out, err = blast.communicate()
        report = json.loads(out)
        warm.close()
    finally:
        d.stop()
    alive = report["accepted"]
    if alive != args.sessions or report["errors"]:
        raise SystemExit(f"correo-blast held {alive} of {args.sessions} sessions: {err}")
    per = (held - base) / args.sessions
    print(f"correod RSS: {base} KiB with 1 session, at most {held} KiB with {args.sessions} more held idle for "
          f"{args.hold:g} s by correo-blast; {alive}/{args.sessions} held through the hold and QUIT cleanly")
    print(f"| idle sessions | RSS before (KiB) | RSS holding (KiB) | KiB per idle session | held |")
    print(f"|---|---|---|---|---|")
    print(f"| {args.sessions} | {base} | {held} | {per:.2f} | {alive}/{args.sessions} |")


if __name__ == "__main__":
    main()
