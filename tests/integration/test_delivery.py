"""Outbound delivery end to end: correod delivers what it queued to real SMTP peers.

Every test starts its own correod (delivery on: queue_only = false) with its own peers from
peers.py: aiosmtpd sinks on 127.x.y.z addresses and, where routing needs DNS, a dnsmasq on
127.0.0.1 with exactly the records the test needs. Nothing leaves loopback: every config
points [dns] servers at that dnsmasq, or at 127.0.0.1:9 when nothing should be resolved.

What is proven here, from the outside (sink transcripts, the DSNs the sender receives,
correod's log and correo-spool):
  routing         next hop "[ip]:port", MX preference order with fallback to the next MX on
                  connect failure and on a 421 greeting, the implicit MX (A record only);
  DNS failures    null MX -> 5.1.10, NXDOMAIN -> 5.1.2, both bounced on the first attempt;
  retries         4xx at RCPT or DATA -> deferred, retried with backoff, delivered once;
                  retries survive a restart; queue.max_lifetime expiry -> failed + bounce;
  bounces         RFC 3464 multipart/report to the original sender, from <>, one recipient
                  group per failed recipient only; never a bounce for a <> message;
  the dialogue    PIPELINING (MAIL, RCPTs, DATA in one read), connection reuse, no
                  BODY=8BITMIME to a peer without 8BITMIME;
  limits          connections_per_destination, reuse_messages, connections_total.

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_delivery
(CORREO_TEST_LOG_LEVEL=debug for a debug log, CORREO_KEEP_TMP=1 keeps the daemon dirs,
CORREO_SHOW_DSN=1 prints every bounce checked.)
"""

import email
import email.policy
import os
import re
import unittest

from correo_harness import HOSTNAME, Correod, SmtpClient, split_received, wait_until
from peers import TYPE_MX, Dnsmasq, Sink, free_port

SENDER = "sender@senders.test"
NO_DNS = "127.0.0.1:9"   # discard port: nothing answers, nothing leaves loopback

KV_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def kv_fields(line):
    out = {}
    for k, v in KV_RE.findall(line):
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        out[k] = v
    return out


def content(subject, body="Hello from the delivery tests.\r\n", sender=SENDER, to="rcpt@example.test"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@client.test>\r\n\r\n%s"
            % (sender, to, subject, subject.replace(" ", "-"), body)).encode("utf-8")


