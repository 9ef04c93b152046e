// `npm run readiness -- [--target mp2] [--json] [--from-file stack.json] [--stack org/proj/stack]`
// Would a failover to each standby work now? Reads only; every call bounded (--timeout-seconds).
// Decisions: lib/oncall/readiness.ts (the failover's own rules). Exit: 0 all ready, 1 a check failed,
// 2 nothing failed but something could not be checked (or the stack could not be read).
// docs/status-and-readiness.md explains every line.
import * as path from "node:path";
import * as fs from "node:fs";
import { ACTIVE_ACCESS, TARGET_ACCESS, formatReadiness, readinessExitCode, targetReadiness, type ApiEvidence, type CertEvidence, type SiteAccessEvidence, type TargetEvidence, type TargetReadiness, type ToolingEvidence } from "../lib/oncall/readiness";
import { verifyTsbApi } from "../components/tsbApiVerification";
import { JWKS_SECRET, SIGNING_KEY_SECRET, STANDBY_SA_SECRET } from "../lib/config/names";
import type { KubeAccess } from "../lib/clients/kubeAccess";
import type { ReplicationProbe } from "../lib/gates/replication";
import {
  accessOf, accessReviews, errorText, parseArgs, podExecTransportFor, probeSite, providerReader, secretData, stackFromFile, stackFromPulumi, viewStack, walToolsOf, wantsHelp,
  type DnsRecordReader, type StackReader, type TransportFor,
} from "./onCall";

export interface ReadinessDeps {
  /** Default: --from-file, else the Automation API. */
  readStack?: StackReader;
  /** Default: psql through pod exec. */
  transportFor?: TransportFor;
  /** Default: by tsb-ha:dns.provider (Cloudflare with CLOUDFLARE_API_TOKEN; Route53 could-not-check). */
  dnsReader?: DnsRecordReader;
  now?: () => Date;
}

export interface CommandResult {
  exitCode: 0 | 1 | 2;
  output: string;
  targets?: TargetReadiness[];
}

const USAGE = "Usage: npm run readiness -- [--target <site>]... [--json] [--from-file <stack.json> | --stack <name>] [--cwd <dir>] " +
  "[--min-days 30] [--timeout-seconds 10] [--tsb-address <site>=<host>] [--min-pulumi-version x.y.z] [--help]";
const HELP = [
  USAGE,
  "Would a failover to each standby (or each --target) work now? Reads only; every call is bounded by --timeout-seconds.",
  "Exit: 0 every target ready, 1 a check failed, 2 nothing failed but something could not be checked (or the stack could not be read). docs/status-and-readiness.md explains every line.",
].join("\n");

