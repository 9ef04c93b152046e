// Opt-in proof that a refactoring changed nothing the engine would see. With
// TSB_HA_DUMP_REGISTRATIONS=<dir>, every mocked program run writes <dir>/<sha256 of its input>.json:
// the input and what the program sent (registrations with their options, reads, invokes, outputs,
// errors, log lines), canonical so that two runs of the same code give the same bytes.
// test/harness/compareRegistrations.ts compares two such directories.
import { createHash } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ChildInput, ChildOutput } from "./types";

export const DUMP_ENV = "TSB_HA_DUMP_REGISTRATIONS";

/** Removes what the child recorded only for the dump, so a test sees the same run with or without it. */
export function withoutDumpFields(out: ChildOutput): ChildOutput {
  delete out.calls;
  for (const r of out.registrations) delete r.moreOptions;
  return out;
}

/** Writes the run's dump when TSB_HA_DUMP_REGISTRATIONS is set; a second run of the same input must match. */
export function dumpRun(input: ChildInput, run: ChildOutput | { crashed: string }): void {
  const dir = process.env[DUMP_ENV];
  if (!dir) return;
  const labels = new Labels();
  // The input first, so its values get the same labels wherever the result repeats them.
  const canonicalInput = canonical(normalise(sortSets(input), labels));
  const name = createHash("sha256").update(canonicalInput).digest("hex");
  const body = canonical(normalise(sortSets({ input, result: "crashed" in run ? run : program(run) }), labels), 1);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, body);
  try {
    // link() fails when the file exists, atomically: two test processes with the same input cannot both write.
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const before = readFileSync(file, "utf8");
    if (before !== body) {
      const first = firstDifferences(JSON.parse(before), JSON.parse(body), 3).join("\n");
      throw new Error(`registration dump: the same input gave another result than an earlier run (${file}):\n${first}`);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * What the program sent, without the mock's answers (`state`, `imported`, `clustersAfter`: they follow
 * from the input and the requests, and would only repeat a difference already shown in the inputs).
 * Registrations by "<type> <name>" (sorted as keys): their order is the order the program's promises
 * settled in, which the engine does not keep, and a keyed diff names the resource that changed.
 */
function program(run: ChildOutput): unknown {
  const registrations: Record<string, unknown> = {};
  for (const r of run.registrations) {
    const key = `${r.type} ${r.name}${r.kind === "read" ? " (read)" : ""}`;
    registrations[key in registrations ? `${key} ${r.urn}` : key] = { ...r, state: undefined, imported: undefined, stateInputs: undefined };
  }
  return { ...run, clustersAfter: undefined, registrations };
}

/** Lists the engine reads as sets: their order is the SDK's insertion order, not behaviour. */
const SET_LISTS = new Set(["dependencies", "ignoreChanges", "replaceOnChanges", "additionalSecretOutputs", "existingUrns", "previousSecretOutputNames", "propertyDependencies"]);

function sortSets(v: unknown, at = ""): unknown {
  if (Array.isArray(v)) {
    const items = v.map((x) => sortSets(x, at));
    return SET_LISTS.has(at) && items.every((x) => typeof x === "string") ? [...items].sort() : items;
  }
  if (typeof v === "object" && v !== null) {
    // propertyDependencies: property -> URNs it depends on (each list a set).
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortSets(x, at === "propertyDependencies" ? at : k)]));
  }
  return v;
}

/** Values a test made at random (passwords, tokens, UIDs), recorded where they are made: see Labels. */
const randoms = new Map<string, string>();

