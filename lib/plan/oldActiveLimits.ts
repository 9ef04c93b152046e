// Issue 8 item 4: how long a failover may wait on the old active (a `fenced` site that is sick), and
// what to tell the engineer when it does not answer: mark it `lost` and fence it by hand.
//
// What bounds a Kubernetes call of @pulumi/kubernetes, read in pulumi/pulumi-kubernetes
// (provider/pkg/await/await.go, provider/pkg/provider/provider.go) and pulumi/pulumi
// (pkg/resource/deploy/step.go):
// - `customTimeouts.create/update` reach the provider as the Create/Update request's `timeout`
//   (step.go: `Timeout: s.new.CustomTimeouts.Create`); await.go's Creation/Update use it
//   (`metadata.TimeoutDuration(c.Timeout, ...)`, else the `pulumi.com/timeoutSeconds` annotation, else
//   10 min) only for the await AFTER the apply request. The apply/patch request itself, the live
//   `Get` before an update, and every `Read` (a `Secret.get`) run on the provider's own context with
//   no deadline (ReadConfig has no Timeout).
// - Those requests are bounded only by the Provider's `kubeClientSettings.timeout` (seconds, each
//   HTTP request; env PULUMI_K8S_CLIENT_TIMEOUT). provider.go sets `rest.Config.Timeout` only when
//   one of them is given, although the SDK's doc comment says "Default value is 32".
// - Creation retries the apply only on NotFound / NoMatch (at most 5 retries, 1+2+4+8+16 s).
// So the old active's Provider needs `kubeClientSettings.timeout`, and its patches `customTimeouts`.
import { CUT_DEPLOYMENTS, FENCE_DEPLOYMENTS, KUBEGRES_CONTROLLER_DEPLOYMENT, OPERATOR_DEPLOYMENT, POSTGRES_LABEL_SELECTOR, TSB_NAMESPACE } from "../config/names";
import { NAMESPACE } from "../config/errors";

/** The config key the lead adds (tsb.readyTimeoutSeconds sits beside it). */
export const FENCE_TIMEOUT_KEY = "tsb.fenceTimeoutSeconds";
export const DEFAULT_FENCE_TIMEOUT_SECONDS = 120;
export const MIN_FENCE_TIMEOUT_SECONDS = 10;
export const MAX_FENCE_TIMEOUT_SECONDS = 1800;

export interface OldActiveLimits {
  /** For every fence and cut patch on the old active: bounds the await after each apply. */
  customTimeouts: { create: string; update: string; delete: string };
  /** For the old active's k8s.Provider `kubeClientSettings.timeout`: bounds each HTTP request (apply, get, read). */
  requestTimeoutSeconds: number;
}

/**
 * The limits for a fenced old active. A patch is one apply request plus its await; a request gets a
 * quarter of the budget so request and await together stay near `fenceTimeoutSeconds`.
 */
export function oldActiveLimits(fenceTimeoutSeconds: number): OldActiveLimits {
  const t = `${fenceTimeoutSeconds}s`;
  return {
    customTimeouts: { create: t, update: t, delete: t },
    requestTimeoutSeconds: Math.max(5, Math.floor(fenceTimeoutSeconds / 4)),
  };
}

export interface KubectlTarget {
  context?: string;
  /** A kubeconfig path (never contents: they are secret). */
  kubeconfigPath?: string;
}

/**
 * The manual fence, in the order the failover runs it: the operator, `tsb`, `iam`; then the database
 * (its kubegres controller first, which would replace a stopped instance, then the Postgres
 * StatefulSets: a running old primary keeps writing WAL and streaming it); `envoy` only after DNS
 * moved and one TTL.
 */
export function fenceByHandCommands(target: KubectlTarget): { fence: string[]; database: string[]; cut: string[] } {
  const base = ["kubectl", "--request-timeout=30s"];
  if (target.kubeconfigPath) base.push(`--kubeconfig ${shellQuote(target.kubeconfigPath)}`);
  if (target.context) base.push(`--context ${shellQuote(target.context)}`);
  const scale = (d: string): string => `${base.join(" ")} -n ${TSB_NAMESPACE} scale deployment ${d} --replicas=0`;
  return {
    fence: [OPERATOR_DEPLOYMENT, ...FENCE_DEPLOYMENTS].map(scale),
    database: [scale(KUBEGRES_CONTROLLER_DEPLOYMENT), `${base.join(" ")} -n ${TSB_NAMESPACE} scale statefulset -l ${POSTGRES_LABEL_SELECTOR} --replicas=0`],
    cut: CUT_DEPLOYMENTS.map(scale),
  };
}

/**
 * The message when a call to the old active gives up. `what`: the call, e.g. "scaling deployment
 * tsb to 0" or "reading Secret tsb/iam-signing-key"; never a secret.
 */
export function oldActiveTimeoutMessage(site: string, what: string, fenceTimeoutSeconds: number, target: KubectlTarget): string {
  const { fence, database, cut } = fenceByHandCommands(target);
  return [
    `site ${site} (the old active, fenced): ${what} got no answer within ${fenceTimeoutSeconds} s (${NAMESPACE}:${FENCE_TIMEOUT_KEY}).`,
    `Mark the site lost and fence it by hand:`,
    `  pulumi config set --path '${NAMESPACE}:sites.${site}.state' lost`,
    ...fence.map((c) => `  ${c}`),
    `and stop its database (it keeps writing WAL and serving standbys):`,
    ...database.map((c) => `  ${c}`),
    `then run pulumi up again. Once the floating name points at the new active and one TTL has passed:`,
    ...cut.map((c) => `  ${c}`),
    `If ${site}'s API does not answer kubectl either, stop its nodes or cut its network by the cloud's console before clients reach it again.`,
  ].join("\n");
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
