"""Durability: "250 queued as ID" means the message survives kill -9; recovery at start;
clean SIGTERM shutdown."""

import re
import smtplib
import threading
import time
import unittest

from correo_harness import Correod, SmtpClient, queue_id_value, simple_message, split_received


class DurabilityTest(unittest.TestCase):
    def test_acknowledged_message_survives_kill9(self):
        d = Correod(self, log_level="debug")
        d.start()
        content = simple_message("durable", "survives kill -9\r\n.leading dot\r\n")
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo("durable.client.test")
        r = c.send_message("durable@x.test", ["r1@example.test", "r2@example.test"], content)
        self.assertEqual((r.code, r.enhanced), (250, "2.0.0"), r)
        qid = r.queue_id()
        d.kill9()                                   # immediately after the 250
        c.close()
        self.assertIn("event=queued id=%s" % qid, d.log())
        d.restart()
        self.assertIn(qid, d.queue_ids())
        env, body = d.show(qid)
        rec, stored = split_received(body)
        self.assertEqual(stored, content)
        self.assertEqual(rec.group("id").decode(), qid)
        self.assertEqual(env["sender"], "<durable@x.test>")
        self.assertEqual([x.split(" ")[0] for x in env["recipients_list"]], ["<r1@example.test>", "<r2@example.test>"])
        self.assertEqual(int(env["size"]), len(body))
        log = d.run_log()
        self.assertIn("event=recovered id=%s" % qid, log)
        self.assertRegex(log, r"event=spool_recovered .*\bmessages=1\b")
        self.assertRegex(log, r"event=started .*\brecovered=1\b")
        # A second kill -9 / restart changes nothing.
        d.kill9()
        d.restart()
        self.assertEqual(d.queue_ids(), [qid])
        self.assertEqual(d.show(qid)[1], body)
        self.assertEqual(d.stop(), 0)

    def test_kill9_mid_data_queues_nothing(self):
        d = Correod(self)
        d.start()
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo()
        c.ok("MAIL FROM:<a@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.ok("DATA", 354)
        c.send(b"Subject: unfinished\r\n\r\nnot yet ended\r\n")
        time.sleep(0.1)
        d.kill9()
        d.restart()
        self.assertEqual(d.count(), 0)
        self.assertRegex(d.run_log(), r"event=spool_recovered .*\bmessages=0\b")

    def test_no_acknowledged_message_lost_under_load(self):
        threads_n, per_thread = 4, 50
        d = Correod(self, log_level="debug")
        d.start()
        lock = threading.Lock()
        acked = {}         # qid -> content
        attempted = set()  # every content a client started to send
        failures = []

        def run(t):
            reuse = t % 2 == 0   # half the threads reuse one connection, half connect per message
            s = None
            try:
                for i in range(per_thread):
                    content = simple_message("load %d-%d" % (t, i), "token %d-%d\r\n" % (t, i) + "x" * 200 + "\r\n")
                    if s is None:
                        s = smtplib.SMTP("127.0.0.1", d.port, local_hostname="load%d.test" % t, timeout=10)
                        s.ehlo()
                    if s.mail("t%d@x.test" % t)[0] != 250 or s.rcpt("r%d@example.test" % i)[0] != 250:
                        raise AssertionError("envelope refused")
                    with lock:
                        attempted.add(content)
                    code, text = s.data(content)
                    if code != 250:
                        raise AssertionError("DATA refused: %d %r" % (code, text))
                    with lock:
                        acked[text.decode().split()[-1]] = content
                    if not reuse:
                        s.quit()
                        s = None
            except (smtplib.SMTPException, OSError) as e:
                with lock:
                    failures.append((t, repr(e)))
            finally:
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

        workers = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(threads_n)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 40:
                    break
            time.sleep(0.002)
        with lock:
            acked_at_kill = len(acked)
        d.kill9()
        for w in workers:
            w.join(20)
            self.assertFalse(w.is_alive(), "a client thread hung after kill -9")
        self.assertGreaterEqual(acked_at_kill, 40)
        with lock:
            acked_final = dict(acked)
        d.restart()
        queued = d.queue_ids()
        missing = sorted(set(acked_final) - set(queued))
        self.assertEqual(missing, [], "acknowledged but lost after kill -9: %s" % missing)
        extras = sorted(set(queued) - set(acked_final))
        print("\n  load: %d acked (%d when killed), %d queued, %d unacknowledged extras, %d client errors"
              % (len(acked_final), acked_at_kill, len(queued), len(extras), len(failures)))
        for qid, content in acked_final.items():
            _, body = d.show(qid)
            self.assertEqual(split_received(body)[1], content, qid)
        for qid in extras:   # queued but never acknowledged: still a complete message
            _, body = d.show(qid)
            self.assertIn(split_received(body)[1], attempted, qid)
        self.assertRegex(d.run_log(), r"event=spool_recovered .*\bmessages=%d\b" % len(queued))
        self.assertEqual(d.run_log().count("event=recovered id="), len(queued))
        # New ids are above every id issued before the crash.
        newest_old = max(queue_id_value(q) for q in queued)
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo()
        for i in range(5):
            r = c.send_message("after@x.test", ["r@example.test"], simple_message("after %d" % i))
            self.assertEqual(r.code, 250)
            self.assertGreater(queue_id_value(r.queue_id()), newest_old)
        c.ok("QUIT", 221)
        self.assertEqual(d.count(), len(queued) + 5)
        self.assertEqual(d.stop(), 0)

    def test_sigterm_when_idle(self):
        d = Correod(self)
        d.start()
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        r = c.send_message("a@x.test", ["b@example.test"], simple_message("before stop"), ehlo="c.test")
        self.assertEqual(r.code, 250)
        qid = r.queue_id()
        # A connected idle client is told 421 and disconnected; the daemon exits 0.
        t0 = time.monotonic()
        d.proc.terminate()
        r = c.reply()
        self.assertEqual((r.code, r.enhanced), (421, "4.3.2"), r)
        self.assertTrue(c.is_closed())
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - t0, 10)
        log = d.run_log()
        for event in ["stopping", "stats", "stopped"]:
            self.assertRegex(log, r"(?m)^.*\bevent=%s\b" % event)
        self.assertRegex(log, r"event=stats .*\bconnections=\d+ .*\bmessages=1\b")
        self.assertTrue(log.rstrip().endswith("event=stopped"), log[-500:])
        # Clean restart: the message is still there, and a fresh idle daemon stops with 0.
        d.start()
        self.assertEqual(d.queue_ids(), [qid])
        self.assertRegex(d.run_log(), r"event=spool_recovered .*\bmessages=1\b")
        self.assertEqual(d.stop(), 0)
        self.assertIn("event=stats", d.run_log())
        self.assertIsNone(re.search(r"level=(error|warn)", d.log()), d.log())

    def test_sigterm_lets_a_transaction_in_progress_finish(self):
        d = Correod(self)
        d.start()
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo()
        c.ok("MAIL FROM:<busy@x.test>")
        c.ok("RCPT TO:<b@example.test>")
        c.ok("DATA", 354)
        c.send(b"Subject: busy at shutdown\r\n\r\nfirst half\r\n")
        d.proc.terminate()
        d.wait_log(r"event=stopping")
        time.sleep(0.3)                     # past a worker tick: shutdown has begun
        c.send(b"second half\r\n.\r\n")
        r = c.reply()
        self.assertEqual((r.code, r.enhanced), (250, "2.0.0"), r)
        qid = r.queue_id()
        r = c.reply()
        self.assertEqual((r.code, r.enhanced), (421, "4.3.2"), r)
        self.assertTrue(c.is_closed())
        self.assertEqual(d.stop(), 0)
        d.start()
        self.assertEqual(d.queue_ids(), [qid])
        _, body = d.show(qid)
        self.assertTrue(body.endswith(b"\r\n\r\nfirst half\r\nsecond half\r\n"), body)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
