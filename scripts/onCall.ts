// The I/O shared by `status` and `readiness` (read-only; every call bounded by a timeout):
// - the stack: Pulumi's Automation API (LocalWorkspace, which runs the CLI's JSON commands:
//   `pulumi config --show-secrets --json`, `pulumi stack output --json [--show-secrets]`,
//   `pulumi stack ls --json`, `pulumi version`; @pulumi/pulumi automation/localWorkspace.js
//   getAllConfig, stackOutputs, listStacks, pulumiVersion), or a JSON file of the same shape
//   (`--from-file`, for tests and for a machine without the CLI);
// - a site's cluster: lib/clients/kubeRead.ts kubeGet (bounded GETs) and SelfSubjectAccessReviews through
//   @kubernetes/client-node 1.4.0 (AuthorizationV1Api), bounded by lib/clients/kubeAccess.ts withTimeout;
// - Postgres: the replication gate's probe (lib/gates/replicationProbe.ts) over lib/clients/podExec.ts;
// - DNS: node's dns module against a configurable resolver; the provider's record behind DnsRecordReader.
import type * as k8sClient from "@kubernetes/client-node";
import type { KubeAccess } from "../lib/clients/kubeAccess";
import { plainKubeAccess, withTimeout } from "../lib/clients/kubeAccess";
import { kubeGet, kubePaths, loadKubeConfig } from "../lib/clients/kubeRead";
import { parseConfig, type RawConfig, type SetConfig } from "../lib/config/config";
import { NAMESPACE } from "../lib/config/errors";
import { parseHistory, type SetHistory } from "../lib/plan/topology";
import { probeReplication } from "../lib/gates/replicationProbe";
import type { SiteDb, SqlTransport } from "../lib/clients/sqlTransport";
import { podExecTransport } from "../lib/clients/podExec";
import type { ReplicationProbe } from "../lib/gates/replication";
import type { NameAnswer } from "../lib/oncall/status";
import type { AccessNeed, DnsEvidence } from "../lib/oncall/readiness";
import { MANAGEMENT_PLANE_CR, TSB_NAMESPACE } from "../lib/config/names";

/** What the Automation API returns (ConfigMap, OutputMap), plus the CLI version and lock state. */
export interface StackSnapshot {
  stack?: string;
  /** Full keys ("tsb-ha:activeSite"); objects as JSON text, as `pulumi config --json` gives them. */
  config: Record<string, { value: string; secret?: boolean }>;
  outputs: Record<string, { value: unknown; secret: boolean }>;
  pulumiVersion?: string;
  /** `pulumi stack ls --json` updateInProgress; absent on backends that do not report it. */
  updateInProgress?: boolean;
}

export type StackReader = () => Promise<StackSnapshot>;

export function stackFromFile(path: string): StackReader {
  return () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require("node:fs") as typeof import("node:fs");
    const parsed = JSON.parse(fs.readFileSync(path, "utf8")) as Partial<StackSnapshot>;
    if (typeof parsed.config !== "object" || typeof parsed.outputs !== "object") {
      throw new Error(`${path}: expected {"config": {"tsb-ha:<key>": {"value", "secret"}}, "outputs": {"<name>": {"value", "secret"}}} (the Automation API's ConfigMap and OutputMap)`);
    }
    return Promise.resolve(parsed as StackSnapshot);
  };
}

/**
 * The Automation API against the project in `workDir` (needs the Pulumi CLI on PATH; untested on
 * the development machine, which has none). Each CLI call is bounded; a CLI process that outlives
 * its bound is left to finish (the command exits anyway).
 */
export function stackFromPulumi(workDir: string, stackName: string | undefined, timeoutMs: number): StackReader {
  return async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const auto = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
    const ws = await withTimeout(auto.LocalWorkspace.create({ workDir }), timeoutMs, "pulumi version").catch((e: unknown) => {
      throw new Error(/ENOENT/.test(errorText(e)) ? "the Pulumi CLI is not on PATH (install it: https://www.pulumi.com/docs/install/, or pass --from-file <stack.json>)" : errorText(e));
    });
    const stack = stackName ?? (await withTimeout(ws.stack(), timeoutMs, "pulumi stack (selected stack)"))?.name;
    if (!stack) throw new Error("no stack selected: pass --stack <org/project/stack> or run pulumi stack select");
    const config = await withTimeout(ws.getAllConfig(stack), timeoutMs, "pulumi config --json");
    const outputs = await withTimeout(ws.stackOutputs(stack), timeoutMs, "pulumi stack output --json");
    const list = await withTimeout(ws.listStacks(), timeoutMs, "pulumi stack ls --json");
    const short = stack.split("/").at(-1);
    const summary = list.find((s) => s.name === stack) ?? list.find((s) => s.name.split("/").at(-1) === short);
    return {
      stack,
      config,
      outputs,
      pulumiVersion: ws.pulumiVersion,
      ...(summary?.updateInProgress === undefined ? {} : { updateInProgress: summary.updateInProgress }),
    };
  };
}

