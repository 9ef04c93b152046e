// Compares two registration dumps (test/harness/registrationDump.ts), e.g. before and after a
// refactoring: how many runs each side has, the inputs only one side ran, and for each input both ran
// the first differences (path: value in A | value in B). Exit 1 on any difference, 0 when identical.
// Usage: npx tsx test/harness/compareRegistrations.ts [--without-provider-code] <dirA> <dirB>
// --without-provider-code sets aside every `__provider` (a dynamic resource's serialized closure: its
// text changes whenever code it captures moves between modules, which no provider call sees) in the
// inputs too, so runs of a chain whose earlier state held the old text still pair up.
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { firstDifferences } from "./registrationDump";

const PER_RUN = 5;
const args = process.argv.slice(2);
const withoutProviderCode = args[0] === "--without-provider-code";
const [dirA, dirB] = withoutProviderCode ? args.slice(1) : args;
if (!dirA || !dirB) {
  console.error("usage: npx tsx test/harness/compareRegistrations.ts [--without-provider-code] <dirA> <dirB>");
  process.exit(2);
}
const withoutProvider = (v: unknown): unknown => Array.isArray(v) ? v.map(withoutProvider)
  : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== "__provider").map(([k, x]) => [k, withoutProvider(x)]))
    : v;
type Run = { input: Record<string, unknown>; result: unknown };
const read = (dir: string, f: string): Run => {
  const run = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Run;
  return withoutProviderCode ? withoutProvider(run) as Run : run;
};
/** Runs by name: the dump's own (a hash of the input), or the input itself once provider code is set aside. */
const runs = (dir: string): Map<string, string> => new Map(readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
  .map((f) => [withoutProviderCode ? JSON.stringify(read(dir, f).input) : f, f]));

/** Enough of an input to find the test that ran it. */
function summary(dir: string, f: string): string {
  const i = read(dir, f).input;
  const config = i["config"] as Record<string, unknown> | undefined;
  const state = (i["existingUrns"] as unknown[] | undefined)?.length ?? 0;
  return `${path.join(dir, f)} (${i["preview"] ? "preview" : "update"}, activeSite ${String(config?.["activeSite"])}, ${state} URNs in state)`;
}

const a = runs(dirA);
const b = runs(dirB);
console.log(`${dirA}: ${a.size} runs; ${dirB}: ${b.size} runs${withoutProviderCode ? " (serialized provider code set aside)" : ""}`);
let differences = 0;
for (const [k, f] of a) if (!b.has(k)) { differences++; console.log(`only in A: ${summary(dirA, f)}`); }
for (const [k, f] of b) if (!a.has(k)) { differences++; console.log(`only in B: ${summary(dirB, f)}`); }
for (const [k, f] of a) {
  const g = b.get(k);
  if (g === undefined) continue;
  const [runA, runB] = [read(dirA, f), read(dirB, g)];
  if (JSON.stringify(runA) === JSON.stringify(runB)) continue;
  differences++;
  console.log(`differs: ${summary(dirA, f)}`);
  for (const line of firstDifferences(runA, runB, PER_RUN)) console.log(`  ${line}`);
}
console.log(differences === 0 ? "identical" : `${differences} runs differ or exist on one side only`);
process.exit(differences === 0 ? 0 : 1);
