// One bounded request to a Kubernetes API (a GET, or a merge PATCH), for dynamic providers and the read-only commands.
// Plain node:https with the options @kubernetes/client-node derives from the kubeconfig
// (`KubeConfig.applyToHTTPSOptions`: CA, client certificate, bearer token or exec credentials, proxy
// agent), so a request that hangs is destroyed at its deadline instead of lingering in the
// provider process, and the body stays the API's JSON (the shape lib/readyGate.ts and
// lib/frontAddress.ts read). Nothing here prints a credential: messages carry the site, the
// path, the HTTP status and the API server's own Status message.
import type * as https from "node:https";
import { isInlineKubeconfig, kubeConfigFor, withTimeout, type KubeAccess } from "./kubeAccess";

export type KubeGetResult = { found: true; object: unknown } | { found: false };

/** An API answer that retrying will not change (401, 403): callers stop polling on it. */
export class KubeAccessDenied extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeAccessDenied";
  }
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
  /** The TSB ManagementPlane CR (install.tetrate.io/v1alpha1; lib/names.ts MANAGEMENT_PLANE_CR). */
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
  if (status === 401) throw new KubeAccessDenied(`${what}: the credentials of the site's kubeconfig were refused; check its user or token (sites.${site}.kubeconfig / kubeconfigs.${site}, context ${access.context ?? "current"})`);
  if (status === 403) throw new KubeAccessDenied(`${what}: the kubeconfig's user may not ${method === "GET" ? "read" : "change"} this object; grant it ${method === "GET" ? "get" : "patch"} on it`);
  throw new Error(what);
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
