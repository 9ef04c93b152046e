// Pure planning: roles, synchronisation hosts, copies and the guards that refuse unsafe role changes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/config";
import { parseHistory, planSet, type SetHistory, type SiteHistory } from "../../lib/plan/topology";
import { HistoryError } from "../../lib/config/errors";
import { highAvailabilityBlock, managementPlaneValues } from "../../lib/plan/values";
import { baseConfig } from "../fixtures";

type Sites = Record<string, Record<string, unknown>>;
function cfg(activeSite: string, sites: Sites) {
  const raw = Object.fromEntries(Object.entries(baseConfig({ activeSite, sites })).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  return parseConfig(raw, new Set(["standbyServiceAccountJwk"])).config;
}
const plan = (activeSite: string, sites: Sites, previous?: SetHistory) => planSet(cfg(activeSite, sites), previous);
const roles = (p: ReturnType<typeof planSet>) => Object.fromEntries(p.sites.map((s) => [s.name, s.role]));

const start = plan("mp1", { mp1: {}, mp2: {}, mp3: {} });
const afterFlip = plan("mp2", { mp1: { state: "fenced" }, mp2: {}, mp3: {} }, start.history);

describe("planSet", () => {
  it("makes the active site active and every other site a standby of its permanent FQDN", () => {
    assert.deepEqual(roles(start), { mp1: "active", mp2: "standby", mp3: "standby" });
    assert.deepEqual(start.sites.map((s) => s.syncHost), [undefined, "mp1.tsb.example.com", "mp1.tsb.example.com"]);
    assert.deepEqual(start.sites.map((s) => s.copies), [false, true, true], "standbys get the copied secrets, the first active keeps its own");
    assert.equal(start.failover, undefined);
  });

  it("detects a failover against the last update and keeps the promoted site's copies", () => {
    assert.deepEqual(afterFlip.failover, { from: "mp1", to: "mp2", fromReachable: true });
    assert.deepEqual(roles(afterFlip), { mp1: "fenced", mp2: "active", mp3: "standby" });
    const byName = Object.fromEntries(afterFlip.sites.map((s) => [s.name, s]));
    assert.equal(byName["mp2"]!.copies, true);
    assert.equal(byName["mp1"]!.haMode, "active", "a fenced site keeps the block its release had");
    assert.equal(byName["mp3"]!.syncHost, "mp2.tsb.example.com");
  });

  it("marks a lost old active unreachable and unmanaged; the preflight skips it", () => {
    const lost = plan("mp2", { mp1: { state: "lost" }, mp2: {}, mp3: {} }, start.history);
    const mp1 = lost.sites.find((s) => s.name === "mp1")!;
    assert.deepEqual([mp1.reachable, mp1.managed, mp1.copies], [false, false, false]);
    assert.deepEqual(lost.failover, { from: "mp1", to: "mp2", fromReachable: false });
    assert.equal(lost.history.sites["mp1"]!.detached, true);
  });

  it("fences, without managing, a lost site that came back", () => {
    const lost = plan("mp2", { mp1: { state: "lost" }, mp2: {} }, start.history);
    const back = plan("mp2", { mp1: { state: "fenced" }, mp2: {} }, lost.history);
    const mp1 = back.sites.find((s) => s.name === "mp1")!;
    assert.deepEqual([mp1.reachable, mp1.managed, mp1.fenced], [true, false, true]);
  });

  it("rebuilds a fenced site as a standby of the new active, with new copies", () => {
    const rebuilt = plan("mp2", { mp1: { rebuild: 1 }, mp2: {}, mp3: {} }, afterFlip.history);
    const mp1 = rebuilt.sites.find((s) => s.name === "mp1")!;
    assert.deepEqual([mp1.role, mp1.managed, mp1.copies, mp1.rebuild, mp1.syncHost], ["standby", true, true, 1, "mp2.tsb.example.com"]);
  });

  it("gates only a promotion, and keeps the gate while the promoted site stays active", () => {
    assert.deepEqual(start.sites.map((s) => s.readyGate), [false, false, false], "a first install has no deployment tsb to wait on yet");
    assert.deepEqual(afterFlip.sites.map((s) => s.readyGate), [false, true, false]);
    const steady = plan("mp2", { mp1: { state: "fenced" }, mp2: {}, mp3: {} }, afterFlip.history);
    assert.deepEqual(steady.sites.map((s) => s.readyGate), [false, true, false]);
    const unchanged = plan("mp1", { mp1: {}, mp2: {}, mp3: {} }, start.history);
    assert.deepEqual(unchanged.sites.map((s) => s.readyGate), [false, false, false]);
  });

  it("round-trips its history through the stack output", () => {
    assert.deepEqual(parseHistory(JSON.parse(JSON.stringify(afterFlip.history))), afterFlip.history);
    const lost = plan("mp2", { mp1: { state: "lost" }, mp2: {}, mp3: {} }, start.history);
    assert.deepEqual(parseHistory(JSON.parse(JSON.stringify(lost.history))), lost.history, "a lost, detached site reads back lost and detached");
    assert.equal(parseHistory(undefined), undefined, "a new stack has no history");
    assert.equal(parseHistory(null), undefined);
  });

  // An unreadable history must stop the update: reading it as "first run" would switch every guard off.
  const broken: Array<[string, unknown, RegExp]> = [
    ["a string", "mp1", /is not an object\. Found: "mp1"/],
    ["an array", [], /is not an object/],
    ["no activeSite", { activeSite: 3, sites: {} }, /has no activeSite/],
    ["no sites", { activeSite: "mp1" }, /has no sites/],
    ["null sites", { activeSite: "mp1", sites: null }, /has no sites\. Found: /],
    ["a list of sites", { activeSite: "mp1", sites: [{ role: "active", rebuild: 0 }] }, /has no sites\. Found: /],
    ["a site entry that is text", { activeSite: "mp1", sites: { mp1: "active" } }, /has no entry for site mp1\. Found: /],
    ["a site entry that is null", { activeSite: "mp1", sites: { mp1: null } }, /has no entry for site mp1\. Found: /],
    ["an unknown role", { activeSite: "mp1", sites: { mp1: { role: "primary", rebuild: 0 } } }, /gives site mp1 the role "primary"/],
    ["no rebuild number", { activeSite: "mp1", sites: { mp1: { role: "active" } } }, /gives site mp1 no rebuild number/],
    ["an active site without an entry", { activeSite: "mp9", sites: { mp1: { role: "active", rebuild: 0 } } }, /names activeSite mp9, which has no site entry/],
  ];
  for (const [what, value, message] of broken) {
    it(`refuses a history with ${what}, saying what it found and how to repair it`, () => {
      assert.throws(() => parseHistory(value), (e: Error) => {
        assert.match(e.message, message);
        assert.ok(e instanceof HistoryError);
        assert.equal(e.name, "HistoryError", "the name printed before the message");
        assert.match(e.message, /^The stack output "history" /);
        assert.match(e.message, /Nothing was changed\. Repair: restore it from an earlier state .*or, only if this stack never ran a failover, remove the output with pulumi stack export \/ import$/);
        return true;
      });
    });
  }
});

describe("planSet details", () => {
  it("fences nothing but a fenced site: the active and its standbys keep running", () => {
    assert.deepEqual(start.sites.map((s) => s.fenced), [false, false, false]);
    assert.deepEqual(afterFlip.sites.map((s) => s.fenced), [true, false, false]);
  });

  it("gives the promoted site the active block of the chart (it exposes Postgres, no longer pulls)", () => {
    const mp2 = afterFlip.sites.find((s) => s.name === "mp2")!;
    assert.deepEqual(highAvailabilityBlock(mp2, 443), { active: { exposeEmbeddedPostgresInFrontEnvoy: true } });
  });

  it("only fences, never manages, a site fenced on a stack's first run (its release is not the stack's)", () => {
    const first = plan("mp2", { mp1: { state: "fenced" }, mp2: {} });
    const mp1 = first.sites.find((s) => s.name === "mp1")!;
    assert.deepEqual([mp1.fenced, mp1.reachable, mp1.managed, mp1.copies], [true, true, false, false]);
  });

  it("reports no failover when the active site stays, even on a rerun after one", () => {
    assert.equal(plan("mp1", { mp1: {}, mp2: {}, mp3: {} }, start.history).failover, undefined);
    assert.equal(plan("mp2", { mp1: { state: "fenced" }, mp2: {}, mp3: {} }, afterFlip.history).failover, undefined);
  });

  it("reads the old active's own state for the failover, whatever its place in the list", () => {
    const mp2First = plan("mp2", { mp1: {}, mp2: {}, mp3: {} });
    const flip = plan("mp3", { mp1: {}, mp2: { state: "fenced" }, mp3: {} }, mp2First.history);
    assert.deepEqual(flip.failover, { from: "mp2", to: "mp3", fromReachable: true });
  });

  it("compares keys with no old active that is gone from the config or rebuilt in the same update", () => {
    const removed = plan("mp2", { mp2: {}, mp3: {} }, start.history);
    assert.deepEqual(removed.failover, { from: "mp1", to: "mp2", fromReachable: false });
    const rebuilt = plan("mp2", { mp1: { rebuild: 1 }, mp2: {}, mp3: {} }, start.history);
    assert.deepEqual(rebuilt.failover, { from: "mp1", to: "mp2", fromReachable: false }, "a rebuilt site has new keys: nothing to compare");
  });

  it("names the promotion that made each active site (its gates run once per promotion)", () => {
    assert.equal(start.active.promotion, "install");
    assert.equal(afterFlip.active.promotion, "mp1->mp2");
    const rerun = plan("mp2", { mp1: { state: "fenced" }, mp2: {}, mp3: {} }, afterFlip.history);
    assert.equal(rerun.active.promotion, "mp1->mp2", "a rerun keeps the promotion, so its gates do not run again");
    assert.deepEqual(start.sites.map((s) => s.promotion), ["install", undefined, undefined], "standbys carry no promotion");
  });

  it("refuses an activeSite that is not one of the sites, even without config validation", () => {
    const c = { ...cfg("mp1", { mp1: {}, mp2: {} }), activeSite: "mp9" };
    assert.throws(() => planSet(c), /^ConfigError: tsb-ha:activeSite = "mp9" is not one of the sites$/);
  });
});

describe("guards", () => {
  // The guard users rely on most: a fenced or lost site's database has diverged, so it is never promoted.
  it("never promotes a fenced or a lost site, and says how to reuse it", () => {
    const lostFlip = plan("mp2", { mp1: { state: "lost" }, mp2: {}, mp3: {} }, start.history);
    for (const [was, history] of [["fenced", afterFlip.history], ["lost", lostFlip.history]] as const) {
      assert.throws(() => plan("mp1", { mp1: {}, mp2: { state: "fenced" }, mp3: {} }, history), (e: Error) => {
        assert.equal(e.name, "ConfigError");
        assert.match(e.message, new RegExp(`^tsb-ha:activeSite = "mp1" names a site that was ${was} in the last update; its database has diverged and it is never promoted\\. `));
        assert.match(e.message, /Allowed: a site that is a standby now\. To reuse mp1: rebuild it as a standby \(docs\/failover\.md, "Rebuild"\), let it synchronise, then fail over to it$/);
        return true;
      }, `a ${was} site`);
    }
  });

  // A history not written by this version (restored or edited by hand) can mark a standby detached.
  it("refuses to manage a detached site again without a rebuild, naming the next rebuild number", () => {
    const detachedMp2: SiteHistory = { ...start.history.sites["mp2"]!, rebuild: 2, detached: true };
    const history: SetHistory = { ...start.history, sites: { ...start.history.sites, mp2: detachedMp2 } };
    for (const active of ["mp1", "mp2"]) {
      const sites: Sites = active === "mp1" ? { mp1: {}, mp2: { rebuild: 2 } } : { mp1: { state: "fenced" }, mp2: { rebuild: 2 } };
      assert.throws(() => plan(active, sites, history),
        /^ConfigError: tsb-ha:sites\.mp2\.state = "standby" asks the program to manage mp2 again, but its resources left this stack when it was lost\. Set sites\.mp2\.rebuild to 3 to reinstall it as a standby$/,
        `activeSite ${active}`);
    }
    assert.doesNotThrow(() => plan("mp1", { mp1: {}, mp2: { rebuild: 3 } }, history), "the rebuild is the way back");
  });

  const cases: Array<[string, () => unknown, RegExp]> = [
    ["promoting a site that was fenced", () => plan("mp1", { mp1: {}, mp2: { state: "fenced" }, mp3: {} }, afterFlip.history),
      /^tsb-ha:activeSite = "mp1" names a site that was fenced in the last update; .* never promoted/],
    ["a fenced site back to standby without a rebuild", () => plan("mp2", { mp1: {}, mp2: {}, mp3: {} }, afterFlip.history),
      /^tsb-ha:sites\.mp1\.state = "standby" makes mp1 a standby, but it was fenced .* set tsb-ha:sites\.mp1\.rebuild to 1|sites\.mp1\.rebuild to 1/],
    ["leaving the old active a standby", () => plan("mp2", { mp1: {}, mp2: {}, mp3: {} }, start.history),
      /^tsb-ha:sites\.mp1\.state = "standby" makes mp1 a standby, but it was active .* set sites\.mp1\.state to fenced .* or lost/],
    ["a rebuild generation going down", () => plan("mp2", { mp1: { rebuild: 0, state: "fenced" }, mp2: {} }, { activeSite: "mp2", sites: { mp1: { role: "fenced", rebuild: 2, haMode: "active", copies: false, detached: false, gated: false }, mp2: { role: "active", rebuild: 0, haMode: "active", copies: true, detached: false, gated: true } } }),
      /^tsb-ha:sites\.mp1\.rebuild = 0 is lower than the last update's 2\. Allowed: 2 or, to rebuild the site, 3$/],
    ["promoting a site in the update that rebuilds it", () => plan("mp1", { mp1: { rebuild: 1 }, mp2: { state: "fenced" } }, afterFlip.history),
      /^tsb-ha:sites\.mp1\.rebuild = 1 rebuilds mp1 in the update that makes it the active .* rebuild mp1 as a standby now \(keep activeSite mp2\)/],
    ["fencing a standby while no failover is under way", () => plan("mp1", { mp1: {}, mp2: { state: "fenced" } }, start.history),
      /^tsb-ha:sites\.mp2\.state = "fenced" fences mp2, which was a standby in the last update and no failover is under way\. Only the old active is fenced, in the update that fails over away from it\. .*pulumi config rm --path 'tsb-ha:sites\.mp2\.state'/],
    ["fencing another standby during a failover", () => plan("mp2", { mp1: { state: "fenced" }, mp2: {}, mp3: { state: "fenced" } }, start.history),
      /^tsb-ha:sites\.mp3\.state = "fenced" fences mp3, which was a standby in the last update \(the failover is from mp1, so only mp1 may be fenced\)/],
    ["promoting a site the stack has never run", () => plan("mp4", { mp1: { state: "fenced" }, mp2: {}, mp3: {}, mp4: {} }, start.history),
      /^tsb-ha:activeSite = "mp4" names a site this stack has never run; .* Add mp4 as a standby first/],
    ["managing a lost site again without a rebuild", () => plan("mp2", { mp1: {}, mp2: {} }, plan("mp2", { mp1: { state: "lost" }, mp2: {} }, start.history).history),
      /tsb-ha:sites\.mp1\.state = "standby" .*(lost|rebuild)/],
  ];
  for (const [name, run, message] of cases) {
    it(`refuses ${name}`, () => {
      assert.throws(run, (e: Error) => {
        assert.match(e.message, message);
        return true;
      });
    });
  }

  it("allows everything config allows on a first run (no history)", () => {
    assert.doesNotThrow(() => plan("mp2", { mp1: { state: "fenced" }, mp2: {} }));
  });
});

describe("helm values per role", () => {
  const pem = { tsbCert: "C", tsbKey: "K", xcpCert: "XC", xcpKey: "XK", rootCa: "R", adminPassword: "P" };
  const tsb = cfg("mp1", { mp1: {}, mp2: {} }).tsb;

  it("active: exposes Postgres; standby: pulls from the active's permanent FQDN; never both", () => {
    const [mp1, mp2] = start.sites;
    assert.deepEqual(highAvailabilityBlock(mp1!, 443), { active: { exposeEmbeddedPostgresInFrontEnvoy: true } });
    assert.deepEqual(highAvailabilityBlock(mp2!, 443), { standby: { activeMpSynchronizationEndpoint: { host: "mp1.tsb.example.com", port: 443, selfSigned: true } } });
  });

  it("renders the chart values the seed lists", () => {
    assert.deepEqual(managementPlaneValues(start.sites[1]!, tsb, pem), {
      image: { registry: "registry.example.com/tetrate", tag: "1.12.4" },
      secrets: {
        keep: true,
        tsb: { cert: "C", key: "K", adminPassword: "P" },
        xcp: { autoGenerateCerts: false, central: { cert: "XC", key: "XK" }, rootca: "R" },
      },
      spec: {
        hub: "registry.example.com/tetrate",
        organization: "tetrate",
        components: { frontEnvoy: { port: 443 } },
        highAvailability: { standby: { activeMpSynchronizationEndpoint: { host: "mp1.tsb.example.com", port: 443, selfSigned: true } } },
      },
    });
  });
});

// Adopted site (issue 13): the history carries the adoption step reached and the SANs its live leaves had.
describe("adoption facts in the history", () => {
  const SANS = {
    tsb: { dnsNames: ["mp1.tsb.example.com", "active.tsb.example.com", "tsb-old.example.com"], ipAddresses: ["10.0.0.7"], uris: [] },
    xcp: { dnsNames: ["mp1.tsb.example.com", "central.xcp.tetrate.io"], ipAddresses: [], uris: ["spiffe://xcp.tetrate.io/central"] },
  };
  const entry = (facts: Record<string, unknown>) => ({ activeSite: "mp1", sites: { mp1: { role: "active", rebuild: 0, ...facts }, mp2: { role: "standby", rebuild: 0 } } });

  it("reads back each step and the kept SANs; a site without them has neither", () => {
    for (const adoptStep of ["import", "activate"]) {
      const h = parseHistory(entry({ adoptStep, adoptSans: SANS }))!;
      assert.equal(h.sites["mp1"]!.adoptStep, adoptStep);
      assert.deepEqual(h.sites["mp1"]!.adoptSans, SANS);
      assert.ok(!("adoptStep" in h.sites["mp2"]!) && !("adoptSans" in h.sites["mp2"]!), "mp2 adopted nothing");
    }
    const stepOnly = parseHistory(entry({ adoptStep: "import" }))!.sites["mp1"]!;
    assert.ok(!("adoptSans" in stepOnly), "import records no SANs");
  });

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ["an unknown step", { adoptStep: "standby" }, /gives site mp1 the adoption step "standby"/],
    ["a step in other case", { adoptStep: "Import" }, /gives site mp1 the adoption step "Import"/],
    ["a null step", { adoptStep: null }, /gives site mp1 the adoption step null/],
    ["SANs that are null", { adoptSans: null }, /gives site mp1 SANs that are not \{tsb, xcp\} name lists/],
    ["SANs that are a list", { adoptSans: [SANS.tsb, SANS.xcp] }, /gives site mp1 SANs that are not/],
    ["SANs without xcp", { adoptSans: { tsb: SANS.tsb } }, /gives site mp1 SANs that are not/],
    ["SANs without tsb", { adoptSans: { xcp: SANS.xcp } }, /gives site mp1 SANs that are not/],
    ["a null tsb set", { adoptSans: { tsb: null, xcp: SANS.xcp } }, /gives site mp1 SANs that are not/],
    ["DNS names that are text", { adoptSans: { tsb: { ...SANS.tsb, dnsNames: "mp1.tsb.example.com" }, xcp: SANS.xcp } }, /gives site mp1 SANs/],
    ["an IP that is a number", { adoptSans: { tsb: SANS.tsb, xcp: { ...SANS.xcp, ipAddresses: [10] } } }, /gives site mp1 SANs/],
    ["no URIs", { adoptSans: { tsb: SANS.tsb, xcp: { dnsNames: [], ipAddresses: [] } } }, /gives site mp1 SANs/],
    ["no IPs", { adoptSans: { tsb: { dnsNames: [], uris: [] }, xcp: SANS.xcp } }, /gives site mp1 SANs/],
    ["no DNS names", { adoptSans: { tsb: SANS.tsb, xcp: { ipAddresses: [], uris: [] } } }, /gives site mp1 SANs/],
  ];
  for (const [what, facts, message] of refused) {
    it(`refuses an adopted site's history with ${what}`, () => {
      assert.throws(() => parseHistory(entry(facts)), (e: Error) => {
        assert.ok(e instanceof HistoryError);
        assert.match(e.message, message);
        assert.match(e.message, /Nothing was changed\. Repair: /);
        return true;
      });
    });
  }

  it("refuses it for the site that has it, whatever its place", () => {
    const h = { activeSite: "mp1", sites: { mp1: { role: "active", rebuild: 0 }, mp2: { role: "standby", rebuild: 0, adoptStep: "done" } } };
    assert.throws(() => parseHistory(h), /gives site mp2 the adoption step "done"/);
  });

  it("carries the step and the SANs forward into the next history, also through a failover, and invents none", () => {
    const previous: SetHistory = { ...start.history, sites: { ...start.history.sites, mp1: { ...start.history.sites["mp1"]!, adoptStep: "activate", adoptSans: SANS } } };
    const next = plan("mp1", { mp1: {}, mp2: {}, mp3: {} }, previous).history;
    assert.equal(next.sites["mp1"]!.adoptStep, "activate");
    assert.deepEqual(next.sites["mp1"]!.adoptSans, SANS);
    for (const other of ["mp2", "mp3"]) assert.ok(!("adoptStep" in next.sites[other]!) && !("adoptSans" in next.sites[other]!), other);
    const flipped = plan("mp2", { mp1: { state: "fenced" }, mp2: {}, mp3: {} }, next).history;
    assert.deepEqual([flipped.sites["mp1"]!.adoptStep, flipped.sites["mp1"]!.adoptSans], ["activate", SANS], "the fenced adopted site keeps them");
    assert.deepEqual(parseHistory(JSON.parse(JSON.stringify(flipped))), flipped, "and they round-trip through the stack output");
    const stepOnly: SetHistory = { ...start.history, sites: { ...start.history.sites, mp1: { ...start.history.sites["mp1"]!, adoptStep: "import" } } };
    const afterImport = plan("mp1", { mp1: {}, mp2: {}, mp3: {} }, stepOnly).history.sites["mp1"]!;
    assert.equal(afterImport.adoptStep, "import");
    assert.ok(!("adoptSans" in afterImport));
    const sansOnly: SetHistory = { ...start.history, sites: { ...start.history.sites, mp1: { ...start.history.sites["mp1"]!, adoptSans: SANS } } };
    const kept = plan("mp1", { mp1: {}, mp2: {}, mp3: {} }, sansOnly).history.sites["mp1"]!;
    assert.deepEqual(kept.adoptSans, SANS);
    assert.ok(!("adoptStep" in kept));
    assert.ok(!("adoptStep" in start.history.sites["mp1"]!) && !("adoptSans" in start.history.sites["mp1"]!), "a first run has none");
  });
});
