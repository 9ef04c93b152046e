// Failover step 3, the decision: has the promoted site's deployment `tsb` come up as a result of the
// promotion? Pure, so the rule lives in one place; components/deploymentReadyGate.ts polls the
// cluster and asks this function, and a read-only `readiness`/`status` command can ask it too.
//
// Why these fields (Kubernetes apps/v1 DeploymentStatus; the same ones the Deployment controller and
// `kubectl rollout status` use, and pulumi-kubernetes provider/pkg/await/deployment.go reads):
// - `metadata.generation` grows on every spec change; `status.observedGeneration` says which spec
//   the controller has acted on. Until they match, the status describes an older spec.
// - `status.replicas` counts the pods of all ReplicaSets, `updatedReplicas` those of the current
//   template, `readyReplicas` the ready ones of any template. A ready pod of the current revision
//   is certain only when more pods are ready than old pods exist: ready - (replicas - updated) >= 1.
// - `metadata.uid` changes when the object is deleted and created again.
import { OPERATOR_DEPLOYMENT, READY_DEPLOYMENT, TSB_NAMESPACE } from "../config/names";

/** What the gate remembers of deployment `tsb` from before the promotion. */
export interface DeploymentBaseline {
  exists: boolean;
  uid?: string;
  generation?: number;
  /** `spec.replicas` then: a standby may keep `tsb` at 0. */
  specReplicas?: number;
}

export interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** One read of the deployment, reduced to what the decision needs (absent fields: not reported). */
export interface DeploymentObservation {
  exists: boolean;
  uid?: string;
  generation?: number;
  observedGeneration?: number;
  /** `spec.replicas` (the API defaults it to 1). */
  specReplicas?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  conditions?: DeploymentCondition[];
}

export interface GateDecision {
  pass: boolean;
  /** What was seen, for the log and for the timeout message. */
  seen: string;
}

const NAME = `deployment ${TSB_NAMESPACE}/${READY_DEPLOYMENT}`;

export function readyGateDecision(baseline: DeploymentBaseline | undefined, now: DeploymentObservation): GateDecision {
  if (!now.exists) return wait(`${NAME} does not exist yet (the operator creates it once it acts on the promotion)`);
  const generation = now.generation ?? 0;
  const observed = now.observedGeneration ?? 0;
  if (observed < generation) {
    return wait(`${NAME} generation ${generation} is not yet acted on by its controller (observedGeneration ${observed})`);
  }
  if (now.specReplicas === 0) return wait(`${NAME} is scaled to 0 replicas`);
  const replicas = now.replicas ?? 0;
  const updated = now.updatedReplicas ?? 0;
  const ready = now.readyReplicas ?? 0;
  const counts = `${updated} of ${replicas} pods of the current revision, ${ready} ready${conditionText(now.conditions)}`;
  if (replicas === 0) return wait(`${NAME} has no pods yet${conditionText(now.conditions)}`);
  if (updated < 1) return wait(`${NAME} runs only pods of an older revision (${counts})`);
  // Old pods may be the ready ones; only a surplus of ready pods proves a current one is ready.
  if (ready - (replicas - updated) < 1) return wait(`${NAME} has no ready pod of the current revision yet (${counts})`);
  const seen = `${NAME} generation ${generation} (uid ${now.uid ?? "?"}): ${counts}`;
  if (unchangedSince(baseline, now)) {
    return wait(`${seen}; but it is the same object at the same generation as before the promotion: the operator has not changed it since`);
  }
  return { pass: true, seen };
}

/**
 * The pre-promotion object, untouched: same uid and no newer generation. Absent or at 0 replicas
 * before: changed (scaling up also advances the generation; both are checked so either suffices).
 */
function unchangedSince(baseline: DeploymentBaseline | undefined, now: DeploymentObservation): boolean {
  if (!baseline?.exists || baseline.specReplicas === 0) return false;
  if (baseline.uid !== undefined && now.uid !== undefined && baseline.uid !== now.uid) return false;
  return (now.generation ?? 0) <= (baseline.generation ?? 0);
}

