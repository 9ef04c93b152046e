// `status` decisions over recorded states (lib/oncall/status.ts): what an on-call engineer relies on is the
// exit code, the first line, and a finding that names the site and the problem.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decideStatus, formatStatus, statusExitCode, STATUS_DEPLOYMENTS, type SiteSnapshot, type StatusInput } from "../../lib/oncall/status";
import type { ReplicationProbe } from "../../lib/gates/replication";
import type { SetHistory, SiteHistory } from "../../lib/plan/topology";
import { OPERATOR_DEPLOYMENT } from "../../lib/config/names";
import { jwksKids } from "../../lib/oncall/siteFacts";
import { jwksData, signingKeyData } from "../harness/onCallFixtures";

const NOW = "2026-12-01T12:00:00.000Z";
const FQDN = { mp1: "mp1.tsb.example.com", mp2: "mp2.tsb.example.com", mp3: "mp3.tsb.example.com" };
const FLOATING = "active.tsb.example.com";

const entry = (role: SiteHistory["role"]): SiteHistory => ({ role, rebuild: 0, haMode: role === "standby" ? "standby" : "active", copies: role !== "active", detached: role === "lost", gated: false });

function history(active: "mp1" | "mp2", roles: Record<string, SiteHistory["role"]>): SetHistory {
  return { activeSite: active, sites: Object.fromEntries(Object.entries(roles).map(([s, r]) => [s, entry(r)])) };
}

const streaming = (ageSeconds: number): ReplicationProbe => ({
  role: "standby",
  receiveLsn: "0/5000000",
  replayLsn: "0/5000000",
  walReceiverStatus: "streaming",
  lastMsgReceiptTime: new Date(Date.parse(NOW) - ageSeconds * 1000).toISOString(),
  upstream: "mp1.tsb.example.com:443",
  now: NOW,
});
const primary: ReplicationProbe = { role: "primary", currentLsn: "0/5000100", now: NOW };

const up = Object.fromEntries(STATUS_DEPLOYMENTS.map((d) => [d, { desired: 1, ready: 1 }]));
const down = Object.fromEntries(STATUS_DEPLOYMENTS.map((d) => [d, { desired: 0, ready: 0 }]));

function activeSite(site: string): SiteSnapshot {
  return { site, reachable: true, haBlock: { mode: "active", exposesPostgres: true }, replicas: { ...up }, signingKid: "kid-1", jwksKids: ["kid-1"], replication: { probe: primary } };
}
function standbySite(site: string, of: string): SiteSnapshot {
  return { site, reachable: true, haBlock: { mode: "standby", syncHost: of }, replicas: { ...up }, signingKid: "kid-1", jwksKids: ["kid-1"], replication: { probe: streaming(5) } };
}
function fencedSite(site: string): SiteSnapshot {
  return { site, reachable: true, haBlock: { mode: "active", exposesPostgres: true }, replicas: { ...down }, signingKid: "kid-1", jwksKids: ["kid-1"] };
}

/** mp1 active, mp2 standby, DNS on mp1: everything agrees. */
function agreeing(): StatusInput {
  return {
    config: { activeSite: "mp1", floatingFqdn: FLOATING, sites: [{ name: "mp1", fqdn: FQDN.mp1, state: "standby" }, { name: "mp2", fqdn: FQDN.mp2, state: "standby" }] },
    history: history("mp1", { mp1: "active", mp2: "standby" }),
    sites: [activeSite("mp1"), standbySite("mp2", FQDN.mp1)],
    dns: { floatingFqdn: FLOATING, provider: { cname: FQDN.mp1, ttl: 60 }, publicResolver: { cname: `${FQDN.mp1}.`, resolver: "1.1.1.1" } },
    maxLostContactSeconds: 300,
  };
}

