"""Deployment files, checked without a cluster or a container runtime.

  kustomize   `kubectl kustomize` renders the base and the example overlay; every rendered
              object validates offline against the Kubernetes API schemas (kubernetes-models
              and the prometheus-operator models, tests/deploy/validate.mjs; a broken object
              is shown to fail); yamllint passes on deploy/k8s
  agreement   the manifests agree with the daemon and its config: probe paths and the
              metrics port, container ports = listeners, mounts = the config's paths,
              CORREO_ADMIN = admin.listen, the drain fits in terminationGracePeriodSeconds,
              the security context the issue asks for; `correod --check-config` accepts the
              ConfigMap's file (with a certificate and users at its paths)
  rules       base/prometheusrule.yaml is what make_prometheusrule.py writes from rules.yml
  image       deploy/Dockerfile: multi-stage, non-root, volume, ports, HEALTHCHECK on /healthz,
              and its runtime packages provide every shared library `ldd correod` lists
  as image    correod runs exactly as the image starts it - the Dockerfile's ENTRYPOINT and
              CMD, the image's config file unchanged, as the image's uid, on ports 25/587/465
              (with the sysctl the StatefulSet sets) - inside private mount and network
              namespaces where /etc/correo, /var/spool/correo and /usr/local/sbin are what the
              image has; swaks sends a message, correoctl (CORREO_ADMIN as in the image) lists
              it, /healthz and /readyz answer, SIGTERM exits 0

Needs root for the namespaces (CI and `make test` run as root); node, npm and kubectl come
from deploy/debian-deps.sh test, the npm packages from tests/deploy/package-lock.json.

Run: cd tests/integration && /usr/bin/python3 -m unittest -v test_deploy
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import tomllib
import unittest

import yaml

from correo_harness import CORREOCTL, CORREOD, SOURCE_ROOT, wait_until
from tls_util import make_cert, write_users

DEPLOY = os.path.join(SOURCE_ROOT, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
BASE = os.path.join(K8S, "base")
OVERLAY = os.path.join(K8S, "overlays", "example")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")
VALIDATOR = os.path.join(SOURCE_ROOT, "tests", "deploy")
IMAGE_UID = 10025


def run(cmd, **kw):
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def kustomize(path):
    p = run(["kubectl", "kustomize", path])
    if p.returncode != 0:
        raise AssertionError("kubectl kustomize %s failed:\n%s" % (path, p.stderr))
    return p.stdout


def objects(rendered):
    return [o for o in yaml.safe_load_all(rendered) if o]


def find(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    if len(found) != 1:
        raise AssertionError("expected one %s %s, found %d" % (kind, name or "", len(found)))
    return found[0]


def base_config():
    with open(os.path.join(BASE, "correo.toml"), "rb") as f:
        return tomllib.load(f)


def dockerfile():
    """Instructions of deploy/Dockerfile as (KEYWORD, argument text), continuations joined."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def image_argv():
    """ENTRYPOINT + CMD of the runtime stage, both in exec form."""
    entry = [json.loads(a) for k, a in dockerfile() if k == "ENTRYPOINT"][-1]
    cmd = [json.loads(a) for k, a in dockerfile() if k == "CMD"][-1]
    return entry + cmd


def ensure_validator():
    if not os.path.isdir(os.path.join(VALIDATOR, "node_modules", "kubernetes-models")):
        p = run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", VALIDATOR], timeout=600)
        if p.returncode != 0:
            raise AssertionError("npm ci failed:\n%s%s" % (p.stdout, p.stderr))


class KustomizeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_validator()

    def validate(self, rendered):
        return run(["node", os.path.join(VALIDATOR, "validate.mjs")], input=rendered)

    def test_base_and_overlay_render_and_validate(self):
        for path in (BASE, OVERLAY):
            with self.subTest(path=os.path.relpath(path, SOURCE_ROOT)):
                rendered = kustomize(path)
                p = self.validate(rendered)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                kinds = sorted(o["kind"] for o in objects(rendered))
                for kind in ("ConfigMap", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceMonitor",
                             "StatefulSet"):
                    self.assertIn(kind, kinds)
                self.assertEqual(p.stdout.count("\nok ") + p.stdout.startswith("ok "), len(kinds), p.stdout)

    def test_validator_rejects_a_broken_object(self):
        rendered = kustomize(BASE).replace("replicas: 2", "replicas: two", 1)
        p = self.validate(rendered)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("invalid StatefulSet/correo", p.stdout)

    def test_overlay_changes_what_it_says(self):
        objs = objects(kustomize(OVERLAY))
        sts = find(objs, "StatefulSet")
        self.assertEqual(sts["metadata"]["namespace"], "mail-edge")
        self.assertEqual(sts["spec"]["replicas"], 3)
        self.assertEqual(sts["spec"]["template"]["spec"]["containers"][0]["image"], "registry.example.com/correo:0.1.0")
        config = find(objs, "ConfigMap")
        self.assertIn('"example.org"', config["data"]["correo.toml"])

    def test_yamllint(self):
        files = [os.path.join(d, f) for d, _, fs in os.walk(K8S) for f in fs if f.endswith(".yaml")]
        config = "{extends: default, rules: {line-length: {max: 160}, document-start: disable}}"
        p = run(["yamllint", "-s", "-d", config] + files)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_prometheusrule_is_generated_from_the_rules(self):
        import runpy
        m = runpy.run_path(os.path.join(K8S, "make_prometheusrule.py"))
        with open(os.path.join(BASE, "prometheusrule.yaml")) as f:
            self.assertEqual(f.read(), m["render"](), "run deploy/k8s/make_prometheusrule.py")
        with open(os.path.join(DEPLOY, "prometheus", "rules.yml")) as f:
            groups = yaml.safe_load(f)["groups"]
        rule = find(objects(kustomize(BASE)), "PrometheusRule")
        self.assertEqual(rule["spec"]["groups"], groups)


