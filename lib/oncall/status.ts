// lib/oncall/ decides what on-call is told: `status` (here) and `readiness` verdicts, the facts they
// share (siteFacts.ts) and their tables. It judges with the gates' own functions, never its own copy.
//
// `status` (issue 11): what is true now, compared with what the stack's last successful update made.
// Pure: the gatherer (scripts/status.ts) records one snapshot per site, the floating name's answers
// and the stack's `history`; this file decides what disagrees and renders the verdict and table.
// Rules reused from the failover, never restated: the signing-key kid (lib/gates/preflight.ts kidOf is
// applied by the gatherer), the replication gate's rules (lib/gates/replication.ts standbyStanding: does
// the standby stream on the active's timeline, and would the gate let it take over if the active
// were lost now?).
import { OPERATOR_DEPLOYMENT, FENCE_DEPLOYMENTS, CUT_DEPLOYMENTS } from "../config/names";
import { replayNote, siteTimeline, standbyPosition, standbyStanding, lsnDiff, timelineProblem, type ReplicationProbe } from "../gates/replication";
import { isUp, normalizeName, type HaBlock, type Replicas } from "./siteFacts";
import type { Role, SetHistory } from "../plan/topology";
import { textTable } from "./textTable";

/** The deployments status reads on every site, in the order the failover touches them. */
export const STATUS_DEPLOYMENTS = [OPERATOR_DEPLOYMENT, ...FENCE_DEPLOYMENTS, ...CUT_DEPLOYMENTS] as const;

export interface SiteSnapshot {
  site: string;
  /** The cluster's API answered. */
  reachable: boolean;
  /** Why not (no credentials in it). */
  unreachableReason?: string;
  /** Not read because the site is lost (nothing on a lost site is read). */
  skipped?: boolean;
  /** From the ManagementPlane CR; undefined when it could not be read. */
  haBlock?: HaBlock;
  /** By deployment name; "missing" = 404. Absent key = could not read. */
  replicas: Record<string, Replicas | "missing">;
  /** kid of iam-signing-key (lib/gates/preflight.ts kidOf); undefined = secret or kid missing. */
  signingKid?: string;
  /** kids of tsb-iam-jwks (lib/oncall/siteFacts.ts jwksKids). */
  jwksKids?: string[];
  /** The replication probe (lib/gates/replicationProbe.ts), or why it could not run. */
  replication?: { probe: ReplicationProbe } | { error: string };
  /** A fenced site: how many Postgres pods still run (the failover stops its database; 0 = stopped). */
  postgresPods?: number;
  /** Reads that failed on a reachable cluster: what, and why. */
  readErrors?: string[];
}

/** What a resolver said about a name: the CNAME target and/or addresses. */
export interface NameAnswer {
  cname?: string;
  addresses?: string[];
  ttl?: number;
}

export interface DnsSnapshot {
  floatingFqdn: string;
  /** The DNS provider's record (authoritative), or why it could not be read. */
  provider?: NameAnswer | { error: string };
  /** A public resolver's answer (what control planes see), or why it failed. */
  publicResolver?: (NameAnswer & { resolver: string }) | { error: string; resolver: string };
  /** Addresses each site's permanent FQDN resolves to, to map an A-record answer to a site. */
  siteAddresses?: Record<string, string[]>;
}

export interface StatusInput {
  /** From the stack's config: sites, their FQDNs and configured state, the configured active. */
  config: { activeSite: string; floatingFqdn: string; sites: { name: string; fqdn: string; state: string }[] };
  /** The stack's `history` output (lib/plan/topology.ts parseHistory); undefined before the first update. */
  history: SetHistory | undefined;
  sites: SiteSnapshot[];
  dns: DnsSnapshot;
  /** The replication gate's limit for a lost active (tsb-ha:replication.maxLostContactSeconds). */
  maxLostContactSeconds: number;
}

export type FindingKind =
  | "pending-failover"
  | "split-brain"
  | "active-not-serving"
  | "fenced-woken"
  | "front-proxy-not-cut"
  | "dns-old-active"
  | "dns-unknown"
  | "unreachable"
  | "kid-mismatch"
  | "not-streaming"
  | "old-timeline"
  | "fenced-db-running"
  | "role-block"
  | "could-not-read";

export interface Finding {
  kind: FindingKind;
  site?: string;
  message: string;
}

export interface StatusReport {
  ok: boolean;
  /** Short, first line of the output. */
  verdict: string;
  findings: Finding[];
  /** Expected role per site: history (last successful update) or, before any, the config. */
  expected: Record<string, Role>;
  /** Site the floating name points at per answer ("?" when it maps to no site). */
  dnsPointsAt: { provider?: string; publicResolver?: string };
  input: StatusInput;
}

