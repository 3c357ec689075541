"""Milters end to end: correod calls real milters at the end of DATA.

Two real milters from Debian:
  opendkim       signs mail from our network; the message delivered to the sink carries a
                 DKIM-Signature that python3-dkim verifies against the key opendkim-genkey made;
  python3-milter (Sendmail's libmilter) running tests/integration/milters/scripted_milter.py,
                 whose verdict the Subject chooses: reject, tempfail, discard, quarantine
                 (held in the queue), header and body edits, a per-recipient refusal.
And the failure path: a milter that is down gets its default_action (tempfail -> 451 4.7.1,
accept -> the message goes on).

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_milter
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from correo_harness import Correod, SmtpClient, die_with_parent, simple_message, wait_until
from peers import Sink, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
OPENDKIM = "/usr/sbin/opendkim"


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def start_process(testcase, args):
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            close_fds=True, preexec_fn=die_with_parent)

    def stop():
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stderr.close()
    testcase.addCleanup(stop)
    return proc


def milter_daemon(testcase, milters, sink=None, listener_extra=""):
    raw = "".join('[[policy.milter]]\nname = "%s"\naddress = "%s"\ndefault_action = "%s"\ntimeout = "10s"\n' % m
                  for m in milters)
    sections = {"relay": {"networks": ["127.0.0.250/32"],
                          "domains": {"example.test": "[%s]:%d" % (sink.address, sink.port) if sink else ""}}}
    if sink:
        sections["delivery"] = {"queue_only": False}
    d = Correod(testcase, sections=sections, raw_toml=raw)
    d.start()
    return d


def send(d, subject, rcpts=("alice@example.test",), source="127.0.0.40", extra=""):
    with SmtpClient(d.port, source=source) as c:
        c.ehlo("client.test")
        c.ok("MAIL FROM:<sender@senders.test>")
        refused = []
        for r in rcpts:
            reply = c.cmd("RCPT TO:<%s>" % r)
            if reply.code != 250:
                refused.append(reply)
        c.ok("DATA", 354)
        c.send(simple_message(subject, body="Original body.\r\n", extra_headers=extra) + b".\r\n")
        return c.reply()


class ScriptedMilter(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="correo-milter-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.log = os.path.join(self.dir, "milter.log")
        self.port = free_port()
        start_process(self, ["/usr/bin/python3", os.path.join(HERE, "milters", "scripted_milter.py"),
                             "inet:%d@127.0.0.1" % self.port, self.log])
        wait_port(self.port)
        self.d = milter_daemon(self, [("scripted", "inet:127.0.0.1:%d" % self.port, "tempfail")])

    def test_every_stage_reaches_the_milter_and_headers_are_added(self):
        qid = send(self.d, "hello").queue_id()
        _, body = self.d.show(qid)
        self.assertIn(b"\r\nX-Scanned-By: scripted-milter\r\n", body)
        with open(self.log) as f:
            seen = f.read().split("\n")
        for prefix in ("connect 127.0.0.40", "helo client.test", "mail <sender@senders.test>",
                       "rcpt <alice@example.test>", "eom hello"):
            self.assertTrue(any(l.startswith(prefix) for l in seen), (prefix, seen))

    def test_reject_tempfail_discard(self):
        r = send(self.d, "reject")
        self.assertEqual((r.code, r.text), (550, "5.7.1 Rejected by the test milter"))
        r = send(self.d, "tempfail")
        self.assertEqual(r.code // 100, 4, r)
        r = send(self.d, "discard")
        self.assertEqual(r.code, 250)
        self.assertNotIn(r.queue_id(), self.d.queue_ids())
        rejects = [l for l in self.d.log().splitlines() if "event=reject" in l and "check=milter" in l]
        self.assertEqual(len(rejects), 2, self.d.log())

    def test_quarantine_holds_the_message(self):
        qid = send(self.d, "quarantine").queue_id()
        env, _ = self.d.show(qid)
        self.assertEqual(env["held"], "yes")
        self.assertIn("looks odd to the test milter", env["hold_reason"])

    def test_header_and_body_edits(self):
        qid = send(self.d, "edit", extra="X-Remove-Me: please\r\n").queue_id()
        _, body = self.d.show(qid)
        self.assertIn(b"\r\nX-Milter-Added: yes\r\n", body)
        self.assertIn(b"\r\nSubject: edited by milter\r\n", body)
        self.assertNotIn(b"X-Remove-Me", body)
        self.assertTrue(body.endswith(b"\r\n\r\nBody replaced by the test milter.\r\n"), body[-200:])
        # Our Received: header is still the first line.
        self.assertTrue(body.startswith(b"Received: from client.test"), body[:100])

    def test_recipient_refused_by_the_milter_is_dropped(self):
        qid = send(self.d, "hello", rcpts=("alice@example.test", "blocked@example.test")).queue_id()
        env, _ = self.d.show(qid)
        self.assertEqual([r.split(">")[0].lstrip("<") for r in env["recipients_list"]], ["alice@example.test"])
        self.assertIn("event=milter_rcpt_removed", self.d.log())
        r = send(self.d, "hello", rcpts=("blocked@example.test",))
        self.assertEqual((r.code, r.enhanced), (550, "5.7.1"), r)


class MilterDown(unittest.TestCase):
    def test_default_actions(self):
        dead = "inet:127.0.0.1:%d" % free_port()
        d = milter_daemon(self, [("down", dead, "tempfail")])
        r = send(d, "hello")
        self.assertEqual((r.code, r.enhanced), (451, "4.7.1"), r)
        self.assertIn("milter_failed", d.log())
        d.stop()
        d2 = milter_daemon(self, [("down", dead, "accept")])
        self.assertEqual(send(d2, "hello").code, 250)


class Opendkim(unittest.TestCase):
    def test_outbound_mail_is_signed_and_verifies(self):
        try:
            import dkim
        except ImportError:
            self.skipTest("python3-dkim is not installed")
        tmp = tempfile.mkdtemp(prefix="correo-dkim-")
        self.addCleanup(shutil.rmtree, tmp, True)
        subprocess.run(["opendkim-genkey", "-D", tmp, "-d", "senders.test", "-s", "sel"], check=True)
        port = free_port()
        conf = os.path.join(tmp, "opendkim.conf")
        with open(conf, "w") as f:
            f.write("Mode s\nDomain senders.test\nSelector sel\nKeyFile %s/sel.private\n"
                    "Socket inet:%d@127.0.0.1\nBackground no\nSyslog no\nPidFile %s/opendkim.pid\n"
                    "Canonicalization relaxed/relaxed\nRequireSafeKeys no\nInternalHosts 127.0.0.0/8\n"
                    % (tmp, port, tmp))
        start_process(self, [OPENDKIM, "-f", "-x", conf])
        wait_port(port)
        sink = Sink("127.0.0.41", testcase=self).start()
        d = milter_daemon(self, [("opendkim", "inet:127.0.0.1:%d" % port, "tempfail")], sink=sink)
        msg = ("From: <sender@senders.test>\r\nTo: <alice@example.test>\r\nSubject: signed\r\n"
               "Message-ID: <dkim-1@senders.test>\r\n\r\nThis message is signed by opendkim.\r\n")
        with SmtpClient(d.port, source="127.0.0.42") as c:
            r = c.send_message("sender@senders.test", ["alice@example.test"], msg.encode(), ehlo="client.test")
            self.assertEqual(r.code, 250, r)
        self.assertTrue(wait_until(lambda: len(sink.messages) == 1, timeout=20), d.log())
        delivered = sink.messages[0].data
        self.assertIn(b"DKIM-Signature:", delivered)
        with open(os.path.join(tmp, "sel.txt")) as f:
            record = f.read()
        # sel.txt is a zone file fragment: join its quoted strings into the TXT record.
        txt = "".join(re.findall(r'"([^"]*)"', record)).encode()

        def dnsfunc(name, timeout=5):
            self.assertEqual(name, b"sel._domainkey.senders.test.")
            return txt
        self.assertTrue(dkim.verify(delivered, dnsfunc=dnsfunc), delivered[:800])
        tampered = delivered.replace(b"signed by opendkim", b"signed by someone")
        self.assertFalse(dkim.verify(tampered, dnsfunc=dnsfunc))


if __name__ == "__main__":
    unittest.main()