class AgreementTest(unittest.TestCase):
    def setUp(self):
        self.objs = objects(kustomize(BASE))
        self.sts = find(self.objs, "StatefulSet")
        self.pod = self.sts["spec"]["template"]["spec"]
        self.container = self.pod["containers"][0]
        self.config = base_config()

    def test_probes_ports_and_args(self):
        c = self.container
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports["metrics"], int(self.config["metrics"]["listen"].rsplit(":", 1)[1]))
        listener_ports = sorted(l["port"] for l in self.config["listener"])
        self.assertEqual(sorted(v for k, v in ports.items() if k != "metrics"), listener_ports)
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "metrics"})
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "metrics"})
        self.assertEqual(c["startupProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(c["args"], image_argv()[1:])          # the image's CMD

    def test_mounts_match_the_config(self):
        mounts = {m["name"]: m["mountPath"] for m in self.container["volumeMounts"]}
        self.assertEqual(mounts["spool"], self.config["server"]["state_dir"])
        self.assertEqual(mounts["config"], image_argv()[-1])
        self.assertEqual(os.path.dirname(self.config["tls"]["cert"]), mounts["tls"])
        self.assertEqual(os.path.dirname(self.config["tls"]["key"]), mounts["tls"])
        self.assertEqual(os.path.dirname(self.config["auth"]["users_file"]), mounts["users"])
        env = {e["name"]: e["value"] for e in self.container["env"]}
        self.assertEqual(env["CORREO_ADMIN"], self.config["admin"]["listen"])
        self.assertEqual([t["metadata"]["name"] for t in self.sts["spec"]["volumeClaimTemplates"]], ["spool"])

    def test_drain_fits_the_grace_period(self):
        grace = int(self.config["shutdown"]["grace"].rstrip("s"))
        pre_stop = int(self.container["lifecycle"]["preStop"]["exec"]["command"][-1])
        self.assertGreaterEqual(self.pod["terminationGracePeriodSeconds"], grace + pre_stop + 10)

    def test_security_context(self):
        sc = self.container["securityContext"]
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})
        pod_sc = self.pod["securityContext"]
        self.assertTrue(pod_sc["runAsNonRoot"])
        self.assertEqual(pod_sc["runAsUser"], IMAGE_UID)
        sysctls = {s["name"]: s["value"] for s in pod_sc["sysctls"]}
        self.assertLessEqual(int(sysctls["net.ipv4.ip_unprivileged_port_start"]), min(l["port"] for l in self.config["listener"]))

    def test_services_and_budget(self):
        smtp = find(self.objs, "Service", "correo-smtp")
        self.assertEqual(smtp["spec"]["type"], "LoadBalancer")
        self.assertEqual(smtp["spec"]["externalTrafficPolicy"], "Local")
        self.assertEqual(sorted(p["port"] for p in smtp["spec"]["ports"]), [25, 465, 587])
        headless = find(self.objs, "Service", "correo-headless")
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        self.assertEqual(self.sts["spec"]["serviceName"], "correo-headless")
        template_labels = self.sts["spec"]["template"]["metadata"]["labels"]
        for svc in (smtp, headless):
            for k, v in svc["spec"]["selector"].items():
                self.assertEqual(template_labels.get(k), v, svc["metadata"]["name"])
        pdb = find(self.objs, "PodDisruptionBudget")
        self.assertEqual(pdb["spec"]["maxUnavailable"], 1)

    def test_check_config_accepts_the_configmap(self):
        with tempfile.TemporaryDirectory() as d:
            cert, key = make_cert(d, "relay.example.com")
            users = os.path.join(d, "users")
            write_users(users, {"alice": ("s3cret", ["alice@example.com"])})
            conf = os.path.join(d, "correo.toml")
            with open(os.path.join(BASE, "correo.toml")) as f:
                text = f.read()
            text = (text.replace("/etc/correo/tls/tls.crt", cert).replace("/etc/correo/tls/tls.key", key)
                    .replace("/etc/correo/auth/users", users).replace("/var/spool/correo", os.path.join(d, "spool")))
            with open(conf, "w") as f:
                f.write(text)
            p = run([CORREOD, "--check-config", conf])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class ImageTest(unittest.TestCase):
    def test_dockerfile_shape(self):
        steps = dockerfile()
        froms = [a for k, a in steps if k == "FROM"]
        self.assertEqual(froms, ["debian:12 AS build", "debian:12-slim AS runtime"])
        runtime = steps[[i for i, (k, _) in enumerate(steps) if k == "FROM"][-1]:]
        user = [a for k, a in runtime if k == "USER"]
        self.assertEqual(user, ["correo:correo"])
        self.assertIn("--uid %d" % IMAGE_UID, " ".join(a for k, a in runtime if k == "RUN"))
        self.assertEqual([a for k, a in runtime if k == "EXPOSE"], ["25 587 465 9465"])
        self.assertEqual([json.loads(a) for k, a in runtime if k == "VOLUME"], [["/var/spool/correo"]])
        self.assertIn("/healthz", " ".join(a for k, a in runtime if k == "HEALTHCHECK"))
        self.assertIn("deploy/k8s/base/correo.toml /etc/correo/correo.toml", [a for k, a in runtime if k == "COPY"])
        self.assertEqual(image_argv(), ["/usr/local/sbin/correod", "--config", "/etc/correo/correo.toml"])

    def test_runtime_packages_provide_every_library(self):
        runtime_run = [a for k, a in dockerfile() if k == "RUN" and "apt-get install" in a][-1]
        listed = [w for w in runtime_run.split("apt-get install", 1)[1].split("&&")[0].split() if not w.startswith("-")]
        # What apt would install for them, plus what debian:12-slim already has (Essential and
        # apt's own dependencies).
        p = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                 "--no-breaks", "--no-replaces", "--no-enhances", "--installed"] + listed)
        self.assertEqual(p.returncode, 0, p.stderr)
        provided = set(listed) | {l.strip() for l in p.stdout.splitlines() if not l.startswith(" ")}
        provided |= {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "libbz2-1.0", "liblzma5", "libcrypt1"}
        needed = {}
        ldd = run(["ldd", CORREOD]).stdout
        for lib in re.findall(r"=> (/\S+)", ldd):
            if re.match(r"lib[a-z]*san\.so", os.path.basename(lib)):
                continue   # the tests may run a sanitizer build; the image is a Release build
            owner = run(["dpkg", "-S", os.path.realpath(lib)])
            if owner.returncode != 0:
                owner = run(["dpkg", "-S", lib])
            self.assertEqual(owner.returncode, 0, "no package owns %s" % lib)
            needed[os.path.basename(lib)] = owner.stdout.split(":")[0]
        missing = {lib: pkg for lib, pkg in needed.items() if pkg not in provided}
        self.assertEqual(missing, {}, "add these packages to the runtime stage of deploy/Dockerfile")