function expectedRoles(input: StatusInput): Record<string, Role> {
  const roles: Record<string, Role> = {};
  for (const s of input.config.sites) {
    const h = input.history?.sites[s.name];
    roles[s.name] = h ? h.role : s.name === input.config.activeSite ? "active" : (s.state as Role);
  }
  return roles;
}

/** Which site an answer names: a CNAME to a permanent FQDN, or an address of one. */
export function siteOfAnswer(answer: NameAnswer, input: StatusInput): string | undefined {
  if (answer.cname) {
    const target = normalizeName(answer.cname);
    return input.config.sites.find((s) => normalizeName(s.fqdn) === target)?.name;
  }
  const addrs = new Set(answer.addresses ?? []);
  const hits = Object.entries(input.dns.siteAddresses ?? {}).filter(([, a]) => a.some((x) => addrs.has(x)));
  return hits.length === 1 ? hits[0]![0] : undefined;
}

const describeAnswer = (a: NameAnswer): string => (a.cname ? `CNAME ${a.cname}` : `${(a.addresses ?? []).join(", ") || "no address"}`);

/** Findings that say "could not tell", not "disagrees". */
const UNKNOWN_KINDS: readonly FindingKind[] = ["could-not-read", "dns-unknown"];

export function decideStatus(input: StatusInput): StatusReport {
  const findings: Finding[] = [];
  const expected = expectedRoles(input);
  const active = input.history?.activeSite ?? input.config.activeSite;
  const fqdnOf = (site: string): string => input.config.sites.find((s) => s.name === site)?.fqdn ?? site;
  const snap = (site: string): SiteSnapshot | undefined => input.sites.find((s) => s.site === site);

  if (input.history && input.history.activeSite !== input.config.activeSite) {
    findings.push({
      kind: "pending-failover",
      message: `config says activeSite ${input.config.activeSite}, the last successful update made ${input.history.activeSite} active: a failover is pending or failed half-way (docs/failover.md)`,
    });
  }

  for (const s of input.sites) {
    const role = expected[s.site];
    if (!s.reachable) {
      if (role !== "lost") {
        findings.push({ kind: "unreachable", site: s.site, message: `${s.site} (${role ?? "unknown role"}) is unreachable: ${s.unreachableReason ?? "no answer"}` });
      }
      continue;
    }
    for (const e of s.readErrors ?? []) findings.push({ kind: "could-not-read", site: s.site, message: `${s.site}: ${e}` });
  }

  // Split brain: more than one site carries the active block and still runs tsb or iam.
  const serving = input.sites.filter((s) => s.reachable && s.haBlock?.mode === "active" && (isUp(s.replicas["tsb"]) || isUp(s.replicas["iam"])));
  if (serving.length > 1) {
    findings.push({
      kind: "split-brain",
      message: `split brain: ${serving.map((s) => s.site).join(" and ")} both carry the active block with tsb/iam running; control planes may write to either. ` +
        `Fence the one that is not ${active} now (docs/failover.md, "Fence by hand")`,
    });
  }

  for (const s of input.sites.filter((x) => x.reachable)) {
    const role = expected[s.site];
    const up = (d: string): boolean => isUp(s.replicas[d]);
    if (role === "fenced") {
      const awake = [OPERATOR_DEPLOYMENT, ...FENCE_DEPLOYMENTS].filter(up);
      if (awake.length > 0) {
        findings.push({ kind: "fenced-woken", site: s.site, message: `${s.site} is fenced but ${awake.join(", ")} run again (replicas > 0): something woke it up; scale them to 0 (docs/failover.md, "Fence by hand")` });
      }
      if (s.postgresPods !== undefined && s.postgresPods > 0) {
        findings.push({ kind: "fenced-db-running", site: s.site, message: `${s.site} is fenced but its Postgres runs (${s.postgresPods} pod${s.postgresPods === 1 ? "" : "s"}): it still writes WAL and may stream it to standbys; stop it (docs/failover.md, "Fence by hand")` });
      }
    }
    if (role === "active") {
      if (s.haBlock && s.haBlock.mode !== "active") findings.push({ kind: "role-block", site: s.site, message: `${s.site} should be active but its ManagementPlane carries the ${s.haBlock.mode} block` });
      const down = [OPERATOR_DEPLOYMENT, ...FENCE_DEPLOYMENTS, ...CUT_DEPLOYMENTS].filter((d) => s.replicas[d] !== undefined && !up(d));
      if (down.length > 0) findings.push({ kind: "active-not-serving", site: s.site, message: `${s.site} is the active but ${down.join(", ")} ${down.length === 1 ? "has" : "have"} no replicas` });
    }
    if (role === "standby") {
      if (s.haBlock && s.haBlock.mode !== "standby") findings.push({ kind: "role-block", site: s.site, message: `${s.site} should be a standby but its ManagementPlane carries the ${s.haBlock.mode} block` });
      else if (s.haBlock?.syncHost && normalizeName(s.haBlock.syncHost) !== normalizeName(fqdnOf(active))) {
        findings.push({ kind: "role-block", site: s.site, message: `${s.site} synchronises from ${s.haBlock.syncHost}, not from the active ${active} (${fqdnOf(active)})` });
      }
    }
  }

  // Keys: every reachable site that holds a key must hold the active's (failover preflight rule).
  const activeSnap = snap(active);
  const activeKid = activeSnap?.reachable ? activeSnap.signingKid : undefined;
  if (activeSnap?.reachable && activeKid === undefined) {
    findings.push({ kind: "kid-mismatch", site: active, message: `the active ${active} has no iam-signing-key kid` });
  }
  for (const s of input.sites.filter((x) => x.reachable && x.site !== active && expected[x.site] === "standby")) {
    if (activeKid !== undefined && s.signingKid !== activeKid) {
      findings.push({ kind: "kid-mismatch", site: s.site, message: `${s.site}'s iam-signing-key kid ${s.signingKid ?? "(none)"} differs from the active ${active}'s ${activeKid}: tokens would be rejected after a failover to it` });
    } else if (s.signingKid !== undefined && s.jwksKids !== undefined && !s.jwksKids.includes(s.signingKid)) {
      findings.push({ kind: "kid-mismatch", site: s.site, message: `${s.site}'s tsb-iam-jwks (${s.jwksKids.join(", ") || "empty"}) does not carry the signing key's kid ${s.signingKid}` });
    }
  }

  // Replication, by the gate's own rules: a standby streams on the active's timeline, and the gate would
  // accept it if the active were lost now.
  const activeRep = activeSnap?.replication;
  const activeProbe = activeRep && "probe" in activeRep ? activeRep.probe : undefined;
  for (const s of input.sites.filter((x) => x.reachable && expected[x.site] === "standby")) {
    const r = s.replication;
    if (!r) continue;
    if ("error" in r) {
      findings.push({ kind: "could-not-read", site: s.site, message: `${s.site}: replication probe failed: ${r.error}` });
      continue;
    }
    const standing = standbyStanding(s.site, active, r.probe, activeProbe, input.maxLostContactSeconds);
    if (standing.streaming.verdict !== "pass") {
      const old = timelineProblem(s.site, active, r.probe, activeProbe?.timeline) !== undefined;
      findings.push({ kind: old ? "old-timeline" : "not-streaming", site: s.site, message: standing.streaming.reason });
      continue;
    }
    if (standing.lostRule.verdict !== "pass") findings.push({ kind: "not-streaming", site: s.site, message: standing.lostRule.reason });
  }

  // DNS: both answers must name the active's permanent FQDN.
  const dnsPointsAt: StatusReport["dnsPointsAt"] = {};
  const judge = (label: "provider" | "publicResolver", what: string, a: NameAnswer | { error: string } | undefined): void => {
    if (!a) return;
    if ("error" in a) {
      findings.push({ kind: "dns-unknown", message: `${what}: could not read ${input.dns.floatingFqdn}: ${a.error}` });
      return;
    }
    const at = siteOfAnswer(a, input);
    dnsPointsAt[label] = at ?? "?";
    if (at === undefined) {
      findings.push({ kind: "dns-unknown", message: `${what}: ${input.dns.floatingFqdn} -> ${describeAnswer(a)}, which is no site's permanent FQDN` });
    } else if (at !== active) {
      findings.push({ kind: "dns-old-active", message: `${what}: ${input.dns.floatingFqdn} still points at ${at} (${describeAnswer(a)}), not the active ${active} (${fqdnOf(active)}): control planes connect to ${at}` });
    }
  };
  judge("provider", "DNS provider", input.dns.provider);
  const pub = input.dns.publicResolver;
  judge("publicResolver", `public resolver ${pub?.resolver ?? ""}`.trim(), pub);

  // The old front proxy stays up until the name moved; once both answers agree, a fenced site's envoy must be cut.
  const dnsMoved = dnsPointsAt.provider === active && (dnsPointsAt.publicResolver === undefined || dnsPointsAt.publicResolver === active);
  for (const s of input.sites.filter((x) => x.reachable && expected[x.site] === "fenced")) {
    if (dnsMoved && isUp(s.replicas["envoy"])) {
      findings.push({ kind: "front-proxy-not-cut", site: s.site, message: `${s.site} is fenced and the floating name points at ${active}, but its envoy still runs: control planes connected to it are not told to reconnect` });
    }
  }

  const ok = findings.length === 0;
  const summary = input.sites
    .map((s) => `${s.site} ${expected[s.site] ?? "?"}${s.reachable ? "" : s.skipped ? " (not read)" : " (unreachable)"}`)
    .join(", ");
  const unknownOnly = findings.every((f) => UNKNOWN_KINDS.includes(f.kind));
  const verdict = ok
    ? `AGREES: ${summary}; ${input.dns.floatingFqdn} -> ${active}`
    : `${unknownOnly ? "INCOMPLETE" : "DISAGREES"} (${findings.length}): ${findings.map((f) => f.kind + (f.site ? ` ${f.site}` : "")).join(", ")}`;
  return { ok, verdict, findings, expected, dnsPointsAt, input };
}

