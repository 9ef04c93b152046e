// A stand-in Kubernetes API server for tests: HTTPS on 127.0.0.1 with a certificate from a real CA
// (made with the openssl CLI), a bearer token, and a kubeconfig file that points at it
// (certificate-authority-data, token), so code under test loads it exactly as it loads a user's.
// The objects live in a mutable in-memory store: a test changes them while a provider process
// polls (absent -> created -> ready). Faults can be injected (hang, 5xx).
//
// What it mirrors of the real API server (kubernetes/apimachinery, metav1.Status; k8s.io/apiserver
// responsewriters): a missing object is HTTP 404 with a Status body
//   {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
//    "message":"deployments.apps \"tsb\" not found","reason":"NotFound",
//    "details":{"name":"tsb","group":"apps","kind":"deployments"},"code":404}
// a wrong token is 401 reason "Unauthorized"; an unknown path is 404 "the server could not find
// the requested resource". Served: GET of one object and LIST (with an equality-based
// `?labelSelector=`, answered in the API's List shape `{kind: "<Kind>List", items}`; like the real
// server, built-in items carry no kind/apiVersion) of deployments (apps/v1), services, secrets and
// serviceaccounts (v1) and managementplanes (install.tetrate.io/v1alpha1) in any namespace; GET of
// cluster-scoped clusterroles/clusterrolebindings (rbac.authorization.k8s.io/v1) and
// customresourcedefinitions (apiextensions.k8s.io/v1); POST selfsubjectaccessreviews (authorization.k8s.io/v1).
// Also pods (v1) and statefulsets (apps/v1); PATCH of any namespaced object (test/harness/kubePatch.ts);
// DELETE of a pod; the pods/exec WebSocket (test/harness/fakeKubeExec.ts). API writes are reported to
// `onChange` listeners: the stand-in controllers and kubelet of test/harness/kubegresSites.ts.
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PATCH_TYPES, PatchError, applyPatch, type PatchType } from "./kubePatch";
import { refuseUpgrade, serveExec, type ExecHandler } from "./fakeKubeExec";
import { randomValue } from "./registrationDump";

export type { ExecHandler, ExecResult } from "./fakeKubeExec";

export type Kind = "deployments" | "statefulsets" | "pods" | "services" | "secrets" | "serviceaccounts" | "managementplanes"
  | "clusterroles" | "clusterrolebindings" | "customresourcedefinitions";

const GROUPS: Record<Kind, { prefix: string; group: string; kind: string; apiVersion: string; clusterScoped?: true; custom?: true }> = {
  deployments: { prefix: "/apis/apps/v1", group: "apps", kind: "Deployment", apiVersion: "apps/v1" },
  statefulsets: { prefix: "/apis/apps/v1", group: "apps", kind: "StatefulSet", apiVersion: "apps/v1" },
  pods: { prefix: "/api/v1", group: "", kind: "Pod", apiVersion: "v1" },
  services: { prefix: "/api/v1", group: "", kind: "Service", apiVersion: "v1" },
  secrets: { prefix: "/api/v1", group: "", kind: "Secret", apiVersion: "v1" },
  serviceaccounts: { prefix: "/api/v1", group: "", kind: "ServiceAccount", apiVersion: "v1" },
  managementplanes: { prefix: "/apis/install.tetrate.io/v1alpha1", group: "install.tetrate.io", kind: "ManagementPlane", apiVersion: "install.tetrate.io/v1alpha1", custom: true },
  clusterroles: { prefix: "/apis/rbac.authorization.k8s.io/v1", group: "rbac.authorization.k8s.io", kind: "ClusterRole", apiVersion: "rbac.authorization.k8s.io/v1", clusterScoped: true },
  clusterrolebindings: { prefix: "/apis/rbac.authorization.k8s.io/v1", group: "rbac.authorization.k8s.io", kind: "ClusterRoleBinding", apiVersion: "rbac.authorization.k8s.io/v1", clusterScoped: true },
  customresourcedefinitions: { prefix: "/apis/apiextensions.k8s.io/v1", group: "apiextensions.k8s.io", kind: "CustomResourceDefinition", apiVersion: "apiextensions.k8s.io/v1", clusterScoped: true },
};

/** What the next matching requests get instead of a normal answer ("reset": the connection is dropped, as by an unreachable host). */
export type Fault = { kind: "hang" } | { kind: "reset" } | { kind: "status"; code: number; message?: string };