/** The SDK version the program is built with: a CLI older than its SDK may ignore options it sends (replacementTrigger). */
export function sdkVersion(): string {
  const dir = path.dirname(require.resolve("@pulumi/pulumi"));
  return (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version;
}

interface SiteReads {
  access: SiteAccessEvidence;
  signingKey?: Record<string, string>;
  jwks?: Record<string, string>;
  standbySa?: boolean;
  certs: CertEvidence[];
  secretsError?: string;
  probe?: ReplicationProbe | { error: string };
  walTools?: { ok: boolean; detail: string };
}

async function readSite(site: string, access: KubeAccess, role: "active" | "target", transportFor: TransportFor, timeoutMs: number): Promise<SiteReads> {
  let signingKey: Record<string, string> | undefined;
  try {
    // The first read doubles as the reachability check (connect, TLS, credentials).
    signingKey = await secretData(access, site, SIGNING_KEY_SECRET, timeoutMs);
  } catch (e) {
    const error = errorText(e);
    return { access: { reachable: false, error }, certs: [], secretsError: `${site} unreachable: ${error}`, probe: { error: `${site} unreachable` } };
  }
  const [reviews, probe, walTools, rest] = await Promise.all([
    accessReviews(access, site, role === "target" ? TARGET_ACCESS : ACTIVE_ACCESS, timeoutMs),
    probeSite(transportFor, site, access, timeoutMs),
    role === "target" ? walToolsOf(transportFor, site, access, timeoutMs) : Promise.resolve(undefined),
    (async () => {
      if (role === "active") return {};
      const [jwks, sa, tsbCerts, xcp] = await Promise.all([
        secretData(access, site, JWKS_SECRET, timeoutMs),
        secretData(access, site, STANDBY_SA_SECRET, timeoutMs),
        certOf(access, site, "tsb-certs", timeoutMs),
        certOf(access, site, "xcp-central-cert", timeoutMs),
      ]);
      return { jwks, standbySa: sa !== undefined, certs: [tsbCerts, xcp] };
    })().catch((e: unknown) => ({ error: errorText(e) })),
  ]);
  const reads: SiteReads = { access: { reachable: true, reviews }, probe, certs: [], ...(walTools ? { walTools } : {}) };
  if (signingKey) reads.signingKey = signingKey;
  if ("error" in rest) reads.secretsError = rest.error;
  else {
    if (rest.jwks) reads.jwks = rest.jwks;
    if (rest.standbySa !== undefined) reads.standbySa = rest.standbySa;
    reads.certs = rest.certs ?? [];
  }
  return reads;
}

function secretsError(t: SiteReads, a: SiteReads, active: string): string | undefined {
  return t.secretsError ?? (a.access.reachable ? undefined : `the active ${active} is unreachable: ${a.access.error}`);
}

/** tls.crt of a chart certificate Secret (reference/tsb-facts.md: tsb-certs, xcp-central-cert). */
async function certOf(access: KubeAccess, site: string, secret: string, timeoutMs: number): Promise<CertEvidence> {
  try {
    const data = await secretData(access, site, secret, timeoutMs);
    const b64 = data?.["tls.crt"];
    return b64 ? { secret, pem: Buffer.from(b64, "base64").toString("utf8") } : { secret };
  } catch (e) {
    return { secret, error: errorText(e) };
  }
}

export async function runReadiness(argv: readonly string[], deps: ReadinessDeps = {}): Promise<CommandResult> {
  if (wantsHelp(argv)) return { exitCode: 0, output: HELP };
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv, ["json"], ["target", "from-file", "stack", "cwd", "min-days", "timeout-seconds", "tsb-address", "min-pulumi-version"]);
  } catch (e) {
    return { exitCode: 2, output: `readiness: ${errorText(e)}\n${USAGE}` };
  }
  // Errors before any check ran: exit 2, as JSON too when asked (CI parses the output).
  const early = (message: string): CommandResult => ({ exitCode: 2, output: args["json"] ? JSON.stringify({ exitCode: 2, error: message, targets: [] }, null, 2) : message });
  const list = (k: string): string[] => (args[k] === undefined ? [] : ([] as string[]).concat(args[k] as string | string[]));
  const one = (k: string): string | undefined => list(k).at(-1);
  const timeoutMs = Number(one("timeout-seconds") ?? 10) * 1000;
  const minDays = Number(one("min-days") ?? 30);
  const now = deps.now ?? (() => new Date());
  const readStack = deps.readStack ?? (one("from-file") ? stackFromFile(one("from-file")!) : stackFromPulumi(one("cwd") ?? process.cwd(), one("stack"), Math.max(timeoutMs, 60_000)));

  let snapshot;
  let view;
  try {
    snapshot = await readStack();
    view = viewStack(snapshot);
  } catch (e) {
    return early(`readiness: could not read the stack: ${errorText(e)}`);
  }
  const { config } = view;
  const active = view.history?.activeSite ?? config.activeSite;
  const roleOf = (s: string): string => view.history?.sites[s]?.role ?? (s === config.activeSite ? "active" : config.sites.find((x) => x.name === s)?.state ?? "?");
  const standbys = config.sites.filter((s) => s.name !== active && roleOf(s.name) === "standby").map((s) => s.name);
  const targets = list("target").length > 0 ? list("target") : standbys;
  const unknown = targets.filter((t) => !config.sites.some((s) => s.name === t) || t === active);
  if (unknown.length > 0) return early(`readiness: ${unknown.join(", ")} is not a standby of this stack (standbys: ${standbys.join(", ") || "none"}; active: ${active})`);
  if (targets.length === 0) return early(`readiness: the stack has no standby to fail over to (active: ${active})`);

  const transportFor = deps.transportFor ?? podExecTransportFor;
  const fqdn = (s: string): string => config.sites.find((x) => x.name === s)!.fqdn;
  const addressOf = Object.fromEntries(list("tsb-address").map((x) => x.split("=", 2) as [string, string]));
  const probeSites = config.sites.filter((s) => roleOf(s.name) === "standby" || s.name === active).map((s) => s.name);

  const [reads, dns, api] = await Promise.all([
    Promise.all(probeSites.map(async (s) => [s, await readSite(s, accessOf(config, s), s === active ? "active" : "target", transportFor, timeoutMs)] as const)).then((e) => Object.fromEntries(e)),
    (deps.dnsReader ?? providerReader(config)).read(config.dns.zoneId, config.floatingFqdn, timeoutMs).catch((e: unknown) => ({ status: "error" as const, reason: errorText(e) })),
    checkApi(view.rootCaPem, view.adminPassword, active, fqdn(active), config.tsb.frontEnvoyPort, config.tsb.organization, addressOf[active], timeoutMs),
  ]);

  const tooling: ToolingEvidence = {
    nodeVersion: process.versions.node,
    minPulumiVersion: one("min-pulumi-version") ?? sdkVersion(),
    rawConfig: view.raw,
    secretKeys: [...view.secretKeys],
    ...(snapshot.pulumiVersion ? { pulumiVersion: snapshot.pulumiVersion } : {}),
    ...(snapshot.updateInProgress === undefined ? {} : { updateInProgress: snapshot.updateInProgress }),
    ...(view.history ? { history: view.history } : {}),
  };
  const a = reads[active]!;
  const results = targets.map((target) => {
    const t = reads[target]!;
    const others = Object.fromEntries(standbys.filter((s) => s !== target).map((s) => [s, reads[s]?.probe ?? { error: "not probed" }]));
    const evidence: TargetEvidence = {
      target, active, activeFqdn: fqdn(active), targetFqdn: fqdn(target), floatingFqdn: config.floatingFqdn,
      access: { target: t.access, active: a.access },
      replication: { ...(t.probe ? { target: t.probe } : {}), ...(a.probe ? { active: a.probe } : {}), others, maxLostContactSeconds: view.limits.maxLostContactSeconds, ...(t.walTools ? { walTools: t.walTools } : {}) },
      secrets: {
        ...(t.signingKey ? { targetSigningKey: t.signingKey } : {}),
        ...(a.signingKey ? { activeSigningKey: a.signingKey } : {}),
        ...(t.jwks ? { targetJwks: t.jwks } : {}),
        ...(t.standbySa !== undefined ? { standbySaExists: t.standbySa } : {}),
        ...(secretsError(t, a, active) ? { error: secretsError(t, a, active)! } : {}),
      },
      certificates: { ...(view.rootCaPem ? { rootCaPem: view.rootCaPem } : {}), certs: t.access.reachable ? t.certs : [{ secret: "tsb-certs", error: `${target} unreachable` }, { secret: "xcp-central-cert", error: `${target} unreachable` }], minValidDays: minDays, now: now() },
      dns,
      configuredTtl: config.dns.ttl,
      api,
      tooling,
    };
    return targetReadiness(evidence);
  });
  const exitCode = readinessExitCode(results);
  const output = args["json"] ? JSON.stringify({ exitCode, active, targets: results }, null, 2) : formatReadiness(results);
  return { exitCode, output, targets: results };
}

/** The failover's API verification (components/tsbApiVerification.ts verifyTsbApi), one try, bounded. */
async function checkApi(rootCaPem: string | undefined, adminPassword: string | undefined, site: string, fqdn: string, port: number, organization: string, address: string | undefined, timeoutMs: number): Promise<ApiEvidence> {
  if (!rootCaPem || !adminPassword) return { ok: false, couldNotCheck: true, message: "the stack outputs rootCaCertPem and adminPassword are needed (pulumi stack output --show-secrets)" };
  try {
    const out = await verifyTsbApi({ site, fqdn, port, organization, rootCaPem, adminPassword, promotion: "readiness", ...(address ? { address } : {}), attempts: 1, timeoutSeconds: Math.max(1, Math.round(timeoutMs / 1000)) });
    return { ok: true, summary: String(out["summary"]) };
  } catch (e) {
    return { ok: false, message: errorText(e) };
  }
}

async function main(): Promise<void> {
  const r = await runReadiness(process.argv.slice(2));
  process.stdout.write(`${r.output}\n`);
  // Exit now: a bounded call that timed out may leave a socket or a CLI process behind.
  process.exit(r.exitCode);
}

if (require.main === module) void main();
