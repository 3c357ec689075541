#!/usr/bin/python3
"""fsync_order.py - prove from the outside that no 250 is sent before its WAL fsync.

correod runs under `strace -f -ttt -T -e trace=fdatasync,fsync` (its sends go through
io_uring and are invisible to strace, so the client records when it sent the final "." and
when it read the 250, on the same wall clock). For every acknowledged message there must be
an fdatasync/fsync that STARTED after the client finished the data and RETURNED before the
client read "250 ... queued as". Exit 0 when that holds for every message, 1 otherwise.

usage: bench/fsync_order.py [--build build] [--messages 200]
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("connection closed")
        lines.append(line)
        if len(line) < 4 or line[3:4] == b" ":
            return b"".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--messages", type=int, default=200)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="correo-fsync-")
    port = free_port()
    conf = os.path.join(tmp, "correo.toml")
    with open(conf, "w") as f:
        f.write(f'[server]\nhostname = "fsync.test"\nstate_dir = "{tmp}/var"\n'
                f'[[listener]]\naddress = "127.0.0.1"\nport = {port}\n'
                f'[relay]\ndomains = {{ "example.test" = "" }}\nnetworks = []\n'
                f'[delivery]\nqueue_only = true\n[dns]\nservers = ["127.0.0.1:9"]\n'
                f'[queue]\nmin_free_space = 16777216\n')
    trace = os.path.join(tmp, "strace.out")
    proc = subprocess.Popen(["strace", "-f", "-ttt", "-T", "-e", "trace=fdatasync,fsync", "-o", trace,
                             os.path.join(args.build, "correod"), "--config", conf],
                            stderr=open(os.path.join(tmp, "log"), "w"))
    deadline = time.time() + 20
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    f = sock.makefile("rb")
    read_reply(f)
    sock.sendall(b"EHLO client.test\r\n")
    read_reply(f)
    windows = []
    for i in range(args.messages):
        sock.sendall(b"MAIL FROM:<s@source.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n")
        for _ in range(3):
            read_reply(f)
        sock.sendall(b"Subject: %d\r\n\r\n" % i + b"x" * 900 + b"\r\n")
        t_dot = time.time()
        sock.sendall(b".\r\n")
        reply = read_reply(f)
        t_ack = time.time()
        if not reply.startswith(b"250 2.0.0 Ok: queued as"):
            raise RuntimeError(f"message {i}: {reply!r}")
        windows.append((t_dot, t_ack))
    sock.sendall(b"QUIT\r\n")
    sock.close()
    # Signal correod itself (strace's child), not strace.
    child = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    for pid in child:
        os.kill(int(pid), signal.SIGTERM)
    proc.wait(timeout=30)

    syncs = []
    pat = re.compile(r"^\d+\s+(\d+\.\d+) (fdatasync|fsync)\(\d+\)\s+= 0 <(\d+\.\d+)>")
    for line in open(trace):
        m = pat.match(line)
        if m:
            start = float(m.group(1))
            syncs.append((start, start + float(m.group(3))))
    covered = sum(1 for (a, b) in windows if any(s >= a and e <= b for (s, e) in syncs))
    print(f"messages acknowledged: {len(windows)}; fdatasync/fsync calls traced: {len(syncs)}; "
          f"acknowledgements preceded by an fsync that began after the data ended: {covered}/{len(windows)}")
    return 0 if covered == len(windows) and windows else 1


if __name__ == "__main__":
    sys.exit(main())