/** After a completed failover mp1 -> mp2 (mp1 fenced, envoy cut, DNS on mp2). */
function afterFailover(): StatusInput {
  return {
    config: { activeSite: "mp2", floatingFqdn: FLOATING, sites: [{ name: "mp1", fqdn: FQDN.mp1, state: "fenced" }, { name: "mp2", fqdn: FQDN.mp2, state: "standby" }] },
    history: history("mp2", { mp1: "fenced", mp2: "active" }),
    sites: [fencedSite("mp1"), activeSite("mp2")],
    dns: { floatingFqdn: FLOATING, provider: { cname: FQDN.mp2, ttl: 60 }, publicResolver: { cname: FQDN.mp2, resolver: "1.1.1.1" } },
    maxLostContactSeconds: 300,
  };
}

const kinds = (i: StatusInput): string[] => decideStatus(i).findings.map((f) => f.kind);

describe("status: decisions over recorded states", () => {
  it("reads the kid of tsb-iam-jwks as the seed does (data.kid), so a healthy set shows no kid mismatch", () => {
    assert.deepEqual(jwksKids(jwksData("kid-1")), ["kid-1"]);
    assert.deepEqual(jwksKids(signingKeyData("kid-1")), ["kid-1"], "the same read as iam-signing-key's");
    assert.deepEqual(jwksKids({ keys: Buffer.from('{"keys":[{"kid":"elsewhere"}]}').toString("base64") }), [], "no data.kid: no kid");
    assert.deepEqual(jwksKids(undefined), []);
    const input = agreeing();
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), jwksKids: jwksKids(jwksData("kid-1")) };
    assert.deepEqual(decideStatus(input).findings, []);
  });

  it("agreeing set: exit 0, verdict first, no findings", () => {
    for (const input of [agreeing(), afterFailover()]) {
      const r = decideStatus(input);
      assert.deepEqual(r.findings, []);
      assert.equal(statusExitCode(r), 0);
      const text = formatStatus(r);
      assert.match(text.split("\n")[0]!, /^AGREES/);
      assert.match(text, /mp1/);
      assert.match(text, /mp2/);
    }
  });

  it("split brain: two sites carry the active block with tsb running", () => {
    const input = afterFailover();
    input.sites[0] = { ...fencedSite("mp1"), replicas: { ...up } }; // mp1 woke up
    const r = decideStatus(input);
    const split = r.findings.find((f) => f.kind === "split-brain");
    assert.ok(split, "split brain found");
    assert.match(split.message, /mp1/);
    assert.match(split.message, /mp2/);
    assert.equal(statusExitCode(r), 1);
    assert.match(formatStatus(r).split("\n")[0]!, /^DISAGREES \(\d+\):.*split-brain/);
  });

  it("split brain without history (two installs both active)", () => {
    const input = agreeing();
    input.history = undefined;
    input.sites[1] = activeSite("mp2");
    assert.ok(kinds(input).includes("split-brain"));
  });

  it("fenced site woken up: names each deployment that runs again", () => {
    const input = afterFailover();
    input.sites[0] = { ...fencedSite("mp1"), replicas: { ...down, [OPERATOR_DEPLOYMENT]: { desired: 1, ready: 0 } } };
    const r = decideStatus(input);
    const woken = r.findings.filter((f) => f.kind === "fenced-woken");
    assert.equal(woken.length, 1);
    assert.equal(woken[0]!.site, "mp1");
    assert.match(woken[0]!.message, new RegExp(OPERATOR_DEPLOYMENT));
    assert.doesNotMatch(woken[0]!.message, /\btsb\b,|, iam/);
    assert.ok(!r.findings.some((f) => f.kind === "split-brain"), "operator alone is not a second serving active");
    assert.equal(statusExitCode(r), 1);
  });

  it("DNS still on the old active, in the provider and in the public resolver", () => {
    const input = afterFailover();
    input.dns = { floatingFqdn: FLOATING, provider: { cname: FQDN.mp1, ttl: 60 }, publicResolver: { cname: FQDN.mp1, resolver: "8.8.8.8" } };
    input.sites[0] = { ...fencedSite("mp1"), replicas: { ...down, envoy: { desired: 1, ready: 1 } } };
    const r = decideStatus(input);
    const dns = r.findings.filter((f) => f.kind === "dns-old-active");
    assert.equal(dns.length, 2);
    assert.ok(dns.every((f) => /mp1/.test(f.message)));
    // envoy on the old active must stay up while the name still points at it
    assert.ok(!r.findings.some((f) => f.kind === "front-proxy-not-cut"));
    assert.equal(r.dnsPointsAt.provider, "mp1");
    assert.equal(statusExitCode(r), 1);
  });

  it("public resolver lags behind the provider: only that answer disagrees", () => {
    const input = afterFailover();
    input.dns.publicResolver = { cname: FQDN.mp1, resolver: "1.1.1.1" };
    const found = decideStatus(input).findings;
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /public resolver 1\.1\.1\.1/);
  });

  it("an A-record answer maps to a site through the sites' addresses", () => {
    const input = afterFailover();
    input.dns = { floatingFqdn: FLOATING, provider: { addresses: ["10.0.0.1"] }, siteAddresses: { mp1: ["10.0.0.1"], mp2: ["10.0.0.2"] } };
    assert.deepEqual(kinds(input), ["dns-old-active"]);
    input.dns.provider = { addresses: ["10.0.0.2"] };
    assert.deepEqual(kinds(input), []);
  });

  it("fenced site's envoy still up after DNS moved: front proxy not cut", () => {
    const input = afterFailover();
    input.sites[0] = { ...fencedSite("mp1"), replicas: { ...down, envoy: { desired: 1, ready: 1 } } };
    assert.deepEqual(kinds(input), ["front-proxy-not-cut"]);
  });

  it("unreachable standby disagrees; an unreachable lost site does not", () => {
    const input = agreeing();
    input.sites[1] = { site: "mp2", reachable: false, unreachableReason: "connect ECONNREFUSED", replicas: {} };
    const r = decideStatus(input);
    assert.deepEqual(r.findings.map((f) => [f.kind, f.site]), [["unreachable", "mp2"]]);
    assert.match(r.findings[0]!.message, /ECONNREFUSED/);
    assert.equal(statusExitCode(r), 1);
    assert.match(formatStatus(r), /mp2 .*NO/);

    const lost = afterFailover();
    lost.history = history("mp2", { mp1: "lost", mp2: "active" });
    lost.sites[0] = { site: "mp1", reachable: false, skipped: true, unreachableReason: "lost: not read", replicas: {} };
    assert.deepEqual(kinds(lost), []);
  });

  it("kid mismatch between the active and a standby", () => {
    const input = agreeing();
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), signingKid: "kid-OTHER" };
    const f = decideStatus(input).findings;
    assert.deepEqual(f.map((x) => [x.kind, x.site]), [["kid-mismatch", "mp2"]]);
    assert.match(f[0]!.message, /kid-OTHER/);
  });

  it("standby not streaming, or streaming but stale beyond the gate's limit", () => {
    const input = agreeing();
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { probe: { ...streaming(5), walReceiverStatus: "waiting" } } };
    assert.deepEqual(kinds(input), ["not-streaming"]);
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { probe: streaming(400) } };
    const f = decideStatus(input).findings;
    assert.deepEqual(f.map((x) => x.kind), ["not-streaming"]);
    assert.match(f[0]!.message, /300 s/); // the gate's limit, from lostStaleness
    input.maxLostContactSeconds = 500;
    assert.deepEqual(kinds(input), []);
  });

  it("config changed but no update finished: pending failover", () => {
    const input = agreeing();
    input.config.activeSite = "mp2";
    assert.deepEqual(kinds(input), ["pending-failover"]);
  });

  it("standby synchronising from a site that is not the active", () => {
    const input = agreeing();
    input.sites[1] = standbySite("mp2", FQDN.mp3);
    assert.deepEqual(kinds(input), ["role-block"]);
  });

  it("a read that failed but nothing that disagrees: exit 2", () => {
    const input = agreeing();
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { error: "no ready Postgres pod" } };
    const r = decideStatus(input);
    assert.deepEqual(r.findings.map((f) => f.kind), ["could-not-read"]);
    assert.equal(statusExitCode(r), 2);
    assert.match(formatStatus(r).split("\n")[0]!, /^INCOMPLETE \(1\)/);
  });
});

