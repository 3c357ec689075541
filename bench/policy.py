#!/usr/bin/python3
"""policy.py - what the anti-spam checks cost (issue 6): durable ingest msgs/s with every
non-DNS check off, with every non-DNS check on, and with a DNSBL lookup per connection
against a local dnsmasq, side by side in one run.

The client (correo-blast, 1 KiB messages) is a stranger: relay.networks does not include it,
so the checks that spare relay clients apply. Setups:
  off        listener checks = [] and reject_invalid_helo = false: no policy work at all
  non-DNS    client allow/deny lists (20 CIDRs each, not matching), per-client and total
             connection limits, connection rate, message rate, HELO syntax + FQDN, recipient
             verification (10,000 addresses), an alias map (1,000 aliases), the tarpit
             (armed, never triggered), header limits and 50 header_checks rules (RE2)
  DNSBL      the non-DNS set plus two DNSBL zones on a dnsmasq at 127.0.0.1, with the
             resolver cache off (dns.cache_entries = 0), so every connection asks
Left out on purpose: greylisting (it defers first attempts: a throughput figure would measure
the deferrals), the pregreet delay (it adds latency by design, not CPU) and milters (their
cost is the milter's; see test_milter.py).

usage: bench/policy.py [--build build] [--reps 3] [--seconds 10] [--sessions 50]
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


def write_maps(directory):
    recipients = os.path.join(directory, "recipients")
    with open(recipients, "w") as f:
        f.write("sink@example.test\n")
        for i in range(10000):
            f.write(f"user{i}@example.test\n")
    aliases = os.path.join(directory, "aliases")
    with open(aliases, "w") as f:
        for i in range(1000):
            f.write(f"list{i}@example.test: user{i}@example.test, user{i + 1}@example.test\n")
    checks = os.path.join(directory, "header_checks")
    with open(checks, "w") as f:
        for i in range(50):
            f.write(f"/^Subject:.*spam-word-{i}\\b/ REJECT 5.7.1 rule {i}\n")
    return recipients, aliases, checks


def non_dns_policy(maps):
    recipients, aliases, checks = maps
    deny = ", ".join(f'"10.{i}.0.0/16"' for i in range(20))
    allow = ", ".join(f'"172.16.{i}.0/24"' for i in range(20))
    return f"""[policy]
client_allow = [{allow}]
client_deny = [{deny}]
max_connections_per_client = 100000
max_connections = 100000
connection_rate = 100000000
message_rate = 100000000
require_fqdn_helo = true
recipients_file = "{recipients}"
aliases_file = "{aliases}"
tarpit_after = 5
header_checks = "{checks}"
"""


def start_dnsmasq():
    port = free_port()
    proc = subprocess.Popen(["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                             "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={port}", "--pid-file=",
                             "--user=" + os.environ.get("USER", "root"), "--cache-size=0", "--local=/test/",
                             "--address=/2.0.0.127.bl.test/127.0.0.2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


def run_point(args, point, maps, dns_port):
    if point == "off":
        extra, listener = "[policy]\nreject_invalid_helo = false\n", "checks = []"
    else:
        extra, listener = non_dns_policy(maps), ""
    dns, dns_toml = '"127.0.0.1:9"', ""
    if point == "DNSBL":
        extra += '[policy.dnsbl]\nsites = ["bl.test=127.0.0.[2..11]", "zen.test*2"]\n'
        dns, dns_toml = f'"127.0.0.1:{dns_port}"', "cache_entries = 0   # a lookup per connection"
    server = IngestCorreod(args.build, extra_toml=extra, networks='"192.0.2.0/24"', dns=dns,
                           listener_toml=listener, dns_toml=dns_toml)
    try:
        cpu0 = cpu_seconds(server.proc.pid)
        cmd = [os.path.join(args.build, "bench", "correo-blast"), f"127.0.0.1:{server.port}", "--duration",
               f"{args.seconds}s", "--timeout", "10s", "--json", "--sessions", str(args.sessions), "--size", "1024",
               "--per-conn", str(args.per_conn), "--pipelining", "--helo", "blast.load.test"]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=args.seconds + 120)
        r = json.loads(out.stdout)
        cpu = cpu_seconds(server.proc.pid) - cpu0
    finally:
        server.stop()
    if r["errors"] or r["rejected"]:
        raise RuntimeError(f"{point}: {r['errors']} errors, {r['rejected']} rejected\n{out.stderr.decode()[-2000:]}")
    r["cpu_per_1000"] = 1000 * cpu / max(1, r["accepted"])
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--sessions", type=int, default=50)
    args = ap.parse_args()
    mapdir = tempfile.mkdtemp(prefix="correo-bench-maps-")
    maps = write_maps(mapdir)
    dns_proc, dns_port = start_dnsmasq()
    workloads = [("1 msg/conn", 1), ("20 msgs/conn", 20)]
    points = ["off", "non-DNS", "DNSBL"]
    results = {(w, p): [] for w, _ in workloads for p in points}
    try:
        for rep in range(args.reps):
            for wname, per_conn in workloads:
                args.per_conn = per_conn
                for p in points:
                    r = run_point(args, p, maps, dns_port)
                    results[(wname, p)].append(r)
                    print(f"# rep {rep + 1} {wname} {p}: {r['msgs_per_s']:.0f}/s cpu/1000={r['cpu_per_1000']:.3f}s "
                          f"p99={r['latency_ms']['p99']}ms", flush=True)
    finally:
        dns_proc.terminate()
        dns_proc.wait()
        shutil.rmtree(mapdir, ignore_errors=True)

    def median(runs):
        return sorted(runs, key=lambda r: r["msgs_per_s"])[len(runs) // 2]

    print(f"\ncorreo-blast, {args.sessions} sessions, 1 KiB, {args.seconds} s per run, median of {args.reps}; "
          f"correod Release, durable queue; {os.cpu_count()} CPUs shared by client and server, "
          f"kernel {os.uname().release}\n")
    print("| workload | checks | msgs/s | vs off | correod CPU s per 1000 msgs | p50 / p99 ms |")
    print("|---|---|---|---|---|---|")
    for wname, _ in workloads:
        base = median(results[(wname, "off")])
        for p in points:
            m = median(results[(wname, p)])
            print(f"| {wname} | {p} | {m['msgs_per_s']:.0f} | {m['msgs_per_s'] / base['msgs_per_s']:.2f}× | "
                  f"{m['cpu_per_1000']:.3f} | {m['latency_ms']['p50']} / {m['latency_ms']['p99']} |")


if __name__ == "__main__":
    main()