function wait(seen: string): GateDecision {
  return { pass: false, seen };
}

function conditionText(conditions: DeploymentCondition[] | undefined): string {
  const shown = (conditions ?? []).filter((c) => c.type === "Available" || c.type === "Progressing" || c.type === "ReplicaFailure");
  if (shown.length === 0) return "";
  return `; ${shown.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ""}`).join(", ")}`;
}

/** Reduces a Deployment as the API returns it (JSON) to an observation; checks shapes, trusts nothing. */
export function observeDeployment(obj: unknown): DeploymentObservation {
  const o = record(obj);
  const metadata = record(o["metadata"]);
  const spec = record(o["spec"]);
  const status = record(o["status"]);
  const conditions = Array.isArray(status["conditions"])
    ? status["conditions"].map(record).filter((c) => typeof c["type"] === "string").map((c) => ({
        type: String(c["type"]),
        status: typeof c["status"] === "string" ? c["status"] : "Unknown",
        ...(typeof c["reason"] === "string" ? { reason: c["reason"] } : {}),
        ...(typeof c["message"] === "string" ? { message: c["message"] } : {}),
      }))
    : [];
  return dropUndefined({
    exists: true,
    uid: str(metadata["uid"]),
    generation: num(metadata["generation"]),
    observedGeneration: num(status["observedGeneration"]),
    specReplicas: num(spec["replicas"]) ?? 1,
    replicas: num(status["replicas"]) ?? 0,
    updatedReplicas: num(status["updatedReplicas"]) ?? 0,
    readyReplicas: num(status["readyReplicas"]) ?? 0,
    availableReplicas: num(status["availableReplicas"]) ?? 0,
    conditions,
  });
}

/** The baseline kept from an observation (only what identifies the object and its spec version). */
export function baselineOf(now: DeploymentObservation): DeploymentBaseline {
  return now.exists ? dropUndefined({ exists: true, uid: now.uid, generation: now.generation, specReplicas: now.specReplicas }) : { exists: false };
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
/** Protobuf Structs drop undefined members anyway; dropping them here keeps saved state stable. */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** One line for the log: what the baseline found before the promotion. */
export function describeBaseline(b: DeploymentBaseline): string {
  if (!b.exists) return `${NAME} absent before the promotion`;
  return `${NAME} before the promotion: uid ${b.uid ?? "?"}, generation ${b.generation ?? "?"}, ${b.specReplicas ?? "?"} replicas wanted`;
}

export interface GateTimeout {
  site: string;
  promotion: string;
  timeoutSeconds: number;
  polls: number;
  /** The last decision's `seen`, or the last API error. */
  lastSeen: string;
  context?: string;
}

/** The failure when the gate runs out of time: the site, what it saw last, what to check. */
export function readyGateTimeoutMessage(t: GateTimeout): string {
  const kubectl = `kubectl${t.context ? ` --context ${t.context}` : ""} -n ${TSB_NAMESPACE}`;
  return [
    `site ${t.site}: ${NAME} did not become ready within ${t.timeoutSeconds} s of the promotion (${t.promotion}); ${t.polls} reads.`,
    `Last seen: ${t.lastSeen}.`,
    `Check: ${kubectl} get deploy ${READY_DEPLOYMENT} (and its pods: ${kubectl} get pods);`,
    `the operator's logs: ${kubectl} logs deploy/${OPERATOR_DEPLOYMENT} --tail=200;`,
    `the ManagementPlane's status: ${kubectl} get managementplanes.install.tetrate.io managementplane -o yaml.`,
    `DNS has not moved. Once ${READY_DEPLOYMENT} is ready, run pulumi up again: the promotion stays applied and the gate checks again (raise tsb.readyTimeoutSeconds if the site is only slow).`,
  ].join("\n");
}
