"""correo_harness - start a real correod on loopback and talk to it.

Used by every tests/integration/test_*.py. Only the standard library is used, and only
/usr/bin/python3 is assumed.

    d = Correod(self, limits={"message_size": 100000})   # registers its own cleanup
    d.start()
    with SmtpClient(d.port) as c:
        c.expect(220)
        c.cmd("EHLO client.test").expect(250)
    d.queue_ids(); d.show(qid); d.count(); d.stop()

Every Correod is registered in a module-level set and killed at interpreter exit as a last
resort, so a failing test never leaves a daemon running. Sockets are loopback only
(127.0.0.1) and every blocking read has a timeout.
"""

import atexit
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD_DIR = os.environ.get("CORREO_BUILD_DIR", os.path.join(SOURCE_ROOT, "build"))
CORREOD = os.environ.get("CORREOD", os.path.join(BUILD_DIR, "correod"))
CORREO_SPOOL = os.environ.get("CORREO_SPOOL", os.path.join(BUILD_DIR, "correo-spool"))
CORREOCTL = os.environ.get("CORREOCTL", os.path.join(BUILD_DIR, "correoctl"))
CORREO_SINK = os.environ.get("CORREO_SINK", os.path.join(BUILD_DIR, "bench", "correo-sink"))
CORREO_BLAST = os.environ.get("CORREO_BLAST", os.path.join(BUILD_DIR, "bench", "correo-blast"))
SHIPPED_CONFIG = os.path.join(SOURCE_ROOT, "config", "correo.toml")

HOSTNAME = "mx.test"          # [server] hostname of every test daemon
SOCKET_TIMEOUT = 10.0         # seconds; every blocking socket read is bounded by this
START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0

ENHANCED_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
QUEUED_RE = re.compile(r"Ok: queued as ([0-9A-Z]{13})\b")

# Our trace header, exactly as session_message.cc writes it (the "for" line only when the
# message has a single recipient).
# With TLS a "(using VERSION with cipher NAME (BITS bits))" line comes before "by", and the
# protocol gains S (TLS) and A (AUTH), RFC 3848.
RECEIVED_RE = re.compile(
    rb"\AReceived: from (?P<helo>[^ \r\n]+) \(unknown \[(?P<ip>[0-9.:a-fA-F]+)\]\)\r\n"
    rb"(?:\t\(using (?P<tls_version>[^ ]+) with cipher (?P<tls_cipher>[^ ]+) \((?P<tls_bits>\d+) bits\)\)\r\n)?"
    rb"\tby (?P<by>[^ \r\n]+) \(correo\) with (?P<proto>(?:ESMTP|SMTP|UTF8SMTP)S?A?) id (?P<id>[0-9A-Z]{13})"
    rb"(?:\r\n\tfor <(?P<for>[^>\r\n]*)>)?;\r\n"
    rb"\t(?P<date>[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000)\r\n")

_live = set()
_live_lock = threading.Lock()


def _kill_all_live():
    with _live_lock:
        daemons = list(_live)
    for d in daemons:
        try:
            d.kill9()
        except Exception:
            pass


atexit.register(_kill_all_live)


# --------------------------------------------------------------------------- helpers