/** 0: everything agrees; 1: something disagrees; 2: nothing disagrees but something could not be read. */
export function statusExitCode(report: StatusReport): 0 | 1 | 2 {
  if (report.ok) return 0;
  return report.findings.every((f) => UNKNOWN_KINDS.includes(f.kind)) ? 2 : 1;
}

function replicasText(r: Replicas | "missing" | undefined): string {
  if (r === undefined) return "?";
  if (r === "missing") return "absent";
  return r.desired === r.ready ? String(r.desired) : `${r.ready}/${r.desired}`;
}

function replicationText(s: SiteSnapshot, active: string, snaps: SiteSnapshot[]): string {
  const r = s.replication;
  if (!r) return "-";
  if ("error" in r) return `error: ${r.error}`;
  const p = r.probe;
  if (p.role === "primary") return `primary at ${p.currentLsn ?? "?"}${p.timeline !== undefined ? ` (timeline ${p.timeline})` : ""}`;
  const activeProbe = snaps.find((x) => x.site === active)?.replication;
  const at = standbyPosition(p);
  const lag = activeProbe && "probe" in activeProbe && activeProbe.probe.currentLsn && at ? `, ${lsnDiff(activeProbe.probe.currentLsn, at)} bytes behind` : "";
  const tl = siteTimeline(p);
  // The same note the gate and readiness give, shortened for a table cell.
  const replay = replayNote(p).replace(/: a promotion replays all received WAL first$/, " (a promotion replays it)");
  return `${p.walReceiverStatus ?? "no walreceiver"}, at ${at ?? "nothing"}${tl !== undefined ? ` (timeline ${tl})` : ""}${lag}${replay}`;
}