/** The replication gate's limits: tsb-ha:replication.* when set, else the gate's documented defaults. */
export interface GateLimits {
  maxLostContactSeconds: number;
  catchUpTimeoutSeconds: number;
}

/** components/replicationGate.ts ReplicationGateLimits documents these defaults (300 s, 120 s). */
export const DEFAULT_GATE_LIMITS: GateLimits = { maxLostContactSeconds: 300, catchUpTimeoutSeconds: 120 };

export interface StackView {
  raw: RawConfig;
  secretKeys: Set<string>;
  config: SetConfig;
  history: SetHistory | undefined;
  rootCaPem?: string;
  adminPassword?: string;
  limits: GateLimits;
}

/** Strips the namespace, validates with the program's own parseConfig, reads history with its parseHistory. */
export function viewStack(s: StackSnapshot): StackView {
  const raw: RawConfig = {};
  const secretKeys = new Set<string>();
  for (const [k, v] of Object.entries(s.config)) {
    if (!k.startsWith(`${NAMESPACE}:`)) continue;
    const key = k.slice(NAMESPACE.length + 1);
    raw[key] = v.value;
    if (v.secret === true) secretKeys.add(key);
  }
  // The gate's limits, when the stack sets them (the program's parseConfig judges the key itself).
  const limits = { ...DEFAULT_GATE_LIMITS };
  if (raw["replication"] !== undefined) {
    const r = JSON.parse(raw["replication"]) as Record<string, unknown>;
    if (typeof r["maxLostContactSeconds"] === "number") limits.maxLostContactSeconds = r["maxLostContactSeconds"];
    if (typeof r["catchUpTimeoutSeconds"] === "number") limits.catchUpTimeoutSeconds = r["catchUpTimeoutSeconds"];
  }
  const { config } = parseConfig(raw, secretKeys);
  const out = (name: string): unknown => s.outputs[name]?.value;
  const view: StackView = { raw, secretKeys, config, history: parseHistory(out("history")), limits };
  if (typeof out("rootCaCertPem") === "string") view.rootCaPem = out("rootCaCertPem") as string;
  if (typeof out("adminPassword") === "string") view.adminPassword = out("adminPassword") as string;
  return view;
}

export function accessOf(config: SetConfig, site: string): KubeAccess {
  return plainKubeAccess(config.sites.find((x) => x.name === site));
}

/** GET one object; "missing" on 404; throws on anything else (message names site and path, no credential). */
export async function getObject(access: KubeAccess, site: string, path: string, timeoutMs: number): Promise<Record<string, unknown> | "missing"> {
  const r = await kubeGet(access, site, path, timeoutMs);
  return r.found ? ((r.object ?? {}) as Record<string, unknown>) : "missing";
}

/** The data of a Secret in the TSB namespace; undefined when it does not exist. */
export async function secretData(access: KubeAccess, site: string, name: string, timeoutMs: number): Promise<Record<string, string> | undefined> {
  const o = await getObject(access, site, kubePaths.secret(TSB_NAMESPACE, name), timeoutMs);
  if (o === "missing") return undefined;
  return (o["data"] ?? {}) as Record<string, string>;
}

/** The ManagementPlane CR the chart renders (reference/tsb-facts.md: install.tetrate.io/v1alpha1, `managementplane` in `tsb`). */
export const MANAGEMENT_PLANE_PATH = kubePaths.managementPlane(TSB_NAMESPACE, MANAGEMENT_PLANE_CR);

/** One SelfSubjectAccessReview per need, in the TSB namespace, each bounded. */
export async function accessReviews(access: KubeAccess, site: string, needs: readonly AccessNeed[], timeoutMs: number): Promise<{ need: AccessNeed; allowed?: boolean; error?: string }[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const k8s = require("@kubernetes/client-node") as typeof k8sClient;
  const api = loadKubeConfig(access, site).makeApiClient(k8s.AuthorizationV1Api);
  return Promise.all(needs.map(async (need) => {
    try {
      const review = await withTimeout(api.createSelfSubjectAccessReview({
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { namespace: TSB_NAMESPACE, verb: need.verb, group: need.group, resource: need.resource, ...(need.subresource ? { subresource: need.subresource } : {}) } },
        },
      }), timeoutMs, `site ${site}: SelfSubjectAccessReview`);
      return { need, allowed: review.status?.allowed === true };
    } catch (e) {
      return { need, error: errorText(e) };
    }
  }));
}

/** How to reach a site's Postgres: production = psql (and a shell) through pod exec; tests inject a direct connection. */
export type TransportFor = (site: string, access: KubeAccess) => Promise<SqlTransport & Partial<Pick<SiteDb, "shell" | "where">>>;

export const podExecTransportFor: TransportFor = (site, access) => podExecTransport(access, site);

export async function probeSite(transportFor: TransportFor, site: string, access: KubeAccess, timeoutMs: number): Promise<ReplicationProbe | { error: string }> {
  try {
    return await withTimeout(transportFor(site, access).then(probeReplication), timeoutMs, `site ${site}: replication probe`);
  } catch (e) {
    return { error: errorText(e) };
  }
}

