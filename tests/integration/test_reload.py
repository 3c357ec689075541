"""SIGHUP applies a valid configuration to the running daemon, without a restart.

Each test starts the real correod, changes its config file, sends SIGHUP (harness
Correod.reload) and checks the effect with real SMTP clients (the harness client and an
aiosmtpd sink):

  limits      a new session sees the new SIZE; a session opened before the reload keeps the
              limits it started with
  relay       a domain added to relay.domains is accepted at once; a client range added to
              policy.client_deny is refused at once
  rates       policy.message_rate set by a reload limits the next messages
  delivery    delivery.queue_only switched off (and a route added) delivers what was queued
  start-bound a changed listener and [dns] are kept as they were and named in
              restart_needed; the listener keeps serving on its old port

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_reload
"""

import unittest

from correo_harness import Correod, SmtpClient, free_port, simple_message
from peers import Sink

SENDER = "sender@example.test"


def ehlo_size(client):
    r = client.ehlo()
    for line in r.lines:
        if line[4:].upper().startswith("SIZE"):
            return int(line[4:].split()[1])
    raise AssertionError("no SIZE in %r" % r.lines)


class ReloadAppliesTest(unittest.TestCase):
    def test_limits_apply_to_new_sessions_only(self):
        d = Correod(self, limits={"message_size": 10000}).start()
        before = SmtpClient(d.port)
        self.addCleanup(before.close)
        self.assertEqual(ehlo_size(before), 10000)

        line = d.reload(limits={"message_size": 20000})
        self.assertNotIn("restart_needed", line)

        # The session opened before the reload keeps its configuration to the end.
        before.expect(552, "5.3.4", before.cmd("MAIL FROM:<%s> SIZE=15000" % SENDER))
        # A new one runs with the new limit and takes a message the old one could not.
        with SmtpClient(d.port) as c:
            self.assertEqual(ehlo_size(c), 20000)
            body = simple_message("big", ("y" * 998 + "\r\n") * 14)
            self.assertGreater(len(body), 10000)
            r = c.send_message(SENDER, ["rcpt@example.test"], body)
            self.assertEqual(r.code, 250, r)

    def test_relay_domains_and_client_deny_apply_at_once(self):
        d = Correod(self, relay={"networks": []}).start()
        with SmtpClient(d.port) as c:
            c.ehlo()
            c.ok("MAIL FROM:<%s>" % SENDER)
            c.expect(554, "5.7.1", c.cmd("RCPT TO:<someone@added.test>"))

        d.reload(relay={"domains": {"example.test": "", "added.test": ""}})
        with SmtpClient(d.port) as c:
            c.ehlo()
            r = c.send_message(SENDER, ["someone@added.test"], simple_message("added"))
            self.assertEqual(r.code, 250, r)

        d.reload(policy={"client_deny": ["127.0.0.0/8"]})
        with SmtpClient(d.port, greeting=False) as c:
            c.expect(554, None, c.reply())
        self.assertGreaterEqual(d.metric("correo_connections_rejected_total", {"reason": "client_access"}), 1)

    def test_message_rate_set_by_reload_limits_the_next_messages(self):
        d = Correod(self, relay={"networks": []}).start()
        with SmtpClient(d.port) as c:
            c.ehlo()
            for i in range(3):
                self.assertEqual(c.send_message(SENDER, ["r@example.test"], simple_message("free %d" % i)).code, 250)

        d.reload(policy={"message_rate": 2})
        with SmtpClient(d.port) as c:
            c.ehlo()
            for i in range(2):
                self.assertEqual(c.send_message(SENDER, ["r@example.test"], simple_message("rated %d" % i)).code, 250)
            c.expect(450, "4.7.1", c.cmd("MAIL FROM:<%s>" % SENDER))

    def test_queue_only_off_delivers_what_was_queued(self):
        sink = Sink("127.0.0.61", testcase=self).start()
        d = Correod(self, delivery={"queue_only": True, "connect_timeout": "1s"},
                    queue={"retry_initial": "1s", "retry_max": "2s"}).start()
        with SmtpClient(d.port) as c:
            c.ehlo()
            ids = [c.send_message(SENDER, ["r%d@routed.test" % i], simple_message("q %d" % i)).queue_id()
                   for i in range(3)]
        self.assertEqual(sorted(d.queue_ids()), sorted(ids))
        self.assertEqual(len(sink.messages), 0)

        hop = "[%s]:%d" % (sink.address, sink.port)
        line = d.reload(delivery={"queue_only": False}, transport={"routed.test": hop})
        self.assertNotIn("restart_needed", line)
        sink.wait_messages(3)
        self.assertEqual(sorted(m.rcpt_tos[0] for m in sink.messages), ["r0@routed.test", "r1@routed.test", "r2@routed.test"])

    def test_start_bound_settings_are_kept_and_named(self):
        d = Correod(self).start()
        new_port = free_port()
        line = d.reload(listener=[{"address": "127.0.0.1", "port": new_port, "mode": "smtp"}],
                        dns={"timeout": "2s"}, limits={"recipients": 200})
        self.assertIn("restart_needed=listener,dns", line)
        with SmtpClient(d.port) as c:   # still on the old port
            c.ehlo()
        with self.assertRaises(OSError):
            SmtpClient(new_port, timeout=1)
        d.wait_log(r"event=reloaded what=config files_ok=true")


if __name__ == "__main__":
    unittest.main()
