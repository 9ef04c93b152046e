// `readiness` (issue 14): would a failover to each standby work now? Pure: the gatherer
// (scripts/readiness.ts) records evidence per target; this file turns it into checks with
// pass / fail / could-not-check, a reason and a fix, using the failover's own rules:
// - replication: lib/gates/replication.ts standbyStanding (streaming on the active's timeline, the fenced
//   catch-up on the one position the gate compares, the lost-active rule with the gate's limit) and
//   mostAdvancedCheck (the gate's "another standby is ahead"), on the probe of lib/gates/replicationProbe.ts;
// - secrets: lib/gates/preflight.ts preflightProblem (the failover's preflight);
// - certificates: lib/plan/certs.ts siteCertSpecs (the names each leaf must carry);
// - TSB API: lib/gates/tsbVerify.ts decideApiVerification, through components/tsbApiVerification.ts verifyTsbApi;
// - tooling: lib/config/config.ts parseConfig + lib/plan/topology.ts planSet on the config of that failover.
import { X509Certificate } from "node:crypto";
import { siteCertSpecs } from "../plan/certs";
import { parseConfig, type RawConfig } from "../config/config";
import { preflightProblem } from "../gates/preflight";
import { mostAdvancedCheck, standbyStanding, type ReplicationProbe } from "../gates/replication";
import { normalizeName } from "./siteFacts";
import { planSet, type SetHistory } from "../plan/topology";
import { textTable } from "./textTable";
import { TSB_NAMESPACE } from "../config/names";

export type CheckStatus = "pass" | "fail" | "could-not-check";
export type Area = "cluster access" | "replication" | "secrets" | "certificates" | "dns" | "tsb api" | "tooling";

export interface Check {
  area: Area;
  name: string;
  status: CheckStatus;
  reason: string;
  /** What to do when it did not pass. */
  fix?: string;
}

/** One SelfSubjectAccessReview the failover needs answered "allowed" on a site. */
export interface AccessNeed {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** Why the failover needs it. */
  why: string;
}

/**
 * On the target (the new active): the promotion upgrades its Helm release (Helm 3 keeps releases as
 * Secrets `sh.helm.release.v1.<release>.v<n>` in the release namespace: it lists, creates a new one
 * and updates the previous one's status), copies secrets, the ready gate reads deployments, the
 * replication gate lists pods and execs psql.
 */
export const TARGET_ACCESS: readonly AccessNeed[] = [
  { verb: "patch", group: "apps", resource: "deployments", why: "the promotion's release and the ready gate" },
  { verb: "get", group: "apps", resource: "deployments", why: "the ready gate" },
  { verb: "get", group: "", resource: "secrets", why: "the preflight reads iam-signing-key and tsb-iam-jwks" },
  { verb: "create", group: "", resource: "secrets", why: "Helm's new release Secret and the program's copies" },
  { verb: "update", group: "", resource: "secrets", why: "Helm marks the previous release Secret superseded; copied secrets" },
  { verb: "list", group: "", resource: "secrets", why: "Helm finds the release's history" },
  { verb: "list", group: "", resource: "pods", why: "the replication gate finds the Postgres pod" },
  { verb: "create", group: "", resource: "pods", subresource: "exec", why: "the replication gate runs psql and pg_waldump in the Postgres pod" },
];

/** On the current active (fenced by the failover): the fence patches deployments, the gate reads its position and stops its database. */
export const ACTIVE_ACCESS: readonly AccessNeed[] = [
  { verb: "patch", group: "apps", resource: "deployments", why: "the fence scales operator, tsb, iam, later envoy, and the gate the kubegres controller to 0" },
  { verb: "get", group: "apps", resource: "deployments", why: "the gate's clean stop reads the kubegres controller" },
  { verb: "list", group: "apps", resource: "statefulsets", why: "the gate's clean stop finds the Postgres StatefulSets" },
  { verb: "patch", group: "apps", resource: "statefulsets", why: "the gate's clean stop scales the Postgres StatefulSets to 0" },
  { verb: "get", group: "", resource: "secrets", why: "the preflight reads the active's iam-signing-key" },
  { verb: "list", group: "", resource: "pods", why: "the replication gate finds the Postgres pod" },
  { verb: "create", group: "", resource: "pods", subresource: "exec", why: "the replication gate reads its WAL position" },
];

