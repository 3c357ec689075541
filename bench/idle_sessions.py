#!/usr/bin/python3
"""idle_sessions.py - correod's memory per idle SMTP session (issue #8, item 5).

Starts a Release correod (durable, as shipped, delivery off), opens --sessions connections
from this process, reads each greeting, sends EHLO and reads its reply, then holds them all
idle for --hold seconds. correod's VmRSS (/proc/PID/status) is read after one warm-up
session and again while all sessions are held; the difference over the session count is
the memory one idle session costs. Every session is checked to still be open at the end
(no 421, no close).

The client is plain non-blocking sockets with selectors in this script - an io_uring
correo-blast with an idle mode is still to come (issue #8), and holding idle sockets needs
no more than this.

usage: bench/idle_sessions.py [--build build] [--sessions 10000] [--hold 5]
Loopback only; bounded by the session count and the hold time.
"""
import argparse
import os
import resource
import selectors
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


def read_reply(sock, buf):
    """Complete SMTP reply lines at the front of buf (bytes) -> (done, rest)."""
    while b"\r\n" in buf:
        line, buf = buf.split(b"\r\n", 1)
        if len(line) >= 4 and line[3:4] == b" ":
            return line[:3], buf
    return None, buf


def open_sessions(port, n):
    """n sessions through greeting and EHLO, at most 500 in the handshake at once."""
    sel = selectors.DefaultSelector()
    done, pending, started = [], {}, 0
    deadline = time.monotonic() + 120
    while len(done) < n:
        while started < n and len(pending) < 500:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            pending[s] = {"stage": "greeting", "buf": b""}
            sel.register(s, selectors.EVENT_READ)
            started += 1
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(done)} of {n} sessions got through EHLO")
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            st = pending[s]
            try:
                chunk = s.recv(4096)
            except BlockingIOError:
                continue
            if not chunk:
                raise RuntimeError(f"session closed during {st['stage']} after {len(done)} sessions")
            code, st["buf"] = read_reply(s, st["buf"] + chunk)
            if code is None:
                continue
            if st["stage"] == "greeting":
                if code != b"220":
                    raise RuntimeError(f"greeting {code} after {len(done)} sessions")
                s.sendall(b"EHLO idle.bench.test\r\n")
                st["stage"] = "ehlo"
            else:
                if code != b"250":
                    raise RuntimeError(f"EHLO got {code}")
                sel.unregister(s)
                del pending[s]
                done.append(s)
    sel.close()
    return done


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
        import traceback
        warm = open_sessions(d.port, 1)
        time.sleep(1)
        base = rss_kib(d.proc.pid)
        sessions = open_sessions(d.port, args.sessions)
        time.sleep(args.hold)
        held = rss_kib(d.proc.pid)
        alive = 0
        for s in sessions:   # nothing may have been said or closed while idle
            try:
                s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)  # data or EOF: not idle any more
            except BlockingIOError:
                alive += 1
        for s in sessions + warm:
            s.close()
    except Exception:
        traceback.print_exc()
        raise
    finally:
        d.stop()
    per = (held - base) / args.sessions
    print(f"correod RSS: {base} KiB with 1 session, {held} KiB with {args.sessions} more held idle for "
          f"{args.hold:.0f} s; {alive}/{args.sessions} still open and silent")
    print(f"| idle sessions | RSS before (KiB) | RSS holding (KiB) | KiB per idle session | still open |")
    print(f"|---|---|---|---|---|")
    print(f"| {args.sessions} | {base} | {held} | {per:.2f} | {alive}/{args.sessions} |")


if __name__ == "__main__":
    main()
