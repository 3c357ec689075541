"""Anti-spam policy end to end: the real correod judged by real clients on loopback.

Clients connect from distinct 127.x.y.z source addresses, so one daemon sees strangers,
allowlisted, denylisted and DNSBL-listed clients at once. relay.networks is narrowed to one
address that no test uses as a stranger, so the checks that spare relay clients apply.
DNS (DNSBL zones, sender and recipient domains) comes from a dnsmasq on 127.0.0.1.

What is proven here:
  screening    client_deny (554 greeting, then only QUIT), client_allow (skips DNSBL),
               max_connections_per_client, connection_rate, the pregreet test (554 5.5.1
               to a client that talks first, 220 after greet_delay to one that waits),
               DNSBL scoring with weights, a threshold and an allowlist zone;
  session      HELO syntax and FQDN, sender and recipient domains in DNS (NXDOMAIN, null MX,
               DNS down -> 450), recipient verification (550 5.1.1), aliases (expanded
               before queueing, ORCPT kept, loops refused), message rate, error tarpit;
  greylisting  450 4.2.0, then 250 after the delay, and the pass survives a restart;
  content      header_checks REJECT / HOLD / DISCARD / PREPEND, header size limit;
  accounting   every rejection is one "reject" log line with client, check and reply,
               and the counters at shutdown add up.

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_policy
"""

import os
import re
import socket
import time
import unittest

from correo_harness import Correod, SmtpClient, simple_message, wait_until
from peers import Dnsmasq, Sink

RELAY_CLIENT = "127.0.0.250"  # the only address in relay.networks


def policy_daemon(testcase, policy=None, dnsmasq=None, listener=None, relay=None, raw_extra="", **sections):
    conf = {"relay": relay or {"domains": {"example.test": ""}, "networks": [RELAY_CLIENT + "/32"]}}
    if dnsmasq is not None:
        conf["dns"] = {"servers": [dnsmasq.server]}
    conf.update(sections)
    raw = ""
    for name, table in (policy or {}).items():
        if isinstance(table, dict):
            raw += "[policy.%s]\n" % name
            raw += "".join("%s = %s\n" % (k, _toml(v)) for k, v in table.items())
    top = {k: v for k, v in (policy or {}).items() if not isinstance(v, dict)}
    if top:
        raw = "[policy]\n" + "".join("%s = %s\n" % (k, _toml(v)) for k, v in top.items()) + raw
    if listener:
        conf["listener"] = [dict({"address": "127.0.0.1", "mode": "smtp"}, **listener)]
    d = Correod(testcase, sections=conf, raw_toml=raw + raw_extra)
    d.start()
    return d


def _toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')


def reject_lines(d, check):
    return [l for l in d.log().splitlines() if " event=reject " in " " + l + " " and ("check=%s " % check) in l + " "]


