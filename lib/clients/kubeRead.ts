// One bounded request to a Kubernetes API (a GET, or a merge PATCH), for dynamic providers and the read-only commands.
// Plain node:https with the options @kubernetes/client-node derives from the kubeconfig
// (`KubeConfig.applyToHTTPSOptions`: CA, client certificate, bearer token or exec credentials, proxy
// agent), so a request that hangs is destroyed at its deadline instead of lingering in the
// provider process, and the body stays the API's JSON (the shape lib/gates/readyGate.ts and
// lib/gates/frontAddress.ts read). Nothing here prints a credential: messages carry the site, the
// path, the HTTP status and the API server's own Status message.
import type * as https from "node:https";
import { kubeConfigFor, sleep, withTimeout, type KubeAccess } from "./kubeAccess";
import { isInlineKubeconfig } from "../config/kubeconfig";

export type KubeGetResult = { found: true; object: unknown } | { found: false };

/**
 * An API answer that retrying will not change (401, 403): callers stop polling on it, telling it by
 * its `name`. A plain Error, not a subclass: the dynamic providers run this module from a serialized
 * closure, where an Error subclass does not keep its `name` (measured: the 403 was read as a blip).
 */
export const KUBE_ACCESS_DENIED = "KubeAccessDenied";
export function kubeAccessDenied(message: string): Error {
  return Object.assign(new Error(message), { name: KUBE_ACCESS_DENIED });
}

/** API paths of the objects the program reads (a LIST with a label selector is a GET too). */
export const kubePaths = {
  deployment: (ns: string, name: string): string => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
  service: (ns: string, name: string): string => `/api/v1/namespaces/${ns}/services/${name}`,
  secret: (ns: string, name: string): string => `/api/v1/namespaces/${ns}/secrets/${name}`,
  /** SecretList of the namespace's Secrets whose labels match, e.g. `owner=helm,name=mp`. */
  secretsLabelled: (ns: string, labelSelector: string): string => `/api/v1/namespaces/${ns}/secrets?labelSelector=${encodeURIComponent(labelSelector)}`,
  serviceAccount: (ns: string, name: string): string => `/api/v1/namespaces/${ns}/serviceaccounts/${name}`,
  clusterRole: (name: string): string => `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`,
  clusterRoleBinding: (name: string): string => `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
  customResourceDefinition: (name: string): string => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
  /** The TSB ManagementPlane CR (install.tetrate.io/v1alpha1; lib/config/names.ts MANAGEMENT_PLANE_CR). */
  managementPlane: (ns: string, name: string): string => `/apis/install.tetrate.io/v1alpha1/namespaces/${ns}/managementplanes/${name}`,
  statefulSet: (ns: string, name: string): string => `/apis/apps/v1/namespaces/${ns}/statefulsets/${name}`,
  statefulSetsLabelled: (ns: string, labelSelector: string): string => `/apis/apps/v1/namespaces/${ns}/statefulsets?labelSelector=${encodeURIComponent(labelSelector)}`,
  podsLabelled: (ns: string, labelSelector: string): string => `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(labelSelector)}`,
};

/**
 * GETs `apiPath` on the site's cluster within `timeoutMs` (connect, TLS, credentials and body).
 * 200: the object; 404: not found; anything else throws a message naming the site and the path.
 */
export async function kubeGet(access: KubeAccess, site: string, apiPath: string, timeoutMs: number): Promise<KubeGetResult> {
  return kubeRequest(access, site, "GET", apiPath, timeoutMs);
}

/**
 * One bounded request: a GET, or a PATCH whose body is a JSON merge patch (RFC 7386,
 * `application/merge-patch+json`: only the fields given change). 200: the object; 404: not found;
 * 401/403: KubeAccessDenied; anything else throws a message naming the site, the method and the path.
 */
export async function kubeRequest(access: KubeAccess, site: string, method: "GET" | "PATCH", apiPath: string, timeoutMs: number, mergePatch?: unknown): Promise<KubeGetResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const httpsModule = require("node:https") as typeof https;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const httpModule = require("node:http") as typeof import("node:http");
  // Loading the client library takes seconds in a fresh provider process; that is not the cluster's time.
  const kc = loadKubeConfig(access, site);
  const started = Date.now();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`site ${site}: the kubeconfig has no current cluster`);
  const opts: https.RequestOptions = {};
  // Exec credential plugins run here; bound them too.
  await withTimeout(kc.applyToHTTPSOptions(opts), timeoutMs, `site ${site}: getting credentials for ${cluster.server}`);
  const url = new URL(cluster.server.replace(/\/+$/, "") + apiPath);
  const remaining = Math.max(1, timeoutMs - (Date.now() - started));
  const payload = mergePatch === undefined ? undefined : JSON.stringify(mergePatch);
  const headers = { ...(opts.headers ?? {}), Accept: "application/json", ...(payload === undefined ? {} : { "Content-Type": "application/merge-patch+json" }) };
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const lib = url.protocol === "http:" ? httpModule : httpsModule;
    const req = lib.request(url, { ...opts, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), remaining);
    req.on("error", (e) => reject(e));
    req.on("close", () => clearTimeout(timer));
    req.end(payload);
  }).catch((e: unknown) => {
    throw new Error(`site ${site}: ${method} ${url.origin}${apiPath} failed: ${e instanceof Error ? e.message : String(e)}`);
  });
  if (status === 200) return { found: true, object: parseJson(body) };
  const message = statusMessage(body);
  if (status === 404) return { found: false };
  const what = `site ${site}: ${method} ${url.origin}${apiPath} answered ${status}${message ? ` (${message})` : ""}`;
  if (status === 401) throw kubeAccessDenied(`${what}: the credentials of the site's kubeconfig were refused; check its user or token (sites.${site}.kubeconfig / kubeconfigs.${site}, context ${access.context ?? "current"})`);
  if (status === 403) throw kubeAccessDenied(`${what}: the kubeconfig's user may not ${method === "GET" ? "read" : "change"} this object; grant it ${method === "GET" ? "get" : "patch"} on it`);
  throw new Error(what);
}