export const accessLabel = (n: AccessNeed): string =>
  `${n.verb} ${n.resource}${n.subresource ? `/${n.subresource}` : ""}${n.group ? `.${n.group}` : ""} in ${TSB_NAMESPACE}`;

export type SiteAccessEvidence =
  | { reachable: true; reviews: { need: AccessNeed; allowed?: boolean; error?: string }[] }
  | { reachable: false; error: string };

export interface CertEvidence {
  /** Secret name (tsb-certs, xcp-central-cert). */
  secret: string;
  /** PEM of tls.crt, undefined when the secret or key is missing; error when it could not be read. */
  pem?: string;
  error?: string;
}

export interface DnsRecordEvidence {
  type: string;
  value: string;
  ttl: number;
}

export type DnsEvidence =
  | { status: "no-credentials"; reason: string }
  | { status: "error"; reason: string }
  | { status: "read"; zoneReadable: boolean; record?: DnsRecordEvidence; canEdit?: boolean; editCheck?: string };

export type ApiEvidence = { ok: true; summary: string } | { ok: false; message: string; couldNotCheck?: boolean };

export interface ToolingEvidence {
  /** Node.js running this check (`process.versions.node`): the machine that runs `pulumi up` should be the same. */
  nodeVersion?: string;
  /** `pulumi version` (Automation API LocalWorkspace.pulumiVersion); undefined when unknown. */
  pulumiVersion?: string;
  minPulumiVersion: string;
  /** `pulumi stack ls --json` updateInProgress; undefined when the backend does not report it (self-managed backends). */
  updateInProgress?: boolean;
  /** Raw config (namespace stripped) and which keys are secret: the failover's config is derived from it. */
  rawConfig?: RawConfig;
  secretKeys?: string[];
  history?: SetHistory;
  /** Why the stack's config could not be read. */
  stackError?: string;
}

export interface TargetEvidence {
  target: string;
  active: string;
  activeFqdn: string;
  targetFqdn: string;
  floatingFqdn: string;
  access: { target: SiteAccessEvidence; active: SiteAccessEvidence };
  replication: {
    target?: ReplicationProbe | { error: string };
    active?: ReplicationProbe | { error: string };
    /** The other standbys (not the target, not the active). */
    others: Record<string, ReplicationProbe | { error: string }>;
    maxLostContactSeconds: number;
    /** Whether the target's Postgres container has pg_waldump (the gate's last-record read); absent: not checked. */
    walTools?: { ok: boolean; detail: string };
  };
  secrets: {
    /** base64 data of iam-signing-key on each side; `error` when unreadable. */
    targetSigningKey?: Record<string, string>;
    activeSigningKey?: Record<string, string>;
    targetJwks?: Record<string, string>;
    standbySaExists?: boolean;
    error?: string;
  };
  certificates: { rootCaPem?: string; certs: CertEvidence[]; minValidDays: number; now: Date };
  dns: DnsEvidence;
  configuredTtl: number;
  api: ApiEvidence;
  tooling: ToolingEvidence;
}

export interface TargetReadiness {
  target: string;
  ready: boolean;
  /** Checks that did not pass (fail or could-not-check). */
  problems: number;
  verdict: string;
  checks: Check[];
}

const isError = (v: ReplicationProbe | { error: string }): v is { error: string } => "error" in v;