@unittest.skipUnless(os.geteuid() == 0, "needs root for mount and network namespaces")
class RunsAsTheImageTest(unittest.TestCase):
    """correod started as the image starts it, in namespaces that look like the image."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="correo-image-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        etc, tls_dir, auth_dir, spool, sbin = (os.path.join(self.dir, p) for p in
                                               ("etc", "etc/tls", "etc/auth", "spool", "sbin"))
        for d in (tls_dir, auth_dir, spool, sbin):
            os.makedirs(d)
        shutil.copy(os.path.join(BASE, "correo.toml"), os.path.join(etc, "correo.toml"))  # unchanged
        cert, key = make_cert(tls_dir, "relay.example.com")
        os.rename(cert, os.path.join(tls_dir, "tls.crt"))
        os.rename(key, os.path.join(tls_dir, "tls.key"))
        write_users(os.path.join(auth_dir, "users"), {"alice": ("s3cret", ["alice@example.com"])})
        for path in (os.path.join(tls_dir, "tls.key"), os.path.join(auth_dir, "users")):
            os.chmod(path, 0o644)            # as a Secret volume presents them to the pod's user
        shutil.copy(CORREOD, os.path.join(sbin, "correod"))
        os.chown(spool, IMAGE_UID, IMAGE_UID)
        os.chmod(self.dir, 0o755)
        self.log_path = os.path.join(self.dir, "correod.log")
        # Mounts first (as root), the sysctl the StatefulSet sets, then the image's uid runs
        # the image's ENTRYPOINT + CMD with no capabilities at all.
        # Mount points: created here when this machine lacks them, removed afterwards.
        for point in ("/etc/correo", "/var/spool/correo", "/usr/local/sbin"):
            if not os.path.isdir(point):
                os.makedirs(point)
                self.addCleanup(os.rmdir, point)
        setup = " && ".join([
            "mount --make-rprivate /",
            "mount --bind %s /etc/correo" % shlex.quote(etc),
            "mount --bind %s /var/spool/correo" % shlex.quote(spool),
            "mount --bind %s /usr/local/sbin" % shlex.quote(sbin),
            "ip link set lo up",
            "echo 25 > /proc/sys/net/ipv4/ip_unprivileged_port_start",
            "exec setpriv --reuid %d --regid %d --clear-groups --inh-caps=-all --bounding-set=-all %s" % (
                IMAGE_UID, IMAGE_UID, " ".join(shlex.quote(a) for a in image_argv())),
        ])
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(["unshare", "--mount", "--net", "--", "/bin/sh", "-c", setup],
                                         stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(self.stop)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def inside(self, cmd, **kw):
        """Run cmd in correod's mount and network namespaces."""
        return run(["nsenter", "-t", str(self.proc.pid), "-m", "-n", "--"] + cmd, **kw)

    def http(self, path):
        code = ("import urllib.request,sys\n"
                "try:\n r=urllib.request.urlopen('http://127.0.0.1:9465%s',timeout=5); print(r.status)\n"
                "except urllib.error.HTTPError as e: print(e.code)\n" % path)
        return self.inside(["/usr/bin/python3", "-c", code]).stdout.strip()

    def test_image_entrypoint_serves_mail(self):
        wait_until(lambda: '"event": "started"' in self.log() or '"event":"started"' in self.log()
                   or self.proc.poll() is not None, timeout=30)
        self.assertIsNone(self.proc.poll(), self.log())
        self.assertRegex(self.log(), r'"event": ?"started"')       # log.format = "json" as configured
        self.assertEqual(self.http("/healthz"), "200")
        self.assertEqual(self.http("/readyz"), "200")
        status = self.inside(["awk", "/^Uid:/ {print $2}", "/proc/%d/status" % self.proc.pid]).stdout.strip()
        self.assertEqual(status, str(IMAGE_UID))

        p = self.inside(["swaks", "--server", "127.0.0.1:25", "--helo", "client.example.net",
                         "--from", "someone@example.net", "--to", "postmaster@example.com",
                         "--body", "from the image test", "--timeout", "20"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"<- +250 2\.0\.0 Ok: queued as ")
        # Submission on 587 asks for STARTTLS first, as configured.
        p = self.inside(["swaks", "--server", "127.0.0.1:587", "--quit-after", "EHLO", "--helo", "c.example.net"])
        self.assertIn("STARTTLS", p.stdout)

        env = dict(os.environ, CORREO_ADMIN="unix:/var/spool/correo/correo.sock")   # the image's ENV
        p = self.inside([CORREOCTL, "queue", "list", "--json"], env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rows = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        self.assertEqual(len(rows), 1, p.stdout)

        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=45), 0, self.log())
        self.assertRegex(self.log(), r'"event": ?"stopped"')


