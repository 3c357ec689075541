"""No open relay: relay.domains and relay.networks decide who may send where."""

import smtplib
import unittest

from correo_harness import HOSTNAME, Correod, SmtpClient, simple_message


class RelayDeniedTest(unittest.TestCase):
    """networks = []: 127.0.0.1 is NOT a relay client, only example.test is accepted."""

    @classmethod
    def setUpClass(cls):
        cls.d = Correod(relay={"domains": {"example.test": "", "Other.Example": "[127.0.0.1]:2526"}, "networks": []})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def client(self):
        c = SmtpClient(self.d.port)
        self.addCleanup(c.close)
        c.ehlo()
        c.ok("MAIL FROM:<sender@x.test>", 250)
        return c

    def test_foreign_domain_denied(self):
        c = self.client()
        for addr in ["victim@foreign.test", "victim@sub.example.test", "victim@example.test.evil.test",
                     "victim@exampleXtest", "victim@xexample.test"]:
            with self.subTest(addr=addr):
                r = c.ok("RCPT TO:<%s>" % addr, 554, "5.7.1")
                self.assertEqual(r.text, "5.7.1 <%s>: Relay access denied" % addr)
        c.ok("RCPT TO:<a@foreign.test> NOTIFY=NEVER", 554, "5.7.1")
        # Only refused recipients: DATA is refused as "no valid recipients" (RFC 2920 §3.1).
        r = c.ok("DATA", 554, "5.5.1")
        self.assertIn("no valid recipients", r.text)
        self.assertIn("check=relay", self.d.log())

    def test_relay_domains_accepted(self):
        c = self.client()
        for addr in ["user@example.test", "User@EXAMPLE.TEST", "x@other.example", "x@OTHER.example"]:
            with self.subTest(addr=addr):
                c.ok("RCPT TO:<%s>" % addr, 250, "2.1.5")

    def test_address_literal_never_a_relay_domain(self):
        c = self.client()
        for addr in ["victim@[127.0.0.1]", "victim@[192.0.2.1]", "victim@[IPv6:::1]"]:
            with self.subTest(addr=addr):
                c.ok("RCPT TO:<%s>" % addr, 554, "5.7.1")

    def test_routing_local_parts_refused_and_source_route_ignored(self):
        """user%foreign@example.test would be routed on by the next system (the percent hack),
        so from a stranger it is refused like any relay attempt (Postfix's
        allow_untrusted_routing = no); a source route is ignored, so only the final mailbox's
        domain counts (RFC 5321 Appendix C)."""
        c = self.client()
        c.ok("RCPT TO:<user%foreign.test@example.test>", 554, "5.7.1")
        c.ok("RCPT TO:<\"user@foreign.test\"@example.test>", 554, "5.7.1")
        c.ok("RCPT TO:<foreign.test!user@example.test>", 554, "5.7.1")
        c.ok("RCPT TO:<@example.test:victim@foreign.test>", 554, "5.7.1")
        c.ok("RCPT TO:<@foreign.test:user@example.test>", 250, "2.1.5")
        c.ok("RCPT TO:<user@example.test.>", 501, "5.1.3")   # trailing dot is no bypass
        c.ok("DATA", 354)
        c.send(b"Subject: percent\r\n\r\nx\r\n.\r\n")
        r = c.expect(250, "2.0.0")
        entry = [e for e in self.d.list() if e[0] == r.queue_id()][0]
        self.assertEqual(entry[4], ["user@example.test"])

    def test_postmaster_always_accepted(self):
        c = self.client()
        c.ok("RCPT TO:<Postmaster>", 250, "2.1.5")
        c.ok("RCPT TO:<postmaster>", 250, "2.1.5")
        c.ok("DATA", 354)
        c.send(b"Subject: pm\r\n\r\nx\r\n.\r\n")
        r = c.expect(250)
        entry = [e for e in self.d.list() if e[0] == r.queue_id()][0]
        self.assertEqual(entry[4], ["postmaster@" + HOSTNAME] * 2)

    def test_mixed_recipients_queue_only_accepted(self):
        with smtplib.SMTP("127.0.0.1", self.d.port, timeout=10) as s:
            before = set(self.d.queue_ids())
            refused = s.sendmail("s@x.test", ["ok1@example.test", "no@foreign.test", "ok2@example.test"],
                                 simple_message("mixed"))
        self.assertEqual(list(refused), ["no@foreign.test"])
        self.assertEqual(refused["no@foreign.test"][0], 554)
        new = [e for e in self.d.list() if e[0] not in before]
        self.assertEqual(len(new), 1)
        self.assertEqual(new[0][4], ["ok1@example.test", "ok2@example.test"])

    def test_smtplib_to_foreign_only_refused(self):
        with smtplib.SMTP("127.0.0.1", self.d.port, timeout=10) as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail("s@x.test", ["a@foreign.test"], simple_message("foreign"))
        self.assertEqual(cm.exception.recipients["a@foreign.test"][0], 554)


class RelayNetworksTest(unittest.TestCase):
    """networks = ["127.0.0.0/8"]: the loopback client may relay anywhere."""

    @classmethod
    def setUpClass(cls):
        cls.d = Correod(relay={"domains": {"example.test": ""}, "networks": ["127.0.0.0/8"]})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def test_any_domain_accepted(self):
        c = SmtpClient(self.d.port)
        self.addCleanup(c.close)
        c.ehlo()
        c.ok("MAIL FROM:<sender@x.test>", 250)
        rcpts = ["a@foreign.test", "b@example.test", "c@[192.0.2.1]", "d@sub.example.test"]
        for addr in rcpts:
            c.ok("RCPT TO:<%s>" % addr, 250, "2.1.5")
        c.ok("DATA", 354)
        c.send(b"Subject: relay\r\n\r\nx\r\n.\r\n")
        r = c.expect(250, "2.0.0")
        entry = [e for e in self.d.list() if e[0] == r.queue_id()][0]
        self.assertEqual(entry[4], rcpts)

    def test_other_network_is_not_a_relay_client(self):
        d = Correod(self, relay={"domains": {"example.test": ""}, "networks": ["10.0.0.0/8", "::1/128"]})
        d.start()
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo()
        c.ok("MAIL FROM:<sender@x.test>", 250)
        c.ok("RCPT TO:<a@foreign.test>", 554, "5.7.1")
        c.ok("RCPT TO:<a@example.test>", 250, "2.1.5")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
