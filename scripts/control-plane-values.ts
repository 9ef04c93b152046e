// Writes one control plane's helm values file (chart `controlplane`) from the stack output
// `controlPlaneValues`, with its cluster name filled in:
//
//   pulumi stack output controlPlaneValues --json | npx tsx scripts/control-plane-values.ts <cluster-name> [--out <file>]
//
// Default file: <cluster-name>-controlplane-values.yaml. The file holds no secret (the set's root CA
// and host names); the control plane's own service-account key is added by its install, not here.
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { withClusterName } from "../lib/plan/values";

export interface ValuesFile {
  path: string;
  text: string;
  /** What the file lacks and the user must add (printed to stderr too). */
  note?: string;
}

/**
 * The management plane's telemetry store is not Elasticsearch (controlPlaneValues leaves the block out:
 * lib/plan/values.ts), so the control plane's own telemetry store is the user's to add.
 */
export const NO_TELEMETRY_STORE_NOTE = "no spec.telemetryStore: the management plane's telemetry store is not Elasticsearch (its spec.telemetryStore names another store), " +
  "so add the control plane's spec.telemetryStore for that store yourself (docs/control-plane-onboarding.md)";

/** Pure: the file to write, from what stdin held and the command's arguments. */
export function controlPlaneValuesFile(stdin: string, args: readonly string[]): ValuesFile {
  const usage = "Usage: pulumi stack output controlPlaneValues --json | npx tsx scripts/control-plane-values.ts <cluster-name> [--out <file>]";
  const positional: string[] = [];
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--out") {
      out = args[++i];
      if (!out) throw new Error(`--out needs a file name. ${usage}`);
    } else if (a.startsWith("-")) {
      throw new Error(`unknown option ${a}. ${usage}`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 1) throw new Error(`give exactly one cluster name. ${usage}`);
  const clusterName = positional[0]!;
  if (stdin.trim() === "") throw new Error(`nothing on stdin. ${usage}`);
  let output: unknown;
  try {
    output = JSON.parse(stdin);
  } catch {
    throw new Error(`stdin is not JSON (did you forget --json?). ${usage}`);
  }
  const values = withClusterName(output, clusterName);
  const spec = values["spec"] as Record<string, unknown>;
  const note = "telemetryStore" in spec ? undefined : NO_TELEMETRY_STORE_NOTE;
  const header = `# Helm values for the TSB control plane of cluster ${clusterName}: merge into its controlplane values.\n` +
    "# Written by scripts/control-plane-values.ts from the stack output controlPlaneValues.\n" +
    (note ? `# NOTE: ${note}.\n` : "");
  return { path: out ?? `${clusterName}-controlplane-values.yaml`, text: header + yaml.dump(values, { lineWidth: -1, noRefs: true }), ...(note ? { note } : {}) };
}

function main(): void {
  try {
    const file = controlPlaneValuesFile(fs.readFileSync(0, "utf8"), process.argv.slice(2));
    fs.writeFileSync(file.path, file.text);
    console.error(`wrote ${file.path}`);
    if (file.note) console.error(`control-plane-values: ${file.note}`);
  } catch (e) {
    console.error(`control-plane-values: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

if (require.main === module) main();