function accessChecks(label: string, site: string, ev: SiteAccessEvidence, needs: readonly AccessNeed[]): Check[] {
  if (!ev.reachable) {
    return [{ area: "cluster access", name: `${label} ${site} API`, status: "fail", reason: `the Kubernetes API of ${site} did not answer: ${ev.error}`,
      fix: `check sites.${site}.context / kubeconfig (or kubeconfigs.${site}): kubectl --context <ctx> get ns ${TSB_NAMESPACE}; renew an expired token` }];
  }
  const checks: Check[] = [{ area: "cluster access", name: `${label} ${site} API`, status: "pass", reason: `the Kubernetes API of ${site} answered with the configured context` }];
  for (const need of needs) {
    const r = ev.reviews.find((x) => x.need === need || accessLabel(x.need) === accessLabel(need));
    const name = `${site}: ${accessLabel(need)}`;
    if (!r || r.error !== undefined || r.allowed === undefined) {
      checks.push({ area: "cluster access", name, status: "could-not-check", reason: `SelfSubjectAccessReview failed: ${r?.error ?? "not asked"}`, fix: "check that the account may create selfsubjectaccessreviews (every authenticated user may, by default)" });
    } else if (!r.allowed) {
      checks.push({ area: "cluster access", name, status: "fail", reason: `the account may not ${accessLabel(need)} (needed for ${need.why})`,
        fix: `grant it: kubectl --context <ctx> auth can-i ${need.verb} ${need.resource}${need.subresource ? `/${need.subresource}` : ""} -n ${TSB_NAMESPACE} should say yes` });
    } else {
      checks.push({ area: "cluster access", name, status: "pass", reason: `allowed (${need.why})` });
    }
  }
  return checks;
}

function replicationChecks(e: TargetEvidence): Check[] {
  const r = e.replication;
  const t = r.target;
  if (!t || isError(t)) {
    return [{ area: "replication", name: `${e.target} streams from ${e.active}`, status: "could-not-check", reason: `probe of ${e.target} failed: ${t ? t.error : "not run"}`,
      fix: "docs/replication.md, \"Checking the probe's guesses\"" }];
  }
  // The gate's own rules (lib/gates/replication.ts standbyStanding), on the one position they all compare.
  const a = r.active && !isError(r.active) ? r.active : undefined;
  const standing = standbyStanding(e.target, e.active, t, a, r.maxLostContactSeconds);
  const checks: Check[] = [];
  checks.push(standing.streaming.verdict === "pass"
    ? { area: "replication", name: `${e.target} streams from ${e.active}`, status: "pass", reason: standing.streaming.reason }
    : { area: "replication", name: `${e.target} streams from ${e.active}`, status: "fail", reason: standing.streaming.reason,
      fix: `see why it does not stream (docs/replication.md, "Standby did not catch up"; another timeline: "Standby on another timeline")` });
  const c = standing.catchUp;
  checks.push(!c
    ? { area: "replication", name: `${e.target} holds ${e.active}'s WAL`, status: "could-not-check", reason: `the active ${e.active} could not be probed${r.active && isError(r.active) ? `: ${r.active.error}` : ""}` }
    : c.verdict === "refuse"
      ? { area: "replication", name: `${e.target} holds ${e.active}'s WAL`, status: "fail", reason: c.reason, fix: "docs/replication.md, \"Refusals: meaning and fix\"" }
      : c.verdict === "wait" && standing.streaming.verdict !== "pass"
        ? { area: "replication", name: `${e.target} holds ${e.active}'s WAL`, status: "fail", reason: `${c.reason}: it does not stream, so the gate's wait would time out` }
        : { area: "replication", name: `${e.target} holds ${e.active}'s WAL`, status: "pass", reason: c.verdict === "wait" ? `${c.reason} (the gate waits up to replication.catchUpTimeoutSeconds for it)` : c.reason });
  // The gate's rule for a lost active, with its limit: would it promote this standby if the active died now?
  const lost = standing.lostRule;
  checks.push({ area: "replication", name: `last contact within the gate's limit (${r.maxLostContactSeconds} s)`, status: lost.verdict === "pass" ? "pass" : "fail", reason: lost.reason,
    ...(lost.verdict === "pass" ? {} : { fix: "docs/replication.md, \"Lost site: last contact too old\"" }) });
  const others: Record<string, ReplicationProbe> = {};
  const unprobed: string[] = [];
  for (const [s, p] of Object.entries(r.others)) {
    if (isError(p)) unprobed.push(`${s} (${p.error})`);
    else others[s] = p;
  }
  const ahead = mostAdvancedCheck(e.target, t, others);
  if (ahead.verdict !== "pass") {
    checks.push({ area: "replication", name: "no other standby ahead", status: "fail", reason: ahead.reason });
  } else if (unprobed.length > 0) {
    checks.push({ area: "replication", name: "no other standby ahead", status: "could-not-check", reason: `${ahead.reason}; not probed: ${unprobed.join(", ")}` });
  } else {
    checks.push({ area: "replication", name: "no other standby ahead", status: "pass", reason: ahead.reason });
  }
  if (r.walTools !== undefined) {
    checks.push(r.walTools.ok
      ? { area: "replication", name: `pg_waldump in ${e.target}'s Postgres container`, status: "pass", reason: r.walTools.detail }
      : { area: "replication", name: `pg_waldump in ${e.target}'s Postgres container`, status: "fail", reason: `${r.walTools.detail}: the gate reads the old primary's last record with it and would refuse`,
        fix: "docs/replication.md, \"Checking the probe's guesses\"" });
  }
  return checks;
}

