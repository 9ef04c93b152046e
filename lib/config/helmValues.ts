// Helm values trees: the type, parsing `helm get values` output, leaf paths and Helm's deep merge.
// Below everything that reads or writes chart values (config, plan, adoption).
import * as yaml from "js-yaml";
import { ConfigError } from "./errors";

export type Values = Record<string, unknown>;

/** A map of values (not null, not a list): what Helm merges key by key. */
export const isValues = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses `helm get values <rel> -n <ns> -o yaml` (or `-o json`). Refuses the plain `helm get values`
 * output: its "USER-SUPPLIED VALUES:" header parses as one more top-level key, which would be written back
 * into the release. The message never repeats the text (it holds passwords and keys).
 */
export function parseHelmValues(text: string, key = "adoptedValues"): Values {
  if (/^USER-SUPPLIED VALUES:/m.test(text)) {
    throw new ConfigError(key, "[secret]", "is the plain `helm get values` output. Use: helm get values <release> -n <namespace> -o yaml");
  }
  let parsed: unknown;
  try {
    parsed = yaml.load(text, { schema: yaml.JSON_SCHEMA });
  } catch {
    throw new ConfigError(key, "[secret]", "is not YAML or JSON. Use the output of: helm get values <release> -n <namespace> -o yaml");
  }
  if (!isValues(parsed)) {
    throw new ConfigError(key, "[secret]", "is not a map of values. A release installed without values cannot be adopted as it is: its `spec` (organization, hub) is in the values");
  }
  return parsed;
}

/** Every leaf path of a values tree with its value; an empty map or list is a leaf of its own. */
export function leafPaths(v: unknown, prefix = ""): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (x: unknown, p: string): void => {
    if (isValues(x) && Object.keys(x).length > 0) {
      for (const [k, child] of Object.entries(x)) walk(child, p === "" ? k : `${p}.${k}`);
    } else if (Array.isArray(x) && x.length > 0) {
      x.forEach((child, i) => walk(child, `${p}[${i}]`));
    } else if (p !== "" || !isValues(x)) {
      out.set(p, x); // an empty root map has no leaves
    }
  };
  walk(v, prefix);
  return out;
}

/** Leaf paths that differ between two values trees (added, changed or removed), sorted. */
export function changedLeafPaths(before: unknown, after: unknown): string[] {
  const a = leafPaths(before);
  const b = leafPaths(after);
  const paths = new Set<string>();
  for (const [p, v] of a) if (!b.has(p) || !sameLeaf(v, b.get(p))) paths.add(p);
  for (const p of b.keys()) if (!a.has(p)) paths.add(p);
  return [...paths].sort();
}

const sameLeaf = (x: unknown, y: unknown): boolean => JSON.stringify(x) === JSON.stringify(y);

/**
 * Deep merge as Helm coalesces values: maps merge key by key, anything else (lists included) is replaced.
 * Nothing in `base` is lost unless `overlay` names it.
 */
export function deepMerge(base: Values, overlay: Values): Values {
  const out: Values = structuredClone(base);
  for (const [k, v] of Object.entries(overlay)) {
    const old = out[k];
    out[k] = isValues(old) && isValues(v) ? deepMerge(old, v) : structuredClone(v);
  }
  return out;
}
