#!/usr/bin/env bash
# Runs a built-in suite against finbot v1 and v2 and prints: wall time, cases, and the
# detection rate per probe family (failing cases / cases) from the JSON reports.
#   bench/attacks/run.sh BUILD_DIR [SUITE]        (default suite: pre-release)
set -euo pipefail
B=$(realpath "${1:?build dir}")
SUITE=${2:-pre-release}
S=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/airlock-bench-attacks-XXXXXX)
trap 'rm -rf "$T"' EXIT
for v in v1 v2; do
  start=$(date +%s.%N)
  AIRLOCK_DB=$T/$v.db "$B/airlock" run --suite "$SUITE" "$S/examples/finbot/target-$v.yaml" \
    --no-progress --format json >"$T/$v.json" 2>"$T/$v.err" || true
  end=$(date +%s.%N)
  echo "$v: $(tail -1 "$T/$v.err") (wall $(python3 -c "print('%.2f' % ($end - $start))") s including finbot start)"
done
python3 - "$T/v1.json" "$T/v2.json" <<'PY'
import json, sys
from collections import defaultdict
rows = defaultdict(lambda: [0, 0, 0, 0, ''])
for k, path in enumerate(sys.argv[1:3]):
    for c in json.load(open(path))['cases']:
        m = c['meta']; r = rows[m['family']]; r[4] = m['owasp']
        r[2 * k] += 1; r[2 * k + 1] += c['verdict'] == 'fail'
print('| OWASP | family | cases | v1 detected | v2 detected |')
print('| --- | --- | ---: | ---: | ---: |')
for fam, (n1, f1, n2, f2, ow) in sorted(rows.items(), key=lambda x: (x[1][4], x[0])):
    print(f'| {ow} | {fam} | {n1} | {f1}/{n1} ({100*f1/n1:.0f}%) | {f2}/{n2} ({100*f2/n2:.0f}%) |')
PY
python3 - "$T/v1.json" <<'PY'
import json, sys
from collections import defaultdict
rows = defaultdict(lambda: [0, 0])
for c in json.load(open(sys.argv[1]))['cases']:
    k = '+'.join(c['meta']['mutators']) or '(none)'
    rows[k][0] += 1; rows[k][1] += c['verdict'] == 'fail'
print()
print('| mutator | cases | v1 detected |')
print('| --- | ---: | ---: |')
for k, (n, f) in sorted(rows.items()):
    print(f'| {k} | {n} | {f}/{n} ({100*f/n:.0f}%) |')
PY
