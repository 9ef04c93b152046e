#!/usr/bin/env bash
# Mutation test one decision module against its own unit tests (StrykerJS 8.7.1, command runner) and
# print the score.
#   bash scripts/mutation.sh topology                           # lib/topology.ts vs test/topology.test.ts
#   bash scripts/mutation.sh replication test/x.test.ts         # another test file
#   MUTATE_NAME_PATTERN='^pure' bash scripts/mutation.sh ...     # only the tests whose name matches
# Report: reports/mutation/<module>.json, and the clear-text table on stdout. Standard: >= 90 %.
set -euo pipefail
cd "$(dirname "$0")/.."
module="${1:?usage: scripts/mutation.sh <module> [test file]}"
test_file="${2:-test/$module.test.ts}"
[[ -f "lib/$module.ts" ]] || { echo "no lib/$module.ts" >&2; exit 2; }
[[ -f "$test_file" ]] || { echo "no $test_file" >&2; exit 2; }
export MUTATE_TEST="$test_file"
if [[ -n "${MUTATE_NAME_PATTERN:-}" ]]; then MUTATE_TEST="--test-name-pattern='${MUTATE_NAME_PATTERN}' $test_file"; fi
# The 2 cores are shared: one sandbox when the 1-minute load is already at or above the core count.
concurrency="${MUTATE_CONCURRENCY:-}"
if [[ -z "$concurrency" ]]; then
  load=$(cut -d' ' -f1 /proc/loadavg); cores=$(nproc)
  if awk -v l="$load" -v c="$cores" 'BEGIN { exit !(l >= c) }'; then concurrency=1; else concurrency=2; fi
fi
start=$(date +%s)
# Each module gets its own temp dir and report, so two modules may run at once.
npx stryker run stryker.config.json --mutate "lib/$module.ts" --concurrency "$concurrency" --tempDirName ".stryker-tmp/$module"
elapsed=$(( $(date +%s) - start ))
mkdir -p reports/mutation
mv reports/mutation/last-run.json "reports/mutation/$module.json"
# Score as Stryker counts it: (killed + timeout) / (killed + timeout + survived + no coverage).
node -e '
const [file, module, seconds] = process.argv.slice(1);
const c = {};
for (const f of Object.values(require(file).files)) for (const m of f.mutants) c[m.status] = (c[m.status] ?? 0) + 1;
const detected = (c.Killed ?? 0) + (c.Timeout ?? 0);
const valid = detected + (c.Survived ?? 0) + (c.NoCoverage ?? 0);
console.log(`mutation score lib/${module}.ts: ${(100 * detected / valid).toFixed(2)} % (${detected}/${valid} detected; ${JSON.stringify(c)}; ${seconds} s)`);
' "$PWD/reports/mutation/$module.json" "$module" "$elapsed"
