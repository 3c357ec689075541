"""test_ack_after_fsync.py - no 250 before the WAL fsync, seen from outside the daemon.

Runs bench/fsync_order.py: correod under strace (fdatasync/fsync with timestamps) and a
client timing each message; every "250 queued" must come after an fsync that began once
the client had finished the message.
"""
import os
import shutil
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class AckAfterFsync(unittest.TestCase):
    def test_every_ack_follows_an_fsync(self):
        if shutil.which("strace") is None:
            self.skipTest("strace not installed")
        build = os.environ.get("CORREO_BUILD_DIR", os.path.join(ROOT, "build"))
        r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "fsync_order.py"),
                            "--build", build, "--messages", "100"],
                           capture_output=True, text=True, timeout=240)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("100/100", r.stdout)


if __name__ == "__main__":
    unittest.main()