/** The status table as cells by column name, per site: column bounds from the dashes under the header. */
function tableOf(text: string): Record<string, Record<string, string>> {
  const lines = text.split("\n");
  const h = lines.findIndex((l) => l.startsWith("site "));
  const dashes = lines[h + 1]!;
  const bounds: [number, number][] = [];
  for (const m of dashes.matchAll(/-+/g)) bounds.push([m.index, m.index + m[0].length]);
  const cells = (l: string): string[] => bounds.map(([a, b], i) => (i === bounds.length - 1 ? l.slice(a) : l.slice(a, b)).trim());
  const header = cells(lines[h]!);
  const out: Record<string, Record<string, string>> = {};
  for (const l of lines.slice(h + 2)) {
    if (l.trim() === "") break;
    const c = cells(l);
    out[c[0]!] = Object.fromEntries(header.map((k, i) => [k, c[i]!]));
  }
  return out;
}

describe("status: the table and the lines an on-call engineer reads", () => {
  it("one row per site: expected role, reachability, HA block, replicas, kids, replication", () => {
    const input = agreeing();
    input.config.sites.push({ name: "mp3", fqdn: FQDN.mp3, state: "standby" }, { name: "mp4", fqdn: "mp4.tsb.example.com", state: "lost" });
    input.history = history("mp1", { mp1: "active", mp2: "standby", mp3: "standby", mp4: "lost" });
    input.sites[1] = {
      ...standbySite("mp2", FQDN.mp1),
      replicas: { ...up, tsb: { desired: 2, ready: 1 }, envoy: "missing" },
      jwksKids: [],
      replication: { probe: { ...streaming(5), receiveLsn: "0/5000000", replayLsn: "0/4000000" } },
    };
    const noIam = Object.fromEntries(Object.entries(up).filter(([d]) => d !== "iam"));
    input.sites.push(
      { site: "mp3", reachable: false, unreachableReason: "dial tcp: i/o timeout", replicas: {} },
      { site: "mp4", reachable: false, skipped: true, replicas: {} },
    );
    input.sites[0] = { ...activeSite("mp1"), replicas: noIam };
    const r = decideStatus(input);
    const text = formatStatus(r);
    const t = tableOf(text);
    assert.deepEqual(Object.keys(t), ["mp1", "mp2", "mp3", "mp4"]);
    assert.deepEqual(t["mp1"], {
      site: "mp1", expected: "active", reachable: "yes", "ha block": "active", operator: "1", tsb: "1", iam: "?", envoy: "1",
      "signing kid": "kid-1", "jwks kids": "kid-1", replication: "primary at 0/5000100", postgres: "-",
    });
    assert.equal(t["mp2"]!["ha block"], `standby <- ${FQDN.mp1}`);
    assert.equal(t["mp2"]!["tsb"], "1/2", "ready/desired while they differ");
    assert.equal(t["mp2"]!["envoy"], "absent");
    assert.equal(t["mp2"]!["jwks kids"], "empty");
    assert.equal(t["mp2"]!["replication"], `streaming, at 0/5000000, ${0x100n} bytes behind; replay behind by ${0x1000000n} bytes (a promotion replays it)`);
    assert.deepEqual([t["mp3"]!["reachable"], t["mp3"]!["ha block"], t["mp3"]!["signing kid"], t["mp3"]!["jwks kids"], t["mp3"]!["replication"], t["mp3"]!["tsb"]], ["NO", "?", "-", "-", "-", "?"]);
    assert.equal(t["mp4"]!["reachable"], "not read (lost)");
    assert.equal(t["mp4"]!["expected"], "lost");
    assert.match(r.verdict, /^DISAGREES \(\d+\): /);
    assert.deepEqual(
      r.findings.map((f) => [f.kind, f.site]),
      [["unreachable", "mp3"], ["kid-mismatch", "mp2"]],
      "the lost site is not a finding; a deployment that could not be read is not 'down'",
    );
  });

  it("replication cell: an error, a standby with no walreceiver and nothing received, no lag without the active's position", () => {
    const input = agreeing();
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { error: "no ready Postgres pod" } };
    assert.equal(tableOf(formatStatus(decideStatus(input)))["mp2"]!["replication"], "error: no ready Postgres pod");
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { probe: { role: "standby", now: NOW } } };
    assert.equal(tableOf(formatStatus(decideStatus(input)))["mp2"]!["replication"], "no walreceiver, at nothing");
    input.sites[0] = { ...activeSite("mp1"), replication: { probe: { role: "primary", now: NOW } } };
    input.sites[1] = standbySite("mp2", FQDN.mp1);
    const t = tableOf(formatStatus(decideStatus(input)));
    assert.equal(t["mp1"]!["replication"], "primary at ?");
    assert.equal(t["mp2"]!["replication"], "streaming, at 0/5000000");
    input.sites[0] = { ...activeSite("mp1"), replication: { error: "x" } };
    assert.equal(tableOf(formatStatus(decideStatus(input)))["mp2"]!["replication"], "streaming, at 0/5000000");
  });

  it("the verdict names every site with its role; the DNS lines name the answer, the TTL and the site; history and config", () => {
    const input = agreeing();
    const text = formatStatus(decideStatus(input));
    const lines = text.split("\n");
    assert.equal(lines[0], `AGREES: mp1 active, mp2 standby; ${FLOATING} -> mp1`);
    assert.equal(lines[1], "");
    assert.ok(lines.includes(`floating ${FLOATING}`));
    assert.ok(lines.includes(`  DNS provider: CNAME ${FQDN.mp1} ttl 60 -> mp1`), text);
    assert.ok(lines.includes(`  public resolver 1.1.1.1: CNAME ${FQDN.mp1}. -> mp1`), text);
    assert.equal(lines.at(-1), "history: activeSite mp1; config: activeSite mp1");
    assert.equal(lines[lines.indexOf(`floating ${FLOATING}`) - 1], "", "a blank line between the table and the DNS lines");
    assert.ok(!text.includes("findings:"));

    input.history = undefined;
    input.dns = { floatingFqdn: FLOATING, provider: { error: "403 Forbidden" } };
    const r = decideStatus(input);
    const noHistory = formatStatus(r).split("\n");
    assert.ok(noHistory.includes("  DNS provider: error: 403 Forbidden"));
    assert.ok(noHistory.includes("  public resolver: not checked"));
    assert.ok(noHistory.includes("history: none (no successful update yet); config: activeSite mp1"));
    assert.ok(noHistory.includes("findings:"));
    assert.ok(noHistory.includes(`  - [dns-unknown] DNS provider: could not read ${FLOATING}: 403 Forbidden`));
    assert.equal(r.verdict, "INCOMPLETE (1): dns-unknown");
    assert.equal(statusExitCode(r), 2);
  });

  it("an answer that names no site: dns-unknown naming the answer; A records need exactly one site", () => {
    const input = agreeing();
    input.dns = { floatingFqdn: FLOATING, provider: { addresses: ["10.9.9.9"], ttl: 30 }, publicResolver: { addresses: [], resolver: "8.8.8.8" }, siteAddresses: { mp1: ["10.0.0.1"], mp2: ["10.0.0.2"] } };
    const r = decideStatus(input);
    assert.deepEqual(r.findings.map((f) => f.message), [
      `DNS provider: ${FLOATING} -> 10.9.9.9, which is no site's permanent FQDN`,
      `public resolver 8.8.8.8: ${FLOATING} -> no address, which is no site's permanent FQDN`,
    ]);
    assert.deepEqual(r.dnsPointsAt, { provider: "?", publicResolver: "?" });
    assert.ok(formatStatus(r).split("\n").includes("  DNS provider: 10.9.9.9 ttl 30 -> ?"));
    // an answer listing both sites' addresses names neither; one address of a site among others names it
    input.dns.provider = { addresses: ["10.0.0.1", "10.0.0.2"] };
    assert.equal(decideStatus(input).dnsPointsAt.provider, "?");
    input.dns.provider = { addresses: ["10.0.0.1", "10.9.9.9"] };
    assert.equal(decideStatus(input).dnsPointsAt.provider, "mp1");
    input.dns.provider = { cname: "elsewhere.example.com" };
    assert.equal(decideStatus(input).dnsPointsAt.provider, "?");
    input.dns = { floatingFqdn: FLOATING, publicResolver: { error: "SERVFAIL", resolver: "8.8.8.8" } };
    assert.deepEqual(decideStatus(input).findings.map((f) => f.message), [`public resolver 8.8.8.8: could not read ${FLOATING}: SERVFAIL`]);
  });

  it("DNS on the old active names both sites and what the control planes do", () => {
    const input = afterFailover();
    input.dns = { floatingFqdn: FLOATING, provider: { cname: FQDN.mp1 } };
    const [f] = decideStatus(input).findings;
    assert.equal(f?.message, `DNS provider: ${FLOATING} still points at mp1 (CNAME ${FQDN.mp1}), not the active mp2 (${FQDN.mp2}): control planes connect to mp1`);
  });

  it("front proxy: cut only once the provider (and the public resolver, when checked) moved", () => {
    const input = afterFailover();
    input.sites[0] = { ...fencedSite("mp1"), replicas: { ...down, envoy: { desired: 1, ready: 1 } } };
    input.dns = { floatingFqdn: FLOATING, provider: { cname: FQDN.mp2 } };
    const [f] = decideStatus(input).findings;
    assert.equal(f?.kind, "front-proxy-not-cut");
    assert.match(f.message, /^mp1 is fenced and the floating name points at mp2, but its envoy still runs/);
    input.dns = { floatingFqdn: FLOATING, publicResolver: { cname: FQDN.mp2, resolver: "1.1.1.1" } };
    assert.deepEqual(kinds(input), [], "the provider was not read: not known to have moved");
  });

  it("without history: the config's active is active, every other site has its configured state", () => {
    const input = afterFailover();
    input.history = undefined;
    input.config.sites[0]!.state = "fenced";
    assert.deepEqual(decideStatus(input).expected, { mp1: "fenced", mp2: "active" });
  });

  it("the active's block, deployments and key: each named", () => {
    const input = agreeing();
    input.sites[0] = { ...activeSite("mp1"), haBlock: { mode: "standby", syncHost: FQDN.mp2 }, replicas: { ...up, tsb: { desired: 0, ready: 0 } }, signingKid: undefined };
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), signingKid: "kid-2", jwksKids: ["kid-1"] };
    const f = decideStatus(input).findings;
    assert.deepEqual(f.map((x) => x.message), [
      "mp1 should be active but its ManagementPlane carries the standby block",
      "mp1 is the active but tsb has no replicas",
      "the active mp1 has no iam-signing-key kid",
      "mp2's tsb-iam-jwks (kid-1) does not carry the signing key's kid kid-2",
    ]);
    assert.deepEqual(f.map((x) => x.site), ["mp1", "mp1", "mp1", "mp2"]);
    input.sites[0] = { ...activeSite("mp1"), replicas: { ...down } };
    assert.match(decideStatus(input).findings[0]!.message, new RegExp(`^mp1 is the active but ${OPERATOR_DEPLOYMENT}, tsb, iam, envoy have no replicas$`));
  });

  it("a standby's block, key and replication: each named", () => {
    const input = agreeing();
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), haBlock: { mode: "active" }, signingKid: undefined, jwksKids: ["kid-1"] };
    assert.deepEqual(decideStatus(input).findings.map((x) => x.message), [
      "split brain: mp1 and mp2 both carry the active block with tsb/iam running; control planes may write to either. Fence the one that is not mp1 now (docs/failover.md, \"Fence by hand\")",
      "mp2 should be a standby but its ManagementPlane carries the active block",
      "mp2's iam-signing-key kid (none) differs from the active mp1's kid-1: tokens would be rejected after a failover to it",
    ]);
    input.sites[1] = { ...standbySite("mp2", `${FQDN.mp1.toUpperCase()}.`), replication: { probe: primary } };
    assert.deepEqual(decideStatus(input).findings.map((x) => x.message), [
      "mp2's Postgres is already a primary (timeline ?, at 0/5000100), not a standby of mp1: nothing proves it holds mp1's writes. Fix: check both sites' databases by hand (docs/replication.md, \"Already a primary\") before promoting.",
    ]);
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { error: "exec denied" }, readErrors: ["deployment tsb: 403"] };
    assert.deepEqual(decideStatus(input).findings.map((x) => x.message), ["mp2: deployment tsb: 403", "mp2: replication probe failed: exec denied"]);
  });

  it("replication by the gate's rules: a waiting receiver, a standby on an old timeline, a paused replay shown", () => {
    const input = agreeing();
    input.sites[0] = { ...activeSite("mp1"), replication: { probe: { role: "primary", currentLsn: "0/5000100", timeline: 2, now: NOW } } };
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { probe: { ...streaming(4), walReceiverStatus: "waiting", receivedTimeline: 2 } } };
    const waiting = decideStatus(input).findings;
    assert.deepEqual(waiting.map((f) => f.kind), ["not-streaming"]);
    assert.match(waiting[0]!.message, /^mp2 is not streaming from mp1: walreceiver waiting from .* on timeline 2, holds WAL up to 0\/5000000; a failover to it would wait for a catch-up that cannot come$/);
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { probe: { ...streaming(4), walReceiverStatus: "waiting", walTimeline: 1, receivedTimeline: 1 } } };
    const old = decideStatus(input).findings;
    assert.deepEqual(old.map((f) => [f.kind, f.site]), [["old-timeline", "mp2"]]);
    assert.match(old[0]!.message, /mp2 holds WAL of timeline 1 \(up to 0\/5000000\), but mp1 was on timeline 2/);
    // Without the active's timeline: the newer history file the standby fetched says it too.
    input.sites[0] = activeSite("mp1");
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { probe: { ...streaming(4), walReceiverStatus: "waiting", walTimeline: 1, knownTimeline: 2 } } };
    assert.deepEqual(decideStatus(input).findings.map((f) => f.kind), ["old-timeline"]);
    assert.match(decideStatus(input).findings[0]!.message, /but mp1 has moved to timeline 2/);
    input.sites[0] = { ...activeSite("mp1"), replication: { probe: { role: "primary", currentLsn: "0/5000100", timeline: 2, now: NOW } } };
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: { probe: { ...streaming(4), receiveLsn: "0/5000100", replayLsn: "0/5000000", replayPauseState: "paused", receivedTimeline: 2 } } };
    const r = decideStatus(input);
    assert.deepEqual(r.findings, [], "a paused replay loses nothing: the promotion replays it");
    assert.equal(tableOf(formatStatus(r))["mp2"]!["replication"], "streaming, at 0/5000100 (timeline 2), 0 bytes behind; replay paused by 256 bytes (a promotion replays it)");
  });

  it("a fenced site's database: stopped is shown, running is a finding", () => {
    const input = agreeing();
    input.config.sites.push({ name: "mp3", fqdn: FQDN.mp3, state: "fenced" });
    input.history = history("mp1", { mp1: "active", mp2: "standby", mp3: "fenced" });
    input.sites.push({ ...fencedSite("mp3"), postgresPods: 0 });
    const stopped = decideStatus(input);
    assert.deepEqual(stopped.findings, []);
    assert.equal(tableOf(formatStatus(stopped))["mp3"]!["postgres"], "stopped");
    input.sites[2] = { ...input.sites[2]!, postgresPods: 1 };
    const running = decideStatus(input);
    assert.deepEqual(running.findings.map((f) => [f.kind, f.site]), [["fenced-db-running", "mp3"]]);
    assert.equal(running.findings[0]!.message, "mp3 is fenced but its Postgres runs (1 pod): it still writes WAL and may stream it to standbys; stop it (docs/failover.md, \"Fence by hand\")");
    assert.equal(tableOf(formatStatus(running))["mp3"]!["postgres"], "1 running");
    input.sites[2] = { ...input.sites[2], postgresPods: 2 };
    assert.match(decideStatus(input).findings[0]!.message, /\(2 pods\)/);
  });

  it("a split brain needs tsb or iam running on both; an unreachable site of no known role says so", () => {
    const input = agreeing();
    input.sites[1] = { ...activeSite("mp2"), replicas: { ...down, iam: { desired: 1, ready: 1 } } };
    assert.ok(kinds(input).includes("split-brain"));
    input.sites[1] = { ...activeSite("mp2"), replicas: { ...down, envoy: { desired: 1, ready: 1 } } };
    assert.ok(!kinds(input).includes("split-brain"));
    input.sites[1] = { ...activeSite("mp2"), haBlock: undefined };
    assert.ok(!kinds(input).includes("split-brain"));
    input.sites[1] = { site: "mp9", reachable: false, replicas: {} };
    assert.deepEqual(decideStatus(input).findings.map((x) => x.message), ["mp9 (unknown role) is unreachable: no answer"]);
  });

  it("a pending failover names both active sites and the runbook", () => {
    const input = agreeing();
    input.config.activeSite = "mp2";
    assert.equal(decideStatus(input).findings[0]!.message, "config says activeSite mp2, the last successful update made mp1 active: a failover is pending or failed half-way (docs/failover.md)");
  });

  it("a disagreement among could-not-read findings still disagrees (exit 1, DISAGREES)", () => {
    const input = agreeing();
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), signingKid: "kid-X", readErrors: ["deployment iam: 500"] };
    const r = decideStatus(input);
    assert.equal(statusExitCode(r), 1);
    assert.equal(r.verdict, "DISAGREES (2): could-not-read mp2, kid-mismatch mp2");
    input.sites[0] = { ...activeSite("mp1"), readErrors: ["deployment envoy: 500"] };
    input.sites[1] = standbySite("mp2", FQDN.mp1);
    assert.equal(decideStatus(input).verdict, "INCOMPLETE (1): could-not-read mp1");
  });
});