/** Whether the site's Postgres container has pg_waldump, which the gate runs there; undefined when the transport has no shell. */
export async function walToolsOf(transportFor: TransportFor, site: string, access: KubeAccess, timeoutMs: number): Promise<{ ok: boolean; detail: string } | undefined> {
  try {
    const t = await withTimeout(transportFor(site, access), timeoutMs, `site ${site}: Postgres pod`);
    if (!t.shell) return undefined;
    const r = await withTimeout(t.shell("command -v pg_waldump && pg_waldump --version"), timeoutMs, `site ${site}: pg_waldump check`);
    const out = r.stdout.trim().split("\n").join(", ");
    return r.exitCode === 0 ? { ok: true, detail: out } : { ok: false, detail: `no pg_waldump on PATH in ${t.where ?? site} (exit ${r.exitCode ?? "?"})` };
  } catch (e) {
    return { ok: false, detail: `could not run a shell in ${site}'s Postgres pod: ${errorText(e)}` };
  }
}

/** A resolver's answer for one name (CNAME, else addresses). */
export type NameResolver = (name: string) => Promise<NameAnswer>;

/** node:dns against one server (e.g. 1.1.1.1), one try, bounded. */
export function dnsResolver(server: string, timeoutMs: number): NameResolver {
  return async (name) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dns = require("node:dns") as typeof import("node:dns");
    const r = new dns.promises.Resolver({ timeout: timeoutMs, tries: 1 });
    r.setServers([server]);
    const cname = await r.resolveCname(name).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENODATA" || e.code === "ENOTFOUND") return [] as string[];
      throw e;
    });
    if (cname[0]) return { cname: cname[0] };
    const a = await r.resolve4(name, { ttl: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENODATA" || e.code === "ENOTFOUND") return [];
      throw e;
    });
    return { addresses: a.map((x) => x.address), ...(a[0] ? { ttl: a[0].ttl } : {}) };
  };
}

/** The DNS provider's view of one record. Implementations: Cloudflare (below); Route53: not here. */
export interface DnsRecordReader {
  read(zoneId: string, name: string, timeoutMs: number): Promise<DnsEvidence>;
}

/**
 * Cloudflare API v4 (developers.cloudflare.com/api: "List DNS Records" GET
 * /zones/{zone_id}/dns_records?name=..., "Verify Token" GET /user/tokens/verify; Bearer token).
 * [guess] edit rights: the API offers no dry-run edit; canEdit stays unknown (not reported).
 * Untested here (no internet).
 */
export function cloudflareReader(token: string | undefined): DnsRecordReader {
  return {
    async read(zoneId, name, timeoutMs) {
      if (!token) return { status: "no-credentials", reason: "no Cloudflare token (CLOUDFLARE_API_TOKEN)" };
      const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
        const res = await fetch(`https://api.cloudflare.com/client/v4${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
        return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
      };
      try {
        const list = await get(`/zones/${encodeURIComponent(zoneId)}/dns_records?name=${encodeURIComponent(name)}`);
        if (list.status === 401 || list.status === 403) return { status: "read", zoneReadable: false };
        if (list.status !== 200) return { status: "error", reason: `Cloudflare answered ${list.status}` };
        const rec = (list.body["result"] as Record<string, unknown>[] | undefined)?.[0];
        return {
          status: "read",
          zoneReadable: true,
          ...(rec ? { record: { type: String(rec["type"]), value: String(rec["content"]), ttl: Number(rec["ttl"]) } } : {}),
        };
      } catch (e) {
        return { status: "error", reason: `Cloudflare API: ${errorText(e)}` };
      }
    },
  };
}

/** Route53 needs AWS SigV4 signing (no AWS SDK in this project): reported as could-not-check. */
export const route53Reader: DnsRecordReader = {
  read: () => Promise.resolve({ status: "no-credentials", reason: "Route53 reading is not implemented in this command (it needs the AWS SDK); check with: aws route53 list-resource-record-sets --hosted-zone-id <zoneId>" }),
};

export function providerReader(config: SetConfig): DnsRecordReader {
  return config.dns.provider === "cloudflare" ? cloudflareReader(process.env["CLOUDFLARE_API_TOKEN"]) : route53Reader;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `--help` or `-h` anywhere: the command prints its usage and exits 0, as command-line tools do. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === "--help" || a === "-h");
}

/** `--name value` and `--flag` options; positional arguments refused. */
export function parseArgs(argv: readonly string[], flags: readonly string[], valued: readonly string[]): Record<string, string | true | string[]> {
  const out: Record<string, string | true | string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.replace(/^--/, "");
    if (flags.includes(name)) out[name] = true;
    else if (valued.includes(name)) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      const prev = out[name];
      out[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    } else throw new Error(`unknown argument ${a} (options: ${[...flags, ...valued].map((f) => `--${f}`).join(", ")})`);
  }
  return out;
}
