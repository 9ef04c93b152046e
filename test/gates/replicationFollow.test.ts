// After a promotion: can a standby follow the new active (Postgres' timeline rule), and does it (the
// follow proof)? Plain functions of probes (lib/gates/replicationFollow.ts), so the file runs in well
// under a second for mutation testing. Real servers drive the same functions in replication.pg.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ReplicationProbe } from "../../lib/gates/replication";
import {
  afterPromotion,
  followCheck,
  followProof,
  followRefused,
  followTimedOut,
  parseTimelineHistory,
  rebuildCommand,
  timelineHistory,
  upstreamHostOf,
  type FollowTarget,
  type TimelineHistory,
} from "../../lib/gates/replicationFollow";
import { assertRunbookSection } from "../harness/runbook";

const NOW = "2026-12-01T12:00:00.000Z";
const standby = (p: Partial<ReplicationProbe>): ReplicationProbe => ({ role: "standby", now: NOW, ...p });
const primary = (p: Partial<ReplicationProbe>): ReplicationProbe => ({ role: "primary", now: NOW, ...p });

/** mp2 promoted at 0/400 from timeline 1 to 2. */
const promoted: TimelineHistory = { timeline: 2, forks: [{ timeline: 1, at: "0/400" }] };

describe("timeline history files", () => {
  it("reads the switch point from a timeline history file (last line)", () => {
    assert.deepEqual(parseTimelineHistory("1\t0/400B7D8\tno recovery target specified\n\n2\t0/5000000\tx\n").at(-1), { parentTimeline: 2, switchPoint: "0/5000000" });
    assert.throws(() => parseTimelineHistory("garbage"), /not "<timeline> <LSN> <reason>"/);
  });
  it("reads every line as Postgres does: comments and blank lines skipped, any whitespace, LSN in upper case", () => {
    const text = "# written by hand\n  1   0/400b7d8   no recovery target specified\r\n\n12\t0/5000abc\tbefore 2026-12-01\n";
    assert.deepEqual(parseTimelineHistory(text), [
      { parentTimeline: 1, switchPoint: "0/400B7D8" },
      { parentTimeline: 12, switchPoint: "0/5000ABC" },
    ]);
    assert.deepEqual(parseTimelineHistory(""), []);
  });
  it("refuses a line without an LSN or whose timeline is not a number", () => {
    for (const bad of ["1", "x1\t0/5\tr", "1x\t0/5\tr", "1\tnot-an-lsn"]) assert.throws(() => parseTimelineHistory(bad), /is not "<timeline> <LSN> <reason>"|not a WAL position/, bad);
    assert.throws(() => parseTimelineHistory("1"), /timeline history line "1" is not/);
  });
  it("a history file's lines are the forks of its timeline; promotion ends the current timeline at the switch point", () => {
    const h = timelineHistory(3, "1\t0/100\tx\n2\t0/200\ty\n");
    assert.deepEqual(h, { timeline: 3, forks: [{ timeline: 1, at: "0/100" }, { timeline: 2, at: "0/200" }] });
    assert.deepEqual(timelineHistory(1, undefined), { timeline: 1, forks: [] });
    assert.deepEqual(afterPromotion(h, "0/300"), { forks: [...h.forks, { timeline: 3, at: "0/300" }] });
    assert.deepEqual(afterPromotion({ forks: [{ timeline: 1, at: "0/1" }] }, "0/300"), { forks: [{ timeline: 1, at: "0/1" }] });
  });
});

