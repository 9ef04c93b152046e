// Compares two registration dumps (test/harness/registrationDump.ts), e.g. before and after a
// refactoring: how many runs each side has, the inputs only one side ran, and for each input both ran
// the first differences (path: value in A | value in B). Exit 1 on any difference, 0 when identical.
// Usage: npx tsx test/harness/compareRegistrations.ts <dirA> <dirB>
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { firstDifferences } from "./registrationDump";

const PER_RUN = 5;
const [dirA, dirB] = process.argv.slice(2);
if (!dirA || !dirB) {
  console.error("usage: npx tsx test/harness/compareRegistrations.ts <dirA> <dirB>");
  process.exit(2);
}
const runs = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
const load = (dir: string, f: string): { input: Record<string, unknown>; result: unknown } =>
  JSON.parse(readFileSync(path.join(dir, f), "utf8")) as { input: Record<string, unknown>; result: unknown };

/** Enough of an input to find the test that ran it. */
function summary(dir: string, f: string): string {
  const i = load(dir, f).input;
  const config = i["config"] as Record<string, unknown> | undefined;
  const state = (i["existingUrns"] as unknown[] | undefined)?.length ?? 0;
  return `${path.join(dir, f)} (${i["preview"] ? "preview" : "update"}, activeSite ${String(config?.["activeSite"])}, ${state} URNs in state)`;
}

const a = runs(dirA);
const b = runs(dirB);
const inB = new Set(b);
const inA = new Set(a);
console.log(`${dirA}: ${a.length} runs; ${dirB}: ${b.length} runs`);
let differences = 0;
for (const f of a.filter((x) => !inB.has(x))) { differences++; console.log(`only in A: ${summary(dirA, f)}`); }
for (const f of b.filter((x) => !inA.has(x))) { differences++; console.log(`only in B: ${summary(dirB, f)}`); }
for (const f of a.filter((x) => inB.has(x))) {
  if (readFileSync(path.join(dirA, f), "utf8") === readFileSync(path.join(dirB, f), "utf8")) continue;
  differences++;
  console.log(`differs: ${summary(dirA, f)}`);
  for (const line of firstDifferences(load(dirA, f), load(dirB, f), PER_RUN)) console.log(`  ${line}`);
}
console.log(differences === 0 ? "identical" : `${differences} runs differ or exist on one side only`);
process.exit(differences === 0 ? 0 : 1);
