// `readiness` decisions over recorded evidence (lib/oncall/readiness.ts): every check passing, each one
// failing, a site unreachable; the verdict line, the exit code and the named check are what CI and
// the on-call engineer read.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  ACTIVE_ACCESS, TARGET_ACCESS, accessLabel, certificateCheck, failoverConfigProblem, formatReadiness, nodeRunsDynamicProviders, readinessExitCode, targetReadiness, versionAtLeast,
  type AccessNeed, type Check, type TargetEvidence,
} from "../../lib/oncall/readiness";
import type { ReplicationProbe } from "../../lib/gates/replication";
import { TestRootCa } from "../harness/certChain";
import { FLOATING, FQDN, SECRET_KEYS, history, jwksData, rawConfig, signingKeyData } from "../harness/onCallFixtures";
import { XCP_CENTRAL_DNS } from "../../lib/plan/certs";
import { TSB_NAMESPACE } from "../../lib/config/names";

const root = new TestRootCa();
const otherRoot = new TestRootCa("someone else's root");
after(() => {
  root.dispose();
  otherRoot.dispose();
});
const goodTsb = root.leaf([FQDN.mp2, FLOATING], 365).certPem;
const goodXcp = root.leaf([FQDN.mp2, FLOATING, XCP_CENTRAL_DNS], 365).certPem;
/** After the certificates were made (openssl starts their validity at the current second). */
const NOW = new Date();

const allowed = (needs: readonly AccessNeed[]) => ({ reachable: true as const, reviews: needs.map((need) => ({ need, allowed: true })) });
const standby = (ageSeconds: number, at = "0/5000000"): ReplicationProbe => ({
  role: "standby", receiveLsn: at, replayLsn: at, walReceiverStatus: "streaming", upstream: `${FQDN.mp1}:443`,
  lastMsgReceiptTime: new Date(NOW.getTime() - ageSeconds * 1000).toISOString(), now: NOW.toISOString(),
});

/** Evidence on which every check passes (mp1 active, mp2 the target). */
function ready(): TargetEvidence {
  return {
    target: "mp2", active: "mp1", activeFqdn: FQDN.mp1, targetFqdn: FQDN.mp2, floatingFqdn: FLOATING,
    access: { target: allowed(TARGET_ACCESS), active: allowed(ACTIVE_ACCESS) },
    replication: { target: standby(3), active: { role: "primary", currentLsn: "0/5000100", now: NOW.toISOString() }, others: {}, maxLostContactSeconds: 300 },
    secrets: { targetSigningKey: signingKeyData("kid-1"), activeSigningKey: signingKeyData("kid-1"), targetJwks: jwksData("kid-1"), standbySaExists: true },
    certificates: { rootCaPem: root.caPem, certs: [{ secret: "tsb-certs", pem: goodTsb }, { secret: "xcp-central-cert", pem: goodXcp }], minValidDays: 30, now: NOW },
    dns: { status: "read", zoneReadable: true, record: { type: "CNAME", value: FQDN.mp1, ttl: 60 } },
    configuredTtl: 60,
    api: { ok: true, summary: "site mp1: TSB API serves organization tetrate" },
    tooling: {
      nodeVersion: "20.19.0", pulumiVersion: "3.250.0", minPulumiVersion: "3.248.0", updateInProgress: false,
      rawConfig: rawConfig("mp1", { mp1: { context: "mp1" }, mp2: { context: "mp2" } }), secretKeys: SECRET_KEYS,
      history: history("mp1", { mp1: "active", mp2: "standby" }),
    },
  };
}

/** Only the named checks did not pass, with the given status. */
function onlyProblems(e: TargetEvidence, status: "fail" | "could-not-check", ...names: RegExp[]): void {
  const r = targetReadiness(e);
  const bad = r.checks.filter((c) => c.status !== "pass");
  assert.equal(bad.length, names.length, `expected ${names.length} problem(s), got: ${bad.map((c) => `${c.name} [${c.status}]: ${c.reason}`).join(" | ")}`);
  for (const n of names) assert.ok(bad.some((c) => n.test(c.name) && c.status === status), `${n} is ${status}`);
  assert.equal(r.ready, false);
  assert.match(r.verdict, new RegExp(`^mp2: NOT READY \\(${names.length}\\): `));
  assert.equal(readinessExitCode([r]), status === "fail" ? 1 : 2);
}