function secretChecks(e: TargetEvidence): Check[] {
  const s = e.secrets;
  if (s.error !== undefined) {
    return [{ area: "secrets", name: "iam-signing-key kid equals the active's", status: "could-not-check", reason: s.error }];
  }
  const problem = preflightProblem({ site: e.active, signingKeyData: s.activeSigningKey }, { site: e.target, signingKeyData: s.targetSigningKey }, s.targetJwks);
  const checks: Check[] = [problem
    ? { area: "secrets", name: "iam-signing-key kid equals the active's (failover preflight)", status: "fail", reason: problem, fix: "docs/failover.md, \"Preflight failed\"" }
    : { area: "secrets", name: "iam-signing-key kid equals the active's (failover preflight)", status: "pass", reason: `same kid on ${e.target} and ${e.active}; tsb-iam-jwks present` }];
  checks.push(s.standbySaExists === undefined
    ? { area: "secrets", name: "tsb-standby-sa exists", status: "could-not-check", reason: "not read" }
    : s.standbySaExists
      ? { area: "secrets", name: "tsb-standby-sa exists", status: "pass", reason: `Secret tsb-standby-sa is in ${TSB_NAMESPACE} on ${e.target}` }
      : { area: "secrets", name: "tsb-standby-sa exists", status: "fail", reason: `no Secret tsb-standby-sa in ${TSB_NAMESPACE} on ${e.target}`,
        fix: "set tsb-ha:standbyServiceAccountJwk and run pulumi up (README, First deployment)" });
  return checks;
}