describe("status: edges of the rules", () => {
  it("the fenced site's envoy must stay up while the public resolver still names it", () => {
    const input = afterFailover();
    input.sites[0] = { ...fencedSite("mp1"), replicas: { ...down, envoy: { desired: 1, ready: 1 } } };
    input.dns.publicResolver = { cname: FQDN.mp1, resolver: "1.1.1.1" };
    assert.deepEqual(kinds(input), ["dns-old-active"]);
  });

  it("keys are compared with the active's own snapshot wherever it sits in the list; fenced sites are not standbys", () => {
    const input = afterFailover(); // mp2 (active) second
    input.sites[1] = { ...activeSite("mp2"), signingKid: "kid-2", jwksKids: ["kid-2"] };
    assert.deepEqual(kinds(input), [], "fenced mp1 keeps the old key: no finding");
    input.config.sites[0]!.state = "standby";
    input.history = history("mp2", { mp1: "standby", mp2: "active" });
    input.sites[0] = standbySite("mp1", FQDN.mp2);
    assert.deepEqual(decideStatus(input).findings.map((f) => f.message), ["mp1's iam-signing-key kid kid-1 differs from the active mp2's kid-2: tokens would be rejected after a failover to it"]);
  });

  it("an active with no snapshot (not read) gives no key finding and no crash", () => {
    const input = agreeing();
    input.sites = [standbySite("mp2", FQDN.mp1)];
    assert.deepEqual(kinds(input), []);
  });

  it("a standby whose replication was not probed is not judged; one without kids is not a jwks finding", () => {
    const input = agreeing();
    input.sites[1] = { ...standbySite("mp2", FQDN.mp1), replication: undefined, jwksKids: undefined };
    assert.deepEqual(kinds(input), []);
  });

  it("lists name every deployment and every site, comma-separated", () => {
    const input = afterFailover();
    input.sites[0] = { ...fencedSite("mp1"), replicas: { ...down, tsb: { desired: 1, ready: 1 }, iam: { desired: 0, ready: 1 } } };
    const f = decideStatus(input).findings.find((x) => x.kind === "fenced-woken");
    assert.match(f!.message, /^mp1 is fenced but tsb, iam run again \(replicas > 0\)/);
    const r = decideStatus({ ...agreeing(), sites: [activeSite("mp1"), { site: "mp2", reachable: false, skipped: true, replicas: {} }] });
    assert.match(r.verdict, /^DISAGREES \(1\): unreachable mp2$/);
    assert.equal(decideStatus(agreeing()).verdict.split(";")[0], "AGREES: mp1 active, mp2 standby");
  });
});