describe("readiness: decisions over recorded evidence", () => {
  it("every check passes: READY, exit 0, one table row per check", () => {
    const r = targetReadiness(ready());
    assert.deepEqual(r.checks.filter((c) => c.status !== "pass").map((c) => `${c.name}: ${c.reason}`), []);
    assert.equal(r.verdict, "mp2: READY");
    assert.equal(readinessExitCode([r]), 0);
    const text = formatReadiness([r]);
    assert.equal(text.split("\n")[0], "mp2: READY");
    assert.equal(text.split("\n").filter((l) => l.startsWith("mp2 ")).length, r.checks.length);
    // the areas the issue lists are all there
    for (const area of ["cluster access", "replication", "secrets", "certificates", "dns", "tsb api", "tooling"]) assert.ok(r.checks.some((c) => c.area === area), area);
  });

  it("cluster access: a denied verb fails and names it with the fix", () => {
    const e = ready();
    e.access.target = { reachable: true, reviews: TARGET_ACCESS.map((need) => ({ need, allowed: !(need.verb === "update" && need.resource === "secrets") })) };
    onlyProblems(e, "fail", /mp2: update secrets in tsb/);
    const c = targetReadiness(e).checks.find((x) => x.status === "fail")!;
    assert.match(c.fix!, /auth can-i update secrets/);
  });

  it("cluster access: a review that errored is could-not-check", () => {
    const e = ready();
    e.access.active = { reachable: true, reviews: ACTIVE_ACCESS.map((need, i) => (i === 0 ? { need, error: "timeout" } : { need, allowed: true })) };
    onlyProblems(e, "could-not-check", /mp1: patch deployments/);
  });

  it("replication: not streaming; stale beyond the gate's limit; another standby ahead; probe failed", () => {
    let e = ready();
    // A waiting receiver: no catch-up can come, and its recent last message is no contact (the gate's rules).
    e.replication.target = { ...standby(3), walReceiverStatus: "waiting" };
    onlyProblems(e, "fail", /streams from mp1/, /holds mp1's WAL/, /gate's limit/);

    e = ready();
    e.replication.target = standby(301);
    onlyProblems(e, "fail", /gate's limit \(300 s\)/);

    e = ready();
    e.replication.others = { mp3: standby(1, "0/6000000") };
    onlyProblems(e, "fail", /no other standby ahead/);

    e = ready();
    e.replication.target = { error: "no ready Postgres pod" };
    onlyProblems(e, "could-not-check", /streams from mp1/);
  });

  it("replication is judged as the gate judges it: a paused replay that received everything is ready, and says so", () => {
    const e = ready();
    e.replication.target = { ...standby(3, "0/5000100"), replayLsn: "0/5000000", replayPauseState: "paused" };
    const r = targetReadiness(e);
    assert.equal(r.ready, true, r.verdict);
    const holds = r.checks.find((c) => c.name === "mp2 holds mp1's WAL")!;
    assert.equal(holds.reason, "mp2 holds WAL up to 0/5000100, at or past mp1's position 0/5000100; replay paused by 256 bytes: a promotion replays all received WAL first");
    assert.match(r.checks.find((c) => c.name === "mp2 streams from mp1")!.reason, /replay paused by 256 bytes/);
  });

  it("replication: a streaming standby's lag is what the gate waits for, not a failure; another timeline is", () => {
    let e = ready();
    const lag = targetReadiness(e).checks.find((c) => c.name === "mp2 holds mp1's WAL")!;
    assert.deepEqual([lag.status, lag.reason], ["pass", "mp2 holds WAL up to 0/5000000, 256 bytes behind mp1 (at 0/5000100); walreceiver streaming from mp1.tsb.example.com:443 (the gate waits up to replication.catchUpTimeoutSeconds for it)"]);
    e = ready();
    e.replication.active = { role: "primary", currentLsn: "0/5000100", timeline: 2, now: NOW.toISOString() };
    e.replication.target = { ...standby(3), walReceiverStatus: "waiting", walTimeline: 1, receivedTimeline: 1 };
    onlyProblems(e, "fail", /streams from mp1/, /holds mp1's WAL/, /gate's limit/);
    assert.match(targetReadiness(e).checks.find((c) => c.name === "mp2 streams from mp1")!.reason, /mp2 holds WAL of timeline 1 \(up to 0\/5000000\), but mp1 was on timeline 2/);
    e.replication.target = { ...standby(3), walTimeline: 1, receivedTimeline: 1 };
    assert.equal(targetReadiness(e).ready, true, "streaming across the fork: the gate waits for it");
  });

  it("replication: the active not probed is could-not-check; no pg_waldump in the target's container fails", () => {
    let e = ready();
    e.replication.active = { error: "exec denied" };
    onlyProblems(e, "could-not-check", /holds mp1's WAL/);
    e = ready();
    e.replication.walTools = { ok: false, detail: "no pg_waldump on PATH in tsb/tsb-postgres-1-0 (exit 127)" };
    onlyProblems(e, "fail", /pg_waldump/);
    e = ready();
    e.replication.walTools = { ok: true, detail: "/usr/lib/postgresql/15/bin/pg_waldump, pg_waldump (PostgreSQL) 15.18" };
    assert.equal(targetReadiness(e).ready, true);
  });

  it("secrets: kid differs from the active's (the failover preflight's message); tsb-standby-sa missing", () => {
    let e = ready();
    e.secrets.targetSigningKey = signingKeyData("kid-2");
    onlyProblems(e, "fail", /iam-signing-key kid/);
    assert.match(targetReadiness(e).checks.find((c) => c.status === "fail")!.reason, /kid-2.*kid-1/);

    e = ready();
    e.secrets.standbySaExists = false;
    onlyProblems(e, "fail", /tsb-standby-sa exists/);
  });

  it("certificates: another root, no floating name, expiring within the window, secret missing", () => {
    const check = (pem: string | undefined, secret = "tsb-certs") => certificateCheck("mp2", FQDN.mp2, FLOATING, pem ? { secret, pem } : { secret }, root.caPem, 30, NOW);
    assert.equal(check(goodTsb).status, "pass");
    assert.equal(check(goodXcp, "xcp-central-cert").status, "pass");
    const foreign = check(otherRoot.leaf([FQDN.mp2, FLOATING], 365).certPem);
    assert.equal(foreign.status, "fail");
    assert.match(foreign.reason, /not signed by the set's root CA/);
    const noFloating = check(root.leaf([FQDN.mp2], 365).certPem);
    assert.equal(noFloating.status, "fail");
    assert.match(noFloating.reason, new RegExp(`lacks DNS names ${FLOATING.replace(/\./g, "\\.")}`));
    const xcpWithoutCentral = check(root.leaf([FQDN.mp2, FLOATING], 365).certPem, "xcp-central-cert");
    assert.match(xcpWithoutCentral.reason, /central\.xcp\.tetrate\.io/);
    // openssl -days 10 on a cert whose window starts now: ~10 days left, under 30
    const expiring = certificateCheck("mp2", FQDN.mp2, FLOATING, { secret: "tsb-certs", pem: root.leaf([FQDN.mp2, FLOATING], 10).certPem }, root.caPem, 30, new Date());
    assert.equal(expiring.status, "fail");
    assert.match(expiring.reason, /days left, want > 30/);
    assert.equal(certificateCheck("mp2", FQDN.mp2, FLOATING, { secret: "tsb-certs", pem: root.leaf([FQDN.mp2, FLOATING], 10).certPem }, root.caPem, 5, new Date()).status, "pass");
    assert.equal(check(undefined).status, "fail");

    const e = ready();
    e.certificates.certs[1] = { secret: "xcp-central-cert", pem: root.leaf([FQDN.mp2], 365).certPem };
    onlyProblems(e, "fail", /xcp-central-cert/);
  });

  it("dns: record on another site, TTL not the configured one, credentials refused, none given", () => {
    let e = ready();
    e.dns = { status: "read", zoneReadable: true, record: { type: "CNAME", value: FQDN.mp2, ttl: 60 } };
    onlyProblems(e, "fail", /record points at the active/);

    e = ready();
    e.dns = { status: "read", zoneReadable: true, record: { type: "CNAME", value: `${FQDN.mp1}.`, ttl: 300 } };
    onlyProblems(e, "fail", /TTL is 60/);

    e = ready();
    e.dns = { status: "read", zoneReadable: false };
    onlyProblems(e, "fail", /credentials read the zone/);

    e = ready();
    e.dns = { status: "no-credentials", reason: "no Cloudflare token" };
    onlyProblems(e, "could-not-check", /credentials read the zone/, /record points at the active/, /TTL is 60/);
  });

  it("tsb api: the verification's message is the reason", () => {
    const e = ready();
    e.api = { ok: false, message: "site mp1: GET https://mp1.tsb.example.com:443/v2/organizations/tetrate answered 401 Unauthorized" };
    onlyProblems(e, "fail", /serves the organisation/);
  });

  it("tooling: old CLI, stack locked, lock state unknown, failover config refused", () => {
    let e = ready();
    e.tooling.pulumiVersion = "v3.100.0";
    onlyProblems(e, "fail", /Pulumi CLI >= 3\.248\.0/);

    e = ready();
    e.tooling.updateInProgress = true;
    onlyProblems(e, "fail", /stack not locked/);

    e = ready();
    delete e.tooling.updateInProgress;
    onlyProblems(e, "could-not-check", /stack not locked/);

    e = ready();
    e.tooling.history = history("mp1", { mp1: "active", mp3: "standby" }); // mp2 never ran
    onlyProblems(e, "fail", /config of a failover to mp2 validates/);
    assert.match(targetReadiness(e).checks.find((c) => c.status === "fail")!.reason, /never run/);
  });

  it("tooling: a Node that cannot require(esm) fails with the versions to install; an unreported one could not be checked", () => {
    for (const v of ["20.18.3", "v20.10.0", "21.7.3", "22.11.0", "18.20.4"]) {
      const e = ready();
      e.tooling.nodeVersion = v;
      onlyProblems(e, "fail", /^Node\.js >= 20\.19\.0 \(or >= 22\.12\.0\)$/);
      const c = targetReadiness(e).checks.find((x) => x.status === "fail")!;
      assert.match(c.reason, new RegExp(`^node ${v.replace(/\./g, "\\.")} cannot require an ES module: .*ERR_REQUIRE_ESM`));
      assert.match(c.fix!, /Node 20\.19\.0 or newer 20\.x, or 22\.12\.0 or newer 22\.x/);
    }
    for (const v of ["20.19.0", "20.20.2", "v22.12.0", "22.21.1", "24.1.0"]) {
      const e = ready();
      e.tooling.nodeVersion = v;
      assert.equal(targetReadiness(e).ready, true, v);
      assert.match(targetReadiness(e).checks.find((c) => c.name.startsWith("Node.js"))!.reason, new RegExp(`^node ${v.replace(/\./g, "\\.")} can require`));
    }
    const e = ready();
    delete e.tooling.nodeVersion;
    onlyProblems(e, "could-not-check", /^Node\.js >= 20\.19\.0/);
    const unknown = targetReadiness(e).checks.find((c) => c.name.startsWith("Node.js"))!;
    assert.deepEqual([unknown.area, unknown.reason], ["tooling", "the Node.js version was not reported"]);
    for (const v of ["20.18.0", "20.19.0"]) {
      const x = ready();
      x.tooling.nodeVersion = v;
      assert.equal(targetReadiness(x).checks.find((c) => c.name.startsWith("Node.js"))!.area, "tooling", v);
    }
    for (const v of ["not a version", "21.0.0", "v21.99.0", "20.18.99", "22.11.9"]) assert.equal(nodeRunsDynamicProviders(v), false, v);
    for (const v of ["20.19.0", "v20.99.1", "22.12.0", "23.0.0"]) assert.equal(nodeRunsDynamicProviders(v), true, v);
  });

  it("a failover's config: activeSite = target and the old active fenced passes the program's guards", () => {
    const raw = rawConfig("mp1", { mp1: { context: "mp1" }, mp2: { context: "mp2" }, mp3: { context: "mp3" } });
    const h = history("mp1", { mp1: "active", mp2: "standby", mp3: "standby" });
    assert.equal(failoverConfigProblem(raw, new Set(SECRET_KEYS), h, "mp1", "mp2"), undefined);
    // without the secret JWK, mp3 (still a standby) makes the config invalid
    assert.match(failoverConfigProblem(raw, new Set(), h, "mp1", "mp2") ?? "", /standbyServiceAccountJwk/);
  });

  it("target unreachable: NOT READY, access fails, the rest could not be checked", () => {
    const e = ready();
    e.access.target = { reachable: false, error: "connect ECONNREFUSED 10.0.0.2:6443" };
    e.replication.target = { error: "mp2 unreachable" };
    e.secrets = { error: "mp2 unreachable" };
    e.certificates.certs = [{ secret: "tsb-certs", error: "mp2 unreachable" }, { secret: "xcp-central-cert", error: "mp2 unreachable" }];
    const r = targetReadiness(e);
    assert.equal(r.ready, false);
    assert.ok(r.checks.some((c) => c.name === "target mp2 API" && c.status === "fail" && /ECONNREFUSED/.test(c.reason)));
    assert.ok(r.checks.filter((c) => c.status === "could-not-check").length >= 4);
    assert.equal(readinessExitCode([r]), 1, "a known failure wins over unknowns");
  });

  it("exit codes over several targets", () => {
    const good = targetReadiness(ready());
    const unknown = ready();
    unknown.tooling.pulumiVersion = undefined;
    const failing = ready();
    failing.secrets.standbySaExists = false;
    assert.equal(readinessExitCode([good, good]), 0);
    assert.equal(readinessExitCode([good, targetReadiness(unknown)]), 2);
    assert.equal(readinessExitCode([targetReadiness(unknown), targetReadiness(failing)]), 1);
  });

  it("versions compare numerically", () => {
    assert.equal(versionAtLeast("3.248.0", "3.248.0"), true);
    assert.equal(versionAtLeast("v3.1000.0", "3.248.0"), true);
    assert.equal(versionAtLeast("3.99.9", "3.248.0"), false);
    assert.equal(versionAtLeast("4.0.0-alpha", "3.248.0"), true);
    assert.equal(versionAtLeast("dev", "3.248.0"), undefined);
    // patch and minor compare as numbers; the CLI's own output (v, newline) parses; an unparsable minimum is unknown
    assert.equal(versionAtLeast("3.248.10", "3.248.2"), true);
    assert.equal(versionAtLeast("3.248.1", "3.248.2"), false);
    assert.equal(versionAtLeast("3.249.0", "3.248.99"), true);
    assert.equal(versionAtLeast("2.999.999", "3.0.0"), false);
    assert.equal(versionAtLeast(" v3.250.0\n", "3.248.0"), true);
    assert.equal(versionAtLeast("3.250.0", "latest"), undefined);
  });
});

/** The one check of that name (each name is unique within a target's checks). */
const pick = (c: Check): [string, string] => [c.status, c.reason];

function checkNamed(e: TargetEvidence, name: string): Check {
  const found = targetReadiness(e).checks.filter((c) => c.name === name);
  assert.equal(found.length, 1, `one check named ${name}, got ${found.length}`);
  return found[0]!;
}

describe("readiness: what the on-call engineer reads in each check", () => {
  it("checks come in the failover's order: target access, active access, replication, secrets, certificates, dns, tsb api, tooling", () => {
    const r = targetReadiness(ready());
    const areas = r.checks.map((c) => c.area).filter((a, i, all) => a !== all[i - 1]);
    assert.deepEqual(areas, ["cluster access", "replication", "secrets", "certificates", "dns", "tsb api", "tooling"]);
    const access = r.checks.filter((c) => c.area === "cluster access").map((c) => c.name);
    assert.deepEqual(access, [
      "target mp2 API", ...TARGET_ACCESS.map((n) => `mp2: ${accessLabel(n)}`),
      "active mp1 API", ...ACTIVE_ACCESS.map((n) => `mp1: ${accessLabel(n)}`),
    ]);
    // a passing check gives nothing to do
    assert.deepEqual(r.checks.filter((c) => c.fix !== undefined).map((c) => c.name), []);
  });

  it("the permissions asked on each site are the failover's calls there, in tsb", () => {
    assert.deepEqual(TARGET_ACCESS.map(accessLabel), [
      "patch deployments.apps", "get deployments.apps", "get secrets", "create secrets", "update secrets", "list secrets", "list pods", "create pods/exec",
    ].map((l) => `${l} in ${TSB_NAMESPACE}`));
    assert.deepEqual(ACTIVE_ACCESS.map(accessLabel), [
      "patch deployments.apps", "get deployments.apps", "list statefulsets.apps", "patch statefulsets.apps", "get secrets", "list pods", "create pods/exec",
    ].map((l) => `${l} in ${TSB_NAMESPACE}`));
  });

  it("cluster access: each denied permission fails alone, says what the failover needs it for and the can-i to run", () => {
    for (const [side, site, needs] of [["target", "mp2", TARGET_ACCESS], ["active", "mp1", ACTIVE_ACCESS]] as const) {
      for (const denied of needs) {
        const e = ready();
        e.access[side] = { reachable: true, reviews: needs.map((need) => ({ need, allowed: need !== denied })) };
        const bad = targetReadiness(e).checks.filter((c) => c.status !== "pass");
        assert.deepEqual(bad.map((c) => [c.area, c.name, c.status]), [["cluster access", `${site}: ${accessLabel(denied)}`, "fail"]]);
        assert.ok(denied.why.length > 0 && bad[0]!.reason.includes(denied.why), `${bad[0]!.reason} says why`);
        const resource = denied.subresource ? `${denied.resource}/${denied.subresource}` : denied.resource;
        assert.match(bad[0]!.fix!, new RegExp(`kubectl --context <ctx> auth can-i ${denied.verb} ${resource} -n ${TSB_NAMESPACE} `));
      }
    }
    const pass = checkNamed(ready(), `mp2: ${accessLabel(TARGET_ACCESS[7]!)}`);
    assert.ok(pass.reason.includes(TARGET_ACCESS[7]!.why), pass.reason);
  });

  it("cluster access: reviews recorded as JSON (copies of the needs) are matched by permission", () => {
    const e = ready();
    e.access.target = JSON.parse(JSON.stringify(e.access.target)) as TargetEvidence["access"]["target"];
    const denied = JSON.parse(JSON.stringify({ reachable: true, reviews: ACTIVE_ACCESS.map((need) => ({ need, allowed: need.resource !== "statefulsets" })) })) as TargetEvidence["access"]["active"];
    e.access.active = denied;
    onlyProblems(e, "fail", /^mp1: list statefulsets\.apps in tsb$/, /^mp1: patch statefulsets\.apps in tsb$/);
  });

  it("cluster access: a permission not asked, or answered without a verdict, could not be checked; the fix is the review right", () => {
    let e = ready();
    e.access.target = { reachable: true, reviews: TARGET_ACCESS.filter((n) => n.resource !== "pods").map((need) => ({ need, allowed: true })) };
    onlyProblems(e, "could-not-check", /^mp2: list pods in tsb$/, /^mp2: create pods\/exec in tsb$/);
    const notAsked = checkNamed(e, "mp2: list pods in tsb");
    assert.match(notAsked.reason, /not asked/);
    assert.match(notAsked.fix!, /selfsubjectaccessreviews/);

    e = ready();
    e.access.active = { reachable: true, reviews: ACTIVE_ACCESS.map((need, i) => (i === 1 ? { need } : { need, allowed: true })) };
    onlyProblems(e, "could-not-check", /^mp1: get deployments\.apps in tsb$/);
    e.access.active = { reachable: true, reviews: ACTIVE_ACCESS.map((need, i) => (i === 1 ? { need, error: "403 selfsubjectaccessreviews forbidden" } : { need, allowed: true })) };
    assert.match(checkNamed(e, "mp1: get deployments.apps in tsb").reason, /403 selfsubjectaccessreviews forbidden/);
  });

  it("cluster access: an unreachable active fails once, names its config keys, and asks nothing more of it", () => {
    const e = ready();
    e.access.active = { reachable: false, error: "Unauthorized: token expired" };
    onlyProblems(e, "fail", /^active mp1 API$/);
    const c = checkNamed(e, "active mp1 API");
    assert.match(c.reason, /mp1 did not answer: Unauthorized: token expired/);
    assert.match(c.fix!, /sites\.mp1\.context.*kubeconfigs\.mp1/);
    assert.equal(targetReadiness(e).checks.filter((x) => x.name.startsWith("mp1: ")).length, 0);
    assert.match(checkNamed(ready(), "active mp1 API").reason, /mp1 answered/);
  });

  it("replication: a probe not run or failed, an active not probed: could not check, saying which", () => {
    let e = ready();
    delete e.replication.target;
    onlyProblems(e, "could-not-check", /^mp2 streams from mp1$/);
    const notRun = checkNamed(e, "mp2 streams from mp1");
    assert.match(notRun.reason, /^probe of mp2 failed: not run$/);
    assert.match(notRun.fix!, /docs\/replication\.md, "Checking the probe's guesses"/);
    e.replication.target = { error: "no ready Postgres pod" };
    assert.match(checkNamed(e, "mp2 streams from mp1").reason, /^probe of mp2 failed: no ready Postgres pod$/);

    e = ready();
    e.replication.active = { error: "exec denied" };
    assert.match(checkNamed(e, "mp2 holds mp1's WAL").reason, /^the active mp1 could not be probed: exec denied$/);
    delete e.replication.active;
    onlyProblems(e, "could-not-check", /holds mp1's WAL/);
    assert.equal(checkNamed(e, "mp2 holds mp1's WAL").reason, "the active mp1 could not be probed");
  });

  it("replication: each failure points at its runbook section", () => {
    let e = ready();
    e.replication.target = { ...standby(3), walReceiverStatus: "waiting" };
    assert.match(checkNamed(e, "mp2 streams from mp1").fix!, /"Standby did not catch up"/);
    assert.match(checkNamed(e, "mp2 holds mp1's WAL").reason, /it does not stream, so the gate's wait would time out$/);
    assert.match(checkNamed(e, "last contact within the gate's limit (300 s)").fix!, /"Lost site: last contact too old"/);
    // a target that is already a primary: the gate refuses to count it as holding the active's WAL
    e = ready();
    e.replication.target = { role: "primary", currentLsn: "0/5000100", timeline: 2, now: NOW.toISOString() };
    onlyProblems(e, "fail", /streams from mp1/, /holds mp1's WAL/, /gate's limit/);
    const holds = checkNamed(e, "mp2 holds mp1's WAL");
    assert.match(holds.reason, /already a primary/);
    assert.match(holds.fix!, /"Refusals: meaning and fix"/);
  });

  it("replication: a standby that stopped streaming but already holds the active's position passes the WAL check", () => {
    const e = ready();
    e.replication.target = { ...standby(3, "0/5000100"), walReceiverStatus: "waiting" };
    onlyProblems(e, "fail", /streams from mp1/, /gate's limit/);
    assert.match(checkNamed(e, "mp2 holds mp1's WAL").reason, /^mp2 holds WAL up to 0\/5000100, at or past mp1's position 0\/5000100/);
  });

  it("replication: last contact exactly at the gate's limit passes; one second over fails", () => {
    const e = ready();
    e.replication.target = standby(300);
    assert.equal(checkNamed(e, "last contact within the gate's limit (300 s)").status, "pass");
    e.replication.maxLostContactSeconds = 299;
    const over = checkNamed(e, "last contact within the gate's limit (299 s)");
    assert.equal(over.status, "fail");
    assert.match(over.reason, /300 s ago/);
  });

  it("replication: a standby that could not be probed leaves 'no other standby ahead' unchecked; one ahead fails even so", () => {
    let e = ready();
    e.replication.others = { mp3: standby(1, "0/4000000"), mp4: { error: "mp4 unreachable" } };
    onlyProblems(e, "could-not-check", /^no other standby ahead$/);
    assert.match(checkNamed(e, "no other standby ahead").reason, /; not probed: mp4 \(mp4 unreachable\)$/);

    e = ready();
    e.replication.others = { mp3: standby(1, "0/6000000"), mp4: { error: "mp4 unreachable" } };
    onlyProblems(e, "fail", /^no other standby ahead$/);
    assert.match(checkNamed(e, "no other standby ahead").reason, /promote mp3 instead/);

    e = ready();
    e.replication.others = { mp3: standby(1, "0/4000000") };
    assert.equal(checkNamed(e, "no other standby ahead").status, "pass");
  });

  it("replication: pg_waldump is checked only when reported, and its absence says the gate would refuse", () => {
    assert.equal(targetReadiness(ready()).checks.filter((c) => /pg_waldump/.test(c.name)).length, 0);
    let e = ready();
    e.replication.walTools = { ok: false, detail: "no pg_waldump on PATH in tsb/tsb-postgres-1-0 (exit 127)" };
    const missing = checkNamed(e, "pg_waldump in mp2's Postgres container");
    assert.match(missing.reason, /^no pg_waldump on PATH in tsb\/tsb-postgres-1-0 \(exit 127\): .*would refuse$/);
    assert.match(missing.fix!, /"Checking the probe's guesses"/);
    e = ready();
    e.replication.walTools = { ok: true, detail: "pg_waldump (PostgreSQL) 15.18" };
    assert.deepEqual([checkNamed(e, "pg_waldump in mp2's Postgres container").status, checkNamed(e, "pg_waldump in mp2's Postgres container").reason], ["pass", "pg_waldump (PostgreSQL) 15.18"]);
  });

  it("secrets: unreadable secrets could not be checked; a missing JWKS or standby account names what to do", () => {
    let e = ready();
    e.secrets = { error: "mp2 unreachable" };
    onlyProblems(e, "could-not-check", /^iam-signing-key kid equals the active's$/);
    assert.equal(checkNamed(e, "iam-signing-key kid equals the active's").reason, "mp2 unreachable");

    e = ready();
    delete e.secrets.targetJwks;
    onlyProblems(e, "fail", /iam-signing-key kid equals the active's \(failover preflight\)/);
    assert.match(checkNamed(e, "iam-signing-key kid equals the active's (failover preflight)").fix!, /docs\/failover\.md, "Preflight failed"/);
    assert.match(checkNamed(ready(), "iam-signing-key kid equals the active's (failover preflight)").reason, /same kid on mp2 and mp1/);

    e = ready();
    e.secrets.standbySaExists = false;
    const sa = checkNamed(e, "tsb-standby-sa exists");
    assert.match(sa.reason, new RegExp(`no Secret tsb-standby-sa in ${TSB_NAMESPACE} on mp2`));
    assert.match(sa.fix!, /tsb-ha:standbyServiceAccountJwk/);
    delete e.secrets.standbySaExists;
    onlyProblems(e, "could-not-check", /^tsb-standby-sa exists$/);
    assert.match(checkNamed(ready(), "tsb-standby-sa exists").reason, new RegExp(`in ${TSB_NAMESPACE} on mp2`));
  });

  it("certificates: expiry and start of validity at their exact boundary", () => {
    const leaf = new X509Certificate(goodTsb);
    const at = (ms: number) => certificateCheck("mp2", FQDN.mp2, FLOATING, { secret: "tsb-certs", pem: goodTsb }, root.caPem, 30, new Date(ms));
    const thirtyDaysBefore = Date.parse(leaf.validTo) - 30 * 86_400_000;
    const edge = at(thirtyDaysBefore);
    assert.equal(edge.status, "fail", "exactly minValidDays left is not more than minValidDays");
    assert.match(edge.reason, new RegExp(`expires ${leaf.validTo} \\(30 days left, want > 30\\)`));
    assert.match(edge.fix!, /run pulumi up/);
    const justMore = at(thirtyDaysBefore - 1000);
    assert.equal(justMore.status, "pass", justMore.reason);
    assert.match(justMore.reason, /, 30 days left$/);
    assert.match(at(thirtyDaysBefore - 10.5 * 86_400_000).reason, /, 40 days left$/);

    const from = Date.parse(leaf.validFrom);
    assert.equal(at(from).status, "pass");
    const early = at(from - 1000);
    assert.equal(early.status, "fail");
    assert.match(early.reason, new RegExp(`not valid before ${leaf.validFrom}`));
    assert.match(early.name, /valid > 30 days$/);
  });

  it("certificates: a leaf whose signature does not verify against the root fails; a good one says what it checked", () => {
    const der = new X509Certificate(goodTsb).raw;
    der.writeUInt8(der.readUInt8(der.length - 1) ^ 0x01, der.length - 1); // the last byte of the signature
    const tampered = `-----BEGIN CERTIFICATE-----\n${der.toString("base64")}\n-----END CERTIFICATE-----\n`;
    const c = certificateCheck("mp2", FQDN.mp2, FLOATING, { secret: "tsb-certs", pem: tampered }, root.caPem, 30, NOW);
    assert.equal(c.status, "fail");
    assert.match(c.reason, /^tsb-certs on mp2: not signed by the set's root CA/);

    assert.match(certificateCheck("mp2", FQDN.mp2, FLOATING, { secret: "tsb-certs", pem: goodTsb }, root.caPem, 30, NOW).reason,
      new RegExp(`^signed by the root CA, names ${FQDN.mp2.replace(/\./g, "\\.")}, ${FLOATING.replace(/\./g, "\\.")}, `));
    // DNS names compare case-insensitively, on the config's side too
    assert.equal(certificateCheck("mp2", FQDN.mp2.toUpperCase(), FLOATING, { secret: "tsb-certs", pem: goodTsb }, root.caPem, 30, NOW).status, "pass");
  });

  it("certificates: every problem of a leaf in one reason, the issuer on one line, its names as DNS compares them", () => {
    const twoPart = new TestRootCa("Other/O=Acme");
    try {
      const pem = twoPart.leaf([FQDN.mp2.toUpperCase()], 10).certPem;
      const bad = certificateCheck("mp2", FQDN.mp2, FLOATING, { secret: "tsb-certs", pem }, root.caPem, 30, new Date(Date.parse(new X509Certificate(pem).validFrom)));
      assert.match(bad.reason, new RegExp(`^tsb-certs on mp2: not signed by the set's root CA \\(issuer: CN=Other, O=Acme\\); lacks DNS names ${FLOATING.replace(/\./g, "\\.")} \\(has ${FQDN.mp2.replace(/\./g, "\\.")}\\); expires `));
    } finally {
      twoPart.dispose();
    }
  });

  it("certificates: unreadable, missing, unparsable, or no root to compare with", () => {
    const withRoot = (rootPem: string | undefined) => (ev: { secret: string; pem?: string; error?: string }) => certificateCheck("mp2", FQDN.mp2, FLOATING, ev, rootPem, 30, NOW);
    const check = withRoot(root.caPem);
    assert.deepEqual(pick(check({ secret: "tsb-certs", error: "403 get secrets" })), ["could-not-check", "403 get secrets"]);
    const missing = check({ secret: "xcp-central-cert" });
    assert.deepEqual(pick(missing), ["fail", "Secret xcp-central-cert (tls.crt) missing on mp2"]);
    assert.match(missing.fix!, /run pulumi up/);
    assert.deepEqual(pick(withRoot(undefined)({ secret: "tsb-certs", pem: goodTsb })), ["could-not-check", "the stack output rootCaCertPem is missing"]);
    assert.match(check({ secret: "tsb-certs", pem: "garbage" }).reason, /^tsb-certs: not a PEM certificate \(/);
    assert.match(withRoot("garbage")({ secret: "tsb-certs", pem: goodTsb }).reason, /^tsb-certs: not a PEM certificate/);
    assert.equal(check({ secret: "tsb-certs", pem: goodTsb }).name, `tsb-certs chains to the root CA, carries ${FLOATING}, valid > 30 days`);
  });

  it("dns: what the credentials could not do, and where the record points", () => {
    let e = ready();
    e.dns = { status: "error", reason: "Cloudflare answered 500" };
    onlyProblems(e, "could-not-check", /credentials read the zone/, /record points at the active/, /TTL is 60/);
    assert.deepEqual(targetReadiness(e).checks.filter((c) => c.area === "dns").map((c) => [c.reason, c.fix]), Array(3).fill(["Cloudflare answered 500", undefined]));
    e.dns = { status: "no-credentials", reason: "no Cloudflare token" };
    assert.match(checkNamed(e, "TTL is 60").fix!, /DNS provider's credentials/);

    e = ready();
    e.dns = { status: "read", zoneReadable: true };
    onlyProblems(e, "fail", /^credentials read the zone and the record$/);
    const noRecord = checkNamed(e, "credentials read the zone and the record");
    assert.equal(noRecord.reason, `the zone has no record ${FLOATING}`);
    assert.match(noRecord.fix!, /grant the token read/);
    assert.equal(targetReadiness(e).checks.filter((c) => c.area === "dns").length, 1);
    e.dns = { status: "read", zoneReadable: false };
    assert.equal(checkNamed(e, "credentials read the zone and the record").reason, "the credentials cannot read the zone");
    assert.equal(checkNamed(ready(), "credentials read the zone and the record").reason, `read ${FLOATING}: CNAME ${FQDN.mp1}`);
  });

  it("dns: the edit right is checked when the provider reports it", () => {
    const record = { type: "CNAME", value: FQDN.mp1, ttl: 60 };
    assert.equal(targetReadiness(ready()).checks.filter((c) => c.name === "credentials may edit the record").length, 0);
    const e = ready();
    e.dns = { status: "read", zoneReadable: true, record, canEdit: false, editCheck: "token lacks Zone.DNS:Edit" };
    onlyProblems(e, "fail", /^credentials may edit the record$/);
    assert.equal(checkNamed(e, "credentials may edit the record").reason, "token lacks Zone.DNS:Edit");
    assert.match(checkNamed(e, "credentials may edit the record").fix!, /DNS edit/);
    e.dns = { status: "read", zoneReadable: true, record, canEdit: false };
    assert.equal(checkNamed(e, "credentials may edit the record").reason, "no edit right");
    e.dns = { status: "read", zoneReadable: true, record, canEdit: true };
    assert.deepEqual(pick(checkNamed(e, "credentials may edit the record")), ["pass", "edit right reported"]);
    e.dns = { status: "read", zoneReadable: true, record, canEdit: true, editCheck: "token has Zone.DNS:Edit" };
    assert.equal(checkNamed(e, "credentials may edit the record").reason, "token has Zone.DNS:Edit");
  });

  it("dns: only a CNAME to the active counts (type in any case); the TTL must equal the configured one exactly", () => {
    let e = ready();
    e.dns = { status: "read", zoneReadable: true, record: { type: "cname", value: FQDN.mp1.toUpperCase(), ttl: 60 } };
    assert.equal(targetReadiness(e).ready, true);
    e.dns = { status: "read", zoneReadable: true, record: { type: "A", value: FQDN.mp1, ttl: 60 } };
    onlyProblems(e, "fail", /record points at the active/);
    const a = checkNamed(e, `record points at the active (${FQDN.mp1})`);
    assert.equal(a.reason, `${FLOATING} is A ${FQDN.mp1}, not a CNAME to ${FQDN.mp1}`);
    assert.match(a.fix!, /run status/);

    e = ready();
    e.dns = { status: "read", zoneReadable: true, record: { type: "CNAME", value: FQDN.mp1, ttl: 59 } };
    onlyProblems(e, "fail", /^TTL is 60$/);
    assert.match(checkNamed(e, "TTL is 60").reason, /^TTL 59, config says 60: the failover waits 60 s/);
    assert.match(checkNamed(e, "TTL is 60").fix!, /tsb-ha:dns\.ttl/);
  });

  it("tsb api: an answer that could not be had is could-not-check, naming the active", () => {
    const e = ready();
    e.api = { ok: false, message: "site mp1: no admin credentials", couldNotCheck: true };
    onlyProblems(e, "could-not-check", /^the active mp1 serves the organisation$/);
    assert.equal(checkNamed(e, "the active mp1 serves the organisation").reason, "site mp1: no admin credentials");
    assert.equal(checkNamed(ready(), "the active mp1 serves the organisation").reason, "site mp1: TSB API serves organization tetrate");
  });

  it("tooling: the Pulumi CLI exactly at the minimum passes; unknown or unparsable could not be checked; older says why and how to upgrade", () => {
    const cli = (v: string | undefined) => {
      const e = ready();
      e.tooling.pulumiVersion = v;
      return checkNamed(e, "Pulumi CLI >= 3.248.0");
    };
    assert.deepEqual(pick(cli("3.248.0")), ["pass", "pulumi 3.248.0"]);
    assert.equal(cli("v3.247.9").status, "fail");
    assert.match(cli("v3.247.9").reason, /^pulumi v3\.247\.9 is older than 3\.248\.0: .*replacementTrigger/);
    assert.match(cli("v3.247.9").fix!, /get\.pulumi\.com/);
    assert.deepEqual(pick(cli(undefined)), ["could-not-check", "version unknown (no Pulumi CLI found?)"]);
    assert.match(cli(undefined).fix!, /install the Pulumi CLI/);
    assert.deepEqual(pick(cli("dev")), ["could-not-check", "version dev (no Pulumi CLI found?)"]);
  });

  it("tooling: a locked stack says how to clear it; an unknown lock state where to look", () => {
    const e = ready();
    e.tooling.updateInProgress = true;
    assert.match(checkNamed(e, "stack not locked").fix!, /pulumi cancel/);
    delete e.tooling.updateInProgress;
    assert.match(checkNamed(e, "stack not locked").fix!, /\.pulumi\/locks\//);
    assert.deepEqual(pick(checkNamed(ready(), "stack not locked")), ["pass", "no update in progress"]);
  });

  it("tooling: the failover's config is checked only when the stack's config was read", () => {
    let e = ready();
    e.tooling.stackError = "pulumi config: stack tsb-ha/prod not found";
    onlyProblems(e, "could-not-check", /^config of a failover to mp2 validates$/);
    assert.equal(checkNamed(e, "config of a failover to mp2 validates").reason, "pulumi config: stack tsb-ha/prod not found");
    e = ready();
    delete e.tooling.rawConfig;
    onlyProblems(e, "could-not-check", /^config of a failover to mp2 validates$/);
    assert.equal(checkNamed(e, "config of a failover to mp2 validates").reason, "no config read");
    assert.match(checkNamed(ready(), "config of a failover to mp2 validates").reason, /activeSite mp2 with mp1 fenced/);
  });

  it("tooling: the stack's secret keys count (a third site stays a standby and needs its JWK)", () => {
    const e = ready();
    e.tooling.rawConfig = rawConfig("mp1", { mp1: { context: "mp1" }, mp2: { context: "mp2" }, mp3: { context: "mp3" } });
    e.tooling.history = history("mp1", { mp1: "active", mp2: "standby", mp3: "standby" });
    assert.equal(targetReadiness(e).ready, true, targetReadiness(e).verdict);
    delete e.tooling.secretKeys;
    onlyProblems(e, "fail", /^config of a failover to mp2 validates$/);
    const c = checkNamed(e, "config of a failover to mp2 validates");
    assert.match(c.reason, /standbyServiceAccountJwk/);
    assert.match(c.fix!, /names the key/);
  });

  it("a failover's config: sites that are not JSON are named; the old active is fenced with its settings kept; no sites names activeSite", () => {
    const keys = new Set(SECRET_KEYS);
    const raw = rawConfig("mp1", { mp1: { context: "mp1" }, mp2: { context: "mp2" } });
    assert.equal(failoverConfigProblem({ ...raw, sites: "{mp1" }, keys, undefined, "mp1", "mp2"), "tsb-ha:sites is not JSON");
    // today's state of the active (here one parseConfig refuses) is what the failover replaces
    assert.equal(failoverConfigProblem(rawConfig("mp1", { mp1: { context: "mp1", state: "bogus" }, mp2: { context: "mp2" } }), keys, undefined, "mp1", "mp2"), undefined);
    // the old active keeps its other settings, and they are still validated
    assert.match(failoverConfigProblem(rawConfig("mp1", { mp1: { context: "" }, mp2: { context: "mp2" } }), keys, undefined, "mp1", "mp2") ?? "", /^tsb-ha:sites\.mp1\.context = "" is empty/);
    const noSites = { ...raw };
    delete noSites["sites"];
    assert.match(failoverConfigProblem(noSites, keys, undefined, "mp1", "mp2") ?? "", /^tsb-ha:activeSite = "mp2" is not one of the sites/);
  });

  it("the verdict counts the problems and names them in the checks' order, marking what could not be checked", () => {
    const e = ready();
    delete e.tooling.updateInProgress;
    e.secrets.standbySaExists = false;
    const r = targetReadiness(e);
    assert.deepEqual([r.target, r.ready, r.problems], ["mp2", false, 2]);
    assert.equal(r.verdict, "mp2: NOT READY (2): tsb-standby-sa exists; could not check stack not locked");
    assert.equal(targetReadiness(ready()).problems, 0);
  });

  it("the report: one verdict line per target first, then a table whose rows carry the result and the fix", () => {
    const failing = ready();
    failing.secrets.standbySaExists = false;
    const unknown = ready();
    unknown.target = "mp3";
    delete unknown.tooling.updateInProgress;
    const [a, b] = [targetReadiness(failing), targetReadiness(unknown)];
    const lines = formatReadiness([a, b]).split("\n");
    assert.deepEqual(lines.slice(0, 3), [a.verdict, b.verdict, ""]);
    assert.match(lines[3]!, /^target\s+area\s+check\s+result\s+reason\s+fix$/);
    assert.match(lines.find((l) => l.startsWith("mp2 ") && l.includes("tsb-standby-sa exists"))!, /^mp2\s+secrets\s+tsb-standby-sa exists\s+FAIL\s+no Secret .*tsb-ha:standbyServiceAccountJwk/);
    assert.match(lines.find((l) => l.startsWith("mp3 ") && l.includes("stack not locked"))!, /COULD-NOT-CHECK .*\.pulumi\/locks/);
    assert.equal(lines.length, 5 + a.checks.length + b.checks.length);
  });
});