def die_with_parent():
    """preexec_fn: correod gets SIGKILL if the test process dies (e.g. a ctest timeout)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Listening ports come from below the kernel's ephemeral range. A port the kernel hands out
# for bind(0) is one it may next give to any outgoing connection as its local port, and
# load tests (correo-blast, smtp-source) open thousands: a daemon started a moment later
# then fails with "Address already in use". Below the range, only another listener can
# collide, and the bind check below catches one that is already there.
_PORT_LOW = 20000
_PORT_HIGH = max(_PORT_LOW + 1000, _ephemeral_low() - 1)
_port_random = random.Random(os.getpid() ^ int(time.time() * 1000))


def candidate_port():
    """A random port below the ephemeral range (see _PORT_LOW)."""
    return _port_random.randint(_PORT_LOW, _PORT_HIGH)


def free_port():
    """A loopback TCP port that was free a moment ago, below the ephemeral range."""
    for _ in range(500):
        port = candidate_port()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port in %d..%d" % (_PORT_LOW, _PORT_HIGH))


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        out = ['"']
        for ch in v:
            if ch in '"\\':
                out.append("\\" + ch)
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append("\\u%04x" % ord(ch))
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (toml_value(str(k)), toml_value(x)) for k, x in v.items()) + " }"
    raise TypeError("no TOML form for %r" % (v,))


def unescape_spool(text):
    """correo-spool prints control and non-ASCII bytes as \\xNN; undo that (UTF-8 result)."""
    raw = bytearray()
    i = 0
    b = text.encode("ascii", "surrogateescape")
    while i < len(b):
        if b[i:i + 2] == b"\\x" and i + 4 <= len(b):
            raw.append(int(b[i + 2:i + 4], 16))
            i += 4
        else:
            raw.append(b[i])
            i += 1
    return raw.decode("utf-8", "surrogateescape")


def queue_id_value(qid):
    """Crockford base32 text id -> integer (ids sort by time)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    n = 0
    for ch in qid:
        n = n * 32 + alphabet.index(ch)
    return n


def split_received(body):
    """(match of our Received: header, content after it); raises AssertionError if absent."""
    m = RECEIVED_RE.match(body)
    if not m:
        raise AssertionError("stored body does not start with correo's Received: header: %r" % body[:300])
    return m, body[m.end():]


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------- the daemon

def merge_sections(conf, sections):
    """Merge {section: {key: value}} over conf: a value of None removes a key, a section of
    None removes the section, a list (an array of tables) replaces it."""
    for name, keys in sections.items():
        if keys is None:
            conf.pop(name, None)
        elif isinstance(keys, list) or name not in conf:
            conf[name] = keys
        else:
            for k, v in keys.items():
                if v is None:
                    conf[name].pop(k, None)
                else:
                    conf[name][k] = v


