"""correod --check-config, --config with bad files, --version."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from correo_harness import CORREOD, HERE, Correod, SmtpClient, free_port

SHIPPED = os.path.normpath(os.path.join(HERE, "..", "..", "config", "correo.toml"))
DIAG_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<key>[^:]+): (?P<problem>.+)$")


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="correo-config-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def check(self, path):
        p = subprocess.run([CORREOD, "--check-config", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        return p.returncode, [ln for ln in out.splitlines() if ln.strip()]

    def diagnostics(self, path, lines):
        found = []
        for ln in lines:
            m = DIAG_RE.match(ln)
            self.assertIsNotNone(m, "not a FILE:LINE: key: problem line: %r" % ln)
            self.assertEqual(m.group("file"), path)
            found.append((int(m.group("line")), m.group("key"), m.group("problem")))
        return found

    def test_shipped_config_is_valid(self):
        self.assertTrue(os.path.isfile(SHIPPED), SHIPPED)
        rc, lines = self.check(SHIPPED)
        self.assertEqual(rc, 0, lines)
        self.assertEqual(lines, ["%s: ok" % SHIPPED])

    def test_each_problem_reported_with_its_line(self):
        path = self.write("bad.toml", "\n".join([
            "# correod test config with four problems",      # 1
            "[server]",                                       # 2
            'hostname = "mx.test"',                           # 3
            "worker = 2",                                     # 4  unknown key
            "",                                               # 5
            "[[listener]]",                                   # 6
            'address = "127.0.0.1"',                          # 7
            "port = 70000",                                   # 8  bad port
            "",                                               # 9
            "[limits]",                                       # 10
            "recipients = 100",                               # 11
            'idle_timeout = "5 minutes"',                     # 12 bad duration
            "",                                               # 13
            "[tls]",                                          # 14
            'certificate = "/etc/ssl/mx.pem"',                # 15 unknown key (cert/key)
            "",
        ]))
        rc, lines = self.check(path)
        self.assertEqual(rc, 1, lines)
        found = self.diagnostics(path, lines)
        self.assertEqual([(line, key) for line, key, _ in found],
                         [(4, "server.worker"), (8, "listener[0].port"), (12, "limits.idle_timeout"),
                          (15, "tls.certificate")],
                         lines)
        problems = {key: problem for _, key, problem in found}
        self.assertIn("unknown key", problems["server.worker"])
        self.assertIn("workers", problems["server.worker"])        # did-you-mean hint
        self.assertIn("65535", problems["listener[0].port"])
        self.assertIn('"5 minutes"', problems["limits.idle_timeout"])
        self.assertIn("unknown key", problems["tls.certificate"])

    def test_more_problems(self):
        path = self.write("bad2.toml", "\n".join([
            "[log]",                                          # 1
            'level = "loud"',                                 # 2
            "[relay]",                                        # 3
            'networks = ["10.0.0.1/8"]',                      # 4
            'domains = { "bad_domain" = "" }',                # 5
            "[limits]",                                       # 6
            "message_size = 10",                              # 7
            'data_timeout = "0s"',                            # 8
            "command_line = \"512\"",                         # 9
            "[[listener]]",                                   # 10 needs a certificate and users
            'mode = "submission"',                            # 11
            "[admin]",                                        # 12
            'listen = "192.0.2.1:9466"',                      # 13 admin must stay on loopback
            "",
        ]))
        rc, lines = self.check(path)
        self.assertEqual(rc, 1, lines)
        found = self.diagnostics(path, lines)
        self.assertEqual([line for line, _, _ in found], [2, 4, 5, 7, 8, 9, 10, 10, 13], lines)
        self.assertEqual(found[0][1], "log.level")
        self.assertEqual(found[1][1], "relay.networks[0]")
        self.assertEqual(found[6][1], "listener[0]")
        self.assertIn("needs a certificate", found[6][2])
        self.assertIn("needs users", found[7][2])
        self.assertEqual(found[8][1], "admin.listen")
        self.assertIn("loopback", found[8][2])

    def test_syntax_error_and_unreadable_file(self):
        path = self.write("syntax.toml", '[server]\nhostname = "mx.test"\nworkers = = 2\n')
        rc, lines = self.check(path)
        self.assertEqual(rc, 1)
        found = self.diagnostics(path, lines)
        self.assertEqual(len(found), 1, lines)
        self.assertEqual((found[0][0], found[0][1]), (3, "syntax error"))
        missing = os.path.join(self.dir, "missing.toml")
        rc, lines = self.check(missing)
        self.assertEqual(rc, 1)
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith(missing + ":0: "), lines)

    def test_bad_config_does_not_start(self):
        port = free_port()
        path = self.write("bad-run.toml", "\n".join([
            "[server]",
            'state_dir = "%s"' % os.path.join(self.dir, "state"),
            "[[listener]]",
            'address = "127.0.0.1"',
            "port = %d" % port,
            "[limits]",
            'idle_timeout = "forever"',
            "",
        ]))
        p = subprocess.run([CORREOD, "--config", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)
        self.assertNotEqual(p.returncode, 0)
        err = p.stderr.decode()
        self.assertIn("%s:7: limits.idle_timeout:" % path, err)
        self.assertIn("not started", err)
        self.assertNotIn("event=started", err)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state")), "state dir created by a rejected config")

    def test_port_in_use_fails_to_start(self):
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        d = Correod(self, listener=[{"address": "127.0.0.1", "port": blocker.getsockname()[1]}])
        d.proc = subprocess.Popen([CORREOD, "--config", d.config_path], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        _, err = d.proc.communicate(timeout=15)
        self.assertNotEqual(d.proc.returncode, 0)
        self.assertRegex(err.decode(), r"event=start_failed .*reason=listen")

    def test_usage_and_version(self):
        p = subprocess.run([CORREOD, "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(), r"^correod \d+\.\d+\.\d+\S*\n$")
        p = subprocess.run([CORREOD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage:", p.stderr.decode())
        p = subprocess.run([CORREOD, "--bogus", "x"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 2)

    def test_two_listeners_both_serve(self):
        second = free_port()
        d = Correod(self, listener=[{"address": "127.0.0.1", "port": free_port()},
                                    {"address": "127.0.0.1", "port": second}])
        d.start()
        for port in (d.port, second):
            c = SmtpClient(port)
            self.addCleanup(c.close)
            r = c.send_message("a@x.test", ["b@example.test"], b"Subject: port %d\r\n\r\nx\r\n" % port, ehlo="c.test")
            self.assertEqual(r.code, 250)
        self.assertEqual(d.count(), 2)
        self.assertRegex(d.log(), r"event=started .*listeners=127\.0\.0\.1:%d/smtp,127\.0\.0\.1:%d/smtp" % (d.port, second))
        self.assertEqual(d.stop(), 0)

    def test_duplicate_listener_rejected(self):
        port = free_port()
        path = self.write("dup.toml", "[[listener]]\nport = %d\n\n[[listener]]\nport = %d\n" % (port, port))
        rc, lines = self.check(path)
        self.assertEqual(rc, 1)
        found = self.diagnostics(path, lines)
        self.assertEqual(len(found), 1, lines)
        self.assertEqual((found[0][0], found[0][1]), (4, "listener[1]"))   # the second [[listener]] header
        self.assertIn("duplicate of listener[0]", found[0][2])

    def test_generated_config_passes_check_and_runs(self):
        d = Correod(self, limits={"idle_timeout": "30s", "data_timeout": "1m", "output_buffer": 4096},
                    queue={"retry_initial": "1m", "retry_max": "2h"}, log={"format": "json"})
        rc, lines = self.check(d.config_path)
        self.assertEqual(rc, 0, lines)
        d.start()
        c = SmtpClient(d.port)
        self.addCleanup(c.close)
        c.ehlo()
        c.ok("QUIT", 221)
        self.assertEqual(d.stop(), 0)
        self.assertIn('"event":"stopped"', d.log().replace(" ", ""))


if __name__ == "__main__":
    unittest.main()
