"""Hostile clients (issue #10): slowloris and connection churn.

  slowloris   a client that trickles a command or its message a byte at a time is cut at
              about the timeout, as if it had been silent (limits.min_data_rate)
  steady      a slow client above min_data_rate keeps going past the timeout and is served
  no defence  min_data_rate = 0: every read restarts the timeout (the setting works both ways)
  churn       10,000 connections opened and reset at once: the daemon keeps serving, and
              its count of open connections goes back to zero

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_hostile_clients
"""

import re
import socket
import struct
import time
import unittest

from correo_harness import Correod, SmtpClient, simple_message, wait_until


def trickle(sock, payload, interval, limit):
    """Send payload a byte at a time until the server answers or closes; (reply, seconds)."""
    sock.settimeout(interval)
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < limit:
        try:
            sock.sendall(payload[i % len(payload):i % len(payload) + 1])
        except OSError:
            return b"", time.monotonic() - t0
        i += 1
        try:
            data = sock.recv(4096)
            return data, time.monotonic() - t0
        except socket.timeout:
            continue
    return None, time.monotonic() - t0


class SlowlorisTest(unittest.TestCase):
    def daemon(self, **limits):
        conf = {"idle_timeout": "2s", "data_timeout": "2s"}
        conf.update(limits)
        return Correod(self, limits=conf).start()

    def connect(self, d):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        self.addCleanup(s.close)
        self.assertTrue(s.recv(4096).startswith(b"220"))
        return s

    def test_trickled_command_times_out(self):
        d = self.daemon()
        s = self.connect(d)
        reply, took = trickle(s, b"NOOP NOOP NOOP ", 0.2, 15)
        self.assertIsNotNone(reply, "still open after 15 s of one byte every 0.2 s")
        self.assertIn(b"421 4.4.2", reply)
        self.assertLess(took, 4.0)   # the 2 s timeout, a tick, a little credit
        self.assertGreater(took, 1.5)

    def test_trickled_message_times_out_and_nothing_is_queued(self):
        d = self.daemon()
        s = self.connect(d)
        s.sendall(b"EHLO slow.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
        got = b""
        while b"354" not in got:
            got += s.recv(4096)
        reply, took = trickle(s, b"Subject: slow\r\n\r\nbody text\r\n", 0.2, 15)
        self.assertIsNotNone(reply, "still open after 15 s of one byte every 0.2 s")
        self.assertIn(b"421 4.4.2", reply)
        self.assertLess(took, 4.0)
        self.assertEqual(d.count(), 0)
        self.assertRegex(d.log(), r"event=timeout .*phase=data")

    def test_steady_slow_client_is_served(self):
        # 2 KiB/s against a 500 B/s minimum: each second buys four, so a 10 KiB message
        # sent over 5 s finishes although data_timeout is 2 s.
        d = self.daemon()
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo()
        c.ok("MAIL FROM:<a@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.ok("DATA", 354)
        body = simple_message("steady", ("y" * 78 + "\r\n") * 128)
        t0 = time.monotonic()
        for i in range(0, len(body), 205):
            c.send(body[i:i + 205])
            time.sleep(0.1)
        c.send(b".\r\n")
        r = c.reply()
        self.assertGreater(time.monotonic() - t0, 4.0)
        self.assertEqual(r.code, 250, r)
        self.assertEqual(d.count(), 1)

    def test_without_a_minimum_rate_every_byte_restarts_the_clock(self):
        d = self.daemon(min_data_rate=0)
        s = self.connect(d)
        reply, took = trickle(s, b"NOOP NOOP NOOP ", 0.2, 5)
        self.assertIsNone(reply, "cut after %.1f s although min_data_rate = 0" % took)


class ChurnTest(unittest.TestCase):
    def test_ten_thousand_connections_opened_and_reset(self):
        d = Correod(self).start()
        linger_reset = struct.pack("ii", 1, 0)  # close() sends RST
        opened = 0
        for _ in range(100):
            batch = []
            for _ in range(100):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_reset)
                s.connect(("127.0.0.1", d.port))
                batch.append(s)
            for s in batch:
                s.close()
            opened += len(batch)
        self.assertEqual(opened, 10000)

        def open_connections():
            return sum(float(v) for v in re.findall(r"^correo_connections_open\{[^}]*\} (\S+)$", d.scrape(),
                                                   re.MULTILINE))
        wait_until(lambda: open_connections() == 0, timeout=20, interval=0.2)
        accepted = sum(float(v) for v in re.findall(r"^correo_connections_accepted_total\{[^}]*\} (\S+)$",
                                                    d.scrape(), re.MULTILINE))
        self.assertGreaterEqual(accepted, 10000)
        with SmtpClient(d.port) as c:  # still serving
            c.ehlo()
            self.assertEqual(c.send_message("a@x.test", ["b@example.test"], simple_message("after churn")).code, 250)
        self.assertEqual(d.count(), 1)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
