"""peers - the other side of outbound delivery: SMTP sinks and a DNS server, loopback only.

    dns = Dnsmasq(mx=[("dest.test", "mx1.test", 10)], hosts=[("mx1.test", "127.0.0.11")],
                  null_mx=["nullmx.test"], nxdomain=["nx.test"])
    dns.start(); dns.server            # "127.0.0.1:PORT", for [dns] servers
    sink = Sink("127.0.0.11", port, pipelining=True, fail_data_first=2)
    sink.start(); sink.wait_messages(1); sink.messages[0].data; sink.stop()

Dnsmasq runs /usr/sbin/dnsmasq on 127.0.0.1 with no upstream (--no-resolv): it answers only
from its command line, and every name under the zones in `local` that it does not know gets
NXDOMAIN. Sink is an aiosmtpd SMTP server (Debian python3-aiosmtpd, /usr/bin/python3) on its
own asyncio loop in a background thread, recording every connection (raw reads, with times),
every command hook and every accepted message, with programmable faults.

Everything is bounded: sockets have timeouts, sinks stop accepting after max_messages, and
both classes register their own cleanup with a unittest.TestCase when given one (and are
stopped at interpreter exit as a last resort).
"""

import asyncio
import atexit
import logging
import os
import random
import socket
import ssl
import struct
import subprocess
import threading
import time

from aiosmtpd.smtp import SMTP

from correo_harness import candidate_port, die_with_parent

DNSMASQ = "/usr/sbin/dnsmasq"

# aiosmtpd logs every command at INFO and a traceback per reset connection; tests read the
# sink's own records instead.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

_live = set()
_live_lock = threading.Lock()


def _stop_all_live():
    with _live_lock:
        peers = list(_live)
    for p in peers:
        try:
            p.stop()
        except Exception:
            pass


atexit.register(_stop_all_live)


