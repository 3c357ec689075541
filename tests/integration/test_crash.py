"""Crash test (issue #10): kill -9 correod at random moments while correo-blast sends through
it to correo-sink, restart it each time, and check that every message that got a 250 is
delivered in the end. Duplicates are allowed (a delivery cut off by the kill after the sink
took the message is retried) but counted and reported; a lost message fails the test.

  relay       correo-blast (100 sessions, 5 messages per connection, --acked-log) ->
              correod (durable, delivering) -> correo-sink (--dir); CRASH_ROUNDS kills
              (default 3) at random moments (CRASH_SEED, default 1); then the queue drains
              and every acknowledged Message-ID must be in the sink's files
  summary     one line per run: acknowledged, delivered, duplicated, lost, rounds

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_crash
"""

import collections
import glob
import os
import random
import re
import subprocess
import tempfile
import time
import unittest

from correo_harness import CORREO_BLAST, Correod, CorreoSink, wait_until

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("CRASH_SEED", "1"))
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>\r\n]*>)\r$", re.MULTILINE | re.IGNORECASE)


class CrashTest(unittest.TestCase):
    def test_kill9_while_relaying_loses_nothing_acknowledged(self):
        rng = random.Random(SEED)
        work = tempfile.mkdtemp(prefix="correo-crash-")
        sink_dir = os.path.join(work, "sink")
        acked_log = os.path.join(work, "acked")
        sink = CorreoSink(self, args=["--dir", sink_dir]).start()
        d = Correod(self, relay={"domains": {"example.test": "[127.0.0.1]:%d" % sink.port},
                                 "networks": ["127.0.0.0/8"]},
                    delivery={"queue_only": False, "connect_timeout": "2s"},
                    queue={"retry_initial": "1s", "retry_max": "2s"}).start()
        duration = 3.0 + 2.5 * ROUNDS
        blast = subprocess.Popen(
            [CORREO_BLAST, "127.0.0.1:%d" % d.port, "--sessions", "100", "--duration", "%dms" % (duration * 1000),
             "--per-conn", "5", "--timeout", "5s", "--acked-log", acked_log, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for _ in range(ROUNDS):
                time.sleep(rng.uniform(0.8, 2.3))
                d.kill9()
                time.sleep(rng.uniform(0.0, 0.3))  # clients meet a closed port for a moment
                d.start()
            out, err = blast.communicate(timeout=duration + 120)
        finally:
            if blast.poll() is None:
                blast.kill()
                blast.wait()
        self.assertTrue(os.path.exists(acked_log), err.decode(errors="replace"))
        with open(acked_log) as f:
            acked = [line.strip() for line in f if line.strip()]
        self.assertEqual(len(acked), len(set(acked)), "correo-blast logged a Message-ID twice")
        self.assertGreater(len(acked), 200, "too little mail got through to test anything: %s" % err[-2000:])

        # Everything acknowledged leaves the queue: delivered now, or retried after the kill.
        wait_until(lambda: d.count() == 0, timeout=90, interval=0.5)
        self.assertEqual(sink.stop(), 0)
        delivered = collections.Counter()
        for path in glob.glob(os.path.join(sink_dir, "*.eml")):
            with open(path, "rb") as f:
                m = MESSAGE_ID.search(f.read())
            self.assertIsNotNone(m, path)
            delivered[m.group(1).decode()] += 1
        lost = sorted(set(acked) - set(delivered))
        duplicated = sum(n - 1 for n in delivered.values() if n > 1)
        unacknowledged = len(set(delivered) - set(acked))  # sent, cut off before the 250 reached blast
        print("\n  crash: %d rounds (seed %d), %d acknowledged, %d delivered (%d distinct), %d duplicated, "
              "%d delivered without an acknowledgement, %d lost"
              % (ROUNDS, SEED, len(acked), sum(delivered.values()), len(delivered), duplicated, unacknowledged,
                 len(lost)))
        self.assertEqual(lost, [], "acknowledged but never delivered")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
