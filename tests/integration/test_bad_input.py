"""Hostile and broken input: SMTP smuggling, bare CR/LF, NUL, overlong lines, limits,
error budgets, timeouts, disconnects and binary garbage. correod must refuse precisely,
never queue a damaged or smuggled message, and keep serving."""

import random
import socket
import ssl
import threading
import time
import unittest

from correo_harness import (HOSTNAME, Correod, SmtpClient, dot_stuff, parse_replies, rss_kib, simple_message,
                            split_received, wait_until)

MESSAGE_SIZE = 100000
RECIPIENTS = 5
ERRORS = 5

SMUGGLED = b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nsmuggled"
# The only <CRLF>.<CRLF> of the stream: it ends the (single, refused) message.
REAL_END = b"\r\n.\r\n"

# Every way a lenient or buggy server might end DATA early (SMTP smuggling, 2023), plus
# bare LF/CR in the middle of a line. None of them ends the data; each is a defect. (A
# variant must not contain "\r\n.\r\n" itself: "\r\r\n.\r\n" really ends the data.)
SMUGGLING_VARIANTS = [
    ("lf_dot_lf", b"\n.\n"),
    ("crlf_dot_lf", b"\r\n.\n"),
    ("lf_dot_crlf", b"\n.\r\n"),
    ("cr_dot_cr", b"\r.\r"),
    ("crlf_dot_cr", b"\r\n.\r"),
    ("cr_dot_crlf", b"\r.\r\n"),
    ("bare_lf_mid_line", b" mid\nline\r\n"),
    ("bare_cr_mid_line", b" mid\rline\r\n"),
    ("crlf_dot_cr_cr_lf", b"\r\n.\r\r\n"),
    ("lf_lf_dot_lf_lf", b"\n\n.\n\n"),
]


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Correod(limits={"message_size": MESSAGE_SIZE, "recipients": RECIPIENTS,
                                "errors_per_session": ERRORS})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def setUp(self):
        self.assertTrue(self.d.running(), "correod died:\n" + self.d.log()[-3000:])

    def tearDown(self):
        self.assertTrue(self.d.running(), "correod died during the test:\n" + self.d.log()[-3000:])

    def client(self, ehlo=True):
        c = SmtpClient(self.d.port)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220)
        if ehlo:
            c.ehlo()
        return c

    def start_data(self, c, sender="good@x.test", rcpt="rcpt@example.test"):
        c.ok("MAIL FROM:<%s>" % sender, 250)
        c.ok("RCPT TO:<%s>" % rcpt, 250)
        c.ok("DATA", 354)

    def assert_still_serves(self):
        c = SmtpClient(self.d.port)
        try:
            self.assertEqual(c.greeting.code, 220)
            c.ehlo()
            c.ok("NOOP", 250)
            c.ok("QUIT", 221)
        finally:
            c.close()

    def send_valid(self, c, tag):
        content = simple_message(tag, "valid %s\r\n" % tag)
        r = c.send_message("good@x.test", ["rcpt@example.test"], content)
        self.assertEqual((r.code, r.enhanced), (250, "2.0.0"), r)
        _, body = self.d.show(r.queue_id())
        self.assertEqual(split_received(body)[1], content)
        return r.queue_id()

    # ------------------------------------------------------------------ smuggling

    def test_smuggling_variants_refused_and_nothing_smuggled(self):
        for name, variant in SMUGGLING_VARIANTS:
            with self.subTest(variant=name):
                before = self.d.count()
                c = self.client()
                self.start_data(c)
                c.send(b"Subject: smuggle " + name.encode() + b"\r\n\r\nhello" + variant + SMUGGLED + REAL_END)
                r = c.reply()
                self.assertEqual((r.code, r.enhanced), (550, "5.6.0"), "%s: %r" % (name, r))
                self.assertTrue("bare LF" in r.text or "bare CR" in r.text, r)
                # Exactly one reply for the whole stream: the next reply answers our NOOP,
                # not a smuggled MAIL/RCPT/DATA.
                r = c.cmd("NOOP")
                self.assertEqual((r.code, r.enhanced, r.text), (250, "2.0.0", "2.0.0 Ok"), "%s: %r" % (name, r))
                self.assertEqual(self.d.count(), before, "%s: something was queued" % name)
                # The same connection then sends a valid message.
                qid = self.send_valid(c, "after " + name)
                c.ok("QUIT", 221)
                self.assertEqual(self.d.count(), before + 1)
                self.assertEqual(self.d.queue_ids()[-1:], [qid])
        senders = [e[3] for e in self.d.list()]
        self.assertNotIn("evil@x.test", senders)
        for qid in self.d.queue_ids():
            self.assertNotIn(b"smuggled", self.d.show(qid)[1])

    def test_smuggled_transaction_with_its_own_terminator(self):
        """The smuggled part ends with its own "\r\n.\r\n", then a second "\r\n.\r\n"
        follows: the first one ends the single refused message (550), the leftover "" and
        "." lines are just unknown commands (500), and nothing is queued."""
        for name, variant in SMUGGLING_VARIANTS:
            with self.subTest(variant=name):
                before = self.d.count()
                c = self.client()
                self.start_data(c)
                c.send(b"Subject: smuggle2\r\n\r\nhello" + variant + SMUGGLED + b"\r\n.\r\n" + b"\r\n.\r\nNOOP\r\n")
                r = c.reply()
                self.assertEqual((r.code, r.enhanced), (550, "5.6.0"), "%s: %r" % (name, r))
                rest = c.replies(3)
                self.assertEqual([(x.code, x.enhanced) for x in rest], [(500, "5.5.2"), (500, "5.5.2"), (250, "2.0.0")],
                                 "%s: %r" % (name, rest))
                self.assertEqual(self.d.count(), before)
                self.send_valid(c, "after " + name)
                self.assertEqual(self.d.count(), before + 1)
        self.assertNotIn("evil@x.test", [e[3] for e in self.d.list()])

    def test_smuggling_split_across_writes(self):
        """The same streams sent one byte at a time: the reader keeps its state between reads."""
        for name, variant in SMUGGLING_VARIANTS[:6]:
            with self.subTest(variant=name):
                before = self.d.count()
                c = self.client()
                self.start_data(c)
                c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                stream = b"Subject: s\r\n\r\nhello" + variant + SMUGGLED + REAL_END
                for i in range(len(stream)):
                    c.send(stream[i:i + 1])
                c.expect(550, "5.6.0")
                c.ok("NOOP", 250)
                self.assertEqual(self.d.count(), before)

    # ------------------------------------------------------------------ NUL, long lines

    def test_nul_in_data_refused(self):
        before = self.d.count()
        c = self.client()
        self.start_data(c)
        c.send(b"Subject: nul\r\n\r\nbefore\x00after\r\n.\r\n")
        r = c.expect(550, "5.6.0")
        self.assertIn("NUL", r.text)
        self.assertEqual(self.d.count(), before)
        self.send_valid(c, "after nul")

    def test_nul_in_command_refused(self):
        c = self.client()
        c.send(b"NO\x00OP\r\n")
        r = c.expect(500, "5.5.2")
        self.assertIn("NUL", r.text)
        c.send(b"MAIL FROM:<a@x.test>\x00 SIZE=10\r\n")
        c.expect(500, "5.5.2")
        c.send(b"NO\rOP\r\n")
        c.expect(500, "5.5.2")
        c.ok("NOOP", 250)
        self.send_valid(c, "after nul command")

    def test_command_line_too_long(self):
        c = self.client()
        line = b"NOOP " + b"x" * 1993           # 2000 octets with CRLF
        self.assertEqual(len(line) + 2, 2000)
        c.send(line + b"\r\n")
        r = c.expect(500, "5.5.6")
        self.assertIn("too long", r.text)
        r = c.cmd("NOOP")
        self.assertEqual((r.code, r.text), (250, "2.0.0 Ok"))   # exactly one reply for the long line
        # 512 octets with CRLF is the limit (RFC 5321 §4.5.3.1.4): still fine.
        c.ok("NOOP " + "y" * 505, 250)
        c.ok("NOOP " + "y" * 506, 500, "5.5.6")
        # A long MAIL inside a transaction does not disturb it.
        c.ok("MAIL FROM:<a@x.test>", 250)
        c.ok("RCPT TO:<%s@example.test>" % ("z" * 600), 500, "5.5.6")
        c.ok("RCPT TO:<ok@example.test>", 250)
        c.ok("DATA", 354)
        c.send(b"Subject: after long\r\n\r\nx\r\n.\r\n")
        c.expect(250, "2.0.0")

    def test_megabyte_command_memory_bounded(self):
        c = self.client()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        c.send(b"X" * (1 << 20) + b"\r\n")
        c.expect(500, "5.5.6")
        r = c.cmd("NOOP")
        self.assertEqual((r.code, r.text), (250, "2.0.0 Ok"))
        rss0 = rss_kib(self.d.pid)
        # 64 MiB without a line end: discarded as it arrives, never buffered.
        chunk = b"MAIL FROM:<" + b"A" * (1 << 20)
        for _ in range(64):
            c.send(chunk)
        c.send(b">\r\nNOOP\r\n")
        c.expect(500, "5.5.6")
        c.expect(250)
        rss1 = rss_kib(self.d.pid)
        self.assertLess(rss1 - rss0, 32 * 1024, "correod RSS grew from %d KiB to %d KiB" % (rss0, rss1))
        self.send_valid(c, "after huge command")

    def test_text_line_too_long(self):
        before = self.d.count()
        c = self.client()
        self.start_data(c)
        c.send(b"Subject: long\r\n\r\n" + b"L" * 999 + b"\r\n.\r\n")   # 1001 octets with CRLF
        r = c.expect(552)
        self.assertIn("1000", r.text)
        self.assertEqual(self.d.count(), before)
        # 1000 octets including CRLF is allowed (RFC 5321 §4.5.3.1.6).
        self.start_data(c)
        c.send(b"Subject: long\r\n\r\n" + b"L" * 998 + b"\r\n.\r\n")
        c.expect(250, "2.0.0")
        self.assertEqual(self.d.count(), before + 1)

    def test_text_line_limit_does_not_count_transparency_dot(self):
        """RFC 5321 §4.5.3.1.6: 1000 octets including CRLF, "not counting the leading dot
        duplicated for transparency". A 1000-octet line that starts with '.' is 1001 octets
        on the wire after dot-stuffing and must be accepted."""
        c = self.client()
        line = b"." + b"D" * 997                  # 998 + CRLF = 1000 octets
        content = b"Subject: dotted\r\n\r\n" + line + b"\r\n"
        self.start_data(c)
        c.send(b"Subject: dotted\r\n\r\n." + line + b"\r\n.\r\n")
        r = c.reply()
        self.assertEqual((r.code, r.enhanced), (250, "2.0.0"), r)
        _, body = self.d.show(r.queue_id())
        self.assertEqual(split_received(body)[1], content)

    def test_bdat_text_line_limit(self):
        """BDAT cannot carry what DATA refuses: the final line of a BDAT LAST message gets a
        CRLF appended (RFC 3030), and the resulting line must respect text_line as well."""
        c = self.client()
        for n, expected in [(998, 250), (999, 552), (1200, 552)]:
            with self.subTest(final_line_octets=n):
                c.ok("MAIL FROM:<a@x.test>")
                c.ok("RCPT TO:<b@example.test>")
                chunk = b"Subject: bdat line\r\n\r\n" + b"x" * n        # no CRLF at the end
                c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
                r = c.reply()
                longest = 0
                if r.code == 250:
                    stored = split_received(self.d.show(r.queue_id())[1])[1]
                    longest = max(len(line) + 2 for line in stored.split(b"\r\n")[:-1])
                self.assertEqual(r.code, expected, "final line of %d octets + appended CRLF: %r (stored line: %d octets)"
                                 % (n, r, longest))
                self.assertLessEqual(longest, 1000)
        # A chunk with a defect that is not the last one is refused at once; the rest of the
        # transaction's chunks are read and refused, and the session stays in step.
        c.ok("MAIL FROM:<a@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.send(b"BDAT 5\r\na\nb\r\nBDAT 3 LAST\r\nxyzNOOP\r\n")
        r1, r2, r3 = c.replies(3)
        self.assertEqual((r1.code, r1.enhanced), (550, "5.6.0"))
        self.assertEqual((r2.code, r2.enhanced), (503, "5.5.1"))
        self.assertEqual(r3.code, 250)

    # ------------------------------------------------------------------ size, recipients, hops

    def test_message_size_limit(self):
        before = self.d.count()
        c = self.client()
        head = b"Subject: size\r\n\r\n"
        # Exactly message_size octets of content (CRLFs included, stuffing dots excluded).
        filler = (b"." + b"s" * 97 + b"\r\n") * 2000
        exact = head + filler[:MESSAGE_SIZE - len(head) - 2] + b"\r\n"
        self.assertEqual(len(exact), MESSAGE_SIZE)
        self.start_data(c)
        c.send(dot_stuff(exact) + b".\r\n")
        r = c.expect(250, "2.0.0")
        self.assertEqual(split_received(self.d.show(r.queue_id())[1])[1], exact)
        over = head + b"x" * 80 + b"\r\n" + filler[:MESSAGE_SIZE - len(head) - 82 - 1] + b"\r\n"
        self.assertEqual(len(over), MESSAGE_SIZE + 1)
        self.start_data(c)
        c.send(dot_stuff(over) + b".\r\n")
        c.expect(552, "5.3.4")
        big = head + (b"b" * 998 + b"\r\n") * 300
        self.start_data(c)
        c.send(big + b".\r\n")
        c.expect(552, "5.3.4")
        self.assertEqual(self.d.count(), before + 1)
        # The session goes on; BDAT is bounded the same way.
        c.ok("MAIL FROM:<a@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.send(b"BDAT %d LAST\r\n" % len(big) + big)
        c.expect(552, "5.3.4")
        self.assertEqual(self.d.count(), before + 1)
        self.send_valid(c, "after size")

    def test_too_many_recipients(self):
        c = self.client()
        c.ok("MAIL FROM:<a@x.test>")
        for i in range(RECIPIENTS):
            c.ok("RCPT TO:<r%d@example.test>" % i, 250, "2.1.5")
        r = c.ok("RCPT TO:<r%d@example.test>" % RECIPIENTS, 452, "4.5.3")
        self.assertIn("too many recipients", r.text)
        c.ok("DATA", 354)
        c.send(b"Subject: five\r\n\r\nx\r\n.\r\n")
        r = c.expect(250, "2.0.0")
        entry = [e for e in self.d.list() if e[0] == r.queue_id()][0]
        self.assertEqual(entry[4], ["r%d@example.test" % i for i in range(RECIPIENTS)])

    def test_too_many_hops(self):
        before = self.d.count()
        c = self.client()
        hops = [b"%s: from h%d.test by h%d.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                % ([b"Received", b"RECEIVED", b"received"][i % 3], i, i + 1) for i in range(51)]
        received = b"".join(hops)
        self.start_data(c)
        c.send(received + b"Subject: loop\r\n\r\nloop\r\n.\r\n")
        r = c.expect(554, "5.4.6")
        self.assertIn("51", r.text)
        self.assertEqual(self.d.count(), before)
        # 50 is still fine (max_hops = 50); Received: in the body does not count.
        fifty = b"".join(hops[:50])
        self.start_data(c)
        c.send(fifty + b"Subject: fifty\r\n\r\n" + received + b".\r\n")
        c.expect(250, "2.0.0")
        self.assertEqual(self.d.count(), before + 1)

    # ------------------------------------------------------------------ error budget, timeout

    def test_errors_per_session_closes_connection(self):
        c = self.client()
        for i in range(ERRORS - 1):
            c.ok("BOGUS%d" % i, 500, "5.5.2")
        c.ok("NOOP", 250)
        r = c.cmd("BOGUS-last")
        self.assertEqual((r.code, r.enhanced), (500, "5.5.2"))
        r = c.reply()
        self.assertEqual((r.code, r.enhanced), (421, "4.7.0"), r)
        self.assertIn(HOSTNAME, r.text)
        self.assertTrue(c.is_closed())
        # Pipelined: replies after the 421 are not sent and the rest is not executed.
        before = self.d.count()
        c = self.client()
        c.send(b"A\r\nB\r\nC\r\nD\r\nE\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nx\r\n.\r\n")
        data = c.read_until_closed()
        codes = [r.code for r in parse_replies(data)]
        self.assertEqual(codes, [500] * ERRORS + [421])
        self.assertEqual(self.d.count(), before)
        self.assert_still_serves()

    def test_idle_timeout(self):
        d = Correod(self, limits={"idle_timeout": "1s", "data_timeout": "1s"})
        d.start()
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo()
        t0 = time.monotonic()
        r = c.reply()
        waited = time.monotonic() - t0
        self.assertEqual((r.code, r.enhanced), (421, "4.4.2"), r)
        self.assertIn("timeout", r.text)
        self.assertTrue(c.is_closed())
        self.assertGreaterEqual(waited, 0.9)
        self.assertLess(waited, 5)
        # Activity resets the clock.
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        for _ in range(4):
            time.sleep(0.4)
            c.ok("NOOP", 250)
        self.assertEqual(c.cmd("QUIT").code, 221)
        # data_timeout: silence in the middle of DATA is a 421 too, and nothing is queued.
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo()
        c.ok("MAIL FROM:<a@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.ok("DATA", 354)
        c.send(b"Subject: slow\r\n\r\nand then nothing")
        r = c.reply()
        self.assertEqual((r.code, r.enhanced), (421, "4.4.2"), r)
        self.assertTrue(c.is_closed())
        self.assertEqual(d.count(), 0)
        self.assertRegex(d.log(), r"event=timeout .*phase=data")
        self.assertEqual(d.stop(), 0)

    def test_sessions_per_worker(self):
        d = Correod(self, workers=1, limits={"sessions_per_worker": 2})
        d.start()
        d.wait_log(r"event=disconnect")     # the harness's readiness probe has left
        a = SmtpClient(d.port)
        self.addCleanup(a.close)
        b = SmtpClient(d.port)
        self.addCleanup(b.close)
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        self.assertEqual((a.greeting.code, b.greeting.code), (220, 220))
        self.assertEqual((c.greeting.code, c.greeting.enhanced), (421, "4.3.2"))
        self.assertTrue(c.is_closed())
        a.ok("QUIT", 221)
        self.assertTrue(a.is_closed())
        d.wait_log(r"event=disconnect(?s:.*)event=disconnect")
        e = SmtpClient(d.port)
        self.addCleanup(e.close)
        self.assertEqual(e.greeting.code, 220)
        r = e.send_message("a@x.test", ["b@example.test"], simple_message("slot freed"), ehlo="e.test")
        self.assertEqual(r.code, 250)
        self.assertRegex(d.log(), r"event=refused .*reason=sessions_per_worker")
        self.assertEqual(d.stop(), 0)

    # ------------------------------------------------------------------ disconnects

    def test_disconnect_mid_data_queues_nothing(self):
        before = self.d.count()
        lost_before = self.d.log().count("event=lost_connection")
        tails = [b"Subject: cut\r\n\r\npartial body",
                 b"Subject: cut\r\n\r\nbody\r\n.",
                 b"Subject: cut\r\n\r\nbody\r\n.\r"]
        for tail in tails:
            c = self.client()
            self.start_data(c)
            c.send(tail)
            c.close()
        # A BDAT chunk cut short, and a finished non-LAST chunk.
        c = self.client()
        c.ok("MAIL FROM:<a@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.send(b"BDAT 1000 LAST\r\nSubject: half\r\n")
        c.close()
        c = self.client()
        c.ok("MAIL FROM:<a@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.send(b"BDAT 5\r\nhello")
        c.expect(250)
        c.close()
        self.assertTrue(wait_until(lambda: self.d.log().count("event=lost_connection") >= lost_before + 5, timeout=5),
                        self.d.log()[-2000:])
        self.assert_still_serves()
        self.assertEqual(self.d.count(), before)

    # ------------------------------------------------------------------ binary garbage

    def garbage_session(self, payload):
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=10)
        got = bytearray()
        done = threading.Event()

        def reader():
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got.extend(chunk)
            except OSError:
                pass
            done.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            s.sendall(payload)
        except OSError:
            pass   # correod may close first (too many errors)
        return s, got, done, t

    def test_random_binary_garbage(self):
        payload = random.Random(20261123).randbytes(64 * 1024)
        s, got, done, t = self.garbage_session(payload)
        try:
            self.assertTrue(done.wait(10), "correod did not close a garbage session: %r" % bytes(got[-300:]))
        finally:
            s.close()
        replies = parse_replies(bytes(got))
        self.assertEqual(replies[0].code, 220)
        codes = [r.code for r in replies[1:]]
        self.assertTrue(codes, "no replies to garbage")
        self.assertEqual(codes[-1], 421, codes)
        self.assertTrue(all(c >= 500 for c in codes[:-1]), codes)
        self.assert_still_serves()

    def test_tls_client_hello(self):
        ctx = ssl.create_default_context()
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_hostname=HOSTNAME)
        with self.assertRaises(ssl.SSLWantReadError):
            tls.do_handshake()
        hello = outgoing.read()
        self.assertEqual(hello[:1], b"\x16")   # handshake record
        s, got, done, t = self.garbage_session(hello)
        done.wait(1.0)                          # a TLS client now waits for the ServerHello
        # Feed the reply bytes to the TLS client: it must fail (no TLS here), not hang.
        incoming.write(bytes(got))
        with self.assertRaises(ssl.SSLError):
            tls.do_handshake()
        s.close()
        replies = parse_replies(bytes(got))
        self.assertEqual(replies[0].code, 220)
        codes = [r.code for r in replies[1:]]
        if codes and codes[-1] == 421:   # the hello happened to hold errors_per_session lines
            codes.pop()
        self.assertTrue(all(code >= 500 for code in codes), replies)
        # And the same bytes followed by a line end get error replies, never a 2xx/3xx.
        s, got, done, t = self.garbage_session(hello + b"\r\n" + hello + b"\r\nQUIT\r\n")
        self.assertTrue(done.wait(10))
        s.close()
        codes = [r.code for r in parse_replies(bytes(got))][1:]
        self.assertTrue(codes)
        self.assertTrue(all(c >= 500 for c in codes[:-1]) and codes[-1] in (221, 421), codes)
        self.assert_still_serves()


if __name__ == "__main__":
    unittest.main()