function postgresText(s: SiteSnapshot): string {
  if (s.postgresPods === undefined) return "-";
  return s.postgresPods === 0 ? "stopped" : `${s.postgresPods} running`;
}

/** Verdict line, then the per-site table, the DNS answers and the findings. */
export function formatStatus(report: StatusReport): string {
  const { input } = report;
  const active = input.history?.activeSite ?? input.config.activeSite;
  const rows = input.sites.map((s) => [
    s.site,
    report.expected[s.site] ?? "?",
    s.reachable ? "yes" : s.skipped ? "not read (lost)" : "NO",
    s.haBlock ? s.haBlock.mode + (s.haBlock.syncHost ? ` <- ${s.haBlock.syncHost}` : "") : "?",
    ...STATUS_DEPLOYMENTS.map((d) => replicasText(s.replicas[d])),
    s.signingKid ?? "-",
    s.jwksKids ? s.jwksKids.join(",") || "empty" : "-",
    replicationText(s, active, input.sites),
    postgresText(s),
  ]);
  const header = ["site", "expected", "reachable", "ha block", "operator", "tsb", "iam", "envoy", "signing kid", "jwks kids", "replication", "postgres"];
  const dnsLine = (label: string, a: NameAnswer | { error: string } | undefined, at: string | undefined): string =>
    !a ? `${label}: not checked` : "error" in a ? `${label}: error: ${a.error}` : `${label}: ${describeAnswer(a)}${a.ttl !== undefined ? ` ttl ${a.ttl}` : ""} -> ${at ?? "?"}`;
  const lines = [
    report.verdict,
    "",
    textTable(header, rows),
    "",
    `floating ${input.dns.floatingFqdn}`,
    `  ${dnsLine("DNS provider", input.dns.provider, report.dnsPointsAt.provider)}`,
    `  ${dnsLine(`public resolver ${input.dns.publicResolver?.resolver ?? ""}`.trim(), input.dns.publicResolver, report.dnsPointsAt.publicResolver)}`,
    `history: ${input.history ? `activeSite ${input.history.activeSite}` : "none (no successful update yet)"}; config: activeSite ${input.config.activeSite}`,
  ];
  if (report.findings.length > 0) lines.push("", "findings:", ...report.findings.map((f) => `  - [${f.kind}] ${f.message}`));
  return lines.join("\n");
}
