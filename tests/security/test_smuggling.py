"""SMTP smuggling and STARTTLS injection, counted downstream (issue #10).

correod relays to correo-sink (--dir), and every test counts what arrives there. A smuggling
attempt hides a second transaction behind a false end of data, for a downstream server
that would take the false end for the real one. correod refuses every message with a bare
CR or LF (550 5.6.0); a variant without one ("\r\n.MAIL FROM...", a dot-stuffed line) is
ordinary content, accepted as one message. Either way the sink must receive exactly the
transactions correod accepted, and none may come from the smuggled sender.

  matrix      every combination of {CRLF, LF, CR, nothing} + "." + {CRLF, LF, CR, nothing}
              except the real terminator, plus doubled line endings; in DATA and in BDAT
              (one chunk, LAST)
  starttls    commands pipelined after STARTTLS in the same plaintext write (CVE-2011-0411
              class): never executed, inside or outside the TLS session

Run: cd tests/security && PYTHONPATH=../integration /usr/bin/python3 -m unittest -v test_smuggling
"""

import glob
import itertools
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from correo_harness import Correod, CorreoSink, SmtpClient, wait_until  # noqa: E402
from tls_util import make_cert  # noqa: E402

ENDINGS = {"crlf": b"\r\n", "lf": b"\n", "cr": b"\r", "none": b""}
REAL_END = b"\r\n.\r\n"
EVIL = b"evil@attacker.test"
SMUGGLED = b"MAIL FROM:<" + EVIL + b">\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n"


def variants():
    out = []
    for (bn, before), (an, after) in itertools.product(ENDINGS.items(), ENDINGS.items()):
        v = before + b"." + after
        if v != REAL_END:
            out.append(("%s_dot_%s" % (bn, an), v))
    # Doubled endings. (Not "\r\r\n.\r\n": it holds the real terminator, so the data
    # ends there and what follows is the client's own next commands.)
    out += [("crlf_dot_cr_crlf", b"\r\n.\r\r\n"), ("lf_lf_dot_lf_lf", b"\n\n.\n\n"),
            ("crlf_dot_lf_crlf", b"\r\n.\n\r\n"), ("lf_crlf_dot_lf", b"\n\r\n.\n")]
    for name, v in out:
        assert REAL_END not in b"hello" + v + SMUGGLED, name
    return out


def has_bare_cr_or_lf(data):
    return data.replace(b"\r\n", b"").count(b"\r") + data.replace(b"\r\n", b"").count(b"\n") > 0


class SmugglingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="correo-security-")
        cls.cert, cls.key = make_cert(cls.work, "mx.test")
        cls.sink_dir = os.path.join(cls.work, "sink")
        cls.sink = CorreoSink(args=["--dir", cls.sink_dir])
        cls.sink.start()
        cls.d = Correod(relay={"domains": {"example.test": "[127.0.0.1]:%d" % cls.sink.port},
                               "networks": ["127.0.0.0/8"]},
                        delivery={"queue_only": False, "connect_timeout": "2s"},
                        tls={"cert": cls.cert, "key": cls.key})
        cls.d.start()
        cls.accepted = 0

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.sink.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def downstream(self):
        """(count, senders, bodies) of what reached the sink, once correod's queue is empty."""
        wait_until(lambda: self.d.count() == 0, timeout=20, interval=0.1)
        files = sorted(glob.glob(os.path.join(self.sink_dir, "*.eml")))
        senders, bodies = [], []
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            senders.append(data.split(b"\r\n", 1)[0])
            bodies.append(data)
        return len(files), senders, bodies

    def valid(self, c, tag):
        r = c.send_message("good@x.test", ["rcpt@example.test"], b"Subject: " + tag.encode() + b"\r\n\r\nok\r\n")
        self.assertEqual(r.code, 250, r)
        type(self).accepted += 1

    def expect_verdict(self, name, content, r):
        """550 5.6.0 for content with a bare CR or LF; one accepted message otherwise."""
        if has_bare_cr_or_lf(content):
            self.assertEqual((r.code, r.enhanced), (550, "5.6.0"), "%s: %r" % (name, r))
        else:
            self.assertEqual(r.code, 250, "%s: %r" % (name, r))
            type(self).accepted += 1

    def check_downstream(self):
        count, senders, bodies = self.downstream()
        self.assertEqual(count, type(self).accepted, "the sink got other than the accepted transactions")
        for s in senders:
            self.assertNotIn(EVIL, s, "a smuggled transaction reached the sink")

    def test_data_matrix(self):
        for name, v in variants():
            with self.subTest(variant=name), SmtpClient(self.d.port) as c:
                c.ehlo()
                c.ok("MAIL FROM:<good@x.test>")
                c.ok("RCPT TO:<rcpt@example.test>")
                c.ok("DATA", 354)
                content = b"Subject: carrier " + name.encode() + b"\r\n\r\nhello" + v + SMUGGLED
                c.send(content + REAL_END)
                self.expect_verdict(name, content, c.reply())
                r = c.cmd("NOOP")       # the next reply answers NOOP: nothing smuggled ran
                self.assertEqual(r.code, 250, "%s: %r" % (name, r))
                self.valid(c, "after " + name)
                c.ok("QUIT", 221)
        self.check_downstream()

    def test_bdat_matrix(self):
        for name, v in variants():
            with self.subTest(variant=name), SmtpClient(self.d.port) as c:
                c.ehlo()
                c.ok("MAIL FROM:<good@x.test>")
                c.ok("RCPT TO:<rcpt@example.test>")
                chunk = b"Subject: carrier " + name.encode() + b"\r\n\r\nhello" + v + SMUGGLED + REAL_END
                c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
                self.expect_verdict(name, chunk, c.reply())
                r = c.cmd("NOOP")
                self.assertEqual(r.code, 250, "%s: %r" % (name, r))
                self.valid(c, "after bdat " + name)
                c.ok("QUIT", 221)
        self.check_downstream()

    def test_starttls_injection(self):
        injections = {
            "mail": b"MAIL FROM:<" + EVIL + b">\r\n",
            "transaction": SMUGGLED + b".\r\n",
            "rset_then_mail": b"RSET\r\nMAIL FROM:<" + EVIL + b">\r\n",
        }
        for name, injected in injections.items():
            with self.subTest(injection=name), SmtpClient(self.d.port) as c:
                c.ehlo()
                c.send(b"STARTTLS\r\n" + injected)
                r = c.reply()
                if r.code == 220:
                    c.start_tls()   # fails the test if plaintext bytes followed the 220
                    c.ehlo()
                    # Inside TLS, a fresh session: MAIL is accepted only once, from us.
                    self.valid(c, "tls " + name)
                    c.ok("QUIT", 221)
                else:
                    # Refusing STARTTLS with pipelined data after it is also safe.
                    self.assertGreaterEqual(r.code, 400, r)
        self.check_downstream()


if __name__ == "__main__":
    unittest.main()
