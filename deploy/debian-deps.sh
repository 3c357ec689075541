#!/usr/bin/env bash
# debian-deps.sh - install the Debian 12 packages correo needs, only when missing.
#
#   deploy/debian-deps.sh build   # compile and run correod
#   deploy/debian-deps.sh test    # build + the real peers the tests talk to
# Used by `make run`, `make test`, CI and the container build, so nothing is installed by hand.
set -euo pipefail

build_pkgs=(g++ cmake ninja-build pkg-config make
  liburing-dev librocksdb-dev libc-ares-dev libssl-dev libcrypt-dev libre2-dev
  prometheus-cpp-dev libcivetweb-dev libtoml11-dev
  libgtest-dev libgmock-dev libbenchmark-dev)
# Real peers for integration tests and benchmarks: swaks (+ its TLS modules), smtplib + aiosmtpd, Postfix's
# smtp-source/smtp-sink, openssl s_client, dnsmasq for MX/A records on loopback, mkpasswd
# (whois) for the crypt(3) hashes of AUTH users, opendkim (a real milter) and python3-milter
# (milters scripted by the tests), python3-dkim (checks the signatures opendkim adds),
# prometheus (promtool checks the alert rules and a live scrape), yamllint and python3-yaml.
# The prometheus package's own server is not started by the tests (no init system here;
# on a machine with one, `systemctl disable --now prometheus` if it is unwanted).
test_pkgs=(python3 python3-aiosmtpd swaks libnet-ssleay-perl libio-socket-ssl-perl postfix dnsmasq-base openssl
  procps strace whois opendkim opendkim-tools python3-milter python3-dkim prometheus yamllint python3-yaml)

# The deployment checks (tests/integration/test_deploy.py): iproute2 brings up loopback in a
# private network namespace; kubectl renders the kustomizations and node/npm run the offline
# schema validation. Those three are wanted as commands: a machine may already have them from
# other packages (kubectl from Kubernetes' own repository, node from NodeSource), which
# Debian's packages would conflict with.
test_pkgs+=(iproute2)
# Fuzzing (tests/fuzz/run.sh, `make fuzz`): clang and its libFuzzer runtime.
test_pkgs+=(clang libclang-rt-14-dev)
command_pkgs=()
command -v kubectl >/dev/null 2>&1 || command_pkgs+=(kubernetes-client)
command -v node >/dev/null 2>&1 || command_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || command_pkgs+=(npm)

want=("${build_pkgs[@]}")
[ "${1:-build}" = "test" ] && want+=("${test_pkgs[@]}" "${command_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Postfix is installed only for its smtp-source/smtp-sink tools: no mail system configured.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
