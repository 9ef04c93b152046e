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
  /**
   * Imported in this update (absent when nothing was), by name: the top-level inputs the engine then updates, because the
   * program's differ from what the provider read (ignoreChanges keep the read ones; step.go ImportStep).
   */
  imported?: Record<string, string[]>;
}

const registered = (run: ChildOutput) => new Map(run.registrations.filter((r) => r.kind === "register").map((r) => [r.urn, r]));

/**
 * The inputs the state holds after an update: the program's, except that an ignored property keeps
 * what the state held before, or what an import read (step_generator.go processIgnoreChanges;
 * step.go ImportStep.Apply). Stack records them, so a value kept through ignoreChanges is diffed
 * against once ignoreChanges is lifted.
 */
function stateInputs(r: Registration, old: Registration | undefined): Record<string, unknown> {
  const held = r.imported ?? (old ? (old.stateInputs ?? reveal(old.inputs)) as Record<string, unknown> : undefined);
  const out = { ...(reveal(r.inputs) as Record<string, unknown>) };
  if (held) for (const key of r.ignoreChanges) if (key in held) out[key] = held[key];
  return out;
}

function effectiveInputs(before: Registration, after: Registration): [unknown, unknown] {
  const a = { ...((before.stateInputs ?? reveal(before.inputs)) as Record<string, unknown>) };
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
    if (r.imported && (!o || o.importId !== r.importId)) {
      (d.imported ??= {})[r.name] = importUpdates(r);
      continue;
    }
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
  for (const list of [d.created, d.updated, d.replaced, d.removed]) list.sort();
  return d;
}

/**
 * What a helm Release's Check makes of the program's inputs before Diff compares them with the imported
 * ones (pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go, Check): setDefaults (namespace,
 * `timeout` 300 unless skipAwait), then `resource.NewPropertyMap(newRelease)`: only the Release struct's
 * fields survive (the SDK's `compat` marker does not), and `omitempty` drops false, "" and 0.
 */
export const RELEASE_STRUCT_FIELDS = [
  "allowNullValues", "atomic", "chart", "cleanupOnFail", "createNamespace", "dependencyUpdate", "description", "devel",
  "disableCRDHooks", "disableOpenapiValidation", "disableWebhooks", "forceUpdate", "keyring", "lint", "maxHistory", "name",
  "namespace", "postrender", "recreatePods", "renderSubchartNotes", "replace", "repositoryOpts", "resetValues", "reuseValues",
  "values", "skipCrds", "timeout", "verify", "version", "skipAwait", "waitForJobs",
];
export function releaseCheck(inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of RELEASE_STRUCT_FIELDS) {
    const v = inputs[k];
    if (v === undefined || v === null || v === false || v === "" || v === 0) continue;
    out[k] = v;
  }
  if (out["skipAwait"] !== true && !("timeout" in inputs)) out["timeout"] = 300;
  return out;
}

/** The top-level inputs an import then updates (the program's differ from the read ones), sorted. */
export function importUpdates(r: Registration): string[] {
  const read = r.imported ?? {};
  const revealed = { ...(reveal(r.inputs) as Record<string, unknown>) };
  delete revealed["__provider"];
  const program = r.type === "kubernetes:helm.sh/v3:Release" ? releaseCheck(revealed) : revealed;
  for (const key of r.ignoreChanges) if (key in read) program[key] = read[key];
  const keys = new Set([...Object.keys(read), ...Object.keys(program)]);
  // Key order means nothing to the provider's diff (a JSON merge patch): compare canonically.
  return [...keys].filter((k) => canonical(read[k]) !== canonical(program[k])).sort();
}

const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) =>
  x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : x);

export const changes = (d: EngineDiff): number =>
  d.created.length + d.updated.length + d.replaced.length + d.removed.length + Object.keys(d.imported ?? {}).length;

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
      previousStates: Object.fromEntries((this.last?.registrations ?? []).filter((r) => r.kind === "register" && r.custom).map((r) => [r.urn, { inputs: r.inputs, state: r.state, ...(r.importId ? { importId: r.importId } : {}) }])),
      clusterSecrets: this.clusters,
    });
    const diff = this.last ? engineDiff(this.last, run) : engineDiff({ registrations: [], errors: [], warnings: [], infos: [], clustersAfter: {} }, run);
    // A protected resource that left the program is not deleted: the update fails, retainOnDelete or
    // not (pulumi/pulumi pkg/resource/deploy/step.go DeleteStep.Apply checks Protect first).
    for (const r of this.last?.registrations ?? []) {
      if (r.kind === "register" && r.protect && diff.removed.includes(r.name)) {
        run.errors.push(`resource "${r.urn}" cannot be deleted\nbecause it is protected.`);
      }
    }
    this.log.push({ step, diff, errors: run.errors });
    for (const [k, v] of Object.entries(run.outputs ?? {})) if (!v.failed) this.outputs[k] = { value: v.value, secret: v.secret };
    this.clusters = run.clustersAfter;
    const held = new Map((this.last?.registrations ?? []).filter((r) => r.kind === "register").map((r) => [r.urn, r]));
    for (const r of run.registrations) if (r.kind === "register" && r.custom) r.stateInputs = stateInputs(r, held.get(r.urn));
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
