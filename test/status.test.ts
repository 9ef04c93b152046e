// `status` decisions over recorded states (lib/status.ts): what an on-call engineer relies on is the
// exit code, the first line, and a finding that names the site and the problem.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decideStatus, formatStatus, statusExitCode, STATUS_DEPLOYMENTS, type SiteSnapshot, type StatusInput } from "../lib/status";
import type { ReplicationProbe } from "../lib/replication";
import type { SetHistory, SiteHistory } from "../lib/topology";
import { OPERATOR_DEPLOYMENT } from "../lib/names";

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