/** A write through the API (not through `set`): what a controller or the kubelet would watch. */
export interface ApiChange {
  verb: "patch" | "delete";
  kind: Kind;
  namespace: string;
  name: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorized: boolean;
}

export interface FakeKubeApiOptions {
  /** Context name in the kubeconfig (default "fake"). */
  context?: string;
}

export class FakeKubeApi {
  /** Path of a kubeconfig whose context reaches this server. */
  public kubeconfigPath = "";
  /** The same kubeconfig's text (as a secret `kubeconfigs.<site>` value would hold it). */
  public kubeconfigText = "";
  public readonly context: string;
  public readonly token = randomValue(randomBytes(16).toString("hex"), "stand-in API token");
  /** Every request, in order. */
  public readonly requests: RecordedRequest[] = [];
  /** The CA that signed the server's certificate (PEM). */
  public caPem = "";
  /** SelfSubjectAccessReview answers by `verb resource name` (default allowed). */
  public readonly accessDenied = new Set<string>();
  /** Runs the commands of pods/exec (none: every exec ends in an InternalError status). */
  public execHandler?: ExecHandler;
  private readonly listeners: Array<(c: ApiChange) => void> = [];
  /** Sockets taken over by an upgrade: the HTTP server no longer closes them. */
  private readonly upgraded = new Set<Duplex>();
  private readonly store = new Map<string, Record<string, unknown>>();
  private faults: Array<{ fault: Fault; remaining: number; match?: RegExp }> = [];
  private server?: Server;
  private readonly dir: string;

  private constructor(opts: FakeKubeApiOptions) {
    this.context = opts.context ?? "fake";
    this.dir = mkdtempSync(path.join(tmpdir(), "fake-kube-"));
  }