def parse_dsn(data):
    """(message, per-message fields, [per-recipient fields]) of an RFC 3464 DSN; asserts
    the multipart/report structure on the way."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status", msg.get_param("report-type")
    parts = msg.get_payload()
    assert len(parts) == 3, [p.get_content_type() for p in parts]
    assert parts[0].get_content_type() == "text/plain", parts[0].get_content_type()
    status = parts[1]
    assert status.get_content_type() == "message/delivery-status", status.get_content_type()
    blocks = status.get_payload()   # one Message per field group (RFC 3464 §2.1)
    assert len(blocks) >= 2, blocks
    fields = [{k.lower(): str(v) for k, v in b.items()} for b in blocks]
    return msg, fields[0], fields[1:]


class DeliveryCase(unittest.TestCase):
    """Helpers: a daemon that delivers, message submission, log and queue observation."""

    def correod(self, dns=None, domains=None, transport=None, relayhost=None, delivery=None, queue=None,
                workers=2, start=True, networks=("127.0.0.0/8",)):
        relay = {"domains": domains or {"example.test": ""}, "networks": list(networks)}
        if relayhost:
            relay["relayhost"] = relayhost
        sections = {
            "relay": relay,
            "delivery": dict({"queue_only": False, "connect_timeout": "2s", "reply_timeout": "5s",
                              "data_done_timeout": "5s"}, **(delivery or {})),
            "dns": {"servers": [dns.server if dns is not None else NO_DNS], "timeout": "1s"},
            "queue": dict({"retry_initial": "1s", "retry_max": "2s"}, **(queue or {})),
        }
        if transport:
            sections["transport"] = dict(transport)
        d = Correod(self, sections=sections, workers=workers,
                    log_level=os.environ.get("CORREO_TEST_LOG_LEVEL", "info"))
        self.daemons.append(d)
        if start:
            d.start()
        return d

    def setUp(self):
        self.daemons = []

    def delivered(self, sink, n, timeout=15.0):
        """Wait for n messages at sink; on failure show the sink's transcript and the log."""
        try:
            return sink.wait_messages(n, timeout=timeout)
        except AssertionError as e:
            logs = "\n".join(d.log()[-6000:] for d in self.daemons)
            raise AssertionError("%s\n--- correod log:\n%s" % (e, logs)) from None

    def dnsmasq(self, **records):
        return Dnsmasq(self, **records).start()

    def sink(self, address, port=None, **behaviour):
        return Sink(address, port, self, **behaviour).start()

    def submit(self, d, rcpts, data, sender=SENDER, mail_params="", rcpt_params=""):
        with SmtpClient(d.port) as c:
            c.ehlo()
            r = c.send_message(sender, rcpts, data, mail_params=mail_params, rcpt_params=rcpt_params)
            self.assertEqual(r.code, 250, r)
            qid = r.queue_id()
            self.assertTrue(qid, r)
            c.cmd("QUIT")
        return qid

    def events(self, d, event, qid=None, whole=True):
        out = []
        for line in (d.log() if whole else d.run_log()).splitlines():
            if " event=%s " % event not in " " + line + " ":
                continue
            f = kv_fields(line)
            if qid is None or f.get("id") == qid:
                out.append(f)
        return out

    def wait_removed(self, d, qid, timeout=15.0):
        d.wait_log(r"event=removed id=%s\b" % qid, timeout=timeout, whole=True)
        self.assertTrue(wait_until(lambda: qid not in d.queue_ids(), timeout=5),
                        "message %s still in the queue after event=removed" % qid)

    def wait_event(self, d, event, qid, status=None, count=1, timeout=15.0):
        def found():
            ev = [e for e in self.events(d, event, qid) if status is None or e.get("status") == status]
            return ev if len(ev) >= count else None
        ev = wait_until(found, timeout=timeout, interval=0.05)
        if not ev:
            raise AssertionError("no %d x event=%s id=%s status=%s within %ss:\n%s"
                                 % (count, event, qid, status, timeout, d.log()[-4000:]))
        return ev

    def assert_delivered_copy(self, d, message, qid, data, rcpts):
        """The sink's copy is what correod queued: our Received: header, then the exact bytes."""
        received, rest = split_received(message.data)
        self.assertEqual(received.group("id").decode(), qid)
        self.assertEqual(received.group("by").decode(), HOSTNAME)
        self.assertEqual(rest, data)
        self.assertEqual(message.mail_from, SENDER)
        self.assertEqual(sorted(message.rcpt_tos), sorted(rcpts))

    def assert_bounce(self, sink, bounce, original_rcpts_failed, original_subject):
        """A DSN on the wire: from <>, to the sender, multipart/report; returns the groups
        by recipient."""
        self.assertEqual(bounce.mail_from, "", "a bounce must have the null reverse-path")
        raw = sink.connections[bounce.conn].raw()
        self.assertIn(b"MAIL FROM:<>", raw)
        self.assertIn(b"RCPT TO:<%s>" % SENDER.encode(), raw)
        self.assertEqual(bounce.rcpt_tos, [SENDER])
        msg, per_message, groups = parse_dsn(bounce.data)
        self.assertEqual([a.addr_spec for a in msg["From"].addresses], ["MAILER-DAEMON@" + HOSTNAME])
        self.assertEqual([a.addr_spec for a in msg["To"].addresses], [SENDER])
        if os.environ.get("CORREO_SHOW_DSN"):
            print(bounce.data.decode("utf-8", "replace"))
        self.assertEqual(msg["Subject"], "Undelivered Mail Returned to Sender")
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertEqual(per_message["reporting-mta"], "dns; " + HOSTNAME)
        self.assertIn("arrival-date", per_message)
        finals = [g["final-recipient"] for g in groups]
        self.assertEqual(sorted(finals), sorted("rfc822; " + r for r in original_rcpts_failed))
        for g in groups:
            self.assertEqual(g["action"], "failed", g)
        returned = msg.get_payload()[2]
        self.assertEqual(returned.get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: " + original_subject, returned.get_content())
        return {g["final-recipient"][len("rfc822; "):]: g for g in groups}


# --------------------------------------------------------------------------- routing

class DirectNextHopTest(DeliveryCase):

    def test_direct_next_hop(self):
        """relay.domains "[127.0.0.5]:PORT": delivered there, byte for byte, then removed."""
        sink = self.sink("127.0.0.5")
        d = self.correod(domains={"example.test": "[127.0.0.5]:%d" % sink.port})
        body = ("Line one.\r\n.leading dot must survive dot-stuffing\r\n..two dots\r\n"
                "trailing spaces   \r\n\r\nlast line\r\n")
        data = content("direct next hop", body)
        qid = self.submit(d, ["rcpt@example.test"], data)
        [m] = self.delivered(sink, 1)
        self.wait_removed(d, qid)
        self.assertEqual(d.count(), 0)
        self.assert_delivered_copy(d, m, qid, data, ["rcpt@example.test"])
        received, _ = split_received(m.data)
        self.assertEqual(received.group("for"), b"rcpt@example.test")
        # Our EHLO name, and the log line.
        [conn] = sink.connections
        self.assertIn(("EHLO", HOSTNAME), [(v, a) for _, v, a in conn.commands])
        [ev] = self.events(d, "delivery", qid)
        self.assertEqual(ev["status"], "delivered")
        self.assertEqual(ev["rcpt"], "rcpt@example.test")
        self.assertEqual(ev["relay"], "127.0.0.5[127.0.0.5]:%d" % sink.port)
        self.assertTrue(ev["reply"].startswith("250"), ev)
        self.assertEqual(len(sink.messages), 1)


class MxRoutingTest(DeliveryCase):
    """dest.test MX 10 mx1.test (127.0.0.11), MX 20 mx2.test (127.0.0.12), delivery.port."""

    def setup_mx(self, domain):
        port = free_port("127.0.0.11", also=("127.0.0.12",))
        dns = self.dnsmasq(mx=[(domain, "mx1.test", 10), (domain, "mx2.test", 20)],
                           hosts=[("mx1.test", "127.0.0.11"), ("mx2.test", "127.0.0.12")])
        d = self.correod(dns=dns, domains={domain: ""}, delivery={"port": port})
        return port, dns, d

    def test_preferred_mx_first(self):
        port, dns, d = self.setup_mx("dest.test")
        mx1 = self.sink("127.0.0.11", port)
        mx2 = self.sink("127.0.0.12", port)
        data = content("mx order")
        qid = self.submit(d, ["user@dest.test"], data)
        [m] = self.delivered(mx1, 1)
        self.wait_removed(d, qid)
        self.assert_delivered_copy(d, m, qid, data, ["user@dest.test"])
        self.assertEqual(mx2.connections, [], "the less preferred MX was contacted")
        [ev] = self.events(d, "delivery", qid)
        self.assertEqual((ev["status"], ev["relay"]), ("delivered", "mx1.test[127.0.0.11]:%d" % port))
        # Resolved through our dnsmasq: MX first, then the exchanges' addresses.
        log = dns.log.decode("utf-8", "replace")
        mx_at = log.find("query[MX] dest.test from 127.0.0.1")
        self.assertTrue(0 <= mx_at < log.find("query[A] mx1.test from 127.0.0.1"), log)
        # dnsmasq lists mx2 (20) before mx1 (10): correod sorted by preference itself.
        rcode, answers = dns.query("dest.test", TYPE_MX)
        self.assertEqual(sorted(v for _, v in answers), [(10, "mx1.test"), (20, "mx2.test")])

    def test_fallback_when_preferred_mx_is_down(self):
        port, _, d = self.setup_mx("dest.test")
        mx2 = self.sink("127.0.0.12", port)       # nothing listens on 127.0.0.11:port
        data = content("mx1 down")
        qid = self.submit(d, ["user@dest.test"], data)
        [m] = self.delivered(mx2, 1)
        self.wait_removed(d, qid)
        self.assert_delivered_copy(d, m, qid, data, ["user@dest.test"])
        [ev] = self.events(d, "delivery", qid)
        self.assertEqual((ev["status"], ev["relay"]), ("delivered", "mx2.test[127.0.0.12]:%d" % port))

    def test_fallback_when_preferred_mx_greets_421(self):
        port, _, d = self.setup_mx("dest.test")
        mx1 = self.sink("127.0.0.11", port, greeting="421 4.3.2 mx1 is not accepting mail now")
        mx2 = self.sink("127.0.0.12", port)
        data = content("mx1 421")
        qid = self.submit(d, ["user@dest.test"], data)
        [m] = self.delivered(mx2, 1)
        self.wait_removed(d, qid)
        self.assert_delivered_copy(d, m, qid, data, ["user@dest.test"])
        self.assertGreaterEqual(len(mx1.connections), 1, "mx1 was never tried")
        self.assertLess(mx1.connections[0].opened, mx2.connections[0].opened, "mx2 was tried before mx1")
        self.assertEqual(mx1.messages, [])
        [ev] = self.events(d, "delivery", qid)
        self.assertEqual((ev["status"], ev["relay"]), ("delivered", "mx2.test[127.0.0.12]:%d" % port))
        self.assertTrue(self.events(d, "host_refused"), "no event=host_refused for the 421 greeting")

    def test_fallback_when_preferred_mx_greets_554(self):
        port, _, d = self.setup_mx("dest.test")
        self.sink("127.0.0.11", port, greeting="554 5.3.2 mx1 does not want your mail")
        mx2 = self.sink("127.0.0.12", port)
        qid = self.submit(d, ["user@dest.test"], content("mx1 554"))
        self.delivered(mx2, 1)
        self.wait_removed(d, qid)

    def test_implicit_mx_a_record_only(self):
        """No MX records, only an A record: the domain itself is the (implicit) MX."""
        port = free_port("127.0.0.13")
        dns = self.dnsmasq(hosts=[("afallback.test", "127.0.0.13")])
        sink = self.sink("127.0.0.13", port)
        d = self.correod(dns=dns, domains={"afallback.test": ""}, delivery={"port": port})
        data = content("a fallback")
        qid = self.submit(d, ["user@afallback.test"], data)
        [m] = self.delivered(sink, 1)
        self.wait_removed(d, qid)
        self.assert_delivered_copy(d, m, qid, data, ["user@afallback.test"])
        [ev] = self.events(d, "delivery", qid)
        self.assertEqual((ev["status"], ev["relay"]), ("delivered", "afallback.test[127.0.0.13]:%d" % port))
        # The setup: NOERROR without MX records. correod asked for MX first, then for A.
        self.assertEqual(dns.query("afallback.test", TYPE_MX), (0, []))
        log = dns.log.decode("utf-8", "replace")
        mx_at = log.find("query[MX] afallback.test from 127.0.0.1")
        a_at = log.find("query[A] afallback.test from 127.0.0.1")
        self.assertTrue(0 <= mx_at < a_at, log)


# --------------------------------------------------------------------------- failures and bounces

class BounceTest(DeliveryCase):
    """The sender's domain senders.test is routed to its own sink, which receives the DSNs."""

    def setUp(self):
        super().setUp()
        self.senders = self.sink("127.0.0.20")

    def test_null_mx_and_nxdomain_bounce_at_once(self):
        dns = self.dnsmasq(null_mx=["nullmx.test"], local=["test"])
        # A long retry: a deferral instead of a bounce would not be retried within the test.
        d = self.correod(dns=dns, transport={"senders.test": "[127.0.0.20]:%d" % self.senders.port},
                         queue={"retry_initial": "60s", "retry_max": "120s"})
        cases = [("user@nullmx.test", "5.1.10"), ("user@nosuch.nx.test", "5.1.2")]
        for i, (rcpt, status) in enumerate(cases):
            with self.subTest(rcpt=rcpt):
                subject = "dns failure %d" % i
                qid = self.submit(d, [rcpt], content(subject, to=rcpt))
                [ev] = self.wait_event(d, "delivery", qid)
                self.assertEqual((ev["status"], ev["dsn"]), ("bounced", status), ev)
                self.wait_removed(d, qid)
                [b] = self.wait_event(d, "bounce", qid)
                self.assertEqual(b["to"], SENDER)
                bounce = self.delivered(self.senders, i + 1)[i]
                groups = self.assert_bounce(self.senders, bounce, [rcpt], subject)
                self.assertEqual(groups[rcpt]["status"], status)
                self.assertNotIn("remote-mta", groups[rcpt], "no server was ever contacted")
                self.assertEqual(self.events(d, "delivery", qid), [ev], "more than one attempt")
        self.assertTrue(wait_until(lambda: d.count() == 0, timeout=10), d.list())

    def test_one_of_two_recipients_refused(self):
        port = free_port("127.0.0.16")
        dns = self.dnsmasq(mx=[("two.test", "mx6.test", 10)], hosts=[("mx6.test", "127.0.0.16")])
        refusal = "550 5.1.1 <bad@two.test>: Recipient address rejected: User unknown"
        dest = self.sink("127.0.0.16", port, reject_rcpts={"bad@two.test": refusal})
        d = self.correod(dns=dns, domains={"two.test": "", "senders.test": "[127.0.0.20]:%d" % self.senders.port},
                         delivery={"port": port})
        data = content("two recipients", to="good@two.test")
        qid = self.submit(d, ["good@two.test", "bad@two.test"], data)
        [m] = self.delivered(dest, 1)
        self.assertEqual(m.rcpt_tos, ["good@two.test"])
        self.wait_removed(d, qid)
        by_rcpt = {e["rcpt"]: e for e in self.events(d, "delivery", qid)}
        self.assertEqual(by_rcpt["good@two.test"]["status"], "delivered")
        self.assertEqual(by_rcpt["bad@two.test"]["status"], "bounced")
        [bounce] = self.delivered(self.senders, 1)
        groups = self.assert_bounce(self.senders, bounce, ["bad@two.test"], "two recipients")
        g = groups["bad@two.test"]
        self.assertEqual(g["action"], "failed")
        self.assertEqual(g["status"], "5.1.1")
        self.assertEqual(g["final-recipient"], "rfc822; bad@two.test")
        self.assertEqual(g["remote-mta"], "dns; mx6.test")
        self.assertTrue(g["diagnostic-code"].startswith("smtp; 550"), g)
        self.assertIn("Recipient address rejected: User unknown", g["diagnostic-code"])
        self.assertIn("last-attempt-date", g)
        # The delivered recipient is in no part of the report (the returned headers' To: aside).
        human = email.message_from_bytes(bounce.data, policy=email.policy.default).get_payload()[0].get_content()
        self.assertIn("<bad@two.test>", human)
        self.assertNotIn("good@two.test", human)
        self.assertTrue(wait_until(lambda: d.count() == 0, timeout=10), d.list())
        self.assertEqual(len(self.senders.messages), 1)

    def test_success_notice_when_the_next_hop_has_no_dsn(self):
        # RFC 3461 §6.2.1: NOTIFY=SUCCESS and a next hop without DSN -> a "relayed" notice.
        port = free_port("127.0.0.24")
        dest = self.sink("127.0.0.24", port)  # aiosmtpd: no DSN extension
        d = self.correod(domains={"example.test": "[127.0.0.24]:%d" % port,
                                  "senders.test": "[127.0.0.20]:%d" % self.senders.port})
        qid = self.submit(d, ["yes@example.test"], content("notify success"), rcpt_params="NOTIFY=SUCCESS,FAILURE")
        self.delivered(dest, 1)
        self.wait_removed(d, qid)
        [notice] = self.delivered(self.senders, 1)
        _, per_message, groups = parse_dsn(notice.data)
        self.assertEqual(len(groups), 1, groups)
        self.assertEqual(groups[0]["action"], "relayed")
        self.assertEqual(groups[0]["final-recipient"], "rfc822; yes@example.test")
        self.assertTrue(groups[0]["status"].startswith("2."), groups[0])
        self.assertEqual(len(self.events(d, "success_notice", qid)), 1)
        # NOTIFY=FAILURE only: delivered quietly.
        qid2 = self.submit(d, ["quiet@example.test"], content("quiet"), rcpt_params="NOTIFY=FAILURE")
        self.delivered(dest, 2)
        self.wait_removed(d, qid2)
        self.assertTrue(wait_until(lambda: d.count() == 0, timeout=10), d.list())
        self.assertEqual(len(self.senders.messages), 1)
        self.assertEqual(self.events(d, "success_notice", qid2), [])

    def test_lifetime_expiry(self):
        """A destination that always says 451: after queue.max_lifetime, failed + bounce."""
        dest = self.sink("127.0.0.17", fail_data_first=10 ** 6,
                         data_failure="451 4.3.0 Mailbox temporarily unavailable, try again")
        d = self.correod(domains={"example.test": "[127.0.0.17]:%d" % dest.port,
                                  "senders.test": "[127.0.0.20]:%d" % self.senders.port},
                         queue={"retry_initial": "1s", "retry_max": "1s", "max_lifetime": "3s"})
        qid = self.submit(d, ["late@example.test"], content("expiry"))
        [ev] = self.wait_event(d, "delivery", qid, status="expired", timeout=15)
        self.wait_removed(d, qid)
        deferred = [e for e in self.events(d, "delivery", qid) if e["status"] == "deferred"]
        self.assertGreaterEqual(len(deferred), 1)
        self.assertTrue(ev["reply"].startswith("4.4.7 message expired"), ev)
        self.assertGreaterEqual(float(ev["delay_s"]), 3.0)
        [bounce] = self.delivered(self.senders, 1)
        g = self.assert_bounce(self.senders, bounce, ["late@example.test"], "expiry")["late@example.test"]
        self.assertEqual(g["action"], "failed")
        # RFC 3464 allows the last temporary status (Postfix reports it) or 4.4.7.
        self.assertIn(g["status"], ("4.4.7", "4.3.0"))
        self.assertEqual(g["diagnostic-code"], "smtp; 451 4.3.0 Mailbox temporarily unavailable, try again")
        self.assertTrue(g["remote-mta"].startswith("dns; ") and "127.0.0.17" in g["remote-mta"], g)
        self.assertEqual(dest.messages, [])
        self.assertEqual(dest.data_attempts, len(deferred) + 1)
        self.assertTrue(wait_until(lambda: d.count() == 0, timeout=10), d.list())

    def test_null_sender_never_bounced(self):
        """A <> message that fails permanently is dropped: no DSN queued or sent."""
        dest = self.sink("127.0.0.18", reject_rcpts={"gone@example.test": "550 5.1.1 <gone@example.test>: no such user"})
        catchall = self.sink("127.0.0.21")
        d = self.correod(domains={"example.test": "[127.0.0.18]:%d" % dest.port,
                                  "senders.test": "[127.0.0.20]:%d" % self.senders.port},
                         relayhost="[127.0.0.21]:%d" % catchall.port)
        with SmtpClient(d.port) as c:
            c.ehlo()
            r = c.send_message("", ["gone@example.test"], content("null sender", sender="MAILER-DAEMON@x.test"))
            self.assertEqual(r.code, 250, r)
            qid = r.queue_id()
        [ev] = self.wait_event(d, "delivery", qid)
        self.assertEqual(ev["status"], "bounced")
        self.wait_removed(d, qid)
        self.assertEqual(d.count(), 0, "something was queued for the failed <> message: %r" % d.list())
        self.assertEqual(self.events(d, "bounce"), [])
        # Nothing arrives anywhere (a bounce would be due at once).
        self.assertFalse(self.senders.wait(lambda s: s.connections, timeout=1.0))
        self.assertEqual(catchall.connections, [])
        self.assertEqual(dest.messages, [])


# --------------------------------------------------------------------------- retries

class RetryTest(DeliveryCase):

    def check_two_deferrals(self, sink, attempts):
        d = self.correod(domains={"example.test": "[127.0.0.19]:%d" % sink.port})
        data = content("retry me")
        qid = self.submit(d, ["retry@example.test"], data)
        [m] = self.delivered(sink, 1, timeout=20)
        self.wait_removed(d, qid)
        self.assert_delivered_copy(d, m, qid, data, ["retry@example.test"])
        self.assertEqual(attempts(), 3)
        self.assertEqual(len(sink.messages), 1)
        statuses = [e["status"] for e in self.events(d, "delivery", qid)]
        self.assertEqual(statuses, ["deferred", "deferred", "delivered"])
        for e in self.events(d, "delivery", qid)[:2]:
            self.assertTrue(e["reply"].startswith("451 4.3.0"), e)
            self.assertEqual(e["dsn"], "4.3.0")
        self.assertEqual(self.events(d, "bounce"), [])

    def test_451_at_data_twice_then_delivered(self):
        sink = self.sink("127.0.0.19", fail_data_first=2)
        self.check_two_deferrals(sink, lambda: sink.data_attempts)

    def test_451_at_rcpt_twice_then_delivered(self):
        sink = self.sink("127.0.0.19", fail_rcpt_first=2)
        self.check_two_deferrals(sink, lambda: sink.rcpt_attempts)
        self.assertEqual(sink.data_attempts, 1)

    def test_retries_resume_after_restart(self):
        port = free_port("127.0.0.22")
        d = self.correod(domains={"example.test": "[127.0.0.22]:%d" % port},
                         queue={"retry_initial": "1s", "retry_max": "1s"})
        data = content("survives restart")
        qid = self.submit(d, ["restart@example.test"], data)
        [ev] = self.wait_event(d, "delivery", qid, status="deferred")
        self.assertTrue(ev["reply"].startswith("4.4.1"), ev)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.queue_ids(), [qid])
        sink = self.sink("127.0.0.22", port)
        d.start()
        [m] = self.delivered(sink, 1, timeout=15)
        self.wait_removed(d, qid)
        self.assert_delivered_copy(d, m, qid, data, ["restart@example.test"])
        run = [kv_fields(ln) for ln in d.run_log().splitlines() if "event=delivery " in ln]
        self.assertEqual([(e["id"], e["status"]) for e in run], [(qid, "delivered")])


    def test_dns_server_down_defers_then_delivers(self):
        """The resolver stops answering: deliveries are deferred, never bounced; when it is
        back on the same port, the next retry delivers."""
        sink = self.sink("127.0.0.23")
        dns = self.dnsmasq(mx=[("down.test", "mx.down.test", 10)], hosts=[("mx.down.test", "127.0.0.23")])
        d = self.correod(dns=dns, domains={"down.test": ""}, delivery={"port": sink.port},
                         queue={"retry_initial": "1s", "retry_max": "1s"})
        dns_port = dns.port
        dns.stop()
        data = content("dns down", to="user@down.test")
        qid = self.submit(d, ["user@down.test"], data)
        evs = self.wait_event(d, "delivery", qid, status="deferred", count=2, timeout=20)
        for ev in evs:
            self.assertTrue(ev["dsn"].startswith("4."), ev)   # temporary: the DNS may come back
        self.assertEqual(d.queue_ids(), [qid])                # still queued, nothing else queued
        self.assertEqual(self.events(d, "bounce"), [])
        self.assertNotIn("bounced", [e["status"] for e in self.events(d, "delivery", qid)])
        self.assertEqual(sink.messages, [])
        dns.start(port=dns_port)
        [m] = self.delivered(sink, 1, timeout=20)
        self.wait_removed(d, qid)
        self.assert_delivered_copy(d, m, qid, data, ["user@down.test"])
        self.assertEqual(d.count(), 0)

    def test_etrn_makes_deferred_mail_due_now(self):
        # RFC 1985: the retry is an hour away; ETRN for the domain delivers it at once.
        port = free_port("127.0.0.23")
        d = self.correod(domains={"example.test": "[127.0.0.23]:%d" % port},
                         queue={"retry_initial": "1h", "retry_max": "1h"}, networks=())
        data = content("etrn")
        qid = self.submit(d, ["etrn@example.test"], data)
        self.wait_event(d, "delivery", qid, status="deferred")
        sink = self.sink("127.0.0.23", port)
        with SmtpClient(d.port) as c:
            c.ehlo()
            c.ok("ETRN other.test", 459, "4.7.1")  # not a relay domain, not a relay client
            c.ok("ETRN #queue", 458)
            r = c.cmd("ETRN example.test")
            self.assertEqual((r.code, r.enhanced), (250, "2.0.0"), r)
        [m] = self.delivered(sink, 1, timeout=10)
        self.wait_removed(d, qid)
        self.assert_delivered_copy(d, m, qid, data, ["etrn@example.test"])


