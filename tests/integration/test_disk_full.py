"""test_disk_full.py - a full queue disk gets 452 4.3.1, loses nothing, and heals itself.

The spool lives on a size-limited tmpfs. correod keeps queue.min_free_space free (like
Postfix's queue_minfree), so RocksDB never writes into a full disk: mail is refused with
452 4.3.1 (at MAIL once the shortage is known, else at the end of data), every message that
got a 250 is in the queue, the daemon keeps running, and when space returns (the tmpfs is
grown) new mail is accepted again without a restart. Needs mount(2) (root); skipped with
the reason otherwise.
"""
import os
import subprocess
import tempfile
import time
import unittest

from correo_harness import Correod, SmtpClient, QUEUED_RE

MIB = 1024 * 1024
BODY = b"Subject: filler\r\n\r\n" + (b"y" * 900 + b"\r\n") * 200   # ~180 KiB


class DiskFull(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="correo-tmpfs-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs here: " + r.stderr.strip())
        self.addCleanup(self._unmount)

    def _unmount(self):
        subprocess.run(["umount", self.mnt], check=False)
        os.rmdir(self.mnt)

    def _send(self, port):
        with SmtpClient(port) as c:
            c.ehlo()
            mail = c.cmd("MAIL FROM:<s@source.test> SIZE=%d" % len(BODY))
            if mail.code != 250:
                return mail
            c.ok("RCPT TO:<u@example.test>")
            c.ok("DATA", 354)
            c.send(BODY + b".\r\n")
            return c.reply()

    def test_full_disk_refuses_then_recovers(self):
        state = os.path.join(self.mnt, "state")
        d = Correod(self, server={"state_dir": state}, queue={"min_free_space": 100 * MIB})
        d.queue_dir = os.path.join(state, "queue")
        d.start()
        acked, refused = [], 0
        for _ in range(400):
            r = self._send(d.port)
            if r.code == 250:
                acked.append(QUEUED_RE.search(r.text).group(1))
            else:
                self.assertEqual((r.code, r.enhanced), (452, "4.3.1"), r)
                refused += 1
                if refused >= 5:
                    break
        self.assertGreater(len(acked), 0, "nothing fitted before the reserve")
        self.assertEqual(refused, 5, "the disk never got short: the reserve is not enforced")
        self.assertTrue(d.running())
        queued = set(d.queue_ids())
        self.assertTrue(set(acked) <= queued, "an acknowledged message is missing")
        self.assertEqual(len(queued), len(acked))

        # Space returns: no restart needed (the spool re-reads free space every second).
        subprocess.run(["mount", "-o", "remount,size=512m", self.mnt], check=True)
        deadline = time.time() + 5
        while True:
            r = self._send(d.port)
            if r.code == 250 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(r.code, 250, r)
        self.assertEqual(d.stop(), 0)
        self.assertIn("event=spool_low_space", d.log())


if __name__ == "__main__":
    unittest.main()
