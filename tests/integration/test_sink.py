"""correo-sink, the bundled SMTP sink (bench/sink/), against real clients.

  protocol    smtplib transactions, pipelined in one write, BDAT; counters in the stats file
              match what was sent; --dir writes the exact dot-unstuffed bytes with the envelope
  faults      each fault option at rate 1 (and 0) gives its reply code to every attempt;
              --disconnect-in-data closes mid-DATA with no reply; --reply-delay slows replies
  limits      an over-long command line gets 500; --max-connections refuses with 421;
              SIGTERM exits 0 and writes the final stats
  load        Postfix's smtp-source sends 2000 messages over 20 sessions, all counted
  relay       the real correod delivers to correo-sink; to a sink that defers every
              recipient the message stays queued as deferred

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_sink
"""

import glob
import os
import smtplib
import socket
import subprocess
import time
import unittest

from correo_harness import Correod, CorreoSink, SmtpClient, simple_message, wait_until

SOURCE = "/usr/sbin/smtp-source"


def message(subject, body="hello\r\n"):
    return simple_message(subject, body).decode()


class SinkCase(unittest.TestCase):
    def sink(self, *args, **kw):
        return CorreoSink(self, args=args, **kw).start()

    def final_stats(self, s):
        self.assertEqual(s.stop(), 0, s.log())
        return s.stats()


