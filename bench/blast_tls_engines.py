#!/usr/bin/python3
"""blast_tls_engines.py - correo-blast's two engines side by side on TLS workloads.

Each run: a fresh Release correod (STARTTLS on its smtp listener, an smtps listener; P-256
certificate; bench/tls.py sets it up), then correo-blast for 5 s with 100 sessions, once
with --engine threads (a blocking thread per session) and once with --engine uring (the
io_uring loops, TLS over memory buffers), alternating, twice. Printed per run: accepted
msgs/s (handshakes/s with --handshake-only), correo-blast's own CPU seconds per 1000
(utime + stime of the child), p99 MAIL -> 250 (or connect -> 221), errors.

usage: bench/blast_tls_engines.py   (after make build; loopback only, about 2 minutes)
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

from tls import make_cert, tls_correod

B = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build")
d = tempfile.mkdtemp(prefix="correo-blast-tls-")
cert, key = make_cert(d, "p256")
print("| workload | engine | msgs/s | correo-blast CPU s per 1000 | p99 ms | errors |")
print("|---|---|---|---|---|---|")
def run(port, flags):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([f"{B}/bench/correo-blast", f"127.0.0.1:{port}", "--duration", "5s", "--sessions", "100", "--json", *flags],
                         capture_output=True, text=True, timeout=120)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    j = json.loads(out.stdout)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return j, cpu
for name, flags in (("STARTTLS, 1 msg/conn", ["--starttls"]), ("STARTTLS, 20 msgs/conn pipelined", ["--starttls", "--per-conn", "20", "--pipelining"]),
                    ("implicit TLS handshakes", ["--implicit-tls", "--handshake-only"])):
    for rep in range(2):
        for eng in ("threads", "uring"):
            s = tls_correod(B, cert, key)
            port = s.smtps_port if "--implicit-tls" in flags else s.port
            j, cpu = run(port, flags + ["--engine", eng])
            s.stop()
            n = j["accepted"]
            print(f"| {name} | {eng} | {j['msgs_per_s']:.0f} | {1000*cpu/max(n,1):.3f} | {j['latency_ms']['p99']:.2f} | {j['errors']} |", flush=True)
shutil.rmtree(d, ignore_errors=True)
