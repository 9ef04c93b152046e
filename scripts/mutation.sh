#!/usr/bin/env bash
# Mutation test one decision module against its own unit tests (StrykerJS 8.7.1, command runner) and
# print the score.
#   bash scripts/mutation.sh plan/topology                      # lib/plan/topology.ts vs test/plan/topology.test.ts
#   bash scripts/mutation.sh lib/plan/topology.ts               # the same, as a path
#   bash scripts/mutation.sh config/helmValues test/adoption/decide.test.ts   # another test file
#   MUTATE_NAME_PATTERN='^pure' bash scripts/mutation.sh ...     # only the tests whose name matches
# Report: reports/mutation/<folder>-<module>.json, and the clear-text table on stdout. Standard: >= 90 %.
set -euo pipefail
cd "$(dirname "$0")/.."
module="${1:?usage: scripts/mutation.sh <folder/module> [test file]   (e.g. plan/topology)}"
module="${module#lib/}"; module="${module%.ts}"
test_file="${2:-test/$module.test.ts}"
if [[ ! -f "lib/$module.ts" ]]; then
  # A bare module name from before lib/ had folders: name the path it has now.
  found=$(cd lib && ls -- */"$module.ts" 2>/dev/null | sed 's/\.ts$//' | head -1)
  echo "no lib/$module.ts${found:+ (did you mean: $found?)}" >&2; exit 2
fi
[[ -f "$test_file" ]] || { echo "no $test_file" >&2; exit 2; }
report="${module//\//-}"   # plan/topology -> plan-topology: one flat name for the report and sandbox
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
npx stryker run stryker.config.json --mutate "lib/$module.ts" --concurrency "$concurrency" --tempDirName ".stryker-tmp/$report"
elapsed=$(( $(date +%s) - start ))
mkdir -p reports/mutation
mv reports/mutation/last-run.json "reports/mutation/$report.json"
# Score as Stryker counts it: (killed + timeout) / (killed + timeout + survived + no coverage).
node -e '
const [file, module, seconds] = process.argv.slice(1);
const c = {};
for (const f of Object.values(require(file).files)) for (const m of f.mutants) c[m.status] = (c[m.status] ?? 0) + 1;
const detected = (c.Killed ?? 0) + (c.Timeout ?? 0);
const valid = detected + (c.Survived ?? 0) + (c.NoCoverage ?? 0);
console.log(`mutation score lib/${module}.ts: ${(100 * detected / valid).toFixed(2)} % (${detected}/${valid} detected; ${JSON.stringify(c)}; ${seconds} s)`);
' "$PWD/reports/mutation/$report.json" "$module" "$elapsed"
