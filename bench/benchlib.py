"""benchlib.py - helpers the bench scripts share: loopback ports, waiting for a listener, CPU time."""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port(address="127.0.0.1"):
    """A port nobody listens on right now, below the kernel's ephemeral range: a port from
    bind(0) may next become the local port of one of the load generator's connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            high = int(f.read().split()[0]) - 1
    except (OSError, ValueError, IndexError):
        high = 32767
    for _ in range(500):
        port = random.randint(20000, max(21000, high))
        s = socket.socket()
        try:
            s.bind((address, port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port below the ephemeral range")


def wait_port(port, timeout=20, address="127.0.0.1"):
    """Block until something accepts connections on address:port, or raise."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {address}:{port}")


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class IngestCorreod:
    """A fresh Release correod for an ingest benchmark: its own state dir, one smtp listener on
    `port`, relay for example.test from loopback, delivery off (queue_only), durable as
    shipped. extra_toml is appended (more listeners, [tls]); extra_ports are waited for too.
    networks / dns: the relay.networks and dns.servers array contents; listener_toml and
    dns_toml: keys added to the first listener and to [dns].
    stop() returns the fields of correod's event=stats line."""

    def __init__(self, build, extra_toml="", extra_ports=(), networks='"127.0.0.0/8"', dns='"127.0.0.1:9"',
                 listener_toml="", dns_toml=""):
        self.dir = tempfile.mkdtemp(prefix="correo-bench-")
        self.port = free_port()
        conf = os.path.join(self.dir, "correo.toml")
        with open(conf, "w") as f:
            f.write(f"""[server]
hostname = "bench.example.test"
state_dir = "{self.dir}/var"
[[listener]]
address = "127.0.0.1"
port = {self.port}
{listener_toml}
[relay]
domains = {{ "example.test" = "" }}
networks = [{networks}]
[delivery]
queue_only = true   # ingest only
[dns]
servers = [{dns}]
{dns_toml}
[log]
level = "info"   # as shipped: one line per connection and per message
[metrics]
listen = "127.0.0.1:{free_port()}"   # as shipped (on), on a port no other run holds
{extra_toml}""")
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen([os.path.join(build, "correod"), "--config", conf], stderr=self.log)
        for port in (self.port, *extra_ports):
            wait_port(port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        m = re.search(r"event=stats (.*)", text)
        return dict(kv.split("=", 1) for kv in m.group(1).split()) if m else {}
