#!/usr/bin/python3
"""relay.py - end-to-end relay throughput: correod vs Postfix vs direct, side by side.

smtp-source -> RELAY -> smtp-sink, with RELAY = correod (durable, as shipped), a private
Postfix instance (durable as shipped; relayhost = the sink), or nothing (smtp-source ->
smtp-sink direct: the ceiling). 100 sessions; 1 KiB, 10 KiB and 100 KiB messages; the three
interleaved per repetition, median of --reps. A run ends when the sink has received every
message (smtp-sink -M N exits), so the time covers queueing AND delivery.

Loss and duplicates: smtp-source -N gives every message a unique recipient; the sink's dump
(smtp-sink -D) is scanned and every recipient must appear exactly once.
CPU: the relay's own CPU seconds per 1000 messages - correod's process; for Postfix the master
plus every daemon it ran (live children and reaped ones, via cutime/cstime).

usage: bench/relay.py [--build build] [--reps 3] [--messages 20000] [--sizes 1024,10240,102400]
Loopback only. Requires root (Postfix instance, smtp-sink -u).
"""
import argparse
import collections
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE, SINK = "/usr/sbin/smtp-source", "/usr/sbin/smtp-sink"
CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid, children=False):
    """utime+stime (+ cutime+cstime of reaped children when asked), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    t = int(v[11]) + int(v[12]) + (int(v[13]) + int(v[14]) if children else 0)
    return t / CLK


def tree_cpu(root):
    """CPU of a process, its reaped children, and its live children (Postfix: master + daemons)."""
    total = proc_cpu(root, children=True)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid == root:
            total += proc_cpu(int(d), children=True)
    return total


def machine_cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / CLK  # user nice system irq softirq


class Sink:
    def __init__(self, messages, workdir):
        self.port = free_port()
        self.dump = os.path.join(workdir, "sink.dump")
        os.chmod(workdir, 0o777)
        self.proc = subprocess.Popen([SINK, "-u", "nobody", "-M", str(messages), "-D", self.dump, "-m", "1000",
                                      f"127.0.0.1:{self.port}", "1024"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def wait(self, timeout):
        self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def recipients(self):
        counts = collections.Counter()
        with open(self.dump, "rb") as f:
            for line in f:
                if line.startswith(b"X-Rcpt-Args:"):
                    counts[line.split(b":", 1)[1].strip()] += 1
        return counts


class Correod:
    def __init__(self, build, workdir, sink_port):
        self.port = free_port()
        conf = os.path.join(workdir, "correo.toml")
        with open(conf, "w") as f:
            f.write(f"""[server]