class Screening(unittest.TestCase):
    def test_client_deny_gets_554_greeting_and_only_quit(self):
        d = policy_daemon(self, policy={"client_deny": ["127.0.0.66/32"]})
        with SmtpClient(d.port, source="127.0.0.66") as c:
            self.assertEqual(c.greeting.code, 554, c.greeting)
            self.assertIn("5.7.1", c.greeting.text)
            c.expect(503, "5.7.0", c.cmd("EHLO client.test"))
            c.expect(221, "2.0.0", c.cmd("QUIT"))
        with SmtpClient(d.port, source="127.0.0.67") as c:
            self.assertEqual(c.greeting.code, 220)
        self.assertEqual(len(reject_lines(d, "client_access")), 1, d.log())

    def test_connections_per_client_are_limited(self):
        d = policy_daemon(self, policy={"max_connections_per_client": 2})
        first = SmtpClient(d.port, source="127.0.0.70")
        second = SmtpClient(d.port, source="127.0.0.70")
        self.assertEqual((first.greeting.code, second.greeting.code), (220, 220))
        with SmtpClient(d.port, source="127.0.0.70") as third:
            self.assertEqual((third.greeting.code, third.greeting.enhanced), (421, "4.7.0"), third.greeting)
            self.assertTrue(third.is_closed())
        with SmtpClient(d.port, source="127.0.0.71") as other:
            self.assertEqual(other.greeting.code, 220)
        first.cmd("QUIT")
        first.close()
        # The slot is released when correod closes the first session.
        def admitted():
            with SmtpClient(d.port, source="127.0.0.70") as again:
                return again.greeting.code == 220
        self.assertTrue(wait_until(admitted, timeout=5))
        second.close()

    def test_connection_rate_per_client(self):
        d = policy_daemon(self, policy={"connection_rate": 3})
        codes = []
        for _ in range(4):
            with SmtpClient(d.port, source="127.0.0.72") as c:
                codes.append(c.greeting.code)
        self.assertEqual(codes, [220, 220, 220, 421])
        with SmtpClient(d.port, source="127.0.0.73") as c:
            self.assertEqual(c.greeting.code, 220)
        self.assertEqual(len(reject_lines(d, "connection_rate")), 1)

    def test_pregreet_talker_is_rejected_and_patient_client_greeted(self):
        d = policy_daemon(self, policy={"greet_delay": "1s"})
        with SmtpClient(d.port, source="127.0.0.74", greeting=False) as c:
            c.send("EHLO early.test\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced), (554, "5.5.1"), r)
            self.assertTrue(c.is_closed())
        start = time.monotonic()
        with SmtpClient(d.port, source="127.0.0.75") as c:
            waited = time.monotonic() - start
            self.assertEqual(c.greeting.code, 220)
            self.assertGreaterEqual(waited, 0.9)
            c.ehlo()
        self.assertEqual(len(reject_lines(d, "pregreet")), 1)

    def test_dnsbl_weights_threshold_and_allowlist_zone(self):
        # 127.0.0.2 is listed in bl.test (weight 2): rejected. 127.0.0.3 is listed in
        # small.test only (weight 1 < threshold 2): greeted. 127.0.0.4 is in bl.test and in the
        # allowlist zone wl.test (weight -5): greeted. 127.0.0.5 is in nothing.
        dns = Dnsmasq(self, extra_args=[
            "--local-ttl=300",  # dnsmasq answers --address names with TTL 0 (uncacheable) otherwise
            "--address=/2.0.0.127.bl.test/127.0.0.2",
            "--address=/4.0.0.127.bl.test/127.0.0.2",
            "--address=/3.0.0.127.small.test/127.0.0.2",
            "--address=/4.0.0.127.wl.test/127.0.0.3",
        ]).start()
        d = policy_daemon(self, dnsmasq=dns, policy={
            "dnsbl": {"sites": ["bl.test=127.0.0.2*2", "small.test", "wl.test=127.0.0.[1..3]*-5"], "threshold": 2}})
        with SmtpClient(d.port, source="127.0.0.2") as c:
            self.assertEqual((c.greeting.code, c.greeting.enhanced), (554, "5.7.1"), c.greeting)
            self.assertIn("bl.test", c.greeting.text)
            self.assertNotIn("small.test", c.greeting.text)
            c.expect(503, None, c.cmd("MAIL FROM:<a@b.test>"))
        for source in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
            with SmtpClient(d.port, source=source) as c:
                self.assertEqual(c.greeting.code, 220, (source, c.greeting))
        lines = reject_lines(d, "dnsbl")
        self.assertEqual(len(lines), 1, d.log())
        self.assertIn("client=127.0.0.2", lines[0])
        # Answers are cached by their TTL in each worker's resolver: more visits ask at most
        # once more per worker (2 workers), not once per visit.
        asked = dns.log.count(b"2.0.0.127.bl.test")
        for _ in range(6):
            with SmtpClient(d.port, source="127.0.0.2") as c:
                self.assertEqual(c.greeting.code, 554)
        self.assertLessEqual(dns.log.count(b"2.0.0.127.bl.test"), 2 * asked)

    def test_allowlisted_client_skips_dnsbl(self):
        dns = Dnsmasq(self, extra_args=["--address=/6.0.0.127.bl.test/127.0.0.2"]).start()
        d = policy_daemon(self, dnsmasq=dns, policy={"client_allow": ["127.0.0.6/32"], "dnsbl": {"sites": ["bl.test"]}})
        with SmtpClient(d.port, source="127.0.0.6") as c:
            self.assertEqual(c.greeting.code, 220)
        self.assertNotIn(b"6.0.0.127.bl.test", dns.log)

    def test_checks_switch_per_listener(self):
        # The same deny list; a second listener whose checks leave out client_access.
        port2 = None
        d0 = Correod(self)  # only for a free port number
        port2 = d0.port
        d0.cleanup()
        conf_extra = '\n[[listener]]\naddress = "127.0.0.1"\nport = %d\nmode = "smtp"\nchecks = ["helo"]\n' % port2
        d = Correod(self, sections={"relay": {"networks": [RELAY_CLIENT + "/32"]}},
                    raw_toml='[policy]\nclient_deny = ["127.0.0.76/32"]\n' + conf_extra)
        d.start()
        with SmtpClient(d.port, source="127.0.0.76") as c:
            self.assertEqual(c.greeting.code, 554)
        with SmtpClient(port2, source="127.0.0.76") as c:
            self.assertEqual(c.greeting.code, 220)


class SessionChecks(unittest.TestCase):
    def test_helo_syntax_and_fqdn(self):
        d = policy_daemon(self, policy={"require_fqdn_helo": True})
        with SmtpClient(d.port, source="127.0.0.80") as c:
            c.expect(501, "5.5.2", c.cmd("EHLO bad_host!name"))
            c.expect(504, "5.5.2", c.cmd("EHLO localhost"))
            c.expect(250, None, c.cmd("EHLO [127.0.0.80]"))
            c.expect(250, None, c.cmd("EHLO mail.client.test"))
        # A relay client is not judged by its HELO.
        with SmtpClient(d.port, source=RELAY_CLIENT) as c:
            c.expect(250, None, c.cmd("EHLO localhost"))
        self.assertEqual(len(reject_lines(d, "helo")), 2)

    def test_sender_domain_must_exist(self):
        dns = Dnsmasq(self, mx=[("senders.test", "mx.senders.test", 10)], hosts=[("mx.senders.test", "127.0.0.9"),
                                                                            ("aonly.test", "127.0.0.9")],
                      null_mx=["nullmx.test"]).start()
        d = policy_daemon(self, dnsmasq=dns, policy={"verify_sender_domain": True})
        with SmtpClient(d.port, source="127.0.0.81") as c:
            c.ehlo()
            c.expect(250, "2.1.0", c.cmd("MAIL FROM:<a@senders.test>"))
            c.ok("RSET")
            c.expect(250, "2.1.0", c.cmd("MAIL FROM:<a@aonly.test>"))   # no MX: the A record will do
            c.ok("RSET")
            c.expect(550, "5.1.8", c.cmd("MAIL FROM:<a@nowhere.test>"))
            c.expect(550, "5.7.27", c.cmd("MAIL FROM:<a@nullmx.test>"))
            c.expect(250, "2.1.0", c.cmd("MAIL FROM:<>"))                # bounces have no domain to check
        self.assertEqual(len(reject_lines(d, "sender_domain")), 2)

    def test_dns_trouble_is_temporary(self):
        d = policy_daemon(self, policy={"verify_sender_domain": True},
                          dns={"servers": ["127.0.0.1:9"], "timeout": "300ms"})
        with SmtpClient(d.port, source="127.0.0.82", timeout=30) as c:
            c.ehlo()
            c.expect(450, "4.1.8", c.cmd("MAIL FROM:<a@senders.test>"))

    def test_recipient_domain_must_exist(self):
        dns = Dnsmasq(self, mx=[("known.test", "mx.known.test", 10)], hosts=[("mx.known.test", "127.0.0.9")],
                      null_mx=["nullmx.test"]).start()
        d = policy_daemon(self, dnsmasq=dns, policy={"verify_recipient_domain": True})
        # Recipient domains are checked for relay clients too: a typo fails at RCPT, not as a bounce.
        with SmtpClient(d.port, source=RELAY_CLIENT) as c:
            c.ehlo()
            c.ok("MAIL FROM:<me@example.test>")
            c.expect(250, "2.1.5", c.cmd("RCPT TO:<you@known.test>"))
            c.expect(550, "5.1.2", c.cmd("RCPT TO:<you@typo.test>"))
            c.expect(556, "5.1.10", c.cmd("RCPT TO:<you@nullmx.test>"))
            # relay.domains are the administrator's: never looked up.
            c.expect(250, "2.1.5", c.cmd("RCPT TO:<you@example.test>"))

    def test_recipient_verification_and_aliases(self):
        tmp = self._files({
            "recipients": "alice@example.test\nbob@example.test\n@catchall.test\n",
            "aliases": ("team@example.test: alice@example.test, bob@example.test, carol@partner.test\n"
                        "loop1@example.test: loop2@example.test\nloop2@example.test: loop1@example.test\n"),
        })
        d = policy_daemon(self, policy={"recipients_file": tmp["recipients"], "aliases_file": tmp["aliases"]},
                          relay={"domains": {"example.test": "", "catchall.test": ""}, "networks": [RELAY_CLIENT + "/32"]})
        with SmtpClient(d.port, source="127.0.0.83") as c:
            c.ehlo()
            c.ok("MAIL FROM:<x@senders.test>")
            c.expect(250, "2.1.5", c.cmd("RCPT TO:<Alice@Example.test>"))      # case-insensitive
            c.expect(550, "5.1.1", c.cmd("RCPT TO:<mallory@example.test>"))
            c.expect(250, "2.1.5", c.cmd("RCPT TO:<anyone@catchall.test>"))
            c.expect(554, "5.4.6", c.cmd("RCPT TO:<loop1@example.test>"))
            c.expect(250, "2.1.5", c.cmd("RCPT TO:<team@example.test>"))
            c.ok("DATA", 354)
            c.send(simple_message("aliases") + b".\r\n")
            qid = c.expect(250, "2.0.0").queue_id()
        env, _ = d.show(qid)
        rcpts = env["recipients_list"]
        addresses = [r.split(">")[0].lstrip("<") for r in rcpts]
        self.assertEqual(addresses, ["Alice@Example.test", "anyone@catchall.test", "alice@example.test",
                                     "bob@example.test", "carol@partner.test"])
        # The expanded recipients remember what the sender wrote (RFC 3461 ORCPT).
        self.assertTrue(all("orcpt=rfc822;team@example.test" in r for r in rcpts[2:]), rcpts)
        self.assertEqual(len(reject_lines(d, "recipients")), 2)

    def test_alias_expands_to_several_sinks(self):
        # One RCPT, two next hops: the alias is expanded before queueing, and each target is
        # delivered where its domain routes (a relay-domain next hop and a transport entry).
        sink_a = Sink("127.0.0.31", testcase=self).start()
        sink_b = Sink("127.0.0.32", testcase=self).start()
        tmp = self._files({"aliases": "team@example.test: alice@example.test, carol@partner.test\n"})
        d = policy_daemon(self, policy={"aliases_file": tmp["aliases"]},
                          relay={"domains": {"example.test": "[127.0.0.31]:%d" % sink_a.port},
                                 "networks": [RELAY_CLIENT + "/32"]},
                          raw_extra='[transport]\n"partner.test" = "[127.0.0.32]:%d"\n' % sink_b.port,
                          delivery={"queue_only": False})
        with SmtpClient(d.port, source="127.0.0.87") as c:
            r = c.send_message("x@senders.test", ["team@example.test"], simple_message("to the team"), ehlo="c.test")
            self.assertEqual(r.code, 250, r)
        self.assertTrue(wait_until(lambda: len(sink_a.messages) == 1 and len(sink_b.messages) == 1, timeout=20), d.log())
        self.assertEqual(sink_a.messages[0].rcpt_tos, ["alice@example.test"])
        self.assertEqual(sink_b.messages[0].rcpt_tos, ["carol@partner.test"])
        self.assertIn(b"Subject: to the team", sink_b.messages[0].data)

    def test_message_rate_per_client(self):
        d = policy_daemon(self, policy={"message_rate": 2})
        with SmtpClient(d.port, source="127.0.0.84") as c:
            c.ehlo()
            for _ in range(2):
                c.ok("MAIL FROM:<a@senders.test>")
                c.ok("RSET")
            c.expect(450, "4.7.1", c.cmd("MAIL FROM:<a@senders.test>"))
        with SmtpClient(d.port, source="127.0.0.85") as c:
            c.ehlo()
            c.ok("MAIL FROM:<a@senders.test>")

    def test_tarpit_delays_errors_after_the_soft_limit(self):
        d = policy_daemon(self, policy={"tarpit_after": 2, "tarpit_delay": "700ms"}, limits={"errors_per_session": 6})
        with SmtpClient(d.port, source="127.0.0.86") as c:
            start = time.monotonic()
            c.send("BOGUS\r\nBOGUS\r\nBOGUS\r\nBOGUS\r\nNOOP\r\n")
            replies = c.replies(5)
            elapsed = time.monotonic() - start
            self.assertEqual([r.code for r in replies], [500, 500, 500, 500, 250])
            # Errors 3 and 4 each cost the delay (the tick is 200 ms, so allow for it).
            self.assertGreaterEqual(elapsed, 1.3)
            self.assertLess(elapsed, 5.0)
            # ... and the session still ends at errors_per_session.
            c.send("BOGUS\r\nBOGUS\r\n")
            self.assertEqual([r.code for r in c.replies(3)], [500, 500, 421])

    def _files(self, files):
        import tempfile
        tmp = tempfile.mkdtemp(prefix="correo-policy-")
        out = {}
        for name, text in files.items():
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            out[name] = path
        return out


class Greylisting(unittest.TestCase):
    def test_defer_then_pass_and_remember_across_restart(self):
        d = policy_daemon(self, policy={"greylist": {"enabled": True, "delay": "2s"}})
        def attempt(rcpt="alice@example.test", source="127.0.0.90"):
            with SmtpClient(d.port, source=source) as c:
                c.ehlo()
                c.ok("MAIL FROM:<grey@senders.test>")
                return c.cmd("RCPT TO:<%s>" % rcpt)
        r = attempt()
        self.assertEqual((r.code, r.enhanced), (450, "4.2.0"), r)
        self.assertIn("Greylisted", r.text)
        self.assertEqual(attempt().code, 450)  # too early
        time.sleep(2.2)
        self.assertEqual(attempt().code, 250)
        # Another recipient is another triplet.
        self.assertEqual(attempt("bob@example.test").code, 450)
        # A relay client is never greylisted.
        self.assertEqual(attempt("carol@example.test", source=RELAY_CLIENT).code, 250)
        d.stop()
        d.start()
        self.assertEqual(attempt().code, 250)  # the pass is in RocksDB


class ContentChecks(unittest.TestCase):
    def test_header_checks_actions(self):
        import tempfile
        path = os.path.join(tempfile.mkdtemp(prefix="correo-hc-"), "header_checks")
        with open(path, "w") as f:
            f.write("# test rules\n"
                    "/^Subject:.*cheap pills/ REJECT 5.7.1 No pills here\n"
                    "/^Subject: hold me/ HOLD quarantined for review\n"
                    "/^Subject: drop me/ DISCARD\n"
                    "/^X-Tag: stamp/ PREPEND X-Stamped: yes\n")
        d = policy_daemon(self, policy={"header_checks": path, "header_size": 4096})
        def send(subject, extra=""):
            with SmtpClient(d.port, source="127.0.0.91") as c:
                c.ehlo()
                c.ok("MAIL FROM:<a@senders.test>")
                c.ok("RCPT TO:<alice@example.test>")
                c.ok("DATA", 354)
                c.send(simple_message(subject, extra_headers=extra) + b".\r\n")
                return c.reply()
        r = send("Cheap Pills today")  # case-insensitive, like Postfix
        self.assertEqual((r.code, r.text), (550, "5.7.1 No pills here"))
        held = send("hold me").queue_id()
        env, _ = d.show(held)
        self.assertEqual(env["held"], "yes")
        self.assertEqual(env["hold_reason"], "header_checks: quarantined for review")
        r = send("drop me")
        self.assertEqual(r.code, 250)
        self.assertNotIn(r.queue_id(), d.queue_ids())
        stamped = send("normal", extra="X-Tag: stamp\r\n").queue_id()
        _, body = d.show(stamped)
        self.assertIn(b"\r\nX-Stamped: yes\r\n", body)
        r = send("big", extra="X-Big: " + ("x" * 80 + "\r\n\t") * 60 + "end\r\n")  # folded: 5 KB
        self.assertEqual((r.code, r.enhanced), (552, "5.3.4"), r)
        self.assertEqual(len(reject_lines(d, "header_checks")), 1)
        self.assertEqual(len(reject_lines(d, "header_size")), 1)
        # The held message is never delivered: it has no schedule entry.
        self.assertIn(held, d.queue_ids())

    def test_rejections_are_counted_at_shutdown(self):
        d = policy_daemon(self, policy={"client_deny": ["127.0.0.92/32"]})
        for _ in range(3):
            with SmtpClient(d.port, source="127.0.0.92") as c:
                c.cmd("QUIT")
        with SmtpClient(d.port, source="127.0.0.93") as c:
            c.ehlo()
            c.ok("MAIL FROM:<a@senders.test>")
            c.expect(554, "5.7.1", c.cmd("RCPT TO:<x@elsewhere.test>"))
        d.stop()
        stats = [l for l in d.log().splitlines() if "event=policy_stats" in l]
        self.assertEqual(len(stats), 1, d.log())
        self.assertIn("rejected_client_access=3", stats[0])
        self.assertIn("rejected_relay=1", stats[0])


if __name__ == "__main__":
    unittest.main()
