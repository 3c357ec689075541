"""Outbound STARTTLS end to end (delivery.tls): correod delivering to aiosmtpd sinks that
offer STARTTLS with a throwaway certificate, offer it and then fail every handshake, or do
not offer it at all.

  opportunistic   STARTTLS when offered; the sink receives the message inside TLS; a broken
                  TLS peer gets the message in clear right away (RFC 7435), not deferred
  verify          a self-signed certificate is not trusted -> deferred 4.7.5, never sent in
                  clear; a peer without STARTTLS -> deferred 4.7.4
  none            STARTTLS is never sent
"""

import shutil
import tempfile
import unittest

from test_delivery import DeliveryCase, content
from tls_util import make_cert


class DeliveryTlsTest(DeliveryCase):
    @classmethod
    def setUpClass(cls):
        cls.files = tempfile.mkdtemp(prefix="correo-out-tls-")
        cls.cert = make_cert(cls.files, "sink.test")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.files, ignore_errors=True)

    def relay_to(self, sink, tls):
        return self.correod(domains={"example.test": "[127.0.0.41]:%d" % sink.port}, delivery={"tls": tls})

    def commands(self, sink):
        return [verb for conn in sink.connections for _, verb, _ in conn.commands]

    def test_opportunistic_delivers_inside_tls(self):
        sink = self.sink("127.0.0.41", tls=self.cert)
        d = self.relay_to(sink, "opportunistic")
        qid = self.submit(d, ["a@example.test"], content("over tls"))
        [m] = self.delivered(sink, 1)
        self.assertEqual(m.tls, "TLSv1.3")
        self.wait_removed(d, qid)
        [ev] = self.events(d, "delivery", qid)
        self.assertEqual(ev["status"], "delivered")
        self.assertTrue(ev["tls"].startswith("TLSv1.3 "), ev)
        self.assertIn("verify=self-signed certificate", ev["tls"])
        # EHLO twice: in clear, then again inside TLS (RFC 3207 4.2).
        self.assertEqual(self.commands(sink)[:2], ["EHLO", "EHLO"])

    def test_opportunistic_falls_back_to_clear_when_the_handshake_fails(self):
        sink = self.sink("127.0.0.41", tls="broken")
        d = self.relay_to(sink, "opportunistic")
        qid = self.submit(d, ["a@example.test"], content("broken tls"))
        [m] = self.delivered(sink, 1)
        self.assertIsNone(m.tls)
        self.wait_removed(d, qid)
        [ev] = self.events(d, "delivery", qid)
        self.assertEqual((ev["status"], ev["tls"]), ("delivered", "none"))
        self.assertEqual(len(self.events(d, "tls_failed")), 1)
        self.assertEqual(len(sink.connections), 2)  # the failed handshake, then clear text

    def test_verify_refuses_an_untrusted_certificate(self):
        sink = self.sink("127.0.0.41", tls=self.cert)
        d = self.relay_to(sink, "verify")
        qid = self.submit(d, ["a@example.test"], content("must verify"))
        ev = self.wait_event(d, "delivery", qid, status="deferred")[0]
        self.assertIn("4.7.5", ev["reply"])
        self.assertIn("certificate not trusted", ev["reply"])
        self.assertEqual(sink.messages, [])
        self.assertIn(qid, d.queue_ids())

    def test_verify_needs_starttls(self):
        sink = self.sink("127.0.0.41")
        d = self.relay_to(sink, "verify")
        qid = self.submit(d, ["a@example.test"], content("no starttls"))
        ev = self.wait_event(d, "delivery", qid, status="deferred")[0]
        self.assertIn("4.7.4 TLS is required, but was not offered by host", ev["reply"])
        self.assertEqual(sink.messages, [])

    def test_none_never_asks(self):
        sink = self.sink("127.0.0.41", tls=self.cert)
        d = self.relay_to(sink, "none")
        qid = self.submit(d, ["a@example.test"], content("clear"))
        [m] = self.delivered(sink, 1)
        self.assertIsNone(m.tls)
        self.wait_removed(d, qid)
        self.assertNotIn("STARTTLS", self.commands(sink))


if __name__ == "__main__":
    unittest.main()
