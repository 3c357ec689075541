"""benchlib.py - helpers the bench scripts share: loopback ports and waiting for a listener."""
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
