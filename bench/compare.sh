#!/usr/bin/env bash
# compare.sh - one command: correod vs Postfix vs the ceiling on the same workload, with the
# bundled load tools, and the results written into bench/RESULTS.md.
#
#   bench/compare.sh [compare.py options]     e.g. --reps 3 --messages 20000
#
# Installs what it needs from Debian (the build and test packages, Postfix for the private
# instance, gnuplot for the chart), builds the Release binaries, runs bench/compare.py,
# and replaces the block between the compare markers in bench/RESULTS.md with the new table
# (the chart goes to bench/results/compare.png). Needs root (apt-get, the Postfix instance).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/debian-deps.sh test
if ! command -v gnuplot >/dev/null 2>&1; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox
fi
make build >/dev/null

md=bench/results/compare.md
png=bench/results/compare.png
bench/compare.py --md "$md" --png "$png" "$@"

python3 - "$md" <<'PY'
import re, sys
table = open(sys.argv[1]).read()
path = "bench/RESULTS.md"
text = open(path).read()
begin, end = "<!-- compare:begin -->", "<!-- compare:end -->"
block = f"{begin}\n{table}\n![end-to-end throughput](results/compare.png)\n{end}"
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: block, text, flags=re.S)
else:
    text += "\n" + block + "\n"
open(path, "w").write(text)
print(f"updated {path}")
PY
