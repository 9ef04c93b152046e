// Pure readers of what the read-only commands fetch from a site's cluster: the role block of the
// management plane, a deployment's replicas, the kids of tsb-iam-jwks. One reader per fact, used
// by `status` and `readiness` alike. The signing key's kid is lib/gates/preflight.ts `kidOf` (the failover's);
// the JWKS's is read the same way.
//
// Role block: the chart renders its `spec:` value into the ManagementPlane CR
// (install.tetrate.io/v1alpha1, name `managementplane`, namespace `tsb`; reference/tsb-facts.md),
// so the CR's spec.highAvailability is what the operator acts on; the seed patches that CR directly.
import { kidOf } from "../gates/preflight";

export type HaMode = "active" | "standby" | "none";

export interface HaBlock {
  mode: HaMode;
  /** Standby: spec.highAvailability.standby.activeMpSynchronizationEndpoint.host. */
  syncHost?: string;
  /** Active: exposeEmbeddedPostgresInFrontEnvoy. */
  exposesPostgres?: boolean;
  /** Both blocks at once: the operator's behaviour is undefined; reported as it is. */
  both?: boolean;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** From a ManagementPlane CR (or a helm values object with `spec`): which HA block it carries. */
export function haBlockOf(resource: unknown): HaBlock {
  const ha = obj(obj(obj(resource)?.["spec"])?.["highAvailability"]);
  const active = obj(ha?.["active"]);
  const standby = obj(ha?.["standby"]);
  const endpoint = obj(standby?.["activeMpSynchronizationEndpoint"]);
  const block: HaBlock = { mode: active ? "active" : standby ? "standby" : "none" };
  if (active) block.exposesPostgres = active["exposeEmbeddedPostgresInFrontEnvoy"] === true;
  if (typeof endpoint?.["host"] === "string") block.syncHost = endpoint["host"];
  if (active && standby) block.both = true;
  return block;
}

export interface Replicas {
  /** spec.replicas (what was asked; 1 when unset, as the API defaults it). */
  desired: number;
  /** status.readyReplicas (0 when unset). */
  ready: number;
}

/** A Deployment as the API returns it -> its replicas. */
export function replicasOf(deployment: unknown): Replicas {
  const spec = obj(obj(deployment)?.["spec"]);
  const status = obj(obj(deployment)?.["status"]);
  const desired = typeof spec?.["replicas"] === "number" ? spec["replicas"] : 1;
  const ready = typeof status?.["readyReplicas"] === "number" ? status["readyReplicas"] : 0;
  return { desired, ready };
}

/** Up when asked for replicas or still running some (a scale-down in progress counts as up). */
export function isUp(r: Replicas | "missing" | undefined): boolean {
  return r !== undefined && r !== "missing" && (r.desired > 0 || r.ready > 0);
}

/**
 * The kid of tsb-iam-jwks, read as the seed reads it (`kubectl get secrets tsb-iam-jwks -o yaml | yq
 * .data.kid | base64 -d`) and as the failover reads iam-signing-key's (lib/gates/preflight.ts kidOf): its
 * `data.kid`, base64. A list for the status table: empty when the Secret has no kid.
 */
export function jwksKids(data: Record<string, string> | undefined): string[] {
  const kid = kidOf(data);
  return kid === undefined ? [] : [kid];
}

/** "Mp1.Example.COM." -> "mp1.example.com": DNS names compare without case and root dot. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, "");
}
