"""PIPELINING (RFC 2920), CHUNKING/BDAT (RFC 3030), big messages and huge pipelines."""

import hashlib
import smtplib
import socket
import threading
import time
import unittest

from correo_harness import Correod, SmtpClient, parse_replies, rss_kib, simple_message, split_received


class PipeliningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Correod(limits={"message_size": 16 * 1024 * 1024})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def setUp(self):
        self.assertTrue(self.d.running(), "correod died:\n" + self.d.log()[-3000:])

    def client(self):
        c = SmtpClient(self.d.port)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220)
        return c

    def body_of(self, qid):
        _, body = self.d.show(qid)
        return split_received(body)[1]

    def test_pipelined_envelope_and_message_boundaries(self):
        c = self.client()
        c.send(b"EHLO pipe.test\r\nMAIL FROM:<p1@x.test>\r\nRCPT TO:<a@example.test>\r\n"
               b"RCPT TO:<b@example.test>\r\nDATA\r\n")
        ehlo, mail, rcpt1, rcpt2, data = c.replies(5)
        self.assertEqual(ehlo.code, 250)
        self.assertIn("PIPELINING", ehlo.texts)
        self.assertEqual((mail.code, mail.enhanced), (250, "2.1.0"))
        self.assertEqual((rcpt1.code, rcpt1.enhanced), (250, "2.1.5"))
        self.assertEqual((rcpt2.code, rcpt2.enhanced), (250, "2.1.5"))
        self.assertEqual(data.code, 354)
        first = b"Subject: one\r\n\r\nfirst message\r\n"
        second = b"Subject: two\r\n\r\nsecond message\r\n"
        # End of the first message and the whole next envelope in ONE write.
        c.send(first + b".\r\nMAIL FROM:<p2@x.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n")
        queued, mail, rcpt, data = c.replies(4)
        self.assertEqual((queued.code, queued.enhanced), (250, "2.0.0"), queued)
        self.assertIsNotNone(queued.queue_id())
        self.assertEqual((mail.code, mail.enhanced), (250, "2.1.0"))
        self.assertEqual((rcpt.code, rcpt.enhanced), (250, "2.1.5"))
        self.assertEqual(data.code, 354)
        c.send(second + b".\r\nQUIT\r\n")
        queued2, bye = c.replies(2)
        self.assertEqual(queued2.code, 250)
        self.assertEqual(bye.code, 221)
        self.assertTrue(c.is_closed())
        self.assertEqual(self.body_of(queued.queue_id()), first)
        self.assertEqual(self.body_of(queued2.queue_id()), second)
        listing = {e[0]: e for e in self.d.list()}
        self.assertEqual(listing[queued.queue_id()][3:], ("p1@x.test", ["a@example.test", "b@example.test"]))
        self.assertEqual(listing[queued2.queue_id()][3:], ("p2@x.test", ["c@example.test"]))

    def test_pipelined_errors_keep_order(self):
        c = self.client()
        c.send(b"EHLO pipe.test\r\nMAIL FROM:<p@x.test>\r\nRCPT TO:<bad>\r\nRCPT TO:<ok@example.test>\r\n"
               b"VRFY x\r\nBOGUS\r\nNOOP\r\nDATA\r\nSubject: e\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n")
        replies = c.replies(10)
        self.assertEqual([r.code for r in replies], [250, 250, 501, 250, 252, 500, 250, 354, 250, 250])
        self.assertEqual(c.reply().code, 221)
        self.assertTrue(c.is_closed())

    def test_bdat_two_chunks_in_one_write(self):
        c = self.client()
        c.send(b"EHLO bdat.test\r\nMAIL FROM:<b@x.test>\r\nRCPT TO:<r@example.test>\r\n")
        self.assertEqual([r.code for r in c.replies(3)], [250, 250, 250])
        chunk1 = b"Subject: bdat\r\nX-Dots: yes\r\n\r\n.this dot stays\r\n"
        chunk2 = b".\r\nsecond chunk\r\n..also stays\r\n"
        c.send(b"BDAT %d\r\n" % len(chunk1) + chunk1 + b"BDAT %d LAST\r\n" % len(chunk2) + chunk2)
        r1, r2 = c.replies(2)
        self.assertEqual((r1.code, r1.enhanced), (250, "2.0.0"), r1)
        self.assertIn("%d octets" % len(chunk1), r1.text)
        self.assertEqual((r2.code, r2.enhanced), (250, "2.0.0"), r2)
        qid = r2.queue_id()
        self.assertIsNotNone(qid, r2)
        self.assertEqual(self.body_of(qid), chunk1 + chunk2)
        c.ok("NOOP", 250)

    def test_bdat_crlf_split_across_chunks_and_missing_final_crlf(self):
        c = self.client()
        c.ehlo()
        c.ok("MAIL FROM:<b@x.test>")
        c.ok("RCPT TO:<r@example.test>")
        parts = [b"Subject: split\r", b"\n\r\nline one\r", b"\nlast line without crlf"]
        c.send(b"".join(b"BDAT %d%s\r\n%s" % (len(p), b" LAST" if i == len(parts) - 1 else b"", p)
                        for i, p in enumerate(parts)))
        replies = c.replies(3)
        self.assertEqual([r.code for r in replies], [250, 250, 250], replies)
        qid = replies[-1].queue_id()
        self.assertIsNotNone(qid)
        # RFC 3030: a final line without CRLF gets one.
        self.assertEqual(self.body_of(qid), b"".join(parts) + b"\r\n")
        # BDAT 0 LAST ends a message too.
        c.ok("MAIL FROM:<b@x.test>")
        c.ok("RCPT TO:<r@example.test>")
        c.send(b"BDAT 14\r\nSubject: z\r\n\r\nBDAT 0 LAST\r\n")
        r1, r2 = c.replies(2)
        self.assertEqual((r1.code, r2.code), (250, 250))
        self.assertEqual(self.body_of(r2.queue_id()), b"Subject: z\r\n\r\n")

    def test_bdat_chunk_that_looks_like_commands_is_data(self):
        before = self.d.count()
        c = self.client()
        c.ehlo()
        c.ok("MAIL FROM:<b@x.test>")
        c.ok("RCPT TO:<r@example.test>")
        chunk = (b"Subject: inner\r\n\r\nQUIT\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@example.test>\r\n"
                 b"DATA\r\nsmuggled\r\n.\r\nRSET\r\n")
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk + b"NOOP\r\n")
        queued, noop = c.replies(2)
        self.assertEqual(queued.code, 250, queued)
        self.assertEqual((noop.code, noop.enhanced), (250, "2.0.0"))
        self.assertEqual(self.body_of(queued.queue_id()), chunk)
        c.ok("NOOP")       # QUIT inside the chunk was not executed
        self.assertEqual(self.d.count(), before + 1)
        self.assertNotIn("evil@x.test", [e[3] for e in self.d.list()])

    def test_bdat_sequence_errors(self):
        c = self.client()
        c.ehlo()
        # Refused chunk is still read and dropped, so the session stays in step.
        c.send(b"BDAT 6\r\nQUIT\r\nNOOP\r\n")
        r1, r2 = c.replies(2)
        self.assertEqual((r1.code, r1.enhanced), (503, "5.5.1"))
        self.assertEqual(r2.code, 250)
        c.ok("BDAT x", 501, "5.5.4")
        c.ok("BDAT 1 FIRST", 501, "5.5.4")
        c.ok("MAIL FROM:<b@x.test>")
        c.ok("RCPT TO:<r@example.test>")
        c.send(b"BDAT 9\r\nSubject: ")
        c.expect(250)
        c.ok("DATA", 503, "5.5.1")           # no DATA after BDAT
        c.ok("RCPT TO:<s@example.test>", 503, "5.5.1")
        c.send(b"BDAT 6 LAST\r\nx\r\n\r\nx")
        r = c.expect(250, "2.0.0")
        self.assertEqual(self.body_of(r.queue_id()), b"Subject: x\r\n\r\nx\r\n")

    def test_bdat_bare_lf_refused(self):
        before = self.d.count()
        c = self.client()
        c.ehlo()
        c.ok("MAIL FROM:<b@x.test>")
        c.ok("RCPT TO:<r@example.test>")
        chunk = b"Subject: lf\n\nbare lf\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        c.expect(550, "5.6.0")
        c.ok("NOOP")
        self.assertEqual(self.d.count(), before)

    def test_ten_mib_message_via_smtplib(self):
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-=+/()!?*&%$#@;"
        lines = []
        size = 0
        i = 0
        while size < 10 * 1024 * 1024:
            ln = (b".%08d " % i if i % 7 == 0 else b"%08d " % i) + line   # some lines need dot-stuffing
            lines.append(ln)
            size += len(ln) + 2
            i += 1
        msg = b"Subject: ten mebibytes\r\nFrom: <big@x.test>\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
        self.assertGreaterEqual(len(msg), 10 * 1024 * 1024)
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", self.d.port, local_hostname="big.client.test", timeout=30) as s:
            s.ehlo()
            self.assertEqual(s.mail("big@x.test", ["SIZE=%d" % len(msg)])[0], 250)
            self.assertEqual(s.rcpt("r@example.test")[0], 250)
            code, text = s.data(msg)
        self.assertEqual(code, 250, text)
        qid = text.decode().split()[-1]
        elapsed = time.monotonic() - t0
        env, body = self.d.show(qid)
        _, content = split_received(body)
        self.assertEqual(len(content), len(msg))
        self.assertEqual(hashlib.sha256(content).hexdigest(), hashlib.sha256(msg).hexdigest())
        self.assertEqual(int(env["size"]), len(body))
        self.assertLess(elapsed, 30)

    def test_hundred_thousand_pipelined_noops(self):
        n = 100_000
        c = self.client()
        c.ehlo()
        expected = b"250 2.0.0 Ok\r\n"
        got = bytearray()
        errors = []

        def reader():
            try:
                c.sock.settimeout(30)
                while len(got) < n * len(expected):
                    chunk = c.sock.recv(1 << 20)
                    if not chunk:
                        break
                    got.extend(chunk)
            except Exception as e:   # reported below
                errors.append(e)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t0 = time.monotonic()
        c.sock.sendall(b"NOOP\r\n" * n)
        t.join(60)
        self.assertFalse(t.is_alive(), "replies stalled after %d bytes" % len(got))
        self.assertEqual(errors, [])
        elapsed = time.monotonic() - t0
        self.assertEqual(len(got), n * len(expected), "got %d replies" % (len(got) // len(expected)))
        self.assertEqual(bytes(got), expected * n)
        c.sock.settimeout(10)
        r = c.ok("NOOP", 250)
        self.assertEqual(r.text, "2.0.0 Ok")
        c.ok("QUIT", 221)
        self.assertLess(elapsed, 30)
        # The daemon still takes new sessions and mail.
        c2 = self.client()
        r = c2.send_message("after@x.test", ["r@example.test"], simple_message("after noops"), ehlo="c.test")
        self.assertEqual(r.code, 250)

    def test_pipelined_quit_ends_processing(self):
        before = self.d.count()
        c = self.client()
        c.send(b"EHLO q.test\r\nQUIT\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nx\r\n.\r\n")
        replies = parse_replies(c.read_until_closed())
        self.assertEqual([r.code for r in replies], [250, 221])
        self.assertEqual(self.d.count(), before)

    def test_client_that_never_reads_is_bounded(self):
        """A client that pipelines without reading: correod stops reading once
        limits.output_buffer of replies is waiting, so its memory stays bounded."""
        c = self.client()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        rss0 = rss_kib(self.d.pid)
        c.sock.settimeout(2)
        sent = 0
        block = b"NOOP\r\n" * 100_000
        try:
            for _ in range(50):                # up to 30 MB of commands = 70 MB of replies
                sent += c.sock.send(block)
        except socket.timeout:
            pass
        rss1 = rss_kib(self.d.pid)
        self.assertLess(sent, 50 * len(block), "correod kept reading although nobody reads its replies")
        self.assertLess(rss1 - rss0, 32 * 1024, "correod RSS grew from %d KiB to %d KiB" % (rss0, rss1))
        c.close()
        c2 = self.client()
        c2.ehlo()
        c2.ok("NOOP")

    def test_many_pipelined_transactions_in_one_write(self):
        before = self.d.count()
        c = self.client()
        batch = [b"EHLO many.test\r\n"]
        for i in range(200):
            batch.append(b"MAIL FROM:<m%d@x.test>\r\nRCPT TO:<r%d@example.test>\r\nDATA\r\n"
                         b"Subject: %d\r\n\r\nbody %d\r\n.\r\n" % (i, i, i, i))
        batch.append(b"QUIT\r\n")
        c.send(b"".join(batch))
        data = c.read_until_closed(timeout=30)
        replies = parse_replies(data)
        self.assertEqual(len(replies), 1 + 200 * 4 + 1)
        codes = [r.code for r in replies[1:-1]]
        self.assertEqual(codes, [250, 250, 354, 250] * 200)
        self.assertEqual(replies[-1].code, 221)
        ids = [r.queue_id() for r in replies[1:-1][3::4]]
        self.assertEqual(len(set(ids)), 200)
        self.assertEqual(self.d.count(), before + 200)


if __name__ == "__main__":
    unittest.main()