describe("can a standby follow the new active (Postgres' own rule)", () => {
  it("on an ancestor timeline: follow iff it holds nothing past where that timeline ended; else rebuild", () => {
    const ok = followCheck("mp3", "mp2", standby({ receiveLsn: "0/400", walTimeline: 1 }), promoted);
    assert.deepEqual([ok.verdict, ok.action], ["pass", "repoint"]);
    assert.equal(ok.reason, "mp3 holds WAL up to 0/400 on timeline 1, not past mp2's switch point 0/400: it can follow mp2");
    const r = followCheck("mp3", "mp2", standby({ receiveLsn: "0/401", replayLsn: "0/100", walTimeline: 1 }), promoted);
    assert.deepEqual([r.verdict, r.action], ["refuse", "rebuild"]);
    assert.equal(r.reason, "mp3 received WAL up to 0/401 on timeline 1, 1 bytes past mp2's switch point 0/400: it cannot follow mp2's new timeline and needs a rebuild " +
      "(pg_rewind or a fresh base backup; docs/replication.md, \"Standby cannot follow\"). Not re-pointed.");
    assertRunbookSection(r.reason, "Standby cannot follow");
  });
  it("already on the new timeline: it follows", () => {
    const ok = followCheck("mp3", "mp2", standby({ receiveLsn: "0/900", receivedTimeline: 2 }), promoted);
    assert.deepEqual([ok.verdict, ok.action, ok.reason], ["pass", "repoint", "mp3 is on mp2's timeline 2 (at 0/900)"]);
    assert.equal(followCheck("mp3", "mp2", standby({ receivedTimeline: 2 }), promoted).reason, "mp3 is on mp2's timeline 2 (at nothing)");
  });
  it("a predicted history (no timeline number yet) never matches an unknown timeline: the last fork decides", () => {
    const predicted: TimelineHistory = { forks: [{ timeline: 1, at: "0/400" }] };
    const r = followCheck("mp3", "mp2", standby({ receiveLsn: "0/401" }), predicted);
    assert.equal(r.action, "rebuild");
    assert.match(r.reason, /^mp3 received WAL up to 0\/401 on timeline 1, 1 bytes past/, "the fork's timeline when the standby's is unknown");
    assert.match(followCheck("mp3", "mp2", standby({}), predicted).reason, /^mp3 holds WAL up to nothing on timeline \?, not past mp2's switch point 0\/400/);
  });
  it("a site stuck on a timeline that is not in the new active's history cannot follow, whatever its position (fail-back)", () => {
    // mp1 -> mp2 at 0/400 (timeline 2); mp3 stayed on timeline 1 past it. Fail back mp2 -> mp1 (rebuilt on 2) at 0/900: timeline 3.
    const failBack: TimelineHistory = { forks: [{ timeline: 1, at: "0/400" }, { timeline: 2, at: "0/900" }] };
    const stuck = standby({ receiveLsn: "0/500", walTimeline: 1, walReceiverStatus: "waiting" });
    const r = followCheck("mp3", "mp1", stuck, failBack);
    assert.deepEqual([r.verdict, r.action], ["refuse", "rebuild"]);
    assert.match(r.reason, /^mp3 received WAL up to 0\/500 on timeline 1, 256 bytes past mp1's switch point 0\/400: /);
    const sibling = followCheck("mp3", "mp1", standby({ receiveLsn: "0/300", walTimeline: 5 }), failBack);
    assert.equal(sibling.action, "rebuild");
    assert.match(sibling.reason, /^mp3 holds WAL of timeline 5 \(up to 0\/300\), which is not in mp1's history \(timeline 1 ended at 0\/400, timeline 2 ended at 0\/900, then the new timeline\): it cannot follow/);
    assert.match(followCheck("mp3", "mp1", standby({ walTimeline: 5 }), promoted).reason, /timeline 5 \(up to nothing\), which is not in mp1's history \(timeline 1 ended at 0\/400, then timeline 2\)/);
  });
  it("an unknown timeline falls back to the last switch point; no WAL at all can follow", () => {
    assert.equal(followCheck("mp3", "mp2", standby({ receiveLsn: "0/401" }), promoted).action, "rebuild");
    const ok = followCheck("mp3", "mp2", standby({ receiveLsn: "0/3FF" }), promoted);
    assert.deepEqual([ok.action, ok.reason], ["repoint", "mp3 holds WAL up to 0/3FF on timeline ?, not past mp2's switch point 0/400: it can follow mp2"]);
    assert.equal(followCheck("mp3", "mp2", standby({}), promoted).action, "repoint");
    assert.match(followCheck("mp3", "mp2", standby({ receiveLsn: "0/1" }), { timeline: 1, forks: [] }).reason, /timeline \? \(up to 0\/1\), which is not in mp2's history \(then timeline 1\)/);
  });
  it("a primary cannot follow: rebuild, with the fix", () => {
    const r = followCheck("mp3", "mp2", primary({ currentLsn: "0/1" }), promoted);
    assert.deepEqual([r.verdict, r.action], ["refuse", "rebuild"]);
    assert.match(r.reason, /^mp3's Postgres is a primary, not a standby: it cannot follow mp2\. Fix: rebuild mp3 /);
    assertRunbookSection(r.reason, "Standby cannot follow");
  });
});

describe("the follow proof: streaming from the new active, on its timeline, past the switch point", () => {
  const target: FollowTarget = { upstreamHost: "mp2.tsb.example.com", history: { timeline: 2, forks: [{ timeline: 1, at: "0/400" }] } };
  const following = standby({ walReceiverStatus: "streaming", upstream: "mp2.tsb.example.com:5432", receivedTimeline: 2, receiveLsn: "0/480" });
  it("passes only with all four", () => {
    const ok = followProof("mp3", "mp2", following, target);
    assert.deepEqual([ok.verdict, ok.reason], ["pass", "mp3 streams from mp2.tsb.example.com on timeline 2, at 0/480 past the switch point 0/400"]);
    const noFork = followProof("mp3", "mp2", { ...following, receiveLsn: undefined }, { ...target, history: { timeline: 2, forks: [] } });
    assert.deepEqual([noFork.verdict, noFork.reason], ["pass", "mp3 streams from mp2.tsb.example.com on timeline 2, at nothing"], "no switch point to pass");
    assert.equal(followProof("mp3", "mp2", { ...following, upstream: "MP2.tsb.example.com:5432" }, { ...target, upstreamHost: "mp2.TSB.example.com" }).verdict, "pass", "host names compare case-insensitively");
  });
  it("waits, naming each thing still missing", () => {
    const w = followProof("mp3", "mp2", standby({ walReceiverStatus: "waiting", upstream: "mp1.tsb.example.com:5432", receivedTimeline: 1, receiveLsn: "0/400", walTimeline: 1 }), target);
    assert.deepEqual([w.verdict, w.action], ["wait", "repoint"]);
    assert.equal(w.reason, "mp3 does not follow mp2 yet: walreceiver waiting; streams from mp1.tsb.example.com:5432, not mp2.tsb.example.com; receives timeline 1, not 2; holds WAL up to 0/400, not past the switch point 0/400");
    assert.equal(followProof("mp3", "mp2", standby({ walTimeline: 1 }), target).reason,
      "mp3 does not follow mp2 yet: walreceiver not running; streams from nobody, not mp2.tsb.example.com; receives timeline none, not 2; holds WAL up to nothing, not past the switch point 0/400");
    for (const miss of [{ walReceiverStatus: "starting" }, { upstream: "10.0.0.9:5432" }, { receivedTimeline: undefined, walTimeline: 2 }, { receiveLsn: "0/400" }]) {
      assert.equal(followProof("mp3", "mp2", { ...following, ...miss }, target).verdict, "wait", JSON.stringify(miss));
    }
  });
  it("refuses at once what can never follow", () => {
    const r = followProof("mp3", "mp2", standby({ receiveLsn: "0/500", walTimeline: 1, walReceiverStatus: "waiting" }), target);
    assert.deepEqual([r.verdict, r.action], ["refuse", "rebuild"]);
  });
  it("reads the host of sender_host:sender_port, IPv6 included", () => {
    assert.equal(upstreamHostOf("mp2.x:5432"), "mp2.x");
    assert.equal(upstreamHostOf("Mp2.X"), "mp2.x");
    assert.equal(upstreamHostOf("fd00::1:5432"), "fd00::1");
    assert.equal(upstreamHostOf(":5432"), "");
    assert.equal(upstreamHostOf(undefined), undefined);
  });
});

describe("the follow proof's messages", () => {
  const target: FollowTarget = { upstreamHost: "mp2.x", history: { timeline: 2, forks: [{ timeline: 1, at: "0/400" }] } };
  it("a refusal names the site, the pod, the reason and the exact rebuild command", () => {
    assert.equal(rebuildCommand("mp3", 0), "pulumi config set --path 'tsb-ha:sites.mp3.rebuild' 1");
    const d = followCheck("mp3", "mp2", standby({ receiveLsn: "0/500", walTimeline: 1 }), target.history);
    const m = followRefused("mp3", "mp2", "tsb/tsb-postgres-1-0", d, 2);
    assert.equal(m, `mp3 cannot follow the new active mp2 (tsb/tsb-postgres-1-0): ${d.reason} Rebuild mp3 as a fresh standby: ` +
      "pulumi config set --path 'tsb-ha:sites.mp3.rebuild' 3, then pulumi up (docs/failover.md, \"9. Rebuild, then fail back\").");
    assertRunbookSection(m, "9. Rebuild, then fail back", "docs/failover.md");
  });
  it("a timeout names what was expected, each pod's positions and timelines, and the way out", () => {
    const p = standby({ receiveLsn: "0/400", walTimeline: 1, walReceiverStatus: "waiting", upstream: "mp1.x:5432", receivedTimeline: 1 });
    const m = followTimedOut("mp3", "mp2", target, { "tsb/tsb-postgres-1-0": { probe: p, decision: followProof("mp3", "mp2", p, target) }, "tsb/tsb-postgres-2-0": { error: "exec: no answer" } }, 300, 0);
    assert.equal(m, "mp3 does not follow the new active mp2 after 300 s: expected its walreceiver streaming from mp2.x, on timeline 2, past the switch point 0/400; " +
      "tsb/tsb-postgres-1-0: holds 0/400 on timeline 1, walreceiver waiting from mp1.x:5432 (timeline 1); tsb/tsb-postgres-2-0: not read (exec: no answer). " +
      "mp2 serves; mp3 is a standby that is not synchronised. Fix: see why (docs/replication.md, \"Standby does not follow\"), " +
      "or rebuild it: pulumi config set --path 'tsb-ha:sites.mp3.rebuild' 1, then pulumi up.");
    assertRunbookSection(m, "Standby does not follow");
    assert.match(followTimedOut("mp3", "mp2", { upstreamHost: "h", history: { timeline: 2, forks: [] } }, {}, 5, 0), /past the switch point \?; no ready Postgres pod\./);
    assert.match(followTimedOut("mp3", "mp2", target, { p: { probe: standby({}), decision: followProof("mp3", "mp2", standby({}), target) } }, 5, 0), /p: holds nothing on timeline \?, walreceiver not running\. mp2 serves/);
  });
});