/** Records `value` as random (the dump labels it "<kind #n>") and returns it unchanged. */
export function randomValue(value: string, kind: string): string {
  randoms.set(value, kind);
  return value;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const TMP = escape(tmpdir());

let randomPattern: { size: number; re: RegExp } | undefined;
const anyRandom = (): RegExp => {
  if (randomPattern?.size !== randoms.size) {
    randomPattern = { size: randoms.size, re: new RegExp(`(['"]?)(${[...randoms.keys()].sort((a, b) => b.length - a.length).map(escape).join("|")})\\1`, "g") };
  }
  return randomPattern.re;
};

/** Walks keys in sorted order, so labels are numbered the same way in every run. */
function normalise(v: unknown, labels: Labels, key = ""): unknown {
  if (typeof v === "string") return OPENSSL_TIMES.has(key) ? "<openssl time>" : labels.of(v);
  if (Array.isArray(v)) return v.map((x) => normalise(x, labels));
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, normalise(x, labels, k)]));
  }
  return v;
}

/**
 * A real certificate's state (test/harness/opensslTls.ts) holds the second it was made; one constant
 * label, since two certificates made in the same second in one run may not be in the next.
 */
const OPENSSL_TIMES = new Set(["validityStartTime", "validityEndTime"]);

/**
 * Values that differ between two runs of the same code (found by dumping the unit tests twice and
 * diffing), each replaced by "<what #n>", n counted per dump in order of first appearance, so that
 * the same value keeps its label and a different one gets another:
 * - PEM blocks, also indented in YAML: openssl makes new keys, serials and validity dates each run
 *   (test/harness/opensslTls.ts, certChain.ts, adoptedCluster.ts);
 * - the validity times in a real certificate's state (previousStates of a chain of updates): one label;
 * - values recorded with randomValue(): test-made passwords, JWK numbers and tokens, UIDs of the
 *   stand-in API; with the quotes YAML puts around some of them only (js-yaml quotes a value that
 *   would otherwise read as another type);
 * - base64 that decodes to text holding one of these (Secret data, kubeconfig CA data): "<base64 of: ...>";
 * - loopback ports of the stand-in servers (listen(0)) and mkdtemp paths under the temp directory;
 * - progress lines (components/progress.ts): the seconds since the program started.
 */
class Labels {
  private readonly seen = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  private label(what: string, key: string): string {
    const id = `${what}\u0000${key}`;
    let l = this.seen.get(id);
    if (!l) {
      const n = (this.counts.get(what) ?? 0) + 1;
      this.counts.set(what, n);
      l = `<${what} #${n}>`;
      this.seen.set(id, l);
    }
    return l;
  }

  of(s: string): string {
    let out = s.replace(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g, (pem, kind: string) => this.label(`PEM ${kind}`, pem.replace(/\s+/g, "")));
    if (randoms.size > 0) out = out.replace(anyRandom(), (_m, _quote, v: string) => this.label(randoms.get(v)!, v));
    out = out.replace(/[A-Za-z0-9+/]{16,}={0,2}/g, (run) => {
      const text = Buffer.from(run, "base64").toString("utf8");
      if (Buffer.from(text).toString("base64") !== run || !/^[\t\n\r\x20-\x7e]*$/.test(text)) return run;
      const labelled = this.of(text);
      return labelled === text ? run : `<base64 of: ${labelled}>`;
    });
    out = out.replace(/\b(127\.0\.0\.1|localhost):(\d+)/g, (_m, host: string, port: string) => `${host}:${this.label("port", port)}`);
    out = out.replace(new RegExp(`${TMP}/[\\w.-]+`, "g"), (dir) => this.label("temp path", dir));
    return out.replace(/(failover step "[^"]*": (?:started|done) at )\d+ s/g, "$1<n> s");
  }
}

/** JSON with every object's keys sorted (undefined dropped, as JSON does). */
export function canonical(v: unknown, indent?: number): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x, indent);
}

/** The first `limit` places where a and b differ: "path: a-value | b-value" (values cut short). */
export function firstDifferences(a: unknown, b: unknown, limit: number, at = "", out: string[] = []): string[] {
  if (out.length >= limit) return out;
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) firstDifferences(a[k], b[k], limit, Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`, out);
    return out;
  }
  if (canonical(a) !== canonical(b)) out.push(`${at || "."}: ${short(a)} | ${short(b)}`);
  return out;
}

const short = (v: unknown): string => {
  const s = v === undefined ? "(absent)" : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
};