  static async start(opts: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(opts);
    await api.listen();
    return api;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  /**
   * Puts (or with `undefined`, removes) an object; fills apiVersion, kind, name, namespace, uid.
   * Cluster-scoped kinds ignore `namespace` (pass "").
   */
  set(kind: Kind, namespace: string, name: string, obj: Record<string, unknown> | undefined): void {
    const g = GROUPS[kind];
    const ns = g.clusterScoped ? "" : namespace;
    const key = `${kind}/${ns}/${name}`;
    if (obj === undefined) {
      this.store.delete(key);
      return;
    }
    const previous = this.store.get(key);
    const prevUid = (previous?.["metadata"] as Record<string, unknown> | undefined)?.["uid"];
    const metadata = (obj["metadata"] as Record<string, unknown> | undefined) ?? {};
    this.store.set(key, {
      apiVersion: g.apiVersion,
      kind: g.kind,
      ...obj,
      metadata: { name, ...(g.clusterScoped ? {} : { namespace }), uid: typeof prevUid === "string" ? prevUid : randomValue(randomUUID(), "stand-in API uid"), ...metadata },
    });
  }

  get(kind: Kind, namespace: string, name: string): Record<string, unknown> | undefined {
    return this.store.get(`${kind}/${GROUPS[kind].clusterScoped ? "" : namespace}/${name}`);
  }

  /** The objects of a kind in a namespace (all namespaces for cluster-scoped kinds), in insertion order. */
  list(kind: Kind, namespace: string): Array<Record<string, unknown>> {
    const prefix = `${kind}/${GROUPS[kind].clusterScoped ? "" : namespace}/`;
    return [...this.store.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  }

  /** The next `count` requests (whose path matches `match`, if given) get `fault`. */
  inject(fault: Fault, count = Number.POSITIVE_INFINITY, match?: RegExp): void {
    this.faults.push({ fault, remaining: count, ...(match ? { match } : {}) });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Calls `listener` after each PATCH and pod DELETE, once the object is stored (before the answer is sent). */
  onChange(listener: (c: ApiChange) => void): void {
    this.listeners.push(listener);
  }

  /** Requests for a path containing `part` (GETs of one object, say). */
  count(part: string): number {
    return this.requests.filter((r) => r.path.includes(part)).length;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      for (const s of this.upgraded) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async listen(): Promise<void> {
    const { caPem, certPem, keyPem } = makeCertificates(this.dir);
    this.caPem = caPem;
    this.server = createServer({ cert: certPem, key: keyPem }, (req, res) => this.handle(req, res));
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    this.kubeconfigText = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: fake-cluster",
      "  cluster:",
      `    server: ${this.url}`,
      `    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`,
      "users:",
      "- name: fake-user",
      "  user:",
      `    token: ${this.token}`,
      "contexts:",
      `- name: ${this.context}`,
      "  context:",
      "    cluster: fake-cluster",
      "    user: fake-user",
      `current-context: ${this.context}`,
      "",
    ].join("\n");
    this.kubeconfigPath = path.join(this.dir, "kubeconfig");
    writeFileSync(this.kubeconfigPath, this.kubeconfigText, { mode: 0o600 });
  }

  /** Records the request and applies faults and auth; undefined once it has been answered. */
  private admit(req: IncomingMessage, answer: (code: number, body: unknown) => void, drop: () => void): URL | undefined {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const authorized = req.headers.authorization === `Bearer ${this.token}`;
    this.requests.push({ method: req.method ?? "", path: url.pathname, authorized });
    const fault = this.takeFault(url.pathname);
    if (fault?.kind === "hang") return undefined; // never answers; close() destroys the socket
    if (fault?.kind === "reset") return void drop();
    if (fault?.kind === "status") return void answer(fault.code, status(fault.code, statusReason(fault.code), fault.message ?? "injected fault"));
    if (!authorized) return void answer(401, status(401, "Unauthorized", "Unauthorized"));
    return url;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = this.admit(req, (code, body) => send(res, code, body), () => req.socket.destroy());
    if (!url) return;
    if (req.method === "POST" && url.pathname === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
      return void readBody(req).then((body) => this.accessReview(body, res));
    }
    const route = this.route(url.pathname);
    if (!route) return send(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
    if (route.subresource === "exec" && route.kind === "pods") return send(res, 400, status(400, "BadRequest", "Upgrade request required"));
    if (route.subresource !== undefined) return send(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
    if (req.method === "PATCH" && route.name !== undefined) return void readBody(req).then((body) => this.patch(req, res, route.kind, route.ns, route.name!, body));
    if (req.method === "DELETE" && route.kind === "pods" && route.name !== undefined) return void readBody(req).then((body) => this.deletePod(res, url, route.ns, route.name!, body));
    if (req.method !== "GET") return send(res, 405, status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
    const { kind, ns, name } = route;
    const g = GROUPS[kind];
    if (name === undefined) {
      const selector = parseLabelSelector(url.searchParams.get("labelSelector") ?? "");
      if (!selector) return send(res, 400, status(400, "BadRequest", `unable to parse requirement: ${url.searchParams.get("labelSelector") ?? ""}`));
      const items = this.list(kind, ns)
        .filter((o) => selector(((o["metadata"] as Record<string, unknown> | undefined)?.["labels"] ?? {}) as Record<string, string>))
        .map((o) => (g.custom ? o : Object.fromEntries(Object.entries(o).filter(([k]) => k !== "kind" && k !== "apiVersion"))));
      return send(res, 200, { kind: `${g.kind}List`, apiVersion: g.apiVersion, metadata: { resourceVersion: "1" }, items });
    }
    const obj = this.get(kind, ns, name);
    if (!obj) return send(res, 404, notFound(kind, name));
    send(res, 200, obj);
  }

  /**
   * PATCH: the patched object, 404 for a missing one, 400/422 for a bad patch, 415 for another
   * content type. Like the API server's update strategies, it keeps status (the status subresource
   * owns it) and identity, and bumps metadata.generation when spec changed.
   */
  private patch(req: IncomingMessage, res: ServerResponse, kind: Kind, ns: string, name: string, body: string): void {
    const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (!(PATCH_TYPES as readonly string[]).includes(type)) {
      return send(res, 415, status(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(", ")}`));
    }
    const before = this.get(kind, ns, name);
    if (!before) return send(res, 404, notFound(kind, name));
    let patched: Record<string, unknown>;
    try {
      patched = applyPatch(type as PatchType, before, body);
    } catch (e) {
      if (!(e instanceof PatchError)) throw e;
      return send(res, e.code, { ...status(e.code, e.code === 400 ? "BadRequest" : "Invalid", e.message), ...(e.code === 422 ? { details: {} } : {}) });
    }
    const meta = { ...(patched["metadata"] as Record<string, unknown>), ...pick(before["metadata"] as Record<string, unknown>, ["name", "namespace", "uid", "generation", "deletionTimestamp"]) };
    const specChanged = JSON.stringify(patched["spec"]) !== JSON.stringify(before["spec"]);
    if (specChanged && typeof meta["generation"] === "number") meta["generation"] += 1;
    const after = { ...patched, metadata: meta, ...("status" in before ? { status: before["status"] } : {}) };
    this.store.set(`${kind}/${GROUPS[kind].clusterScoped ? "" : ns}/${name}`, after);
    this.notify({ verb: "patch", kind, namespace: ns, name, before, after });
    send(res, 200, after);
  }

  /**
   * Graceful pod deletion: the pod stays, with deletionTimestamp and deletionGracePeriodSeconds
   * (request's gracePeriodSeconds, else spec.terminationGracePeriodSeconds, else 30), and is returned;
   * the kubelet (an onChange listener) stops it and removes it. Nothing removes it without one.
   */
  private deletePod(res: ServerResponse, url: URL, ns: string, name: string, body: string): void {
    const before = this.get("pods", ns, name);
    if (!before) return send(res, 404, notFound("pods", name));
    const meta = before["metadata"] as Record<string, unknown>;
    if (meta["deletionTimestamp"] !== undefined) return send(res, 200, before);
    let options: Record<string, unknown> = {};
    try {
      options = body.trim() === "" ? {} : (JSON.parse(body) as Record<string, unknown>);
    } catch {
      return send(res, 400, status(400, "BadRequest", "invalid DeleteOptions"));
    }
    const spec = (before["spec"] ?? {}) as Record<string, unknown>;
    const grace = Number(url.searchParams.get("gracePeriodSeconds") ?? options["gracePeriodSeconds"] ?? spec["terminationGracePeriodSeconds"] ?? 30);
    const deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    const after = { ...before, metadata: { ...meta, deletionTimestamp, deletionGracePeriodSeconds: grace } };
    this.store.set(`pods/${ns}/${name}`, after);
    this.notify({ verb: "delete", kind: "pods", namespace: ns, name, before, after });
    send(res, 200, after);
  }

  private notify(change: ApiChange): void {
    for (const l of this.listeners) l(change);
  }

  /** pods/exec over a WebSocket (fakeKubeExec.ts); anything else that asks to upgrade is refused. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgraded.add(socket);
    socket.once("close", () => this.upgraded.delete(socket));
    const url = this.admit(req, (code, body) => refuseUpgrade(socket, code, body), () => socket.destroy());
    if (!url) return;
    const route = this.route(url.pathname);
    if (route?.kind !== "pods" || route.subresource !== "exec" || route.name === undefined) {
      return refuseUpgrade(socket, 404, status(404, "NotFound", "the server could not find the requested resource"));
    }
    const pod = this.get("pods", route.ns, route.name);
    if (!pod) return refuseUpgrade(socket, 404, notFound("pods", route.name));
    const containers = (((pod["spec"] as Record<string, unknown> | undefined)?.["containers"] ?? []) as Array<{ name: string }>).map((c) => c.name);
    const container = url.searchParams.get("container") || (containers.length === 1 ? containers[0]! : "");
    if (!containers.includes(container)) {
      return refuseUpgrade(socket, 400, status(400, "BadRequest", `container ${container} is not valid for pod ${route.name}`));
    }
    const target = { namespace: route.ns, pod: route.name, container };
    if (!serveExec(req, socket, head, target, url.searchParams.getAll("command"), this.execHandler)) {
      refuseUpgrade(socket, 400, status(400, "BadRequest", "requested protocol(s) are not supported: FakeKubeApi serves v5.channel.k8s.io only"));
    }
  }

  /** `<prefix>/namespaces/<ns>/<plural>[/<name>[/<subresource>]]` or, for cluster-scoped kinds, `<prefix>/<plural>/<name>`. */
  private route(p: string): { kind: Kind; ns: string; name?: string; subresource?: string } | undefined {
    for (const [kind, g] of Object.entries(GROUPS) as Array<[Kind, (typeof GROUPS)[Kind]]>) {
      if (!p.startsWith(`${g.prefix}/`)) continue;
      const rest = p.slice(g.prefix.length + 1).split("/");
      if (g.clusterScoped) {
        if (rest.length === 2 && rest[0] === kind && rest[1]) return { kind, ns: "", name: rest[1] };
      } else if (rest[0] === "namespaces" && rest[1] && rest[2] === kind) {
        if (rest.length === 3) return { kind, ns: rest[1] };
        if (rest.length === 4 && rest[3]) return { kind, ns: rest[1], name: rest[3] };
        if (rest.length === 5 && rest[3] && rest[4]) return { kind, ns: rest[1], name: rest[3], subresource: rest[4] };
      }
    }
    return undefined;
  }

  private accessReview(text: string, res: ServerResponse): void {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return send(res, 400, status(400, "BadRequest", "invalid JSON"));
    }
    const attrs = ((body["spec"] as Record<string, unknown> | undefined)?.["resourceAttributes"] ?? {}) as Record<string, unknown>;
    const key = [attrs["verb"], attrs["resource"], attrs["name"]].filter((x) => typeof x === "string").join(" ");
    const allowed = !this.accessDenied.has(key);
    send(res, 201, { ...body, apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", status: { allowed, ...(allowed ? {} : { reason: "denied by FakeKubeApi" }) } });
  }

  private takeFault(p: string): Fault | undefined {
    const entry = this.faults.find((f) => f.remaining > 0 && (!f.match || f.match.test(p)));
    if (!entry) return undefined;
    entry.remaining -= 1;
    return entry.fault;
  }
}

/**
 * An equality-based label selector (`a=b,c==d,e!=f,g,!h`, as k8s.io/apimachinery labels.Parse reads
 * them; set-based `in`/`notin` are not needed here) as a predicate; undefined when it does not parse.
 */
function parseLabelSelector(text: string): ((labels: Record<string, string>) => boolean) | undefined {
  const tests: Array<(l: Record<string, string>) => boolean> = [];
  for (const raw of text.split(",").map((t) => t.trim()).filter((t) => t !== "")) {
    const m = /^(!?)([A-Za-z0-9._/-]+)(?:\s*(==|=|!=)\s*([A-Za-z0-9._-]*))?$/.exec(raw);
    if (!m) return undefined;
    const [, not, key, op, value] = m as unknown as [string, string, string, string | undefined, string | undefined];
    if (not && op) return undefined;
    if (!op) tests.push(not ? (l) => !(key in l) : (l) => key in l);
    else if (op === "!=") tests.push((l) => l[key] !== value);
    else tests.push((l) => l[key] === value);
  }
  return (labels) => tests.every((t) => t(labels));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

/** The API server's NotFound Status for one object. */
function notFound(kind: Kind, name: string): Record<string, unknown> {
  const g = GROUPS[kind];
  const resource = g.group ? `${kind}.${g.group}` : kind;
  return { ...status(404, "NotFound", `${resource} "${name}" not found`), details: { name, ...(g.group ? { group: g.group } : {}), kind } };
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

function statusReason(code: number): string {
  return ({ 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout" } as Record<number, string>)[code] ?? "Unknown";
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** A CA (CA:TRUE, keyCertSign) and a server certificate for 127.0.0.1/localhost signed by it. */
function makeCertificates(dir: string): { caPem: string; certPem: string; keyPem: string } {
  const f = (n: string): string => path.join(dir, n);
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  };
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.crt"),
    "-days", "1", "-subj", "/CN=fake-kube-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=kube-apiserver");
  writeFileSync(f("server.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-out", f("server.crt"), "-extfile", f("server.ext"));
  return { caPem: readFileSync(f("ca.crt"), "utf8"), certPem: readFileSync(f("server.crt"), "utf8"), keyPem: readFileSync(f("server.key"), "utf8") };
}

/** A Deployment as the API returns it, with the status fields the ready gate reads. */
export function fakeDeployment(s: {
  generation: number;
  observedGeneration?: number;
  specReplicas?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  uid?: string;
}): Record<string, unknown> {
  const ready = s.readyReplicas ?? 0;
  const available = s.availableReplicas ?? ready;
  return {
    metadata: { generation: s.generation, ...(s.uid ? { uid: s.uid } : {}), annotations: { "deployment.kubernetes.io/revision": String(s.generation) } },
    spec: { replicas: s.specReplicas ?? 1, selector: { matchLabels: { app: "tsb" } } },
    status: {
      observedGeneration: s.observedGeneration ?? s.generation,
      replicas: s.replicas ?? s.specReplicas ?? 1,
      updatedReplicas: s.updatedReplicas ?? 0,
      readyReplicas: ready,
      availableReplicas: available,
      conditions: [
        { type: "Available", status: available > 0 ? "True" : "False", reason: available > 0 ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable" },
      ],
    },
  };
}

/** A LoadBalancer Service, with ingress entries once the cloud gave it an address. */
export function fakeLoadBalancer(ingress: Array<{ ip?: string; hostname?: string }> = [], type = "LoadBalancer"): Record<string, unknown> {
  return {
    spec: { type, ports: [{ name: "https-ingress", port: 443, targetPort: 8443, protocol: "TCP" }] },
    status: { loadBalancer: ingress.length > 0 ? { ingress } : {} },
  };
}