class ProtocolTest(SinkCase):
    def test_transactions_are_counted(self):
        s = self.sink()
        with smtplib.SMTP(s.address, s.port, timeout=10) as c:
            c.ehlo("client.test")
            self.assertIn("pipelining", c.esmtp_features)
            self.assertIn("chunking", c.esmtp_features)
            for i in range(5):
                self.assertEqual(c.sendmail("a@x.test", ["b@y.test", "c@y.test"], message("m%d" % i)), {})
        st = self.final_stats(s)
        self.assertEqual(st["messages"], 5)
        self.assertEqual(st["recipients"], 10)
        self.assertEqual(st["connections"], 1)
        self.assertEqual(st["replies"]["354"], 5)
        self.assertEqual(st["bytes"], 5 * len(message("m0").encode()))

    def test_pipelined_batch_is_answered_in_order(self):
        s = self.sink()
        with SmtpClient(s.port) as c:
            c.ehlo()
            body = b"Subject: p\r\n\r\nline\r\n.\r\n"
            batch = b"".join(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b%d@y.test>\r\nDATA\r\n" % i + body for i in range(20))
            c.send(batch + b"NOOP\r\n")
            replies = c.replies(20 * 4 + 1)
            self.assertEqual([r.code for r in replies], [250, 250, 354, 250] * 20 + [250])
        self.assertEqual(self.final_stats(s)["messages"], 20)

    def test_bdat_and_dir_keep_the_exact_bytes(self):
        s = CorreoSink(self)
        store = os.path.join(s.dir, "mail")
        os.mkdir(store)
        s.cmd += ["--dir", store]
        s.start()
        content = b"Subject: dots\r\n\r\n..stuffed line\r\n...\r\nplain\r\n"
        with SmtpClient(s.port) as c:
            c.ehlo()
            c.ok("MAIL FROM:<a@x.test>")
            c.ok("RCPT TO:<b@y.test>")
            c.ok("DATA", 354)
            c.send(content + b".\r\n")
            c.expect(250)
            c.ok("MAIL FROM:<bdat@x.test>")
            c.ok("RCPT TO:<c@y.test>")
            c.send(b"BDAT 10\r\n0123456789")
            c.expect(250)
            c.send(b"BDAT 7 LAST\r\nabc\r\nxy")
            c.expect(250)
        files = sorted(glob.glob(os.path.join(store, "*.eml")))
        self.assertEqual(len(files), 2)
        by_sender = {}
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            by_sender[data.split(b"\r\n", 1)[0]] = data
        self.assertEqual(by_sender[b"X-Sink-Envelope-From: <a@x.test>"],
                         b"X-Sink-Envelope-From: <a@x.test>\r\nX-Sink-Rcpt: <b@y.test>\r\n"
                         b"Subject: dots\r\n\r\n.stuffed line\r\n..\r\nplain\r\n")
        # BDAT content is taken as sent; a last line without CRLF gets one (RFC 3030).
        self.assertEqual(by_sender[b"X-Sink-Envelope-From: <bdat@x.test>"],
                         b"X-Sink-Envelope-From: <bdat@x.test>\r\nX-Sink-Rcpt: <c@y.test>\r\n"
                         b"0123456789abc\r\nxy\r\n")
        self.assertEqual(self.final_stats(s)["messages"], 2)


class FaultTest(SinkCase):
    def transaction(self, s, rcpts=("b@y.test",)):
        """One transaction with raw commands; the replies' codes."""
        with SmtpClient(s.port) as c:
            c.ehlo()
            codes = [c.cmd("MAIL FROM:<a@x.test>").code]
            codes += [c.cmd("RCPT TO:<%s>" % r).code for r in rcpts]
            r = c.cmd("DATA")
            codes.append(r.code)
            if r.code == 354:
                c.send(b"Subject: f\r\n\r\nx\r\n.\r\n")
                codes.append(c.reply().code)
            return codes

    def test_recipient_faults(self):
        self.assertEqual(self.transaction(self.sink("--rcpt-tempfail", "1")), [250, 451, 554])
        self.assertEqual(self.transaction(self.sink("--rcpt-permfail", "1")), [250, 550, 554])
        self.assertEqual(self.transaction(self.sink("--rcpt-permfail", "0", "--rcpt-tempfail", "0")), [250, 250, 354, 250])

    def test_attempt_faults(self):
        s = self.sink("--tempfail-attempt", "1")
        self.assertEqual(self.transaction(s), [250, 250, 354, 451])
        self.assertEqual(self.final_stats(s)["messages"], 0)
        s = self.sink("--permfail-attempt", "1")
        self.assertEqual(self.transaction(s), [250, 250, 354, 554])

    def test_disconnect_in_data(self):
        s = self.sink("--disconnect-in-data", "1")
        with SmtpClient(s.port) as c:
            c.ehlo()
            c.ok("MAIL FROM:<a@x.test>")
            c.ok("RCPT TO:<b@y.test>")
            c.ok("DATA", 354)
            c.send(b"Subject: cut\r\n\r\npart of the body\r\n")
            self.assertTrue(c.is_closed())
        st = self.final_stats(s)
        self.assertEqual((st["messages"], st["dropped"]), (0, 1))

    def test_reply_delay(self):
        s = self.sink("--reply-delay", "300")
        start = time.monotonic()
        with SmtpClient(s.port) as c:      # greeting, then one NOOP: two delayed batches
            c.ok("NOOP")
        self.assertGreaterEqual(time.monotonic() - start, 0.55)


class LimitsTest(SinkCase):
    def test_long_line_and_connection_limit(self):
        s = self.sink("--max-connections", "1", threads=1)
        with SmtpClient(s.port) as c:
            c.expect(500, "5.5.2", c.cmd("NOOP " + "x" * 5000))
            c.ok("NOOP")                               # the session goes on
            with SmtpClient(s.port, greeting=False) as second:
                second.expect(421, "4.3.2", second.reply())
        st = self.final_stats(s)
        self.assertEqual(st["refused"], 1)

    def test_bad_arguments(self):
        from correo_harness import CORREO_SINK
        for args in (["--rcpt-tempfail", "2"], ["--listen", "nowhere"], ["--bogus"]):
            p = subprocess.run([CORREO_SINK] + args, capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(args[0], p.stderr)


class LoadTest(SinkCase):
    def test_smtp_source_2000_messages(self):
        s = self.sink()
        subprocess.run([SOURCE, "-s", "20", "-m", "2000", "-l", "1024", "127.0.0.1:%d" % s.port],
                       check=True, timeout=120, stdout=subprocess.DEVNULL)
        st = self.final_stats(s)
        self.assertEqual(st["messages"], 2000)
        self.assertEqual(st["replies"]["354"], 2000)


class RelayTest(SinkCase):
    def relay_to(self, sink):
        return Correod(self, relay={"domains": {"example.test": "[127.0.0.1]:%d" % sink.port}, "networks": ["127.0.0.0/8"]},
                       delivery={"queue_only": False, "connect_timeout": "2s"},
                       queue={"retry_initial": "1h", "retry_max": "2h"}).start()

    def test_correod_delivers_to_the_sink(self):
        s = self.sink()
        d = self.relay_to(s)
        with SmtpClient(d.port) as c:
            c.ehlo()
            for i in range(10):
                self.assertEqual(c.send_message("s@example.test", ["r%d@example.test" % i], simple_message("r %d" % i)).code, 250)
        s.wait_messages(10)
        wait_until(lambda: d.count() == 0, timeout=15)

    def test_deferred_by_the_sink_stays_queued(self):
        s = self.sink("--rcpt-tempfail", "1")
        d = self.relay_to(s)
        with SmtpClient(d.port) as c:
            c.ehlo()
            qid = c.send_message("s@example.test", ["r@example.test"], simple_message("deferred")).queue_id()
        wait_until(lambda: "451" in d.correoctl("queue", "show", qid).stdout, timeout=15)
        self.assertIn(qid, d.correoctl("queue", "list", "--state", "deferred").stdout)
        self.assertEqual(s.stats()["messages"], 0)


if __name__ == "__main__":
    unittest.main()