/** One leaf: chains to the root, carries the names siteCertSpecs requires, stays valid long enough. */
export function certificateCheck(site: string, fqdn: string, floatingFqdn: string, ev: CertEvidence, rootCaPem: string | undefined, minValidDays: number, now: Date): Check {
  const name = `${ev.secret} chains to the root CA, carries ${floatingFqdn}, valid > ${minValidDays} days`;
  if (ev.error !== undefined) return { area: "certificates", name, status: "could-not-check", reason: ev.error };
  if (!ev.pem) return { area: "certificates", name, status: "fail", reason: `Secret ${ev.secret} (tls.crt) missing on ${site}`, fix: "run pulumi up (the Pki component writes it)" };
  if (!rootCaPem) return { area: "certificates", name, status: "could-not-check", reason: "the stack output rootCaCertPem is missing" };
  let leaf: X509Certificate;
  let root: X509Certificate;
  try {
    leaf = new X509Certificate(ev.pem);
    root = new X509Certificate(rootCaPem);
  } catch (err) {
    return { area: "certificates", name, status: "fail", reason: `${ev.secret}: not a PEM certificate (${err instanceof Error ? err.message : String(err)})` };
  }
  const problems: string[] = [];
  if (!leaf.checkIssued(root) || !leaf.verify(root.publicKey)) problems.push(`not signed by the set's root CA (issuer: ${leaf.issuer.replace(/\n/g, ", ")})`);
  const specs = siteCertSpecs(fqdn, floatingFqdn);
  const wanted = ev.secret === "xcp-central-cert" ? specs.xcp.dnsNames : specs.tsb.dnsNames;
  const sans = (leaf.subjectAltName ?? "").split(", ").filter((x) => x.startsWith("DNS:")).map((x) => normalizeName(x.slice(4)));
  const missing = wanted.filter((n) => !sans.includes(normalizeName(n)));
  if (missing.length > 0) problems.push(`lacks DNS names ${missing.join(", ")} (has ${sans.join(", ") || "none"})`);
  const daysLeft = (Date.parse(leaf.validTo) - now.getTime()) / 86_400_000;
  if (Date.parse(leaf.validFrom) > now.getTime()) problems.push(`not valid before ${leaf.validFrom}`);
  if (daysLeft <= minValidDays) problems.push(`expires ${leaf.validTo} (${Math.floor(daysLeft)} days left, want > ${minValidDays})`);
  return problems.length === 0
    ? { area: "certificates", name, status: "pass", reason: `signed by the root CA, names ${wanted.join(", ")}, ${Math.floor(daysLeft)} days left` }
    : { area: "certificates", name, status: "fail", reason: `${ev.secret} on ${site}: ${problems.join("; ")}`, fix: "run pulumi up (leaves are re-issued 30 days before expiry); a foreign certificate: docs/failover.md" };
}

function dnsChecks(e: TargetEvidence): Check[] {
  const d = e.dns;
  const names = ["credentials read the zone and the record", `record points at the active (${e.activeFqdn})`, `TTL is ${e.configuredTtl}`];
  if (d.status !== "read") {
    return names.map((name) => ({ area: "dns" as const, name, status: "could-not-check" as const, reason: d.reason, fix: d.status === "no-credentials" ? "give this run the DNS provider's credentials (see docs/status-and-readiness.md)" : undefined }))
      .map(({ fix, ...c }) => (fix ? { ...c, fix } : c));
  }
  const checks: Check[] = [];
  if (!d.zoneReadable || !d.record) {
    checks.push({ area: "dns", name: names[0]!, status: "fail", reason: d.zoneReadable ? `the zone has no record ${e.floatingFqdn}` : "the credentials cannot read the zone", fix: "grant the token read (and edit) on the zone" });
    return checks;
  }
  checks.push({ area: "dns", name: names[0]!, status: "pass", reason: `read ${e.floatingFqdn}: ${d.record.type} ${d.record.value}` });
  if (d.canEdit === false) checks.push({ area: "dns", name: "credentials may edit the record", status: "fail", reason: d.editCheck ?? "no edit right", fix: "grant the token DNS edit on the zone" });
  else if (d.canEdit === true) checks.push({ area: "dns", name: "credentials may edit the record", status: "pass", reason: d.editCheck ?? "edit right reported" });
  const pointsAtActive = d.record.type.toUpperCase() === "CNAME" && normalizeName(d.record.value) === normalizeName(e.activeFqdn);
  checks.push(pointsAtActive
    ? { area: "dns", name: names[1]!, status: "pass", reason: `CNAME ${d.record.value}` }
    : { area: "dns", name: names[1]!, status: "fail", reason: `${e.floatingFqdn} is ${d.record.type} ${d.record.value}, not a CNAME to ${e.activeFqdn}`, fix: "run status; a half-done failover: docs/failover.md" });
  checks.push(d.record.ttl === e.configuredTtl
    ? { area: "dns", name: names[2]!, status: "pass", reason: `TTL ${d.record.ttl}` }
    : { area: "dns", name: names[2]!, status: "fail", reason: `TTL ${d.record.ttl}, config says ${e.configuredTtl}: the failover waits ${e.configuredTtl} s after moving the name`, fix: "run pulumi up to restore it, or set tsb-ha:dns.ttl" });
  return checks;
}