/** How a wait polls: the whole wait, the pause between reads, each read (seconds). */
export interface PollSettings {
  timeoutSeconds: number;
  pollSeconds: number;
  requestTimeoutSeconds: number;
}

/** What a wait makes of one read (the object, undefined for a 404): done, and one line for the log. */
export interface PollJudgement<T> {
  done: boolean;
  seen: string;
  value?: T;
}

export type PollResult<T> =
  | { done: true; value: T | undefined; seen: string; polls: number; elapsedSeconds: number }
  | { done: false; lastSeen: string; polls: number };

/**
 * The waits' loop (ready gate, front-envoy address, operator Secrets): one bounded GET of `apiPath` per
 * `pollSeconds` until `judge` says done or the wait's time is up; a read that fails is tried again,
 * refused credentials (401, 403) throw `denied(message)` at once: they do not fix themselves.
 */
export async function pollObject<T>(access: KubeAccess, site: string, apiPath: string, s: PollSettings,
  judge: (object: unknown) => PollJudgement<T>, denied: (message: string) => string): Promise<PollResult<T>> {
  // Loading the client library takes seconds in a fresh provider process: not the wait's time.
  loadKubeConfig(access, site);
  const started = Date.now();
  const deadline = started + s.timeoutSeconds * 1000;
  let lastSeen = "no answer from the API server yet";
  let polls = 0;
  while (Date.now() < deadline) {
    polls++;
    try {
      const r = await kubeGet(access, site, apiPath, Math.max(1000, Math.min(s.requestTimeoutSeconds * 1000, deadline - Date.now())));
      const j = judge(r.found ? r.object : undefined);
      lastSeen = j.seen;
      if (j.done) return { done: true, value: j.value, seen: j.seen, polls, elapsedSeconds: Math.round((Date.now() - started) / 100) / 10 };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof Error && e.name === KUBE_ACCESS_DENIED) throw new Error(denied(message));
      lastSeen = `the last read failed: ${message}`;
    }
    const pause = Math.min(s.pollSeconds * 1000, deadline - Date.now());
    if (pause > 0) await sleep(pause);
  }
  return { done: false, lastSeen, polls };
}

/**
 * kubeConfigFor, except that a parse error of inline contents (which may quote them) is not passed
 * on. Waits call it once before starting their clock: it loads the client library (seconds in a
 * fresh provider process) and fails at once on a kubeconfig that cannot work.
 */
export function loadKubeConfig(access: KubeAccess, site: string): ReturnType<typeof kubeConfigFor> {
  try {
    return kubeConfigFor(access, site);
  } catch (e) {
    if (access.kubeconfig && isInlineKubeconfig(access.kubeconfig) && !(e instanceof Error && e.message.startsWith(`site ${site}: kubeconfig has no context`))) {
      throw new Error(`site ${site}: the kubeconfig contents (not shown) could not be loaded: ${e instanceof Error ? e.name : "error"}`);
    }
    throw e;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The `message` of a Kubernetes Status body, if the body is one. */
function statusMessage(body: string): string | undefined {
  const parsed = parseJson(body);
  if (typeof parsed === "object" && parsed !== null && (parsed as Record<string, unknown>)["kind"] === "Status") {
    const m = (parsed as Record<string, unknown>)["message"];
    return typeof m === "string" ? m.slice(0, 300) : undefined;
  }
  return undefined;
}
