"""TLS, AUTH and relay control against the real correod: openssl s_client, Python's smtplib
(starttls/login, SMTP_SSL) and raw sockets, on three listeners of one daemon:

    smtp (port 25 role)     STARTTLS offered, AUTH not offered, relay by domain or network
    submission (587 role)   STARTTLS then AUTH required before MAIL
    smtps (465 role)        TLS from the first byte, AUTH required

relay.networks is 127.0.0.2/32 only: clients connecting from 127.0.0.1 are strangers, from
127.0.0.2 they are inside (any 127.x.y.z works on loopback without setup).
"""

import os
import shutil
import signal
import smtplib
import subprocess
import unittest

from correo_harness import CORREOD, Correod, SmtpClient, free_port, simple_message, split_received, wait_until
from tls_util import client_context, make_cert, peer_cn, write_users

PASSWORD = "s3cret-Pa55"
BOB_PASSWORD = "bob-pw-2"


def login_plain(s, user, password):
    """AUTH PLAIN only (smtplib's login() would go on to LOGIN after a failure); the reply."""
    s.user, s.password = user, password
    try:
        return s.auth("PLAIN", s.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        return e.smtp_code, e.smtp_error


class TlsAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.files = tempfile.mkdtemp(prefix="correo-tls-")
        cls.cert, cls.key = make_cert(cls.files, "mx.test")
        cls.users = os.path.join(cls.files, "users")
        write_users(cls.users, {"alice": (PASSWORD, ["alice@example.test"]),
                                "bob@example.test": (BOB_PASSWORD, ["@bob.test"])})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.files, ignore_errors=True)

    def start(self, auth=None, submission=None, cert=None, key=None, **kw):
        self.smtp_port = free_port()
        self.sub_port = free_port()
        self.smtps_port = free_port()
        auth_conf = {"users_file": self.users, "max_failures": 3, "failure_window": "10m"}
        auth_conf.update(auth or {})
        d = Correod(self, listener=[
            {"address": "127.0.0.1", "port": self.smtp_port, "mode": "smtp"},
            {"address": "127.0.0.1", "port": self.sub_port, "mode": "submission"},
            {"address": "127.0.0.1", "port": self.smtps_port, "mode": "smtps"},
        ], relay={"domains": {"example.test": ""}, "networks": ["127.0.0.2/32"]},
            tls={"cert": cert or self.cert, "key": key or self.key}, auth=auth_conf, submission=submission or {}, **kw)
        return d.start()

    def smtplib_submission(self, d):
        s = smtplib.SMTP("127.0.0.1", self.sub_port, timeout=10)
        s.ehlo("client.test")
        s.starttls(context=client_context())
        s.ehlo("client.test")
        return s

    # ---- STARTTLS and implicit TLS with real clients

    def test_openssl_s_client_starttls_then_ehlo_inside(self):
        d = self.start()
        out = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.smtp_port, "-starttls", "smtp", "-quiet"],
            input=b"EHLO client.test\r\nQUIT\r\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        text = out.stdout.decode()
        self.assertIn("250-mx.test", text)
        self.assertNotIn("STARTTLS", text)  # not offered again inside TLS
        self.assertIn("221 2.0.0 Bye", text)
        self.assertIn("CN = mx.test", out.stderr.decode())
        self.assertIn("event=tls_ready", d.log())

    def test_smtplib_starttls_login_and_send_on_submission(self):
        d = self.start()
        with self.smtplib_submission(d) as s:
            self.assertIn("auth", s.esmtp_features)
            self.assertEqual(s.login("alice", PASSWORD)[0], 235)
            refused = s.sendmail("alice@example.test", ["friend@elsewhere.test"], simple_message("sub"))
            self.assertEqual(refused, {})
        ids = d.queue_ids()
        self.assertEqual(len(ids), 1)
        _, body = d.show(ids[0])
        received, _ = split_received(body)
        self.assertEqual(received["proto"], b"ESMTPSA")
        self.assertEqual(received["tls_version"], b"TLSv1.3")
        self.assertNotIn(b"alice", received.group(0))  # the user is not disclosed
        self.assertNotIn(PASSWORD, d.log())
        self.assertRegex(d.log(), r"event=auth client=127\.0\.0\.1 user=alice tls=TLSv1\.3")

    def test_smtps_implicit_tls_with_smtplib(self):
        d = self.start()
        with smtplib.SMTP_SSL("127.0.0.1", self.smtps_port, timeout=10, context=client_context()) as s:
            s.ehlo("client.test")
            self.assertNotIn("starttls", s.esmtp_features)
            self.assertIn("auth", s.esmtp_features)
            s.login("bob@example.test", BOB_PASSWORD)
            s.sendmail("bob@example.test", ["x@elsewhere.test"], simple_message("smtps"))
        self.assertEqual(d.count(), 1)

    def test_plaintext_client_on_smtps_gets_no_greeting(self):
        d = self.start()
        with SmtpClient(self.smtps_port, greeting=False, timeout=5) as c:
            c.send(b"EHLO client.test\r\n")
            self.assertTrue(c.is_closed(timeout=5))  # not TLS: the handshake fails, no 220 was ever sent
        d.wait_log(r"event=tls_handshake_failed client=127\.0\.0\.1")

    def test_bytes_pipelined_after_starttls_are_never_answered(self):
        d = self.start()
        with SmtpClient(self.smtp_port) as c:
            c.ok("EHLO client.test")
            # One write: STARTTLS plus injected commands (CVE-2011-0411).
            c.send(b"STARTTLS\r\nRSET\r\nHELP\r\n")
            c.expect(220, "2.0.0")
            c.start_tls()
            r = c.cmd("NOOP")
            self.assertEqual((r.code, r.text), (250, "2.0.0 Ok"))  # NOOP's, not RSET's or HELP's 214
            self.assertEqual(c.cmd("HELP").code, 214)
            # The state was reset to before EHLO (RFC 3207 4.2).
            c.expect(503, r=c.cmd("MAIL FROM:<a@b.test>"))
        d.wait_log(r"event=starttls_pipelined client=127\.0\.0\.1 discarded_bytes=12\b")

    # ---- AUTH policy

    def test_auth_not_offered_before_tls_and_mail_needs_tls_then_auth(self):
        self.start()
        with SmtpClient(self.sub_port) as c:
            r = "\n".join(c.ehlo().texts)
            self.assertIn("STARTTLS", r)
            self.assertNotIn("AUTH", r)
            c.expect(538, "5.7.11", r=c.cmd("AUTH PLAIN AGFsaWNlAHMzY3JldC1QYTU1"))
            c.expect(530, "5.7.0", r=c.cmd("MAIL FROM:<alice@example.test>"))
            c.expect(220, r=c.cmd("STARTTLS"))
            c.start_tls()
            self.assertIn("AUTH PLAIN LOGIN", c.ehlo().texts)
            r = c.expect(530, "5.7.0", r=c.cmd("MAIL FROM:<alice@example.test>"))
            self.assertIn("Authentication required", r.text)

    def test_no_auth_on_the_smtp_listener(self):
        self.start()
        with SmtpClient(self.smtp_port) as c:
            c.ok("EHLO client.test")
            c.expect(220, r=c.cmd("STARTTLS"))
            c.start_tls()
            self.assertNotIn("AUTH", "\n".join(c.ehlo().texts))
            c.expect(502, r=c.cmd("AUTH PLAIN ="))

    def test_wrong_password_is_535_and_guessing_is_rate_limited(self):
        d = self.start()
        with self.smtplib_submission(d) as s:
            for _ in range(3):
                self.assertEqual(login_plain(s, "alice", "wrong-guess")[0], 535)
        with self.smtplib_submission(d) as s:
            # Over auth.max_failures from this address: refused without checking, even the
            # right password, until the window passes.
            self.assertEqual(login_plain(s, "alice", PASSWORD)[0], 454)
        log = d.log()
        self.assertIn("event=auth_rate_limited", log)
        self.assertNotIn("wrong-guess", log)
        self.assertNotIn(PASSWORD, log)

    def test_auth_login_mechanism(self):
        d = self.start()
        with self.smtplib_submission(d) as s:
            s.user, s.password = "alice", PASSWORD
            code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            self.assertEqual(code, 235)

    def test_enforce_sender(self):
        d = self.start(submission={"enforce_sender": True})
        with self.smtplib_submission(d) as s:
            s.login("bob@example.test", BOB_PASSWORD)
            with self.assertRaises(smtplib.SMTPSenderRefused) as e:
                s.sendmail("alice@example.test", ["x@elsewhere.test"], simple_message())
            self.assertEqual(e.exception.smtp_code, 553)
            s.rset()
            self.assertEqual(s.sendmail("bob@example.test", ["x@elsewhere.test"], simple_message()), {})
            self.assertEqual(s.sendmail("anyone@bob.test", ["x@elsewhere.test"], simple_message()), {})
        self.assertEqual(d.count(), 2)

    def test_submission_adds_date_and_message_id(self):
        d = self.start()
        with self.smtplib_submission(d) as s:
            s.login("alice", PASSWORD)
            s.sendmail("alice@example.test", ["x@elsewhere.test"], b"Subject: bare\r\n\r\nno date here\r\n")
        _, body = d.show(d.queue_ids()[0])
        _, content = split_received(body)
        self.assertRegex(content, rb"^Date: [A-Z][a-z]{2}, \d{2} ")
        self.assertRegex(content, rb"\r\nMessage-ID: <[0-9A-Z]{13}@mx\.test>\r\nSubject: bare\r\n")

    # ---- relay control

    def test_relay_tricks_from_a_stranger_are_denied(self):
        self.start()
        with SmtpClient(self.smtp_port, source="127.0.0.1") as c:
            c.ok("EHLO client.test")
            c.ok("MAIL FROM:<a@b.test>")
            for rcpt in ["user@elsewhere.test", "user%elsewhere.test@example.test",
                         "elsewhere.test!user@example.test", "@example.test:user@elsewhere.test",
                         '"user@elsewhere.test"@example.test', "user@[127.0.0.1]",
                         "user@example.test.elsewhere.test"]:
                r = c.expect(554, "5.7.1", r=c.cmd("RCPT TO:<%s>" % rcpt))
                self.assertIn("Relay access denied", r.text, rcpt)
            c.expect(501, r=c.cmd("RCPT TO:<user@elsewhere.test@example.test>"))
            c.ok("RCPT TO:<user@Example.TEST>")

    def test_relay_from_relay_networks_and_after_auth(self):
        d = self.start()
        with SmtpClient(self.smtp_port, source="127.0.0.2") as c:
            c.ok("EHLO client.test")
            c.ok("MAIL FROM:<a@b.test>")
            c.ok("RCPT TO:<user@elsewhere.test>")
        with self.smtplib_submission(d) as s:
            s.login("alice", PASSWORD)
            s.mail("alice@example.test")
            self.assertEqual(s.rcpt("user@elsewhere.test")[0], 250)

    # ---- reload

    def test_certificate_reload_keeps_open_sessions(self):
        # Own copies: this test overwrites them.
        cert, key = make_cert(self.files, "mx.test", name="reloading")
        d = self.start(cert=cert, key=key)
        self.assertEqual(peer_cn(self.smtps_port), "mx.test")
        s = smtplib.SMTP_SSL("127.0.0.1", self.smtps_port, timeout=10, context=client_context())
        s.ehlo("client.test")
        s.login("alice", PASSWORD)
        new_cert, new_key = make_cert(self.files, "renewed.test", name="renewed")
        shutil.copy(new_cert, cert + ".new")
        shutil.copy(new_key, key + ".new")
        os.replace(key + ".new", key)
        os.replace(cert + ".new", cert)
        os.kill(d.pid, signal.SIGHUP)
        d.wait_log("event=reloaded what=certificate")
        self.assertEqual(peer_cn(self.smtps_port), "renewed.test")
        # The session opened before the reload goes on with its old keys.
        self.assertEqual(s.noop()[0], 250)
        self.assertEqual(s.sendmail("alice@example.test", ["x@elsewhere.test"], simple_message()), {})
        s.quit()
        # A broken certificate is refused and the current one stays.
        with open(cert, "w") as f:
            f.write("not a certificate\n")
        os.kill(d.pid, signal.SIGHUP)
        d.wait_log("event=reload_failed what=certificate")
        self.assertEqual(peer_cn(self.smtps_port), "renewed.test")

    def test_users_reload(self):
        d = self.start()
        users = os.path.join(self.files, "users-reload")
        shutil.copy(self.users, users)
        d.stop()
        d2 = self.start(auth={"users_file": users})
        write_users(users, {"carol": ("carol-pw", [])})
        os.kill(d2.pid, signal.SIGHUP)
        d2.wait_log("event=reloaded what=users users=1")
        with self.smtplib_submission(d2) as s:
            self.assertEqual(s.login("carol", "carol-pw")[0], 235)
        with self.smtplib_submission(d2) as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("alice", PASSWORD)

    def test_check_config_loads_the_files(self):
        d = Correod(self, tls={"cert": os.path.join(self.files, "missing.crt"), "key": self.key})
        out = subprocess.run([CORREOD, "--check-config", d.config_path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("tls: ", out.stderr.decode())
        self.assertIn("missing.crt", out.stderr.decode())


if __name__ == "__main__":
    unittest.main()
