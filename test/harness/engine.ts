// The engine's side of a chain of updates, for tests that run the program several times in a row:
// what each update saves (outputs with their secretness, the URNs in state, the clusters as they were
// left) and how the next update compares with it.
//
// Claims about the engine, with their sources (pulumi/pulumi):
// - A step's diff compares old and new inputs by URN; a property in ignoreChanges keeps its old value
//   (docs "ignoreChanges"; pkg/resource/deploy/step_generator.go, processIgnoreChanges).
// - replacementTrigger: a changed value replaces the resource (sdk/nodejs/resource.ts, ReplacementTrigger).
// - A dynamic resource's diff is its provider's `diff`; ours replace on a new `promotion` key
//   (components/deploymentReadyGate.ts, replicationGate.ts) and otherwise change nothing on their own.
// - A failed update keeps the old value of every stack output that did not resolve and updates those
//   that did (pulumi/pulumi#15754: outputs are registered at the end and merged when the update failed).
import { runProgram, reveal, type ChildInput, type ChildOutput, type Registration } from "./runProgram";

export interface EngineDiff {
  created: string[];
  updated: string[];
  replaced: string[];
  /** Left the program: the engine deletes them (our Kubernetes resources are retainOnDelete). */
  removed: string[];
}

const registered = (run: ChildOutput) => new Map(run.registrations.filter((r) => r.kind === "register").map((r) => [r.urn, r]));

function effectiveInputs(before: Registration, after: Registration): [unknown, unknown] {
  const a = { ...(reveal(before.inputs) as Record<string, unknown>) };
  const b = { ...(reveal(after.inputs) as Record<string, unknown>) };
  delete a["__provider"];
  delete b["__provider"];
  for (const key of after.ignoreChanges) if (key in a) b[key] = a[key];
  return [a, b];
}

export function engineDiff(before: ChildOutput, after: ChildOutput): EngineDiff {
  const old = registered(before);
  const now = registered(after);
  const d: EngineDiff = { created: [], updated: [], replaced: [], removed: [] };
  for (const [urn, r] of now) {
    const o = old.get(urn);
    if (!o) {
      d.created.push(r.name);
      continue;
    }
    const [a, b] = effectiveInputs(o, r);
    if (JSON.stringify(a) === JSON.stringify(b) && JSON.stringify(o.replacementTrigger) === JSON.stringify(r.replacementTrigger)) continue;
    const promotionChanged = r.type.startsWith("pulumi-nodejs:dynamic") && (a as Record<string, unknown>)["promotion"] !== (b as Record<string, unknown>)["promotion"];
    const triggered = JSON.stringify(o.replacementTrigger) !== JSON.stringify(r.replacementTrigger) && r.replacementTrigger !== undefined;
    const timer = r.type.startsWith("time:") && JSON.stringify((a as Record<string, unknown>)["triggers"]) !== JSON.stringify((b as Record<string, unknown>)["triggers"]);
    (promotionChanged || triggered || timer ? d.replaced : d.updated).push(r.name);
  }
  for (const [urn, r] of old) if (!now.has(urn)) d.removed.push(r.name);
  for (const list of Object.values(d)) (list as string[]).sort();
  return d;
}

export const changes = (d: EngineDiff): number => d.created.length + d.updated.length + d.replaced.length + d.removed.length;

/** One stack and its clusters across updates. */
export class Stack {
  outputs: Record<string, { value: unknown; secret: boolean }> = {};
  last?: ChildOutput;
  clusters: NonNullable<ChildInput["clusterSecrets"]> = {};
  readonly log: Array<{ step: string; diff: EngineDiff; errors: string[] }> = [];

  constructor(private readonly base: Partial<ChildInput> = {}) {}

  /** `pulumi up` with this config: the program reads what the last update saved. */
  async up(step: string, config: Record<string, unknown>, extra: Partial<ChildInput> = {}): Promise<ChildOutput> {
    const run = await runProgram({
      secretKeys: ["standbyServiceAccountJwk"],
      ...this.base,
      ...extra,
      config,
      previousOutputs: Object.fromEntries(Object.entries(this.outputs).map(([k, v]) => [k, v.value])),
      previousSecretOutputNames: Object.entries(this.outputs).filter(([, v]) => v.secret).map(([k]) => k),
      existingUrns: this.last ? this.last.registrations.filter((r) => r.kind === "register").map((r) => r.urn) : [],
      clusterSecrets: this.clusters,
    });
    const diff = this.last ? engineDiff(this.last, run) : engineDiff({ registrations: [], errors: [], warnings: [], infos: [], clustersAfter: {} }, run);
    this.log.push({ step, diff, errors: run.errors });
    for (const [k, v] of Object.entries(run.outputs ?? {})) if (!v.failed) this.outputs[k] = { value: v.value, secret: v.secret };
    this.clusters = run.clustersAfter;
    if (run.errors.length === 0) this.last = run;
    else if (this.last) this.last = { ...run, registrations: mergeState(this.last, run) };
    return run;
  }
}

/** After a failed update the state holds what was there plus what this update registered. */
function mergeState(before: ChildOutput, run: ChildOutput): Registration[] {
  const byUrn = new Map(before.registrations.map((r) => [`${r.kind}:${r.urn}`, r]));
  for (const r of run.registrations) byUrn.set(`${r.kind}:${r.urn}`, r);
  return [...byUrn.values()];
}
