"""correo-blast, the bundled load generator (bench/blast/), against real servers.

  engine      the io_uring engine (the default for plaintext): N messages over M sessions all
              accepted and counted where they landed (correod's queue, correo-sink's stats);
              pipelining with connections reused; rejections counted by reason; handshakes
  sizes       --size as a range or a mix: the bytes correo-blast counts are the bytes the
              sink stored, and each MAIL FROM declares its own message's SIZE
  tls         STARTTLS + AUTH on a submission listener and implicit TLS on smtps, both
              engines, session resumption counted; a server without STARTTLS is an error
  idle        --idle holds every session open and silent for --hold, then QUITs
  rate        --rate R over a short --duration achieves about R
  limits      a server that is not there: errors, exit 1, and the run still ends by itself;
              the thread engine (TLS runs use it) gives the same counts

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_blast
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from correo_harness import CORREO_BLAST, Correod, CorreoSink, free_port
from tls_util import make_cert, write_users

PASSWORD = "blast-Secret-42"


def blast(port, *args, timeout=120):
    p = subprocess.run([CORREO_BLAST, "127.0.0.1:%d" % port, "--json"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    try:
        return p.returncode, json.loads(p.stdout), p.stderr
    except json.JSONDecodeError:
        raise AssertionError("no JSON from correo-blast (exit %d): %s %s" % (p.returncode, p.stdout, p.stderr))


class EngineTest(unittest.TestCase):
    def test_messages_reach_correod_queue(self):
        d = Correod(self).start()
        rc, r, err = blast(d.port, "--sessions", 20, "--messages", 300)
        self.assertEqual(rc, 0, err)
        self.assertEqual((r["sent"], r["accepted"], r["rejected"], r["errors"]), (300, 300, 0, 0))
        self.assertEqual(r["connections"], 300)          # --per-conn 1 by default
        self.assertEqual(d.count(), 300)
        self.assertGreater(r["latency_ms"]["p50"], 0)

    def test_pipelined_reuse_into_the_sink(self):
        s = CorreoSink(self).start()
        rc, r, err = blast(s.port, "--sessions", 10, "--messages", 1000, "--per-conn", 25, "--pipelining", "--rcpts", 2)
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["accepted"], 1000)
        self.assertLessEqual(r["connections"], 1000 // 25 + 10)
        self.assertEqual(s.stop(), 0)
        st = s.stats()
        self.assertEqual((st["messages"], st["recipients"]), (1000, 2000))

    def test_rejections_are_counted(self):
        s = CorreoSink(self, args=["--rcpt-permfail", "1"]).start()
        for extra in ([], ["--pipelining"]):
            rc, r, err = blast(s.port, "--sessions", 5, "--messages", 50, "--per-conn", 10, *extra)
            self.assertEqual(rc, 0, err)                  # rejections are not errors
            self.assertEqual((r["accepted"], r["rejected"], r["errors"]), (0, 50, 0), extra)
            self.assertIn("RCPT: 550 5.1.1", err)
        self.assertEqual(s.stop(), 0)
        self.assertEqual(s.stats()["messages"], 0)

    def test_handshake_only(self):
        s = CorreoSink(self).start()
        rc, r, err = blast(s.port, "--sessions", 8, "--messages", 80, "--handshake-only")
        self.assertEqual(rc, 0, err)
        self.assertEqual((r["sent"], r["accepted"], r["connections"]), (80, 80, 80))


class SizesTest(unittest.TestCase):
    def test_a_mix_lands_byte_for_byte(self):
        s = CorreoSink(self).start()
        sent_bytes = 0
        for engine in ("uring", "threads"):
            rc, r, err = blast(s.port, "--engine", engine, "--sessions", 6, "--messages", 300, "--per-conn", 10,
                               "--pipelining", "--size", "1k:3,30k:1")
            self.assertEqual(rc, 0, err)
            self.assertEqual(r["accepted"], 300, engine)
            # Both sizes drawn: the total lies strictly between all-small and all-large.
            self.assertGreater(r["bytes"], 300 * 1024 + 20 * 29 * 1024, r)
            self.assertLess(r["bytes"], 300 * 30 * 1024 - 20 * 29 * 1024, r)
            sent_bytes += r["bytes"]
        self.assertEqual(s.stop(), 0)
        st = s.stats()
        self.assertEqual((st["messages"], st["bytes"]), (600, sent_bytes))

    def test_a_range_counts_what_the_sink_stored(self):
        s = CorreoSink(self).start()
        rc, r, err = blast(s.port, "--sessions", 4, "--messages", 200, "--size", "500-200k")
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["accepted"], 200)
        self.assertEqual(s.stop(), 0)
        self.assertEqual(s.stats()["bytes"], r["bytes"])
        # Log-uniform over 500 B .. 200 KiB has a mean of about 33 KiB; 200 draws land well
        # inside 10..80 KiB (a fixed size would be exactly 1 KiB or 200 KiB).
        self.assertGreater(r["bytes"] / 200, 10 * 1024, r)
        self.assertLess(r["bytes"] / 200, 80 * 1024, r)

    def test_each_mail_from_declares_its_size(self):
        # correod refuses at MAIL FROM a SIZE= above its limit (RFC 1870: 552), so with a
        # limit between the two sizes exactly the large messages are rejected there.
        d = Correod(self, limits={"message_size": 20 * 1024}).start()
        rc, r, err = blast(d.port, "--sessions", 4, "--messages", 120, "--size", "2k:1,40k:1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["accepted"] + r["rejected"], 120)
        self.assertGreater(r["rejected"], 20, r)
        self.assertGreater(r["accepted"], 20, r)
        self.assertEqual(r["bytes"], r["accepted"] * 2048)
        self.assertIn("MAIL: 552", err)
        self.assertEqual(d.count(), r["accepted"])


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = tempfile.mkdtemp(prefix="correo-blast-tls-")
        cls.cert, cls.key = make_cert(cls.files, "mx.test")
        cls.users = os.path.join(cls.files, "users")
        write_users(cls.users, {"alice": (PASSWORD, ["alice@example.test"])})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.files, ignore_errors=True)

    def start(self):
        self.sub_port, self.smtps_port = free_port(), free_port()
        return Correod(self, listener=[
            {"address": "127.0.0.1", "port": self.sub_port, "mode": "submission"},
            {"address": "127.0.0.1", "port": self.smtps_port, "mode": "smtps"},
        ], tls={"cert": self.cert, "key": self.key}, auth={"users_file": self.users}).start()

    def submit(self, port, *flags):
        return blast(port, "--auth", "alice:" + PASSWORD, "--from", "alice@example.test", "--to", "bob@example.test",
                     *flags)

    def test_starttls_and_implicit_tls_on_both_engines(self):
        d = self.start()
        total = 0
        for engine in ("uring", "threads"):
            rc, r, err = self.submit(self.sub_port, "--engine", engine, "--starttls", "--sessions", 8,
                                     "--messages", 80, "--per-conn", 4, "--pipelining")
            self.assertEqual(rc, 0, err)
            self.assertEqual((r["accepted"], r["errors"]), (80, 0), (engine, err))
            rc, r, err = self.submit(self.smtps_port, "--engine", engine, "--implicit-tls", "--sessions", 8,
                                     "--messages", 40)
            self.assertEqual(rc, 0, err)
            self.assertEqual((r["accepted"], r["errors"]), (40, 0), (engine, err))
            total += 120
        self.assertEqual(d.count(), total)
        # What correod saw: every connection authenticated over TLS 1.3, none in plaintext.
        log = d.log()
        self.assertGreaterEqual(log.count("event=auth "), 2 * (80 // 4 + 40))
        self.assertEqual(log.count("event=auth "), log.count("tls=TLSv1.3"))

    def test_resumption_is_counted(self):
        d = self.start()
        rc, r, err = self.submit(self.smtps_port, "--implicit-tls", "--tls-resume", "--sessions", 4,
                                 "--messages", 40, "--handshake-only")
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["accepted"], 40)
        # Each session's first handshake is full; the 9 after it offer the last ticket.
        self.assertGreaterEqual(r["tls_resumed"], 30, r)

    def test_idle_tls_sessions_are_held(self):
        d = self.start()
        rc, r, err = blast(self.smtps_port, "--implicit-tls", "--sessions", 50, "--idle", "--hold", "500ms")
        self.assertEqual(rc, 0, err)
        self.assertEqual((r["accepted"], r["errors"]), (50, 0), err)

    def test_starttls_not_offered_is_an_error(self):
        s = CorreoSink(self).start()  # offers no STARTTLS
        rc, r, err = blast(s.port, "--starttls", "--sessions", 2, "--messages", 4, "--timeout", "2s")
        self.assertEqual(rc, 1)
        self.assertEqual(r["accepted"], 0)
        self.assertIn("STARTTLS: not offered by the server", err)


class IdleTest(unittest.TestCase):
    def test_idle_sessions_are_held(self):
        d = Correod(self).start()
        start = time.monotonic()
        rc, r, err = blast(d.port, "--sessions", 300, "--idle", "--hold", "1500ms")
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(time.monotonic() - start, 1.5)
        self.assertEqual((r["sent"], r["accepted"], r["connections"], r["errors"]), (300, 300, 300, 0))
        self.assertEqual(d.count(), 0)


class RateTest(unittest.TestCase):
    def test_rate_is_kept(self):
        s = CorreoSink(self).start()
        rc, r, err = blast(s.port, "--sessions", 20, "--rate", 400, "--duration", "2s")
        self.assertEqual(rc, 0, err)
        self.assertGreater(r["msgs_per_s"], 400 * 0.7, r)
        self.assertLess(r["msgs_per_s"], 400 * 1.3, r)


class LimitsTest(unittest.TestCase):
    def test_nobody_listening_ends_with_errors(self):
        port = free_port()
        start = time.monotonic()
        rc, r, err = blast(port, "--sessions", 4, "--duration", "1s", "--timeout", "1s")
        self.assertEqual(rc, 1)
        self.assertGreater(r["errors"], 0)
        self.assertEqual(r["accepted"], 0)
        self.assertIn("connect", err)
        self.assertLess(time.monotonic() - start, 10)

    def test_thread_engine_counts_the_same(self):
        s = CorreoSink(self).start()
        rc, r, err = blast(s.port, "--engine", "threads", "--sessions", 10, "--messages", 200, "--per-conn", 5)
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["accepted"], 200)
        # Each session claims a message before it connects; when the budget runs out a
        # connection may carry fewer than --per-conn, so a few more connections than 200/5.
        self.assertGreaterEqual(r["connections"], 40)
        self.assertLessEqual(r["connections"], 40 + 10)
        self.assertEqual(s.stop(), 0)
        self.assertEqual(s.stats()["messages"], 200)


if __name__ == "__main__":
    unittest.main()