hostname = "relay.bench.test"
state_dir = "{workdir}/var"
[[listener]]
address = "127.0.0.1"
port = {self.port}
[relay]
domains = {{ "example.test" = "[127.0.0.1]:{sink_port}" }}
networks = ["127.0.0.0/8"]
[dns]
servers = ["127.0.0.1:9"]
[queue]
min_free_space = 67108864
[metrics]
listen = "127.0.0.1:{free_port()}"
""")
        self.log = open(os.path.join(workdir, "correod.log"), "w")
        self.proc = subprocess.Popen([os.path.join(build, "correod"), "--config", conf], stderr=self.log)
        wait_port(self.port)

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


class Postfix:
    """A private instance: its own config and queue directories, loopback only, no DNS."""

    def __init__(self, workdir, sink_port):
        self.port = free_port()
        self.etc = os.path.join(workdir, "pf-etc")
        os.makedirs(self.etc)
        shutil.copy("/etc/postfix/master.cf", self.etc)
        shutil.copytree("/etc/postfix/dynamicmaps.cf.d", os.path.join(self.etc, "dynamicmaps.cf.d"))
        shutil.copy("/etc/postfix/dynamicmaps.cf", self.etc)
        queue = os.path.join(workdir, "pf-queue")
        data = os.path.join(workdir, "pf-data")
        os.makedirs(queue, mode=0o755)  # postfix check creates what goes inside
        os.makedirs(data, mode=0o700)
        shutil.chown(data, "postfix", "postfix")
        main = {
            "compatibility_level": "3.6", "queue_directory": queue, "data_directory": data,
            "myhostname": "postfix.bench.test", "mydomain": "bench.test", "mydestination": "",
            "inet_interfaces": "127.0.0.1", "inet_protocols": "ipv4", "mynetworks": "127.0.0.0/8",
            "relayhost": f"[127.0.0.1]:{sink_port}", "smtp_dns_support_level": "disabled",
            "smtpd_peername_lookup": "no", "biff": "no", "maillog_file": os.path.join(workdir, "postfix.log"),
            "maillog_file_prefixes": workdir,
            # smtp-source's 100 sessions come from one address: lift the per-client limit.
            "smtpd_client_connection_count_limit": "0", "default_process_limit": "200",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "alias_maps": "", "local_recipient_maps": "",
        }
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write(f"{k} = {v}\n")
        with open(os.path.join(self.etc, "master.cf"), "a") as f:
            f.write(f"127.0.0.1:{self.port} inet n - n - - smtpd\n")
        # Listen only on our port: comment out the default "smtp inet" service.
        text = open(os.path.join(self.etc, "master.cf")).read()
        text = re.sub(r"^smtp\s+inet.*$", "#smtp inet disabled", text, flags=re.M)
        open(os.path.join(self.etc, "master.cf"), "w").write(text)
        # No chroot: a private instance has no copies of /etc inside its queue directory.
        subprocess.run(["postconf", "-c", self.etc, "-F", "*/*/chroot = n"], check=True, capture_output=True)
        for step in ("check", "start"):
            r = subprocess.run(["postfix", "-c", self.etc, step], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"postfix {step}: {r.stdout}{r.stderr}")
        wait_port(self.port)
        with open(os.path.join(queue, "pid", "master.pid")) as f:
            self.master = int(f.read().strip())

    def cpu(self):
        return tree_cpu(self.master)

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
        time.sleep(1)


def run_one(kind, args, size, workdir):
    os.makedirs(workdir)
    sink = Sink(args.messages, workdir)
    relay = None
    if kind == "correod":
        relay = Correod(args.build, workdir, sink.port)
    elif kind == "postfix":
        relay = Postfix(workdir, sink.port)
    port = relay.port if relay else sink.port
    cpu0 = machine_cpu()
    relay_cpu0 = relay.cpu() if relay else 0.0
    t0 = time.monotonic()
    subprocess.run([SOURCE, "-s", str(args.sessions), "-m", str(args.messages), "-l", str(size), "-N",
                    "-f", "bench@source.test", "-t", "user@example.test", f"127.0.0.1:{port}"],
                   check=False, timeout=args.timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # (the sink exits on its last message, so the source may see that last QUIT fail;
    # completeness is judged from the sink dump below)
    ingest = time.monotonic() - t0
    try:
        sink.wait(args.timeout)
    finally:
        elapsed = time.monotonic() - t0
        cpu = machine_cpu() - cpu0
        relay_cpu = (relay.cpu() - relay_cpu0) if relay else 0.0
        if relay:
            relay.stop()
        sink.stop()
    rcpts = sink.recipients()
    lost = args.messages - len(rcpts)
    dups = sum(c - 1 for c in rcpts.values() if c > 1)
    return {"rate": args.messages / elapsed, "ingest_rate": args.messages / ingest, "elapsed": elapsed,
            "cpu": cpu, "relay_cpu": relay_cpu, "lost": lost, "dups": dups}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--sizes", default="1024,10240,102400")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="correo-relay-bench-")
    os.chmod(base, 0o755)  # smtp-sink runs as nobody and writes its dump below
    rows = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            res = collections.defaultdict(list)
            for rep in range(args.reps):
                for kind in ("direct", "correod", "postfix"):
                    r = run_one(kind, args, size, os.path.join(base, f"{size}-{rep}-{kind}"))
                    res[kind].append(r)
                    print(f"# {size} B rep {rep + 1} {kind}: {r['rate']:.0f} msgs/s end-to-end "
                          f"({r['elapsed']:.1f} s; ingest {r['ingest_rate']:.0f}/s) machine cpu {r['cpu']:.1f}s relay cpu {r['relay_cpu']:.2f}s "
                          f"lost {r['lost']} dup {r['dups']}", file=sys.stderr)
            med = {k: sorted(v, key=lambda r: r["rate"])[len(v) // 2] for k, v in res.items()}
            per1k = {k: 1000 * statistics.median(r["relay_cpu"] for r in res[k]) / args.messages
                     for k in ("correod", "postfix")}
            lost = {k: sum(r["lost"] for r in res[k]) for k in res}
            dups = {k: sum(r["dups"] for r in res[k]) for k in res}
            rows.append((size, med, per1k, lost, dups))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"smtp-source -> relay -> smtp-sink, {args.sessions} sessions, {args.messages} messages per run, "
          f"median of {args.reps}; both relays durable as shipped; {os.cpu_count()} CPUs\n")
    print("| size | direct (ceiling) msgs/s | correod msgs/s | Postfix msgs/s | correod / Postfix | correod / ceiling "
          "| relay CPU s per 1000 msgs: correod / Postfix (ratio) | lost / duplicated (correod, Postfix) |")
    print("|---|---|---|---|---|---|---|---|")
    for size, med, per1k, lost, dups in rows:
        c, p, d = med["correod"]["rate"], med["postfix"]["rate"], med["direct"]["rate"]
        ratio = per1k["correod"] / per1k["postfix"] if per1k["postfix"] else float("nan")
        print(f"| {size // 1024} KiB | {d:.0f} | {c:.0f} | {p:.0f} | {c / p:.2f}x | {c / d:.2f}x | "
              f"{per1k['correod']:.3f} / {per1k['postfix']:.3f} ({ratio:.2f}x) | "
              f"{lost['correod']}/{dups['correod']}, {lost['postfix']}/{dups['postfix']} |")


if __name__ == "__main__":
    main()
