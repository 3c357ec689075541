"""SMTP session behaviour of a real correod with real clients (swaks, smtplib, raw sockets).

RFC 5321 (commands, sequence, replies), RFC 1870 (SIZE), RFC 2034/3463 (enhanced codes),
RFC 3461 (DSN parameters), RFC 6531 (SMTPUTF8).
"""

import os
import re
import shutil
import smtplib
import subprocess
import unittest

from correo_harness import HOSTNAME, Correod, SmtpClient, simple_message, split_received

MESSAGE_SIZE = 10 * 1024 * 1024


class SmtpSessionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Correod(limits={"message_size": MESSAGE_SIZE})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def setUp(self):
        self.assertTrue(self.d.running(), "correod died:\n" + self.d.log()[-3000:])

    def client(self):
        c = SmtpClient(self.d.port)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220)
        self.assertEqual(c.greeting.text, HOSTNAME + " ESMTP correo")
        return c

    def new_ids(self, before):
        return [i for i in self.d.queue_ids() if i not in before]

    # ------------------------------------------------------------------ real clients

    def test_swaks_delivers_and_stores_received_header_and_content(self):
        if not shutil.which("swaks"):
            self.skipTest("swaks not installed")
        data = (b"From: Sender <sender@x.test>\r\nTo: <rcpt@example.test>\r\nSubject: swaks test\r\n"
                b"Message-ID: <swaks-1@x.test>\r\n\r\nfirst line\r\n.a line that starts with a dot\r\n"
                b"..two dots\r\n\r\nlast line")
        path = os.path.join(self.d.dir, "swaks-data.eml")
        with open(path, "wb") as f:
            f.write(data)
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.d.port, "--helo", "swaks.client.test",
                            "--from", "sender@x.test", "--to", "rcpt@example.test", "--data", path,
                            "--timeout", "10"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        m = re.search(r"<-  250 2\.0\.0 Ok: queued as ([0-9A-Z]{13})\r?\n", out)
        self.assertIsNotNone(m, out)
        qid = m.group(1)
        self.assertIn(qid, self.d.queue_ids())
        env, body = self.d.show(qid)
        self.assertEqual(env["sender"], "<sender@x.test>")
        self.assertEqual(env["recipients"], "1")
        self.assertTrue(env["recipients_list"][0].startswith("<rcpt@example.test> "))
        self.assertEqual(env["helo"], "swaks.client.test")
        self.assertEqual(env["client_address"], "127.0.0.1")
        self.assertEqual(int(env["size"]), len(body))
        rec, content = split_received(body)
        self.assertEqual(rec.group("helo"), b"swaks.client.test")
        self.assertEqual(rec.group("ip"), b"127.0.0.1")
        self.assertEqual(rec.group("by"), HOSTNAME.encode())
        self.assertEqual(rec.group("proto"), b"ESMTP")
        self.assertEqual(rec.group("id"), qid.encode())
        self.assertEqual(rec.group("for"), b"rcpt@example.test")
        # swaks ends the last line with CRLF; dot-stuffing is undone exactly.
        self.assertEqual(content, data + b"\r\n")

    def test_smtplib_sendmail_three_recipients_is_one_message(self):
        before = set(self.d.queue_ids())
        rcpts = ["a@example.test", "b@example.test", "c@elsewhere.test"]
        msg = simple_message("three recipients", "to three\r\n")
        with smtplib.SMTP("127.0.0.1", self.d.port, local_hostname="smtplib.client.test", timeout=10) as s:
            refused = s.sendmail("sender@x.test", rcpts, msg)
            self.assertEqual(refused, {})
        new = self.new_ids(before)
        self.assertEqual(len(new), 1, new)
        entry = [e for e in self.d.list() if e[0] == new[0]][0]
        self.assertEqual(entry[3], "sender@x.test")
        self.assertEqual(entry[4], rcpts)
        env, body = self.d.show(new[0])
        self.assertEqual(env["recipients"], "3")
        rec, content = split_received(body)
        self.assertIsNone(rec.group("for"), "a message to many must not name one recipient in Received:")
        self.assertEqual(content, msg)

    def test_smtplib_data_reply_names_queue_id(self):
        with smtplib.SMTP("127.0.0.1", self.d.port, local_hostname="smtplib.client.test", timeout=10) as s:
            s.ehlo()
            self.assertEqual(s.mail("sender@x.test")[0], 250)
            self.assertEqual(s.rcpt("rcpt@example.test")[0], 250)
            code, text = s.data(simple_message("id"))
        self.assertEqual(code, 250)
        text = text.decode()
        self.assertRegex(text, r"^2\.0\.0 Ok: queued as [0-9A-Z]{13}$")
        self.assertIn(text.split()[-1], self.d.queue_ids())

    # ------------------------------------------------------------------ EHLO and codes

    def test_ehlo_lists_extensions(self):
        c = self.client()
        r = c.ehlo("client.test")
        self.assertEqual(r.code, 250)
        self.assertTrue(all(ln.startswith("250-") for ln in r.lines[:-1]), r)
        self.assertTrue(r.lines[-1].startswith("250 "), r)
        self.assertEqual(r.texts[0], HOSTNAME)
        ext = r.texts[1:]
        for keyword in ["PIPELINING", "SIZE %d" % MESSAGE_SIZE, "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                        "CHUNKING", "DSN"]:
            self.assertIn(keyword, ext)
        # smtplib parses the same list.
        with smtplib.SMTP("127.0.0.1", self.d.port, timeout=10) as s:
            s.ehlo("client.test")
            for k in ["pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes", "chunking", "dsn"]:
                self.assertTrue(s.has_extn(k), k)
            self.assertEqual(s.esmtp_features["size"], str(MESSAGE_SIZE))

    def test_helo_reply_and_no_esmtp_params_after_helo(self):
        c = self.client()
        r = c.ok("HELO client.test")
        self.assertEqual(r.lines, ["250 " + HOSTNAME])
        c.ok("MAIL FROM:<a@x.test> SIZE=100", 555, "5.5.4")
        c.ok("MAIL FROM:<a@x.test>", 250, "2.1.0")
        c.ok("RCPT TO:<b@example.test> NOTIFY=NEVER", 555, "5.5.4")
        c.ok("RCPT TO:<b@example.test>", 250, "2.1.5")
        c.ok("DATA", 354)
        c.send(b"Subject: helo\r\n\r\nhi\r\n.\r\n")
        r = c.expect(250, "2.0.0")
        env, body = self.d.show(r.queue_id())
        rec, _ = split_received(body)
        self.assertEqual(rec.group("proto"), b"SMTP")

    def test_every_reply_has_enhanced_code(self):
        """RFC 2034 §3: every 2xx/4xx/5xx reply except the greeting and the reply to
        HELO/EHLO starts with an enhanced status code of the same class."""
        sessions = [
            ["EHLO client.test", "NOOP", "HELP", "VRFY postmaster", "VRFY", "EXPN staff", "TURN", "SEND", "SOML", "SAML",
             "STARTTLS", "AUTH PLAIN", "ETRN x", "XYZZY", "RSET x", "DATA x", "DATA", "RCPT TO:<a@example.test>",
             "MAIL FROM:<a@x.test>", "MAIL FROM:<a@x.test>", "QUIT"],
            ["MAIL FROM:<a@x.test>", "EHLO client.test", "MAIL FROM:a@x.test", "MAIL FROM:<a@x.test> SIZE=99999999999",
             "MAIL FROM:<a@x.test> FOO=BAR", "MAIL FROM:<a@x.test> BODY=BINARYMIME", "MAIL FROM:<jö@x.test>",
             "MAIL FROM:<a@x.test> RET=FULL ENVID=abc BODY=8BITMIME", "RCPT TO:<bad", "RCPT TO:<a@example.test> NOTIFY=BOGUS",
             "RCPT TO:<a@example.test> NOTIFY=SUCCESS ORCPT=rfc822;a@example.test", "RCPT TO:<Postmaster>", "RSET",
             "QUIT"],
        ]
        checked = 0
        for commands in sessions:
            c = self.client()
            for cmd in commands:
                r = c.cmd(cmd)
                if cmd.startswith(("EHLO", "HELO")) and r.code == 250:
                    continue
                if r.code // 100 in (2, 4, 5):
                    self.assertIsNotNone(r.enhanced, "%s -> %r has no enhanced status code" % (cmd, r))
                    self.assertEqual(int(r.enhanced[0]), r.code // 100, "%s -> %r: class mismatch" % (cmd, r))
                    checked += 1
            self.assertTrue(c.is_closed())
        self.assertGreater(checked, 25)
        # DATA path: 354 is 3xx (no code required); the 250 after the content has one.
        c = self.client()
        c.ehlo()
        r = c.send_message("a@x.test", ["b@example.test"], simple_message())
        self.assertEqual((r.code, r.enhanced), (250, "2.0.0"))
        # Failure after DATA content (bare LF) has one too.
        c.ok("MAIL FROM:<a@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.ok("DATA", 354)
        c.send(b"Subject: x\r\n\r\nbare\nlf\r\n.\r\n")
        r = c.reply()
        self.assertEqual((r.code, r.enhanced), (550, "5.6.0"))

    # ------------------------------------------------------------------ simple commands

    def test_help_vrfy_expn_obsolete_unknown(self):
        c = self.client()
        c.ehlo()
        r = c.ok("HELP", 214, "2.0.0")
        self.assertIn("EHLO", r.text)
        c.ok("VRFY postmaster", 252, "2.0.0")
        c.ok("VRFY", 501, "5.5.4")
        c.ok("EXPN staff", 502, "5.5.1")
        for verb in ["TURN", "SEND FROM:<a@x.test>", "SOML FROM:<a@x.test>", "SAML FROM:<a@x.test>"]:
            c.ok(verb, 502, "5.5.1")
        c.ok("NOOP", 250, "2.0.0")
        self.assertEqual(c.ok("QUIT", 221, "2.0.0").text, "2.0.0 Bye")
        self.assertTrue(c.is_closed())

        c = self.client()
        r = c.ok("XYZZY plugh", 500, "5.5.2")
        self.assertIn("not recognized", r.text)
        c.ok("MAILFROM:<a@x.test>", 500, "5.5.2")
        c.ok("", 500, "5.5.2")
        c.ok("noop", 250, "2.0.0")   # verbs are case-insensitive
        c.ok("eHlO client.test", 250)

    def test_commands_out_of_sequence_get_503(self):
        c = self.client()
        r = c.ok("MAIL FROM:<a@x.test>", 503, "5.5.1")
        self.assertIn("HELO/EHLO", r.text)
        c.ehlo()
        c.ok("RCPT TO:<a@example.test>", 503, "5.5.1")
        c.ok("DATA", 503, "5.5.1")
        c.ok("MAIL FROM:<a@x.test>", 250, "2.1.0")
        c.ok("MAIL FROM:<a@x.test>", 503, "5.5.1")          # nested MAIL
        r = c.ok("DATA", 503, "5.5.1")                        # no RCPT yet
        self.assertIn("RCPT", r.text)
        c.ok("RCPT TO:<a@example.test>", 250, "2.1.5")
        c.ok("RSET", 250, "2.0.0")
        c.ok("DATA", 503, "5.5.1")
        self.assertEqual(c.ok("NOOP").code, 250)

    def test_malformed_paths_name_the_problem(self):
        mail_cases = [
            ("MAIL FROM:a@x.test", "enclosed in <>"),
            ("MAIL FROM:<a>", "missing '@domain'"),
            ("MAIL FROM:<@x.test>", "source route"),
            ("MAIL FROM:<a@>", "missing domain"),
            ("MAIL FROM:<a..b@x.test>", "empty atom"),
            ("MAIL FROM:<.a@x.test>", "empty atom"),
            ("MAIL FROM:<a.@x.test>", "ends with '.'"),
            ("MAIL FROM:<a@x.test", "missing '>'"),
            ("MAIL FROM:<a@x_y.test>", "invalid character after domain"),
            ("MAIL FROM:<a@-x.test>", "invalid domain name"),
            ("MAIL FROM:<\"unclosed@x.test>", "unbalanced quote"),
            ("MAIL FROM:<%s@x.test>" % ("l" * 65), "local part longer than 64"),
            ("MAIL FROM:<a@[300.1.1.1]>", "invalid address literal"),
        ]
        rcpt_cases = [
            ("RCPT TO:b@example.test", "enclosed in <>"),
            ("RCPT TO:<>", "null address"),
            ("RCPT TO:<b>", "missing '@domain'"),
            ("RCPT TO:<b@>", "missing domain"),
            ("RCPT TO:<b..c@example.test>", "empty atom"),
            ("RCPT TO:<b@example.test", "missing '>'"),
            ("RCPT TO:<b@exa mple.test>", "invalid character after domain"),
            ("RCPT TO:<b@example..test>", "invalid domain name"),
            ("RCPT TO:<%s@example.test>" % ("l" * 65), "local part longer than 64"),
            ("RCPT TO:<b@%s.test>" % ".".join(["d" * 60] * 5), "domain longer than 255"),
        ]
        for batch_start in range(0, len(mail_cases), 8):  # stay below errors_per_session (20)
            c = self.client()
            c.ehlo()
            for line, problem in mail_cases[batch_start:batch_start + 8]:
                with self.subTest(line=line):
                    r = c.cmd(line)
                    self.assertEqual((r.code, r.enhanced), (501, "5.1.7"), "%s -> %r" % (line, r))
                    self.assertIn("Bad sender address syntax", r.text)
                    self.assertIn(problem, r.text)
        for batch_start in range(0, len(rcpt_cases), 8):
            c = self.client()
            c.ehlo()
            c.ok("MAIL FROM:<>", 250, "2.1.0")   # the null reverse-path is fine
            for line, problem in rcpt_cases[batch_start:batch_start + 8]:
                with self.subTest(line=line):
                    r = c.cmd(line)
                    self.assertEqual((r.code, r.enhanced), (501, "5.1.3"), "%s -> %r" % (line, r))
                    self.assertIn("Bad recipient address syntax", r.text)
                    self.assertIn(problem, r.text)
            c.ok("RCPT TO:<ok@example.test>", 250, "2.1.5")

    def test_valid_unusual_paths_accepted(self):
        c = self.client()
        c.ehlo()
        c.ok("MAIL FROM: <a@x.test>", 250)        # one space after the colon is tolerated
        c.ok("RCPT TO:<\"john smith\"@example.test>", 250)
        c.ok("RCPT TO:<@relay.test,@other.test:routed@example.test>", 250)  # source route ignored
        c.ok("RCPT TO:<Postmaster>", 250)
        c.ok("RCPT TO:<x@[127.0.0.1]>", 250)      # relay client: literal allowed
        c.ok("RCPT TO:<x@[IPv6:::1]>", 250)
        c.ok("DATA", 354)
        c.send(b"Subject: paths\r\n\r\nx\r\n.\r\n")
        r = c.expect(250, "2.0.0")
        env, _ = self.d.show(r.queue_id())
        addrs = [x.rsplit(" notify=", 1)[0] for x in env["recipients_list"]]
        self.assertEqual(addrs, ['<"john smith"@example.test>', "<routed@example.test>",
                                 "<postmaster@%s>" % HOSTNAME, "<x@[127.0.0.1]>", "<x@[IPv6:::1]>"])

    def test_helo_ehlo_need_an_argument(self):
        c = self.client()
        c.ok("EHLO", 501, "5.5.4")
        c.ok("HELO", 501, "5.5.4")
        c.ok("MAIL FROM:<a@x.test>", 503, "5.5.1")
        c.ok("EHLO [127.0.0.1]", 250)

    def test_null_sender_bounce_is_queued(self):
        c = self.client()
        c.ehlo("bounce.client.test")
        r = c.send_message("", ["orig-sender@example.test"], simple_message("Undelivered Mail Returned to Sender"))
        self.assertEqual((r.code, r.enhanced), (250, "2.0.0"), r)
        env, _ = self.d.show(r.queue_id())
        self.assertEqual(env["sender"], "<>")
        self.assertIn("event=queued id=%s client=127.0.0.1 from=<> rcpts=1" % r.queue_id(), self.d.log())

    # ------------------------------------------------------------------ transactions

    def test_several_transactions_in_one_session(self):
        c = self.client()
        c.ehlo()
        ids = []
        for i in range(5):
            content = simple_message("txn %d" % i, "body %d\r\n" % i)
            r = c.send_message("s%d@x.test" % i, ["r%d@example.test" % i], content)
            self.assertEqual((r.code, r.enhanced), (250, "2.0.0"), r)
            ids.append(r.queue_id())
        c.ok("QUIT", 221)
        self.assertEqual(len(set(ids)), 5)
        self.assertEqual(ids, sorted(ids), "ids from one session must increase")
        queued = {e[0]: e for e in self.d.list()}
        for i, qid in enumerate(ids):
            self.assertIn(qid, queued)
            self.assertEqual(queued[qid][3], "s%d@x.test" % i)
            self.assertEqual(queued[qid][4], ["r%d@example.test" % i])
            _, content = split_received(self.d.show(qid)[1])
            self.assertEqual(content, simple_message("txn %d" % i, "body %d\r\n" % i))

    def test_rset_clears_the_transaction(self):
        c = self.client()
        c.ehlo()
        c.ok("MAIL FROM:<first@x.test>", 250)
        c.ok("RCPT TO:<dropped@example.test>", 250)
        c.ok("RSET", 250, "2.0.0")
        c.ok("RCPT TO:<x@example.test>", 503, "5.5.1")
        c.ok("DATA", 503, "5.5.1")
        c.ok("RSET extra", 501, "5.5.4")
        r = c.send_message("second@x.test", ["kept@example.test"], simple_message("after rset"))
        self.assertEqual(r.code, 250)
        entry = [e for e in self.d.list() if e[0] == r.queue_id()][0]
        self.assertEqual(entry[3], "second@x.test")
        self.assertEqual(entry[4], ["kept@example.test"])
        # EHLO also resets a transaction (RFC 5321 §4.1.4).
        c.ok("MAIL FROM:<third@x.test>", 250)
        c.ehlo()
        c.ok("RCPT TO:<x@example.test>", 503, "5.5.1")

    def test_size_parameter(self):
        c = self.client()
        c.ehlo()
        r = c.ok("MAIL FROM:<a@x.test> SIZE=%d" % (MESSAGE_SIZE + 1), 552, "5.3.4")
        self.assertIn("size", r.text.lower())
        c.ok("MAIL FROM:<a@x.test> SIZE=99999999999999999999999", 501, "5.5.4")   # overflow
        c.ok("MAIL FROM:<a@x.test> SIZE=abc", 501, "5.5.4")
        c.ok("MAIL FROM:<a@x.test> SIZE=%d" % MESSAGE_SIZE, 250, "2.1.0")
        c.ok("RSET")
        # smtplib passes SIZE= when the server advertises it.
        with smtplib.SMTP("127.0.0.1", self.d.port, timeout=10) as s:
            s.ehlo("client.test")
            code, text = s.mail("a@x.test", ["SIZE=%d" % (MESSAGE_SIZE + 1000)])
            self.assertEqual(code, 552)
            self.assertTrue(text.startswith(b"5.3.4 "), text)

    def test_dsn_parameters_are_stored(self):
        c = self.client()
        c.ehlo()
        c.ok("MAIL FROM:<dsn@x.test> RET=HDRS ENVID=QQ+2B314159 BODY=8BITMIME", 250, "2.1.0")
        c.ok("RCPT TO:<one@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;one+40example.test", 250, "2.1.5")
        c.ok("RCPT TO:<two@example.test> NOTIFY=NEVER", 250, "2.1.5")
        c.ok("RCPT TO:<three@example.test> NOTIFY=DELAY ORCPT=utf-8;three+40example.test", 250, "2.1.5")
        c.ok("RCPT TO:<four@example.test>", 250, "2.1.5")
        c.ok("RCPT TO:<five@example.test> NOTIFY=NEVER,SUCCESS", 501, "5.5.4")
        c.ok("RCPT TO:<five@example.test> ORCPT=rfc822", 501, "5.5.4")
        c.ok("DATA", 354)
        c.send(b"Subject: dsn\r\n\r\n8bit \xc3\xa9t\xc3\xa9\r\n.\r\n")
        r = c.expect(250, "2.0.0")
        env, body = self.d.show(r.queue_id())
        self.assertEqual(env["ret"], "HDRS")
        self.assertEqual(env["envid"], "QQ+2B314159")
        self.assertEqual(env["body"], "8BITMIME")
        self.assertEqual(env["recipients"], "4")
        self.assertEqual(env["recipients_list"], [
            "<one@example.test> notify=SUCCESS,FAILURE orcpt=rfc822;one+40example.test state=pending attempts=0",
            "<two@example.test> notify=NEVER orcpt=- state=pending attempts=0",
            "<three@example.test> notify=DELAY orcpt=utf-8;three+40example.test state=pending attempts=0",
            "<four@example.test> notify=default orcpt=- state=pending attempts=0",
        ])
        _, content = split_received(body)
        self.assertEqual(content, b"Subject: dsn\r\n\r\n8bit \xc3\xa9t\xc3\xa9\r\n")
        # smtplib passes the same parameters through sendmail().
        with smtplib.SMTP("127.0.0.1", self.d.port, timeout=10) as s:
            s.ehlo("client.test")
            before = set(self.d.queue_ids())
            s.sendmail("dsn2@x.test", ["r@example.test"], simple_message("dsn2"),
                       mail_options=["RET=FULL", "ENVID=env-2"], rcpt_options=["NOTIFY=FAILURE,DELAY"])
        qid = self.new_ids(before)[0]
        env, _ = self.d.show(qid)
        self.assertEqual(env["ret"], "FULL")
        self.assertEqual(env["envid"], "env-2")
        self.assertEqual(env["recipients_list"][0].split(" ")[1], "notify=FAILURE,DELAY")

    def test_smtputf8_message_accepted_and_stored(self):
        sender = "jösé@exämple.test"
        rcpt = "ünïcode@example.test"
        msg = ("From: José <%s>\r\nTo: <%s>\r\nSubject: héllo wörld ✓\r\n\r\nGrüße aus Köln ✉\r\n"
               % (sender, rcpt)).encode("utf-8")
        with smtplib.SMTP("127.0.0.1", self.d.port, local_hostname="utf8.client.test", timeout=10) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("smtputf8"))
            code, _ = s.mail(sender, ["SMTPUTF8", "BODY=8BITMIME"])
            self.assertEqual(code, 250)
            self.assertEqual(s.rcpt(rcpt)[0], 250)
            code, text = s.data(msg)
        self.assertEqual(code, 250, text)
        qid = text.decode().split()[-1]
        env, body = self.d.show(qid)
        self.assertEqual(env["sender"], "<%s>" % sender)
        self.assertEqual(env["smtputf8"], "yes")
        self.assertEqual(env["recipients_list"][0].split(" ")[0], "<%s>" % rcpt)
        entry = [e for e in self.d.list() if e[0] == qid][0]
        self.assertEqual((entry[3], entry[4]), (sender, [rcpt]))
        rec, content = split_received(body)
        self.assertEqual(rec.group("proto"), b"UTF8SMTP")
        self.assertEqual(rec.group("for"), rcpt.encode("utf-8"))
        self.assertEqual(content, msg)

    def test_non_ascii_address_without_smtputf8(self):
        c = self.client()
        c.ehlo()
        r = c.ok("MAIL FROM:<jösé@x.test>", 553, "5.6.7")
        self.assertIn("SMTPUTF8", r.text)
        c.ok("MAIL FROM:<a@x.test>", 250)
        r = c.ok("RCPT TO:<ü@example.test>", 553, "5.6.7")
        self.assertIn("SMTPUTF8", r.text)
        c.ok("RCPT TO:<u@exämple.test>", 553, "5.6.7")
        c.ok("RSET")
        # With SMTPUTF8 an invalid UTF-8 sequence is still a syntax error.
        c.send(b"MAIL FROM:<\xc3\xc3@x.test> SMTPUTF8\r\n")
        r = c.expect(501, "5.1.7")
        self.assertIn("UTF-8", r.text)
        c.ok("MAIL FROM:<a@x.test> SMTPUTF8", 250)
        c.ok("RCPT TO:<ü@example.test>", 250, "2.1.5")


if __name__ == "__main__":
    unittest.main()
