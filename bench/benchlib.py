"""benchlib.py - helpers the bench scripts share: loopback ports, waiting for a listener, CPU time."""
import os
import socket
import time


def free_port(address="127.0.0.1"):
    """A port nobody listens on right now (bind to 0 and read it back)."""
    s = socket.socket()
    s.bind((address, 0))
    port = s.getsockname()[1]
    s.close()
    return port


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