def free_port(address="127.0.0.1", udp=False, tcp=True, also=()):
    """A port free a moment ago on `address` (TCP and/or UDP) and on every address in `also`."""
    for _ in range(500):
        port = candidate_port()  # below the ephemeral range: see correo_harness
        ok = True
        checks = []
        for addr in (address,) + tuple(also):
            if tcp:
                checks.append((addr, socket.SOCK_STREAM))
            if udp:
                checks.append((addr, socket.SOCK_DGRAM))
        for addr, kind in checks:
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((addr, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no free port on %s" % ((address,) + tuple(also),))


def _check_loopback(address):
    if not address.startswith("127."):
        raise ValueError("peers listen on loopback only, not %r" % address)


# --------------------------------------------------------------------------- DNS

TYPE_A, TYPE_MX, TYPE_AAAA = 1, 15, 28
RCODE_NOERROR, RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_REFUSED = 0, 2, 3, 5


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def _read_name(msg, off):
    """(name, offset after the name at off) with compression pointers followed."""
    labels, end, jumps = [], None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumps += 1
            if jumps > 50:
                raise ValueError("DNS compression loop")
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii"))
        off += n
    return ".".join(labels), (end if end is not None else off)


def dns_query(server, port, name, qtype, timeout=2.0):
    """One UDP query to a loopback server. Returns (rcode, [(type, value)]) where value is
    the address text for A/AAAA, (preference, exchange) for MX, raw RDATA bytes otherwise."""
    _check_loopback(server)
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _encode_name(name) + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(packet, (server, port))
        while True:
            msg, _ = s.recvfrom(4096)
            if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                break
    finally:
        s.close()
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _, off = _read_name(msg, off)
        off += 4
    answers = []
    for _ in range(an):
        _, off = _read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rtype == TYPE_A:
            answers.append((rtype, socket.inet_ntop(socket.AF_INET, rdata)))
        elif rtype == TYPE_AAAA:
            answers.append((rtype, socket.inet_ntop(socket.AF_INET6, rdata)))
        elif rtype == TYPE_MX:
            pref = struct.unpack(">H", rdata[:2])[0]
            exchange, _ = _read_name(msg, off + 2)
            answers.append((rtype, (pref, exchange)))
        else:
            answers.append((rtype, rdata))
        off += rdlen
    return flags & 0x000F, answers


class Dnsmasq:
    """dnsmasq on 127.0.0.1:<free port>, answering only what it is told.

    mx:       [(domain, exchange, preference)]
    hosts:    [(name, "127.x.y.z")]          (--host-record: A, and NODATA for AAAA)
    null_mx:  [domain]                        (RFC 7505 "MX 0 ." via --dns-rr)
    local:    zones answered locally: unknown names in them are NXDOMAIN, nothing forwarded
    """

    def __init__(self, testcase=None, mx=(), hosts=(), null_mx=(), local=("test",), extra_args=()):
        for _, address in hosts:
            _check_loopback(address)
        self.mx, self.hosts, self.null_mx, self.local = list(mx), list(hosts), list(null_mx), list(local)
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None
        self.log = b""
        if testcase is not None:
            testcase.addCleanup(self.stop)

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def args(self):
        a = [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
             "--listen-address=127.0.0.1", "--bind-interfaces", "--port=%d" % self.port,
             "--log-facility=-", "--log-queries", "--pid-file=", "--user=" + _user(), "--cache-size=0"]
        for zone in self.local:
            a.append("--local=/%s/" % zone)
        for domain, exchange, pref in self.mx:
            a.append("--mx-host=%s,%s,%d" % (domain, exchange, pref))
        for name, address in self.hosts:
            a.append("--host-record=%s,%s" % (name, address))
        for domain in self.null_mx:
            # RDATA: preference 0 (two octets) + the root name (one zero octet).
            a.append("--dns-rr=%s,%d,000000" % (domain, TYPE_MX))
        return a + self.extra_args

    def start(self, timeout=10.0, port=None):
        """port: start on this port again (a DNS server coming back); default a free one."""
        for attempt in range(5):
            self.port = port or free_port("127.0.0.1", udp=True, tcp=True)
            self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, close_fds=True, preexec_fn=die_with_parent)
            self._reader = threading.Thread(target=self._read_log, daemon=True)
            self._reader.start()
            with _live_lock:
                _live.add(self)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    rcode, _ = dns_query("127.0.0.1", self.port, "probe.invalid", TYPE_A, timeout=0.2)
                    return self
                except (socket.timeout, ConnectionRefusedError, OSError):
                    time.sleep(0.02)
            self.stop()
            if attempt == 4 or port or b"Address already in use" not in self.log:
                raise RuntimeError("dnsmasq did not start: %s" % self.log.decode("utf-8", "replace"))
        return self

    def _read_log(self):
        proc = self.proc
        for line in iter(proc.stdout.readline, b""):
            self.log += line

    def query(self, name, qtype):
        return dns_query("127.0.0.1", self.port, name, qtype)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None and self.proc.stdout:
            self._reader.join(timeout=2)
            self.proc.stdout.close()
        with _live_lock:
            _live.discard(self)


def _user():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


# --------------------------------------------------------------------------- SMTP sink

class Connection:
    """One TCP connection to a sink."""

    def __init__(self, cid, peer):
        self.id = cid
        self.peer = peer
        self.opened = time.monotonic()
        self.closed = None
        self.reads = []        # [(monotonic time, bytes)] exactly as each read returned them
        self.commands = []     # [(monotonic time, verb, argument)] as the hooks saw them
        self.mail_froms = 0

    def raw(self):
        return b"".join(r for _, r in self.reads)

    def __repr__(self):
        return "Connection(%d, %d reads, %d MAIL)" % (self.id, len(self.reads), self.mail_froms)


def _sink_tls_context(tls):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if tls == "broken":
        # A TLS stack correod must not be able to talk to: nothing above TLS 1.1.
        import tempfile
        d = tempfile.mkdtemp(prefix="correo-sink-tls-")
        cert, key = d + "/c.pem", d + "/k.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=broken.test", "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        ctx.load_cert_chain(cert, key)
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        return ctx
    ctx.load_cert_chain(tls[0], tls[1])
    return ctx


class Message:
    def __init__(self, conn, mail_from, mail_options, rcpt_tos, rcpt_options, data):
        self.conn = conn          # Connection id
        self.mail_from = mail_from  # "" for the null reverse-path <>
        self.mail_options = mail_options
        self.rcpt_tos = rcpt_tos
        self.rcpt_options = rcpt_options
        self.data = data          # bytes, dot-unstuffed, CRLF lines, without the final "."
        self.tls = None           # "TLSv1.3" when it came over STARTTLS
        self.time = time.monotonic()

    def __repr__(self):
        return "Message(conn=%d, from=%r, to=%r, %d bytes)" % (self.conn, self.mail_from, self.rcpt_tos, len(self.data))


class _Protocol(SMTP):
    """aiosmtpd's SMTP with connection bookkeeping and raw read recording."""

    def __init__(self, sink, **kw):
        super().__init__(sink, **kw)
        self.sink = sink
        self.conn = None

    def connection_made(self, transport):
        self.conn = self.sink._opened(self, transport.get_extra_info("peername"))
        super().connection_made(transport)

    def connection_lost(self, error):
        self.sink._closed(self, self.conn)
        super().connection_lost(error)

    def eof_received(self):
        # The client closed its side: aiosmtpd would keep the half-open transport until its
        # idle timeout; close it so connection counts reflect what the client holds open.
        super().eof_received()
        self.sink._closed(self, self.conn)
        if self.transport is not None:
            self.transport.close()
        return False

    def data_received(self, data):
        with self.sink.lock:
            self.conn.reads.append((time.monotonic(), bytes(data)))
        super().data_received(data)

    async def _handle_client(self):
        greeting = self.sink.greeting
        if greeting is not None:
            await self.push(greeting)
            # Like a server that refuses service: read commands, answer 503/221, close soon.
            try:
                while self.transport is not None:
                    line = await asyncio.wait_for(self._reader.readuntil(), 5)
                    if line.strip().upper() == b"QUIT":
                        await self.push("221 2.0.0 bye")
                        break
                    await self.push("503 5.5.1 no service")
            except Exception:
                pass
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()


class Sink:
    """An SMTP server on address:port that records everything.

    pipelining       advertise PIPELINING
    eightbitmime     advertise 8BITMIME (aiosmtpd does with decode_data=False; removed if False)
    greeting         e.g. "421 4.3.2 busy": sent instead of 220, then the connection ends
    fail_data_first  the first K DATA (end of data) get data_failure
    fail_rcpt_first  the first K RCPT get rcpt_failure
    reject_rcpts     {address (lower case): "550 5.1.1 ..."} refused at RCPT, always
    data_delay       seconds before the final reply to the data
    max_messages     then 452 for every further message (bounded memory)
    tls              (cert_file, key_file): offer STARTTLS with that certificate;
                     "broken": offer STARTTLS, then fail every handshake (TLS 1.1 at most)
    """

    def __init__(self, address, port=None, testcase=None, *, pipelining=True, eightbitmime=True, greeting=None,
                 fail_data_first=0, data_failure="451 4.3.0 Temporary sink failure, try again later",
                 fail_rcpt_first=0, rcpt_failure="451 4.3.0 Temporary recipient failure, try again later",
                 reject_rcpts=None, data_delay=0.0, max_messages=500, hostname="sink.test", tls=None):
        _check_loopback(address)
        self.address = address
        self.port = port if port is not None else free_port(address)
        self.pipelining = pipelining
        self.eightbitmime = eightbitmime
        self.greeting = greeting
        self.fail_data_first = fail_data_first
        self.data_failure = data_failure
        self.fail_rcpt_first = fail_rcpt_first
        self.rcpt_failure = rcpt_failure
        self.reject_rcpts = {k.lower(): v for k, v in (reject_rcpts or {}).items()}
        self.data_delay = data_delay
        self.max_messages = max_messages
        self.hostname = hostname
        self.tls_context = _sink_tls_context(tls) if tls else None
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.connections = []
        self.messages = []
        self.data_attempts = 0     # end-of-data replies given (accepted or not)
        self.rcpt_attempts = 0
        self.active = 0
        self.max_active = 0
        self._protos = set()
        self.loop = None
        self.server = None
        self.thread = None
        if testcase is not None:
            testcase.addCleanup(self.stop)

    # ---- bookkeeping (called on the loop thread)

    def _opened(self, proto, peer):
        with self.cond:
            self._protos.add(proto)
            c = Connection(len(self.connections), peer)
            self.connections.append(c)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.cond.notify_all()
            return c

    def _closed(self, proto, conn):
        with self.cond:
            self._protos.discard(proto)
            if conn is not None and conn.closed is None:
                conn.closed = time.monotonic()
                self.active -= 1
            self.cond.notify_all()

    def _command(self, server, verb, arg):
        with self.lock:
            server.conn.commands.append((time.monotonic(), verb, arg))

    # ---- aiosmtpd handler hooks

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self._command(server, "EHLO", hostname)
        out = [r for r in responses if self.eightbitmime or r[4:].upper() != "8BITMIME"]
        if self.pipelining:
            out.insert(len(out) - 1, "250-PIPELINING")
        return out

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self._command(server, "MAIL", (address, list(mail_options)))
        with self.lock:
            server.conn.mail_froms += 1
            full = len(self.messages) >= self.max_messages
        if full:
            return "452 4.3.1 sink full"
        envelope.mail_from = address   # "<>" for the null reverse-path (aiosmtpd needs it non-empty)
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self._command(server, "RCPT", (address, list(rcpt_options)))
        with self.lock:
            self.rcpt_attempts += 1
            n = self.rcpt_attempts
        if n <= self.fail_rcpt_first:
            return self.rcpt_failure
        refusal = self.reject_rcpts.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        self._command(server, "DATA-END", len(envelope.content))
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        with self.cond:
            self.data_attempts += 1
            if self.data_attempts <= self.fail_data_first:
                return self.data_failure
            if len(self.messages) >= self.max_messages:
                return "452 4.3.1 sink full"
            mail_from = "" if envelope.mail_from == "<>" else envelope.mail_from
            m = Message(server.conn.id, mail_from, list(envelope.mail_options), list(envelope.rcpt_tos),
                        list(envelope.rcpt_options), bytes(envelope.original_content))
            ssl_object = (session.ssl or {}).get("ssl_object") if isinstance(session.ssl, dict) else None
            m.tls = ssl_object.version() if ssl_object is not None else None
            self.messages.append(m)
            self.cond.notify_all()
        return "250 2.0.0 Ok: queued as SINK%d" % len(self.messages)

    async def handle_RSET(self, server, session, envelope):
        self._command(server, "RSET", None)
        return "250 2.0.0 Ok"

    async def handle_QUIT(self, server, session, envelope):
        self._command(server, "QUIT", None)
        return "221 2.0.0 Bye"

    # ---- lifecycle

    def start(self, timeout=10.0):
        ready = threading.Event()
        errors = []

        def run():
            loop = asyncio.new_event_loop()
            self.loop = loop
            asyncio.set_event_loop(loop)

            def factory():
                # hostname given: aiosmtpd would otherwise ask DNS (socket.getfqdn()).
                return _Protocol(self, hostname=self.hostname, ident="correo-test-sink", loop=loop,
                                 decode_data=False, timeout=30, data_size_limit=10 * 1024 * 1024,
                                 tls_context=self.tls_context)
            try:
                self.server = loop.run_until_complete(
                    loop.create_server(factory, host=self.address, port=self.port, reuse_address=True))
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                # Close every connection still open, then the loop.
                for t in asyncio.all_tasks(loop):
                    t.cancel()
                try:
                    loop.run_until_complete(asyncio.sleep(0.05))
                except Exception:
                    pass
                loop.close()

        self.thread = threading.Thread(target=run, name="sink-%s:%d" % (self.address, self.port), daemon=True)
        self.thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("sink %s:%d did not start" % (self.address, self.port))
        if errors:
            raise RuntimeError("sink %s:%d: %s" % (self.address, self.port, errors[0]))
        with _live_lock:
            _live.add(self)
        return self

    def stop(self):
        """Close the listener and every connection (the sink is 'down' afterwards)."""
        loop, server = self.loop, self.server
        if loop is not None and server is not None and self.thread is not None and self.thread.is_alive():
            async def shutdown():
                server.close()
                with self.lock:
                    protos = list(self._protos)
                for p in protos:
                    if p.transport is not None:
                        p.transport.abort()
                await server.wait_closed()
            try:
                asyncio.run_coroutine_threadsafe(asyncio.wait_for(shutdown(), 5), loop).result(6)
            except Exception:
                pass
            loop.call_soon_threadsafe(loop.stop)
            self.thread.join(timeout=5)
        self.server = None
        with _live_lock:
            _live.discard(self)

    # ---- waiting

    def wait(self, predicate, timeout=15.0):
        """Wait until predicate(sink) is true (under the lock); returns its value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = predicate(self)
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    return v
                self.cond.wait(min(left, 0.1))

    def wait_messages(self, n, timeout=15.0):
        ok = self.wait(lambda s: len(s.messages) >= n, timeout)
        if not ok:
            raise AssertionError("sink %s:%d: %d of %d messages after %ss\n%s"
                                 % (self.address, self.port, len(self.messages), n, timeout, self.describe()))
        with self.lock:
            return list(self.messages)

    def describe(self):
        """Every connection's timeline (seconds since the first connection), for failures."""
        with self.lock:
            conns = list(self.connections)
            t0 = conns[0].opened if conns else 0.0
            out = []
            for c in conns:
                out.append("connection %d from %s: opened %.3f closed %s" % (
                    c.id, c.peer, c.opened - t0, "%.3f" % (c.closed - t0) if c.closed else "-"))
                for t, verb, arg in c.commands:
                    out.append("  %.3f %s %r" % (t - t0, verb, arg))
                for t, r in c.reads:
                    out.append("  %.3f read %r" % (t - t0, r[:120]))
            return "\n".join(out)

    def snapshot(self):
        with self.lock:
            return list(self.messages), list(self.connections)
