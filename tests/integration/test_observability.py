"""Dashboards and alert rules against a real scrape of correod.

  rules      `promtool check rules` and `promtool test rules` (the alerts fire on synthetic
             series), yamllint on the rule files
  scrape     a running correod, after mail went through it, passes `promtool check metrics`
  names      every metric the Grafana dashboard and the rules query exists in that scrape
  dashboard  deploy/grafana/correo.json is what make_dashboard.py generates

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_observability
"""

import json
import os
import re
import subprocess
import unittest

from correo_harness import SOURCE_ROOT, Correod, SmtpClient, parse_samples, simple_message
from peers import Sink

RULES = os.path.join(SOURCE_ROOT, "deploy", "prometheus", "rules.yml")
RULES_TEST = os.path.join(SOURCE_ROOT, "deploy", "prometheus", "rules_test.yml")
DASHBOARD = os.path.join(SOURCE_ROOT, "deploy", "grafana", "correo.json")
MAKE_DASHBOARD = os.path.join(SOURCE_ROOT, "deploy", "grafana", "make_dashboard.py")
NAME_RE = re.compile(r"\bcorreo_[a-z0-9_]+\b")


def run(*cmd):
    return subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)


def referenced_names():
    """{metric name: where} for every correo_* name in rule and dashboard expressions."""
    import yaml
    names = {}
    with open(RULES) as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                for n in NAME_RE.findall(rule["expr"]):
                    names.setdefault(n, "rules.yml %s" % rule.get("alert") or rule.get("record"))
    with open(DASHBOARD) as f:
        for panel in json.load(f)["panels"]:
            for t in panel.get("targets", []):
                for n in NAME_RE.findall(t["expr"]):
                    names.setdefault(n, "correo.json %r" % panel["title"])
    return names


class RulesTest(unittest.TestCase):
    def test_promtool_checks_and_fires_the_alerts(self):
        p = run("promtool", "check", "rules", RULES)
        self.assertEqual(p.returncode, 0, p.stdout)
        p = run("promtool", "test", "rules", RULES_TEST)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("SUCCESS", p.stdout)

    def test_yamllint(self):
        config = "{extends: default, rules: {line-length: {max: 160}, document-start: disable}}"
        p = run("yamllint", "-s", "-d", config, RULES, RULES_TEST)
        self.assertEqual(p.returncode, 0, p.stdout)

    def test_dashboard_is_generated_and_complete(self):
        with open(DASHBOARD) as f:
            committed = f.read()
        p = run("/usr/bin/python3", "-c", "import runpy,json,sys; sys.argv=['x']; "
                "m=runpy.run_path(%r); print(json.dumps(m['dashboard'](), indent=2))" % MAKE_DASHBOARD)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(json.loads(p.stdout), json.loads(committed), "run deploy/grafana/make_dashboard.py")
        panels = [x for x in json.loads(committed)["panels"] if x["type"] != "row"]
        self.assertGreaterEqual(len(panels), 20)
        for panel in panels:
            self.assertTrue(panel["title"])
            self.assertTrue(panel["targets"], panel["title"])


class ScrapeTest(unittest.TestCase):
    def test_live_scrape_is_valid_and_has_every_name_used(self):
        sink = Sink("127.0.0.43", testcase=self).start()
        d = Correod(self, relay={"domains": {"example.test": "[127.0.0.43]:%d" % sink.port},
                                 "networks": ["127.0.0.0/8"]},
                    delivery={"queue_only": False})
        d.start()
        with SmtpClient(d.port) as c:
            c.ehlo()
            for i in range(3):
                self.assertEqual(c.send_message("a@example.test", ["b@example.test"], simple_message("s%d" % i)).code, 250)
        sink.wait_messages(3)
        text = d.scrape()
        p = subprocess.run(["promtool", "check", "metrics"], input=text, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)
        scraped = {name for (name, _), _ in parse_samples(text)}
        missing = {n: where for n, where in referenced_names().items() if n not in scraped}
        self.assertEqual(missing, {}, "queried by the dashboard or the rules but not exported")
        # And the catalogue documents every family the daemon exports.
        with open(os.path.join(SOURCE_ROOT, "metrics", "CATALOGUE.md")) as f:
            catalogue = set(re.findall(r"`(correo_[a-z0-9_]+)`", f.read()))
        families = set(re.findall(r"^# TYPE (correo_[a-z0-9_]+) ", text, re.M))
        self.assertEqual(families - catalogue, set(), "exported but not in metrics/CATALOGUE.md")
        self.assertEqual(catalogue - families, set(), "in metrics/CATALOGUE.md but not exported")


if __name__ == "__main__":
    unittest.main()
