#!/usr/bin/python3
"""tls.py - what TLS costs correod: handshakes/s (full and resumed) and durable ingest
msgs/s over STARTTLS against plaintext, side by side in one run (issue 5).

All load comes from correo-blast (bench/blast/). Every run starts a fresh correod (Release
build, durable queue, delivery off) with a plaintext/STARTTLS listener and an smtps listener,
runs one point for --seconds, and records correod's CPU time. Points are interleaved within
each repetition so machine noise hits them alike; the table shows medians.

  handshakes   connect, [TLS], EHLO, QUIT on the smtps listener (--handshake-only):
               plaintext (no TLS at all) / full handshake / resumed (TLS 1.3 ticket),
               for a P-256 ECDSA and an RSA-2048 certificate
  ingest       1 KiB messages: plaintext vs STARTTLS, one message per connection (a
               handshake per message) and 20 per connection

usage: bench/tls.py [--build build] [--reps 3] [--seconds 10] [--sessions 16]
Loopback only; every run is bounded by --seconds (correo-blast --duration) and a timeout.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

from benchlib import IngestCorreod, cpu_seconds, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_cert(directory, kind):
    cert, key = f"{directory}/{kind}.crt", f"{directory}/{kind}.key"
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "p256" else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-days", "2", "-subj", "/CN=bench.example.test",
                    "-keyout", key, "-out", cert], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def tls_correod(build, cert, key):
    """An ingest correod with STARTTLS on its smtp listener and an smtps listener (no AUTH)."""
    smtps_port = free_port()
    server = IngestCorreod(build, extra_toml=f"""[[listener]]
address = "127.0.0.1"
port = {smtps_port}
mode = "smtps"
auth = false
require_auth = false
[tls]
cert = "{cert}"
key = "{key}"
""", extra_ports=(smtps_port,))
    server.smtps_port = smtps_port
    return server


def blast(build, port, seconds, flags):
    cmd = [os.path.join(build, "bench", "correo-blast"), f"127.0.0.1:{port}", "--duration", f"{seconds}s",
           "--timeout", "10s", "--json", *flags]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=seconds + 120)
    result = json.loads(out.stdout)
    if result["errors"]:
        raise RuntimeError(f"{' '.join(cmd)}: {result['errors']} errors\n{out.stderr.decode()[-2000:]}")
    return result


def run_point(args, cert, point):
    server = tls_correod(args.build, *cert)
    try:
        port = server.smtps_port if point.get("smtps") else server.port
        cpu0 = cpu_seconds(server.proc.pid)
        r = blast(args.build, port, args.seconds, ["--sessions", str(args.sessions), *point["flags"]])
        cpu = cpu_seconds(server.proc.pid) - cpu0
    finally:
        server.stop()
    r["cpu_per_1000"] = 1000 * cpu / max(1, r["accepted"])
    return r


HANDSHAKES = [
    ("plaintext: connect, EHLO, QUIT", {"flags": ["--handshake-only"], "smtps": False}),
    ("full TLS handshake", {"flags": ["--handshake-only", "--implicit-tls"], "smtps": True}),
    ("resumed (TLS 1.3 ticket)", {"flags": ["--handshake-only", "--implicit-tls", "--tls-resume"], "smtps": True}),
]
INGEST = [
    ("1 msg/conn, plaintext", {"flags": ["--size", "1024", "--per-conn", "1", "--pipelining"]}),
    ("1 msg/conn, STARTTLS", {"flags": ["--size", "1024", "--per-conn", "1", "--pipelining", "--starttls"]}),
    ("20 msgs/conn, plaintext", {"flags": ["--size", "1024", "--per-conn", "20", "--pipelining"]}),
    ("20 msgs/conn, STARTTLS", {"flags": ["--size", "1024", "--per-conn", "20", "--pipelining", "--starttls"]}),
]


def median_run(runs):
    return sorted(runs, key=lambda r: r["msgs_per_s"])[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--sessions", type=int, default=16)
    args = ap.parse_args()
    certdir = tempfile.mkdtemp(prefix="correo-bench-certs-")
    certs = {kind: make_cert(certdir, kind) for kind in ("p256", "rsa2048")}
    points = [(f"{kind} {label}", certs[kind], p) for kind in certs for label, p in HANDSHAKES]
    points += [(label, certs["p256"], p) for label, p in INGEST]
    results = {name: [] for name, _, _ in points}
    try:
        for rep in range(args.reps):
            for name, cert, p in points:
                r = run_point(args, cert, p)
                results[name].append(r)
                print(f"# rep {rep + 1} {name}: {r['msgs_per_s']:.0f}/s cpu/1000={r['cpu_per_1000']:.3f}s "
                      f"resumed={r.get('tls_resumed')} p99={r['latency_ms']['p99']}ms", flush=True)
    finally:
        shutil.rmtree(certdir, ignore_errors=True)

    print(f"\ncorreo-blast, {args.sessions} sessions, {args.seconds} s per run, median of {args.reps}; correod "
          f"Release, durable queue, {os.cpu_count()} CPUs shared by client and server, kernel {os.uname().release}\n")
    print("| handshakes (smtps listener) | P-256: per s | correod CPU ms each | RSA-2048: per s | correod CPU ms each |")
    print("|---|---|---|---|---|")
    for label, _ in HANDSHAKES:
        cells = []
        for kind in certs:
            m = median_run(results[f"{kind} {label}"])
            cells += [f"{m['msgs_per_s']:.0f}", f"{m['cpu_per_1000']:.3f}"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\n| ingest, 1 KiB, P-256 | msgs/s | vs plaintext | correod CPU s per 1000 msgs | p50 / p99 ms |")
    print("|---|---|---|---|---|")
    for i, (label, _) in enumerate(INGEST):
        m = median_run(results[label])
        base = median_run(results[INGEST[i - i % 2][0]])
        print(f"| {label} | {m['msgs_per_s']:.0f} | {m['msgs_per_s'] / base['msgs_per_s']:.2f}× | "
              f"{m['cpu_per_1000']:.3f} | {m['latency_ms']['p50']} / {m['latency_ms']['p99']} |")


if __name__ == "__main__":
    main()