# --------------------------------------------------------------------------- the SMTP dialogue

class DialogueTest(DeliveryCase):

    def test_pipelining_and_connection_reuse(self):
        sink = self.sink("127.0.0.30", pipelining=True)
        d = self.correod(domains={"example.test": "[127.0.0.30]:%d" % sink.port},
                         delivery={"connections_per_destination": 2, "reuse_time": "5s"})
        # 1. MAIL, RCPT, RCPT, DATA in ONE read.
        qid = self.submit(d, ["a@example.test", "b@example.test"], content("pipelined"))
        self.delivered(sink, 1)
        self.wait_removed(d, qid)
        conn = sink.connections[0]
        reads = [r for _, r in conn.reads]
        mail_reads = [r for r in reads if r.startswith(b"MAIL FROM:")]
        self.assertEqual(len(mail_reads), 1, reads)
        self.assertEqual(mail_reads[0].split(b"\r\n"),
                         [b"MAIL FROM:<%s> SIZE=%d" % (SENDER.encode(), len(sink.messages[0].data)),
                          b"RCPT TO:<a@example.test>", b"RCPT TO:<b@example.test>", b"DATA", b""], reads)
        # 2. The idle connection is reused for the next message.
        qid2 = self.submit(d, ["c@example.test"], content("reused"))
        self.delivered(sink, 2)
        self.wait_removed(d, qid2)
        self.assertEqual(len(sink.connections), 1, sink.connections)
        self.assertEqual(sink.messages[1].conn, sink.messages[0].conn)
        # 3. 20 messages quickly: fewer connections than messages, several MAIL FROM each.
        # (connections_per_destination = 2 makes reuse certain: with the default 20, a burst
        # that reaches the scheduler in one pass legitimately opens one connection per message.)
        qids = [self.submit(d, ["m%d@example.test" % i], content("burst %d" % i)) for i in range(20)]
        self.delivered(sink, 22, timeout=20)
        for q in qids:
            self.wait_removed(d, q)
        messages, conns = sink.snapshot()
        self.assertEqual(sorted(m.rcpt_tos[0] for m in messages[2:]), sorted("m%d@example.test" % i for i in range(20)))
        self.assertLessEqual(len(conns), 2, conns)   # the idle one, and one more (the limit)
        self.assertLessEqual(sink.max_active, 2)
        self.assertGreaterEqual(max(c.mail_froms for c in conns), 5, conns)
        for c in conns:
            ehlos = [a for _, v, a in c.commands if v == "EHLO"]
            self.assertEqual(len(ehlos), 1, "one EHLO per connection, then transactions: %r" % c.commands)
            for r in (r for _, r in c.reads):
                if r.startswith(b"MAIL FROM:"):
                    self.assertTrue(r.endswith(b"\r\nDATA\r\n"), r)

    def test_reuse_messages_bounds_each_connection(self):
        """delivery.reuse_messages = 3: a connection carries at most 3 messages ("used for at
        most reuse_messages messages", config.h / outbound.h), also while mail is queued."""
        sink = self.sink("127.0.0.36", data_delay=0.05)
        d = self.correod(domains={"example.test": "[127.0.0.36]:%d" % sink.port},
                         delivery={"connections_per_destination": 1, "reuse_messages": 3})
        qids = [self.submit(d, ["r%d@example.test" % i], content("reuse %d" % i)) for i in range(7)]
        self.delivered(sink, 7, timeout=20)
        for q in qids:
            self.wait_removed(d, q)
        _, conns = sink.snapshot()
        self.assertLessEqual(sink.max_active, 1, sink.describe())
        self.assertLessEqual(max(c.mail_froms for c in conns), 3,
                             "a connection carried more than reuse_messages = 3 messages: %r" % conns)
        self.assertEqual(sum(c.mail_froms for c in conns), 7, conns)

    def test_connections_total_slot_passes_to_another_destination(self):
        """connections_total = 1 (one worker): mail for other.test waits while example.test
        holds the only connection, and must go out once that connection is closed (after
        reuse_time), not stay queued until more mail for other.test happens to arrive."""
        a = self.sink("127.0.0.37")
        b = self.sink("127.0.0.38")
        d = self.correod(domains={"example.test": "[127.0.0.37]:%d" % a.port,
                                  "other.test": "[127.0.0.38]:%d" % b.port},
                         delivery={"connections_total": 1, "reuse_time": "500ms"}, workers=1)
        qa = self.submit(d, ["x@example.test"], content("total a"))
        qb = self.submit(d, ["y@other.test"], content("total b"))
        self.delivered(a, 1)
        self.wait_removed(d, qa)
        # a's idle connection closes after 0.5 s; give b 8 s more.
        self.delivered(b, 1, timeout=8)
        self.wait_removed(d, qb)
        self.assertLessEqual(a.max_active + b.max_active, 2)
        self.assertTrue(a.connections[0].closed is not None and
                        a.connections[0].closed <= b.connections[0].opened + 0.05,
                        "both connections were open at once with connections_total = 1")

    def test_no_pipelining_one_command_per_read(self):
        sink = self.sink("127.0.0.32", pipelining=False)
        d = self.correod(domains={"example.test": "[127.0.0.32]:%d" % sink.port})
        qid = self.submit(d, ["a@example.test", "b@example.test"], content("not pipelined"))
        self.delivered(sink, 1)
        self.wait_removed(d, qid)
        reads = [r for _, r in sink.connections[0].reads]
        i = next(k for k, r in enumerate(reads) if r.startswith(b"MAIL FROM:"))
        self.assertEqual([r.split(b" ")[0].rstrip(b"\r\n") for r in reads[i:i + 4]],
                         [b"MAIL", b"RCPT", b"RCPT", b"DATA"], reads)

    def test_peer_without_8bitmime(self):
        """BODY=8BITMIME mail to a peer that does not offer 8BITMIME: still delivered, and
        without the BODY= parameter (RFC 6152). What happens to the body (a downgrade to
        quoted-printable) is not checked here."""
        sink = self.sink("127.0.0.33", eightbitmime=False)
        d = self.correod(domains={"example.test": "[127.0.0.33]:%d" % sink.port})
        data = content("eight bit", body="Gr\u00fc\u00dfe aus K\u00f6ln, \u00e7a va?\r\n")
        qid = self.submit(d, ["u@example.test"], data, mail_params="BODY=8BITMIME")
        [m] = self.delivered(sink, 1)
        self.wait_removed(d, qid)
        self.assertEqual((m.mail_from, m.rcpt_tos), (SENDER, ["u@example.test"]))
        received, _ = split_received(m.data)
        self.assertEqual(received.group("id").decode(), qid)
        [conn] = sink.connections
        self.assertNotIn("8BITMIME", [o.upper() for _, v, a in conn.commands if v == "MAIL" for o in a[1]])
        mail_lines = [ln for ln in conn.raw().split(b"\r\n") if ln.upper().startswith(b"MAIL FROM:")]
        self.assertEqual(len(mail_lines), 1)
        self.assertNotIn(b"BODY=", mail_lines[0].upper())
        self.assertEqual(m.mail_options, [o for o in m.mail_options if not o.upper().startswith("BODY")])
        [ev] = self.events(d, "delivery", qid)
        self.assertEqual(ev["status"], "delivered")

    def test_peer_with_8bitmime_gets_body_parameter(self):
        sink = self.sink("127.0.0.34", eightbitmime=True)
        d = self.correod(domains={"example.test": "[127.0.0.34]:%d" % sink.port})
        data = content("eight bit ok", body="na\u00efve caf\u00e9\r\n")
        qid = self.submit(d, ["u@example.test"], data, mail_params="BODY=8BITMIME")
        [m] = self.delivered(sink, 1)
        self.wait_removed(d, qid)
        self.assertIn("BODY=8BITMIME", m.mail_options)
        self.assert_delivered_copy(d, m, qid, data, ["u@example.test"])

    def test_connections_per_destination_limit(self):
        sink = self.sink("127.0.0.35", data_delay=0.5)
        d = self.correod(domains={"example.test": "[127.0.0.35]:%d" % sink.port},
                         delivery={"connections_per_destination": 2})
        qids = [self.submit(d, ["l%d@example.test" % i], content("limit %d" % i)) for i in range(10)]
        self.delivered(sink, 10, timeout=20)
        for q in qids:
            self.wait_removed(d, q)
        self.assertLessEqual(sink.max_active, 2, sink.connections)
        self.assertEqual(sink.max_active, 2, "the limit was never reached: the test proves nothing")
        self.assertEqual(len(sink.messages), 10)


if __name__ == "__main__":
    unittest.main()
