"""Load from Postfix's smtp-source: 20 parallel sessions, 400 messages of 1 KiB, once with a
new connection per message (smtp-source's default) and once reusing connections (-d)."""

import os
import re
import shutil
import subprocess
import time
import unittest

from correo_harness import Correod, split_received

SMTP_SOURCE = shutil.which("smtp-source") or ("/usr/sbin/smtp-source" if os.path.exists("/usr/sbin/smtp-source") else None)
SESSIONS, MESSAGES, LENGTH = 20, 400, 1024


class SmtpSourceTest(unittest.TestCase):
    def setUp(self):
        if not SMTP_SOURCE:
            self.skipTest("Postfix smtp-source not installed")

    def run_source(self, extra):
        d = Correod(self, workers=2)
        d.start()
        cmd = [SMTP_SOURCE, "-s", str(SESSIONS), "-m", str(MESSAGES), "-l", str(LENGTH), "-M", "source.test",
               "-f", "load@source.test", "-t", "sink@example.test"] + extra + ["127.0.0.1:%d" % d.port]
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        elapsed = time.monotonic() - t0
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, "%s\n%s\n%s" % (cmd, out, d.log()[-3000:]))
        self.assertNotIn("fatal", out)
        self.assertEqual(d.count(), MESSAGES)
        queued = re.findall(r"^.*\bevent=queued id=([0-9A-Z]{13}) .*$", d.log(), re.M)
        self.assertEqual(len(queued), MESSAGES)
        self.assertEqual(len(set(queued)), MESSAGES)
        self.assertEqual(sorted(queued), sorted(d.queue_ids()))
        for entry in d.list():
            self.assertEqual(entry[3:], ("load@source.test", ["sink@example.test"]))
        _, body = d.show(queued[-1])
        rec, content = split_received(body)
        self.assertEqual(rec.group("helo"), b"source.test")
        self.assertGreaterEqual(len(content), LENGTH)
        self.assertEqual(d.stop(), 0)
        self.assertRegex(d.log(), r"event=stats .*\bmessages=%d\b" % MESSAGES)
        print("\n  smtp-source %s: %d messages in %.2fs" % (" ".join(extra) or "(new connection each)", MESSAGES, elapsed))
        return d

    def test_connection_per_message(self):
        d = self.run_source([])
        self.assertRegex(d.log(), r"event=stats connections=(\d+)")
        connections = int(re.search(r"event=stats connections=(\d+)", d.log()).group(1))
        self.assertGreaterEqual(connections, MESSAGES)

    def test_connection_reuse(self):
        d = self.run_source(["-d"])
        connections = int(re.search(r"event=stats connections=(\d+)", d.log()).group(1))
        self.assertLess(connections, MESSAGES)


if __name__ == "__main__":
    unittest.main()