class Correod:
    """One correod process with its own temp dir, config, state dir and log file.

    sections: dict of section -> dict of keys, merged over the defaults (a value of None
    removes a default key; a section of None removes the section). raw_toml: text appended
    verbatim after the generated config.
    """

    def __init__(self, testcase=None, sections=None, raw_toml="", log_level="info", workers=2,
                 **section_kw):
        self.port = free_port()
        self.metrics_port = free_port()   # every test daemon gets its own /metrics port
        self.dir = tempfile.mkdtemp(prefix="correo-it-")
        self.state_dir = os.path.join(self.dir, "state")
        self.queue_dir = os.path.join(self.state_dir, "queue")
        self.config_path = os.path.join(self.dir, "correo.toml")
        self.log_path = os.path.join(self.dir, "correod.log")
        self.proc = None
        self._log_offset = 0  # where the current run's log starts
        conf = {
            "server": {"hostname": HOSTNAME, "workers": workers, "state_dir": self.state_dir},
            "listener": [{"address": "127.0.0.1", "port": self.port, "mode": "smtp"}],
            "limits": {},
            "relay": {"domains": {"example.test": ""}, "networks": ["127.0.0.0/8"]},
            # Ingest tests inspect the queue: deliver nothing. DNS, should anything ask,
            # stays on loopback (this machine's resolv.conf names a non-loopback server).
            "delivery": {"queue_only": True},
            # A small reserve: the machine's free disk is not what these tests are about
            # (test_disk_full sets its own).
            "queue": {"min_free_space": 16 * 1024 * 1024},
            "dns": {"servers": ["127.0.0.1:9"]},
            "log": {"format": "kv", "level": log_level},
            "metrics": {"listen": "127.0.0.1:%d" % self.metrics_port},
        }
        merged = dict(sections or {})
        merged.update(section_kw)
        merge_sections(conf, merged)
        self.config = conf
        if conf.get("listener") and "port" in conf["listener"][0]:
            self.port = conf["listener"][0]["port"]   # clients connect to the first listener
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self.render(conf))
            if raw_toml:
                f.write("\n" + raw_toml + "\n")
        with _live_lock:
            _live.add(self)
        if testcase is not None:
            testcase.addCleanup(self.cleanup)

    @staticmethod
    def render(conf):
        out = []
        for name, keys in conf.items():
            tables = keys if isinstance(keys, list) else [keys]
            header = "[[%s]]" % name if isinstance(keys, list) else "[%s]" % name
            for t in tables:
                out.append(header)
                for k, v in t.items():
                    # A key like "partner.test" must be quoted, or TOML reads it as dotted.
                    key = k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else toml_value(k)
                    out.append("%s = %s" % (key, toml_value(v)))
                out.append("")
        return "\n".join(out)

    # ---- lifecycle

    def start(self, timeout=START_TIMEOUT):
        if self.running():
            raise RuntimeError("correod already running")
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            self.proc = subprocess.Popen([CORREOD, "--config", self.config_path], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, close_fds=True, preexec_fn=die_with_parent)
        # Ready = this run logged "started" (listeners bound) and the port takes a connection.
        # The log check matters after kill -9: io_uring tears a dead process's sockets down
        # asynchronously, so the old listener can accept for a few ms after the process is gone.
        started = re.compile(r'event=started\b|"event": ?"started"')
        logs_started = (self.config.get("log") or {}).get("level", "info") in ("debug", "info")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("correod exited with %s before listening:\n%s" % (self.proc.returncode, self.log()))
            if not logs_started or started.search(self.run_log()):
                try:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
                    s.close()
                    return self
                except OSError:
                    pass
            if time.monotonic() > deadline:
                self.kill9()
                raise RuntimeError("correod did not accept connections within %ss:\n%s" % (timeout, self.log()))
            time.sleep(0.02)

    def reload(self, **sections):
        """Merge sections into the config (as the constructor does; raw_toml is not kept),
        rewrite the file, SIGHUP, and return this reload's `event=reloaded what=config` line."""
        merge_sections(self.config, sections)
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self.render(self.config))
        rx = re.compile(r"event=reloaded what=config[^\n]*")
        before = len(rx.findall(self.run_log()))
        self.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: len(rx.findall(self.run_log())) > before)
        return rx.findall(self.run_log())[before]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait; returns the exit code (kills -9 and raises if it hangs)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError("correod did not exit within %ss of SIGTERM:\n%s" % (timeout, self.log()[-4000:]))
        self._wait_port_closed()
        return self.proc.returncode

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            self._wait_port_closed()
        return self.proc.returncode if self.proc is not None else None

    def _wait_port_closed(self, timeout=5.0):
        """After kill -9 the kernel closes io_uring-held sockets a little later than the
        process exit; wait until the port refuses so a restart gets all connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=0.2)
                s.close()
            except OSError:
                return
            time.sleep(0.005)

    def restart(self, timeout=START_TIMEOUT):
        """Same config, same state dir; a running daemon is stopped first (SIGTERM)."""
        if self.running():
            self.stop()
        return self.start(timeout)

    def cleanup(self):
        try:
            self.kill9()
        finally:
            with _live_lock:
                _live.discard(self)
            if os.environ.get("CORREO_KEEP_TMP"):
                print("correo test dir kept: %s" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    # ---- log

    def log(self):
        """The whole log file (every run of this instance)."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def run_log(self):
        """The log of the current (latest) run only."""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=10.0, whole=False):
        """Wait until the (run) log matches a regex; returns the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log() if whole else self.run_log())
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError("log never matched %r:\n%s" % (pattern, self.run_log()[-4000:]))
            time.sleep(0.02)

    # ---- operations: HTTP endpoint and correoctl

    def http_get(self, path, timeout=SOCKET_TIMEOUT):
        """(status, body text) of GET http://127.0.0.1:<metrics port><path>."""
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def scrape(self):
        status, body = self.http_get("/metrics")
        if status != 200:
            raise AssertionError("/metrics answered %d: %s" % (status, body[:500]))
        return body

    def metric(self, name, labels=None, text=None):
        """The value of one sample (labels: a dict that must match exactly), 0.0 when absent."""
        text = self.scrape() if text is None else text
        for sample, value in parse_samples(text):
            if sample[0] == name and sample[1] == (labels or {}):
                return value
        return 0.0

    @property
    def admin_socket(self):
        return os.path.join(self.state_dir, "correo.sock")

    def correoctl(self, *args, check=True, timeout=60):
        """Run correoctl against this daemon's admin socket; returns the CompletedProcess (text)."""
        p = subprocess.run([CORREOCTL, "--admin", "unix:" + self.admin_socket] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, text=True)
        if check and p.returncode != 0:
            raise AssertionError("correoctl %s failed (%d): %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    # ---- queue (correo-spool, read-only, safe while correod runs)

    def spool(self, *args, check=True):
        p = subprocess.run([CORREO_SPOOL, self.queue_dir] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("correo-spool %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                                      p.stderr.decode("utf-8", "replace")))
        return p

    def list(self):
        """[(id, arrival, size, sender, [rcpts])] oldest first; addresses unescaped."""
        out = []
        for line in self.spool("list").stdout.decode("ascii", "replace").splitlines():
            f = line.split(" ")
            n = int(f[4])
            out.append((f[0], f[1], int(f[2]), unescape_spool(f[3][1:-1]), [unescape_spool(r) for r in f[5:5 + n]]))
        return out

    def queue_ids(self):
        return [e[0] for e in self.list()]

    def count(self):
        return int(self.spool("count").stdout.strip())

    def show(self, qid):
        """(envelope dict, body bytes). Envelope values are unescaped text; the repeated
        "recipient" key becomes a list under "recipients_list"."""
        raw = self.spool("show", qid).stdout
        head, sep, body = raw.partition(b"\n\n")
        if not sep:
            raise AssertionError("correo-spool show: no blank line after the envelope: %r" % raw[:500])
        env = {"recipients_list": []}
        for line in head.decode("ascii", "replace").split("\n"):
            key, _, value = line.partition(": ")
            if key == "recipient":
                env["recipients_list"].append(unescape_spool(value))
            else:
                env[key] = unescape_spool(value)
        return env, body


# --------------------------------------------------------------------------- raw SMTP client

class CorreoSink:
    """A correo-sink process (bench/sink/) on address:port with a stats file; extra
    arguments (faults, --dir, --ehlo) as given. stop() sends SIGTERM and returns the exit code."""

    def __init__(self, testcase=None, address="127.0.0.1", port=None, threads=2, args=()):
        self.address = address
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="correo-sink-")
        self.stats_path = os.path.join(self.dir, "stats.json")
        self.log_path = os.path.join(self.dir, "sink.log")
        self.cmd = [CORREO_SINK, "--listen", "%s:%d" % (address, self.port), "--threads", str(threads),
                    "--stats-file", self.stats_path] + list(args)
        self.proc = None
        if testcase is not None:
            testcase.addCleanup(self.cleanup)

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log, preexec_fn=die_with_parent)
        # Ready = its "listening" line: the listeners are bound and listening before it is
        # printed. (No probe connection: the tests count connections.)
        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("correo-sink exited with %s: %s" % (self.proc.returncode, self.log()))
            return "correo-sink: listening on" in self.log()
        wait_until(up, timeout=10)
        return self

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stats(self):
        """The counters as of the last write (every second, and at exit)."""
        import json
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"messages": 0, "recipients": 0, "bytes": 0, "connections": 0, "replies": {}}

    def wait_messages(self, n, timeout=15.0):
        wait_until(lambda: self.stats()["messages"] >= n, timeout=timeout)

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Reply:
    def __init__(self, lines):
        self.lines = lines                     # decoded lines without CRLF
        self.code = int(lines[-1][:3])
        texts = [ln[4:] for ln in lines]
        self.texts = texts
        first = texts[0].split(" ", 1)
        self.enhanced = first[0] if ENHANCED_RE.match(first[0]) else None
        self.text = texts[-1]

    def __repr__(self):
        return "Reply(%r)" % ("\\r\\n".join(self.lines),)

    def queue_id(self):
        m = QUEUED_RE.search(self.text)
        return m.group(1) if m else None