/** a.b.c >= min.b.c (pre-release and build tags ignored). */
export function versionAtLeast(version: string, min: string): boolean | undefined {
  const parse = (v: string): number[] | undefined => {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
  };
  const a = parse(version);
  const b = parse(min);
  if (!a || !b) return undefined;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return true;
}

/**
 * Node versions that can `require()` an ES module (unflagged in 20.19.0 and 22.12.0: Node's changelogs;
 * tooling-facts.md). The dynamic providers require the ESM-only @kubernetes/client-node 1.4.0 in the
 * engine's provider process; an older Node fails there with ERR_REQUIRE_ESM, in the middle of an update.
 */
export const REQUIRE_ESM_NODE = ["20.19.0", "22.12.0"] as const;

export function nodeRunsDynamicProviders(version: string): boolean {
  const [in20, from22] = REQUIRE_ESM_NODE;
  return versionAtLeast(version, from22) === true || (versionAtLeast(version, in20) === true && versionAtLeast(version, "21.0.0") === false);
}

/**
 * The config of a failover to `target`: activeSite = target, the current active fenced. Passes when
 * the program's own validation and planning accept it (the same guards `pulumi up` applies).
 */
export function failoverConfigProblem(raw: RawConfig, secretKeys: ReadonlySet<string>, history: SetHistory | undefined, active: string, target: string): string | undefined {
  let sites: Record<string, Record<string, unknown>>;
  try {
    sites = JSON.parse(raw["sites"] ?? "{}") as Record<string, Record<string, unknown>>;
  } catch {
    return "tsb-ha:sites is not JSON";
  }
  const next: RawConfig = { ...raw, activeSite: target, sites: JSON.stringify({ ...sites, [active]: { ...(sites[active] ?? {}), state: "fenced" } }) };
  try {
    const { config } = parseConfig(next, secretKeys);
    planSet(config, history);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function toolingChecks(e: TargetEvidence): Check[] {
  const t = e.tooling;
  const checks: Check[] = [];
  const nodeName = `Node.js >= ${REQUIRE_ESM_NODE[0]} (or >= ${REQUIRE_ESM_NODE[1]})`;
  checks.push(t.nodeVersion === undefined
    ? { area: "tooling", name: nodeName, status: "could-not-check", reason: "the Node.js version was not reported" }
    : nodeRunsDynamicProviders(t.nodeVersion)
      ? { area: "tooling", name: nodeName, status: "pass", reason: `node ${t.nodeVersion} can require the ESM-only @kubernetes/client-node the dynamic resources load` }
      : { area: "tooling", name: nodeName, status: "fail", reason: `node ${t.nodeVersion} cannot require an ES module: the dynamic resources (ready gate, replication gate, ...) would fail with ERR_REQUIRE_ESM in the middle of an update`,
        fix: `install Node ${REQUIRE_ESM_NODE[0]} or newer 20.x, or ${REQUIRE_ESM_NODE[1]} or newer 22.x (package.json engines), on every machine that runs pulumi up` });
  const v = t.pulumiVersion === undefined ? undefined : versionAtLeast(t.pulumiVersion, t.minPulumiVersion);
  checks.push(v === undefined
    ? { area: "tooling", name: `Pulumi CLI >= ${t.minPulumiVersion}`, status: "could-not-check", reason: `version ${t.pulumiVersion ?? "unknown"} (no Pulumi CLI found?)`, fix: "install the Pulumi CLI: https://www.pulumi.com/docs/install/" }
    : v
      ? { area: "tooling", name: `Pulumi CLI >= ${t.minPulumiVersion}`, status: "pass", reason: `pulumi ${t.pulumiVersion}` }
      : { area: "tooling", name: `Pulumi CLI >= ${t.minPulumiVersion}`, status: "fail", reason: `pulumi ${t.pulumiVersion} is older than ${t.minPulumiVersion}: older CLIs ignore the replacementTrigger option silently`, fix: "upgrade: curl -fsSL https://get.pulumi.com | sh" });
  checks.push(t.updateInProgress === undefined
    ? { area: "tooling", name: "stack not locked", status: "could-not-check", reason: "the backend does not report updates in progress (a self-managed backend: pulumi stack ls --json has no updateInProgress)", fix: "check for a lock file under .pulumi/locks/ in the backend, or pulumi cancel on Pulumi Cloud" }
    : t.updateInProgress
      ? { area: "tooling", name: "stack not locked", status: "fail", reason: "an update is in progress on the stack (pulumi stack ls --json: updateInProgress)", fix: "wait for it, or if its runner died: pulumi cancel" }
      : { area: "tooling", name: "stack not locked", status: "pass", reason: "no update in progress" });
  if (t.stackError !== undefined || !t.rawConfig) {
    checks.push({ area: "tooling", name: `config of a failover to ${e.target} validates`, status: "could-not-check", reason: t.stackError ?? "no config read" });
  } else {
    const problem = failoverConfigProblem(t.rawConfig, new Set(t.secretKeys ?? []), t.history, e.active, e.target);
    checks.push(problem === undefined
      ? { area: "tooling", name: `config of a failover to ${e.target} validates`, status: "pass", reason: `activeSite ${e.target} with ${e.active} fenced passes parseConfig and planSet` }
      : { area: "tooling", name: `config of a failover to ${e.target} validates`, status: "fail", reason: problem, fix: "fix the config before the outage (the message names the key)" });
  }
  return checks;
}

export function targetReadiness(e: TargetEvidence): TargetReadiness {
  const c = e.certificates;
  const checks: Check[] = [
    ...accessChecks("target", e.target, e.access.target, TARGET_ACCESS),
    ...accessChecks("active", e.active, e.access.active, ACTIVE_ACCESS),
    ...replicationChecks(e),
    ...secretChecks(e),
    ...c.certs.map((cert) => certificateCheck(e.target, e.targetFqdn, e.floatingFqdn, cert, c.rootCaPem, c.minValidDays, c.now)),
    ...dnsChecks(e),
    e.api.ok
      ? { area: "tsb api", name: `the active ${e.active} serves the organisation`, status: "pass", reason: e.api.summary }
      : { area: "tsb api", name: `the active ${e.active} serves the organisation`, status: e.api.couldNotCheck ? "could-not-check" : "fail", reason: e.api.message },
    ...toolingChecks(e),
  ];
  const bad = checks.filter((x) => x.status !== "pass");
  const ready = bad.length === 0;
  const verdict = ready
    ? `${e.target}: READY`
    : `${e.target}: NOT READY (${bad.length}): ${bad.map((x) => `${x.status === "fail" ? "" : "could not check "}${x.name}`).join("; ")}`;
  return { target: e.target, ready, problems: bad.length, verdict, checks };
}

/** 0 every target ready; 1 a check failed (a known problem wins); 2 nothing failed but something could not be checked. */
export function readinessExitCode(targets: readonly TargetReadiness[]): 0 | 1 | 2 {
  const all = targets.flatMap((t) => t.checks);
  if (all.some((c) => c.status === "fail")) return 1;
  return all.some((c) => c.status === "could-not-check") ? 2 : 0;
}

/** Verdict lines first, then one table of every check. */
export function formatReadiness(targets: readonly TargetReadiness[]): string {
  const rows = targets.flatMap((t) => t.checks.map((c) => [t.target, c.area, c.name, c.status.toUpperCase(), c.reason, c.fix ?? ""]));
  return [...targets.map((t) => t.verdict), "", textTable(["target", "area", "check", "result", "reason", "fix"], rows, 160)].join("\n");
}