KUBECTL_SHIM = """#!/usr/bin/python3
# kubectl for drain-pod.sh's test: a StatefulSet of %(replicas)d; `exec POD -- correoctl ...`
# runs the real correoctl against the test's correod; label and scale calls are recorded.
import os, subprocess, sys
args = sys.argv[1:]
while args[:1] == ["-n"]:
    args = args[2:]
with open(%(log)r, "a") as f:
    f.write(" ".join(args) + "\\n")
if args[:2] == ["get", "statefulset"]:
    print(%(replicas)d, end="")
elif args[:1] == ["exec"]:
    cmd = args[args.index("--") + 1:]
    assert cmd[0] == "correoctl", cmd
    sys.exit(subprocess.run([%(correoctl)r, "--admin", %(admin)r] + cmd[1:]).returncode)
elif args[:1] not in (["label"], ["scale"]):
    sys.exit("unexpected kubectl call: %%r" %% args)
"""


class DrainScriptTest(unittest.TestCase):
    """deploy/k8s/drain-pod.sh against a real correod and correoctl; kubectl is a recording shim."""

    def start(self, replicas=2):
        from correo_harness import Correod, SmtpClient, simple_message
        from peers import free_port
        self.sink_port = free_port("127.0.0.73")
        d = Correod(self, relay={"domains": {"example.test": "[127.0.0.73]:%d" % self.sink_port},
                                 "networks": ["127.0.0.0/8"]},
                    delivery={"queue_only": False, "connect_timeout": "1s"},
                    queue={"retry_initial": "1h", "retry_max": "2h"}).start()
        with SmtpClient(d.port) as c:
            c.ehlo()
            for i in range(3):
                self.assertEqual(c.send_message("s@example.test", ["r%d@example.test" % i],
                                                simple_message("drain %d" % i)).code, 250)
        # All three tried once and deferred: nothing listens on the next hop yet.
        wait_until(lambda: len(d.correoctl("queue", "list", "--state", "deferred", "--json").stdout.splitlines()) == 3,
                   timeout=20)
        bindir = tempfile.mkdtemp(prefix="kubectl-shim-")
        self.addCleanup(shutil.rmtree, bindir, True)
        self.calls = os.path.join(bindir, "calls")
        with open(os.path.join(bindir, "kubectl"), "w") as f:
            f.write(KUBECTL_SHIM % {"replicas": replicas, "log": self.calls, "correoctl": CORREOCTL,
                                    "admin": "unix:" + d.admin_socket})
        os.chmod(os.path.join(bindir, "kubectl"), 0o755)
        self.env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])
        return d

    def drain(self, *args):
        return subprocess.Popen([os.path.join(K8S, "drain-pod.sh"), "-n", "mail-edge", "--interval", "1"] + list(args),
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def recorded(self):
        with open(self.calls) as f:
            return f.read().splitlines()

    def test_waits_for_the_queue_then_scales_down(self):
        from peers import Sink
        self.start()
        p = self.drain("--timeout", "60", "--scale")
        wait_until(lambda: os.path.exists(self.calls) and any(l.startswith("exec") for l in self.recorded()), timeout=20)
        time.sleep(1.5)
        self.assertIsNone(p.poll(), "drained while 3 messages were deferred")
        sink = Sink("127.0.0.73", self.sink_port, testcase=self).start()   # the next hop comes back
        out, _ = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out)
        sink.wait_messages(3)
        calls = self.recorded()
        self.assertIn("label pod correo-1 correo.io/serving-", calls)
        self.assertEqual(calls[-1], "scale statefulset correo --replicas=1")
        self.assertIn("active=0 deferred=0 held=0", out)

    def test_timeout_puts_the_pod_back_in_service(self):
        self.start()
        p = self.drain("--timeout", "2")
        out, _ = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("still has 3 message(s)", out)
        calls = self.recorded()
        self.assertIn("label --overwrite pod correo-1 correo.io/serving=true", calls)
        self.assertFalse(any(c.startswith("scale") for c in calls), calls)

    def test_refuses_to_remove_the_last_relay(self):
        self.start(replicas=1)
        p = self.drain("--scale")
        out, _ = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("keep at least one relay", out)


if __name__ == "__main__":
    unittest.main()