class SmtpClient:
    """A raw SMTP session over a loopback socket: send bytes, read whole replies."""

    def __init__(self, port, timeout=SOCKET_TIMEOUT, greeting=True, source=None, implicit_tls=False):
        """source: a loopback address to connect from (127.x.y.z needs no setup), so one
        daemon sees clients inside and outside relay.networks. implicit_tls: smtps."""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = bytearray()
        self.all_replies = []
        if implicit_tls:
            self.start_tls()
        if greeting:
            self.greeting = self.reply()

    def start_tls(self, server_hostname="mx.test"):
        """Wrap the socket in TLS: after "220 Ready to start TLS", or at once on smtps. No
        certificate check: the tests use throwaway self-signed certificates. Bytes already
        received in the clear would be a server bug (they must not exist), so they fail here."""
        if self.buf:
            raise AssertionError("bytes after the 220 to STARTTLS, before TLS: %r" % bytes(self.buf))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        return self.sock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by correod")
        self.buf += chunk

    def read_line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill()

    def reply(self):
        """One complete reply; multi-line aware (ends at a line whose 4th char is a space)."""
        lines = []
        while True:
            line = self.read_line().decode("utf-8", "replace")
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError("malformed reply line %r" % line)
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                break
            if line[3] != "-":
                raise AssertionError("malformed reply line %r" % line)
        r = Reply(lines)
        self.all_replies.append(r)
        return r

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def expect(self, code, enhanced=None, r=None):
        r = r if r is not None else self.reply()
        if r.code != code or (enhanced is not None and r.enhanced != enhanced):
            raise AssertionError("expected %s %s, got %r" % (code, enhanced or "", r))
        return r

    def ok(self, line, code=250, enhanced=None):
        return self.expect(code, enhanced, self.cmd(line))

    def ehlo(self, name="client.test"):
        return self.ok("EHLO " + name)

    def send_message(self, sender, rcpts, content, ehlo=None, mail_params="", rcpt_params=""):
        """MAIL/RCPT/DATA one by one; content is dot-stuffed here and must end with CRLF.
        Returns the final Reply (250 queued, or the error)."""
        if ehlo:
            self.ehlo(ehlo)
        self.ok("MAIL FROM:<%s>%s" % (sender, (" " + mail_params) if mail_params else ""), 250)
        for r in rcpts:
            self.ok("RCPT TO:<%s>%s" % (r, (" " + rcpt_params) if rcpt_params else ""), 250)
        self.ok("DATA", 354)
        self.send(dot_stuff(content) + b".\r\n")
        return self.reply()

    def is_closed(self, timeout=5.0):
        """True when the peer closed (EOF) within timeout and sent nothing more."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(SOCKET_TIMEOUT)
        if data:
            self.buf += data
            return False
        return True

    def read_until_closed(self, timeout=SOCKET_TIMEOUT):
        """All bytes until EOF (or reset); raises on timeout."""
        deadline = time.monotonic() + timeout
        out = bytearray(self.buf)
        self.buf.clear()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("connection not closed within %ss; got %r" % (timeout, bytes(out[-500:])))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            except socket.timeout:
                continue
            if not chunk:
                break
            out += chunk
        self.sock.settimeout(SOCKET_TIMEOUT)
        return bytes(out)


def dot_stuff(content):
    if isinstance(content, str):
        content = content.encode("utf-8")
    lines = content.split(b"\r\n")
    return b"\r\n".join((b"." + ln) if ln.startswith(b".") else ln for ln in lines)


def parse_replies(data):
    """Split raw reply bytes into Reply objects (for replies read in bulk)."""
    out, lines = [], []
    for raw in data.split(b"\r\n"):
        if not raw:
            continue
        line = raw.decode("utf-8", "replace")
        lines.append(line)
        if len(line) == 3 or line[3:4] == " ":
            out.append(Reply(lines))
            lines = []
    return out


def simple_message(subject="test", body="hello\r\n", extra_headers=""):
    return ("From: <sender@x.test>\r\nTo: <rcpt@example.test>\r\nSubject: %s\r\n%s\r\n%s"
            % (subject, extra_headers, body)).encode("utf-8")


SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_samples(text):
    """[((name, {label: value}), float)] from Prometheus text format (comments skipped)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError("not a Prometheus sample line: %r" % line)
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        out.append(((m.group(1), labels), float(m.group(3))))
    return out


def wait_until(pred, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            return v
        time.sleep(interval)
