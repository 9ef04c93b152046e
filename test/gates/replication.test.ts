// The replication gate's decisions as plain functions (lib/gates/replication only: no probe, no pod exec,
// no Pulumi), so the file runs in well under a second and mutation testing can afford it.
// The probe, the transport and the gate component stay in replication.test.ts; the same decisions
// run against real Postgres in replication.pg.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { assertRunbookSection } from "../harness/runbook";
import {
  aheadBeforeWaiting,
  catchUpTimedOut,
  compareLsn,
  fencedCatchUp,
  formatLsn,
  isStreaming,
  lastContact,
  lostStaleness,
  lsnDiff,
  mostAdvancedCheck,
  oldPrimaryFinal,
  parseLsn,
  replayNote,
  siteTimeline,
  standbyPosition,
  standbyStanding,
  timelineProblem,
  type ReplicationProbe,
  type WalTail,
} from "../../lib/gates/replication";

const NOW = "2026-12-01T12:00:00.000Z";
const ago = (s: number): string => new Date(Date.parse(NOW) - s * 1000).toISOString();
const standby = (p: Partial<ReplicationProbe>): ReplicationProbe => ({ role: "standby", now: NOW, ...p });
const primary = (p: Partial<ReplicationProbe>): ReplicationProbe => ({ role: "primary", now: NOW, ...p });

describe("LSN arithmetic", () => {
  it("reads Postgres' X/Y text as a 64-bit position and prints it back", () => {
    assert.equal(parseLsn("16/B374D848"), (0x16n << 32n) + 0xb374d848n);
    assert.equal(formatLsn(parseLsn("16/B374D848")), "16/B374D848");
    assert.equal(formatLsn(parseLsn("0/0")), "0/0");
  });
  it("prints both halves in Postgres' upper case, and reads psql's text with surrounding whitespace", () => {
    assert.equal(formatLsn(parseLsn("ab/cd")), "AB/CD");
    assert.equal(parseLsn(" 1/2\n"), (1n << 32n) + 2n);
  });
  it("compares by value, not as text (0/A0000000 < 1/0)", () => {
    assert.equal(compareLsn("0/A0000000", "1/0"), -1);
    assert.equal(compareLsn("1/10", "1/F"), 1);
    assert.equal(compareLsn("1/f", "1/F"), 0);
    assert.equal(lsnDiff("1/0", "0/FFFFFFFF"), 1n);
  });
  it("refuses text that is not a WAL position", () => {
    for (const bad of ["", "16", "16/", "G/1", "1/2/3", "123456789/0"]) assert.throws(() => parseLsn(bad), /not a WAL position/);
  });
});

describe("how far a site got", () => {
  it("a primary: its current position; a standby: the greater of received and replayed, whichever is ahead", () => {
    assert.equal(standbyPosition(primary({ currentLsn: "0/900" })), "0/900");
    assert.equal(standbyPosition(standby({ receiveLsn: "0/300", replayLsn: "0/100" })), "0/300");
    // Replay can be ahead of receive (WAL restored from an archive, or receive reset by a restart).
    assert.equal(standbyPosition(standby({ receiveLsn: "0/100", replayLsn: "0/300" })), "0/300");
    assert.equal(standbyPosition(standby({ replayLsn: "0/7" })), "0/7");
    assert.equal(standbyPosition(standby({})), undefined);
  });
});

describe("timelines and the one position", () => {
  it("a site's timeline: a primary's current one; a standby's newest of its receiver's and its newest WAL file's, else its restartpoint's", () => {
    assert.equal(siteTimeline(primary({ timeline: 3, receivedTimeline: 9, walTimeline: 9 })), 3);
    assert.equal(siteTimeline(standby({ timeline: 1, receivedTimeline: 2, walTimeline: 1 })), 2);
    assert.equal(siteTimeline(standby({ timeline: 1, receivedTimeline: 1, walTimeline: 2 })), 2);
    assert.equal(siteTimeline(standby({ timeline: 1, walTimeline: 3 })), 3);
    assert.equal(siteTimeline(standby({ timeline: 4 })), 4);
    assert.equal(siteTimeline(standby({})), undefined);
  });
  it("only a streaming walreceiver is connected", () => {
    assert.equal(isStreaming(standby({ walReceiverStatus: "streaming" })), true);
    for (const s of ["waiting", "starting", "stopping", undefined]) assert.equal(isStreaming(standby({ ...(s ? { walReceiverStatus: s } : {}) })), false, String(s));
    assert.equal(isStreaming(primary({ walReceiverStatus: "streaming" })), false);
  });
  it("a paused or lagging replay is reported as what the promotion will replay, never hidden", () => {
    assert.equal(replayNote(standby({ receiveLsn: "0/20", replayLsn: "0/20", replayPauseState: "not paused" })), "");
    assert.equal(replayNote(standby({ receiveLsn: "0/20" })), "");
    assert.equal(replayNote(standby({ receiveLsn: "0/30", replayLsn: "0/10", replayPauseState: "paused" })), "; replay paused by 32 bytes: a promotion replays all received WAL first");
    assert.equal(replayNote(standby({ receiveLsn: "0/30", replayLsn: "0/10", replayPauseState: "not paused" })), "; replay behind by 32 bytes: a promotion replays all received WAL first");
    assert.equal(replayNote(standby({ receiveLsn: "0/10", replayLsn: "0/10", replayPauseState: "pause requested" })), "; replay pause requested: a promotion replays all received WAL first");
  });
});

describe("a) fenced old active: the new active receives its WAL, then its shutdown checkpoint", () => {
  it("passes when the new active holds the old primary's position (received, not only replayed), waits before", () => {
    const ok = fencedCatchUp("mp2", "mp1", standby({ receiveLsn: "0/5000000", replayLsn: "0/4000000", replayPauseState: "paused" }), "0/5000000");
    assert.equal(ok.verdict, "pass");
    assert.equal(ok.reason, "mp2 holds WAL up to 0/5000000, at or past mp1's position 0/5000000; replay paused by 16777216 bytes: a promotion replays all received WAL first");
    assert.equal(fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/5000001" }), "0/5000000").verdict, "pass");
    const w = fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/4FFFF00", receiveLsn: "0/4FFFF00", walReceiverStatus: "streaming", upstream: "mp1.x:5432", receivedTimeline: 1 }), "0/5000000");
    assert.equal(w.verdict, "wait");
    assert.equal(w.reason, "mp2 holds WAL up to 0/4FFFF00, 256 bytes behind mp1 (at 0/5000000); walreceiver streaming from mp1.x:5432 on timeline 1");
  });
  it("waits while the new active holds no WAL, naming its receiver", () => {
    const w = fencedCatchUp("mp2", "mp1", standby({}), "0/30");
    assert.equal(w.verdict, "wait");
    assert.equal(w.reason, "mp2 has received no WAL yet (mp1 is at 0/30); walreceiver not running");
  });
  it("refuses a candidate that does not stream and holds another timeline than the old primary's: it never followed it", () => {
    const r = fencedCatchUp("mp2", "mp1", standby({ receiveLsn: "0/90", walTimeline: 1, walReceiverStatus: "waiting" }), "0/30", 2);
    assert.equal(r.verdict, "refuse");
    assert.equal(r.reason, "Replication gate: mp2 holds WAL of timeline 1 (up to 0/90), but mp1 was on timeline 2: mp2 did not follow it and lacks what was written on timeline 2; " +
      "walreceiver waiting. Fix: rebuild mp2 (docs/replication.md, \"Standby on another timeline\").");
    assertRunbookSection(r.reason, "Standby on another timeline");
    assert.equal(fencedCatchUp("mp2", "mp1", standby({ receiveLsn: "0/90", walTimeline: 2 }), "0/30", 2).verdict, "pass");
    assert.equal(fencedCatchUp("mp2", "mp1", standby({ receiveLsn: "0/90" }), "0/30", 2).verdict, "pass", "an unknown timeline is not a mismatch");
    assert.equal(fencedCatchUp("mp2", "mp1", standby({ receiveLsn: "0/20", walTimeline: 1, receivedTimeline: 1, walReceiverStatus: "streaming" }), "0/30", 2).verdict, "wait", "streaming across the fork: it may still catch up");
  });
  it("a standby that fetched a newer timeline's history than the WAL it holds saw a fork it could not follow", () => {
    const stranded = standby({ receiveLsn: "0/500", walTimeline: 1, knownTimeline: 2, walReceiverStatus: "waiting" });
    assert.equal(timelineProblem("mp3", "mp2", stranded)?.reason,
      "Replication gate: mp3 holds WAL of timeline 1 (up to 0/500), but mp2 has moved to timeline 2: mp3 did not follow it and lacks what was written on timeline 2; walreceiver waiting. " +
      "Fix: rebuild mp3 (docs/replication.md, \"Standby on another timeline\").");
    assert.equal(timelineProblem("mp3", "mp2", { ...stranded, knownTimeline: 1 }), undefined);
    assert.equal(timelineProblem("mp3", "mp2", { ...stranded, walReceiverStatus: "streaming" }), undefined, "streaming: crossing the fork");
    assert.equal(timelineProblem("mp3", "mp2", standby({ knownTimeline: 2 })), undefined, "no WAL timeline known");
    assert.match(timelineProblem("mp3", "mp2", { ...stranded, knownTimeline: 3 }, 2)!.reason, /but mp2 was on timeline 2/, "the expected timeline wins over the history file");
    assert.equal(timelineProblem("mp3", "mp2", { ...stranded, knownTimeline: undefined }, 1), undefined, "on the expected timeline");
  });
  it("times out into a refusal with both positions and the receiver, saying nothing is lost yet", () => {
    const r = catchUpTimedOut("mp2", "mp1", standby({ replayLsn: "0/100", receiveLsn: "0/180", walReceiverStatus: "waiting" }), "0/200", 120);
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /^Replication gate: mp2 did not receive mp1's WAL up to 0\/200 within 120 s \(mp2 holds 0\/180, replayed 0\/100; walreceiver waiting\)\. /);
    assert.match(r.reason, /mp1's database was not stopped: nothing is lost yet\. Fix: see why mp2 does not receive/);
    assert.match(r.reason, /then run pulumi up again, or raise tsb-ha:replication\.catchUpTimeoutSeconds\.$/);
    assertRunbookSection(r.reason, "Standby did not catch up");
    assert.match(catchUpTimedOut("mp2", "mp1", standby({}), "0/200", 30).reason, /\(mp2 holds nothing, replayed nothing; walreceiver not running\)/);
  });
  it("a last probe that caught up after all passes; a primary or another timeline is still refused as such", () => {
    assert.equal(catchUpTimedOut("mp2", "mp1", standby({ receiveLsn: "0/200" }), "0/200", 30).verdict, "pass");
    assert.match(catchUpTimedOut("mp2", "mp1", primary({ currentLsn: "0/9" }), "0/200", 30).reason, /already a primary/);
    assert.match(catchUpTimedOut("mp2", "mp1", standby({ walTimeline: 1 }), "0/200", 30, 2).reason, /holds WAL of timeline 1 \(up to nothing\), but mp1 was on timeline 2/);
  });
  it("refuses a candidate that is already a primary, naming its timeline, position and the fix", () => {
    const r = fencedCatchUp("mp2", "mp1", primary({ currentLsn: "0/9", timeline: 3 }), "0/1");
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /^mp2's Postgres is already a primary \(timeline 3, at 0\/9\), not a standby of mp1: nothing proves it holds mp1's writes\. /);
    assert.match(r.reason, /Fix: check both sites' databases by hand \(.*\) before promoting\.$/);
    assertRunbookSection(r.reason, "Already a primary");
    assert.match(fencedCatchUp("mp2", "mp1", primary({}), "0/1").reason, /\(timeline \?, at \?\)/);
  });
});

describe("a) after the clean stop: the old primary's shutdown checkpoint is its last record", () => {
  const tail = (p: Partial<WalTail>): WalTail => ({ timeline: 1, lastLsn: "0/817B70", endLsn: "0/817BE8", description: "CHECKPOINT_SHUTDOWN redo 0/817B70; tli 1", shutdown: true, ...p });
  const notShutdown = tail({ lastLsn: "0/817B48", description: "COMMIT 2026-12-07", shutdown: false });
  it("passes when the candidate's last record is the shutdown checkpoint", () => {
    const d = oldPrimaryFinal("mp2", "mp1", tail({}), { mp3: notShutdown });
    assert.equal(d.verdict, "pass");
    assert.equal(d.reason, "mp2 holds mp1's shutdown checkpoint at 0/817B70 (timeline 1), the last record mp1 wrote: no data loss");
  });
  it("names the standby that holds it when the candidate does not, with both positions", () => {
    const d = oldPrimaryFinal("mp2", "mp1", notShutdown, { mp3: tail({ lastLsn: "0/900000" }), mp4: notShutdown });
    assert.equal(d.verdict, "refuse");
    assert.match(d.reason, /^Replication gate: mp1 stopped cleanly, but its last record \(shutdown checkpoint at 0\/900000\) reached standby mp3, not mp2 \(mp2's last record is a COMMIT at 0\/817B48 on timeline 1\): /);
    assert.match(d.reason, /: promoting mp2 would lose mp1's last writes and mp3 could not follow it\. Fix: promote mp3 instead \(pulumi config set tsb-ha:activeSite mp3\)/);
    assertRunbookSection(d.reason, "Another standby is ahead");
    assert.match(oldPrimaryFinal("mp2", "mp1", { error: "pg_waldump: not found" }, { mp3: tail({}) }).reason, /reached standby mp3, not mp2 \(mp2's WAL could not be read \(pg_waldump: not found\)\)/);
  });
  it("refuses when no standby holds it, listing what each holds and the fix", () => {
    const d = oldPrimaryFinal("mp2", "mp1", notShutdown, { mp3: { error: "exec failed" }, mp4: notShutdown });
    assert.equal(d.verdict, "refuse");
    assert.equal(d.reason,
      "Replication gate: no standby holds mp1's shutdown checkpoint (mp2's last record is a COMMIT at 0/817B48 on timeline 1; mp3: not read (exec failed); " +
      "mp4: COMMIT at 0/817B48 on timeline 1): mp1's last WAL is only on its own disk (its standbys were not connected when it stopped, or it was killed before its shutdown finished). " +
      "Fix: start mp1's database again so they receive it (docs/replication.md, \"Shutdown record on no standby\"), then run pulumi up again.");
    assertRunbookSection(d.reason, "Shutdown record on no standby");
    assert.equal(oldPrimaryFinal("mp2", "mp1", notShutdown, {}).verdict, "refuse");
  });
});

describe("how a standby stands, by the gate's rules (what readiness and status report)", () => {
  const active = primary({ currentLsn: "0/5000100", timeline: 2 });
  it("streaming on the active's timeline: pass, with the lag the gate would wait for and the lost-site rule", () => {
    const s = standbyStanding("mp2", "mp1", standby({ walReceiverStatus: "streaming", upstream: "mp1.x:5432", receivedTimeline: 2, receiveLsn: "0/5000000", lastMsgReceiptTime: ago(3) }), active, 300);
    assert.deepEqual(s.streaming, { verdict: "pass", reason: "walreceiver streaming from mp1.x:5432 on timeline 2, holds WAL up to 0/5000000" });
    assert.deepEqual(s.catchUp, { verdict: "wait", reason: "mp2 holds WAL up to 0/5000000, 256 bytes behind mp1 (at 0/5000100); walreceiver streaming from mp1.x:5432 on timeline 2" });
    assert.equal(s.lostRule.verdict, "pass");
    assert.equal(s.lostRule.fact, "walreceiver last_msg_receipt_time");
  });
  it("not streaming: refused as the gate's wait would end, naming what it holds", () => {
    const s = standbyStanding("mp2", "mp1", standby({ walReceiverStatus: "waiting", receivedTimeline: 2 }), active, 300);
    assert.deepEqual(s.streaming, { verdict: "refuse", reason: "mp2 is not streaming from mp1: walreceiver waiting on timeline 2, holds WAL up to nothing; a failover to it would wait for a catch-up that cannot come" });
    assert.equal(s.lostRule.verdict, "refuse");
  });
  it("on an older timeline than the active's: the timeline refusal; a primary: already a primary", () => {
    const old = standbyStanding("mp2", "mp1", standby({ walTimeline: 1, receiveLsn: "0/9" }), active, 300);
    assert.match(old.streaming.reason, /^Replication gate: mp2 holds WAL of timeline 1 \(up to 0\/9\), but mp1 was on timeline 2/);
    assert.equal(old.catchUp?.verdict, "refuse");
    assert.match(standbyStanding("mp2", "mp1", primary({ currentLsn: "0/1" }), active, 300).streaming.reason, /^mp2's Postgres is already a primary/);
  });
  it("without a primary's probe of the active: no catch-up, and no timeline to compare", () => {
    for (const a of [undefined, standby({ receiveLsn: "0/5000100", timeline: 3 })]) {
      const s = standbyStanding("mp2", "mp1", standby({ walReceiverStatus: "streaming", walTimeline: 1, receiveLsn: "0/1" }), a, 300);
      assert.equal(s.catchUp, undefined);
      assert.equal(s.streaming.verdict, "pass");
    }
    const s = standbyStanding("mp2", "mp1", standby({ walReceiverStatus: "waiting", walTimeline: 1 }), primary({ currentLsn: "0/10" }), 300);
    assert.match(s.streaming.reason, /^mp2 is not streaming/, "an active of unknown timeline: not a timeline refusal");
    assert.deepEqual(s.catchUp, { verdict: "wait", reason: "mp2 has received no WAL yet (mp1 is at 0/10); walreceiver waiting" });
  });
});

describe("b) lost old active: staleness of the last contact", () => {
  it("uses the walreceiver's last message while it streams", () => {
    const p = standby({ walReceiverStatus: "streaming", lastMsgReceiptTime: ago(5), newestWalFileTime: ago(500) });
    assert.deepEqual(lastContact(p), { fact: "walreceiver last_msg_receipt_time", at: ago(5) });
  });
  it("a receiver that is waiting, starting or stopping is no contact, however recent its last message", () => {
    for (const status of ["waiting", "starting", "stopping"]) {
      assert.deepEqual(lastContact(standby({ walReceiverStatus: status, lastMsgReceiptTime: ago(4), newestWalFileTime: ago(400) })), { fact: "newest WAL file write", at: ago(400) }, status);
    }
    const r = lostStaleness("mp3", "mp2", standby({ walReceiverStatus: "waiting", lastMsgReceiptTime: ago(4), receiveLsn: "0/9" }), 300, false);
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /^mp3 has no record of its last contact with mp2 \(no streaming walreceiver, /);
  });
  it("a walreceiver time without its row, or a row without a time, is not used", () => {
    assert.deepEqual(lastContact(standby({ walReceiverStatus: "starting", newestWalFileTime: ago(40) })), { fact: "newest WAL file write", at: ago(40) });
    assert.deepEqual(lastContact(standby({ lastMsgReceiptTime: ago(5), newestWalFileTime: ago(40) })), { fact: "newest WAL file write", at: ago(40) });
    assert.deepEqual(lastContact(standby({ walReceiverStatus: "streaming", newestWalFileTime: ago(40) })), { fact: "newest WAL file write", at: ago(40) });
    assert.equal(lastContact(standby({ walReceiverStatus: "starting" })), undefined);
  });
  it("a standby on another timeline than the lost active's never followed it: refused, however recent its WAL or its receiver's message", () => {
    // Measured on real servers: stuck on timeline 1, its receiver `waiting` with a last message 4 s old.
    const p = standby({ walReceiverStatus: "waiting", lastMsgReceiptTime: ago(4), newestWalFileTime: ago(6), receivedTimeline: 1, walTimeline: 1, receiveLsn: "0/500", upstream: "mp2.x:5432" });
    const r = lostStaleness("mp3", "mp2", p, 300, false, 2);
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /^Replication gate: mp3 holds WAL of timeline 1 \(up to 0\/500\), but mp2 was on timeline 2: mp3 did not follow it and lacks what was written on timeline 2; walreceiver waiting from mp2\.x:5432 on timeline 1\. /);
    assertRunbookSection(r.reason, "Standby on another timeline");
    assert.equal(lostStaleness("mp3", "mp2", p, 300, false, 1).verdict, "pass", "on the active's timeline: its WAL file 6 s old is recent contact");
    assert.equal(lostStaleness("mp3", "mp2", p, 300, false).verdict, "pass", "an unknown active timeline and no newer history file: not checked");
    assert.equal(lostStaleness("mp3", "mp2", { ...p, knownTimeline: 2 }, 300, false).verdict, "refuse", "the history file it fetched tells");
    assert.equal(lostStaleness("mp3", "mp2", p, 300, true, 2).verdict, "pass", "acceptDataLoss accepts it knowingly");
    assert.match(lostStaleness("mp3", "mp2", p, 300, true, 2).warning!, /acceptDataLoss is true: promoting anyway\. Replication gate: mp3 holds WAL of timeline 1/);
  });
  it("without a walreceiver row, the newer of the newest WAL file write and the last replayed commit", () => {
    assert.equal(lastContact(standby({ newestWalFileTime: ago(40), lastXactReplayTime: ago(90) }))?.fact, "newest WAL file write");
    assert.equal(lastContact(standby({ newestWalFileTime: ago(90), lastXactReplayTime: ago(40) }))?.fact, "last replayed transaction");
    assert.equal(lastContact(standby({})), undefined);
  });
  it("passes within the limit and refuses past it, naming the age, the fact and the switch", () => {
    const p = standby({ replayLsn: "0/50", receiveLsn: "0/60", newestWalFileTime: ago(301) });
    assert.equal(lostStaleness("mp2", "mp1", standby({ newestWalFileTime: ago(299) }), 300, false).verdict, "pass");
    const r = lostStaleness("mp2", "mp1", p, 300, false);
    assert.equal(r.verdict, "refuse");
    assert.equal(r.fact, "newest WAL file write");
    assert.equal(r.ageSeconds, 301);
    assert.equal(r.warning, undefined);
    assert.match(r.reason, /^Replication gate: mp2's last contact with mp1 was 301 s ago \(newest WAL file write: .*\), WAL up to 0\/60, older than tsb-ha:replication.maxLostContactSeconds = 300 s: /);
    assert.match(r.reason, /writes made on mp1 after that may be missing on mp2\. Fix: bring mp1 back and fail over with it fenced, or accept the loss for this update: /);
    assert.match(r.reason, /pulumi config set --path tsb-ha:replication.acceptDataLoss true/);
    assertRunbookSection(r.reason, "Lost site: last contact too old");
  });
  it("the limit itself still passes; the pass names the measured age, the fact, the position and the limit", () => {
    const at = ago(300);
    const r = lostStaleness("mp2", "mp1", standby({ receiveLsn: "0/60", walReceiverStatus: "streaming", lastMsgReceiptTime: at }), 300, false);
    assert.equal(r.verdict, "pass");
    assert.equal(r.reason, `mp2's last contact with mp1 was 300 s ago (walreceiver last_msg_receipt_time: ${at}), WAL up to 0/60; limit 300 s`);
    assert.equal(r.fact, "walreceiver last_msg_receipt_time");
    assert.equal(r.ageSeconds, 300);
    assert.equal(lostStaleness("mp2", "mp1", standby({ newestWalFileTime: ago(300.5) }), 300, false).verdict, "refuse");
  });
  it("a contact time ahead of the server's clock (skew) counts as just now, never as a negative age", () => {
    const r = lostStaleness("mp2", "mp1", standby({ newestWalFileTime: ago(-20) }), 30, false);
    assert.equal(r.verdict, "pass");
    assert.equal(r.ageSeconds, 0);
  });
  it("no record of any contact is a refusal that names the position held and the fix", () => {
    const r = lostStaleness("mp2", "mp1", standby({ replayLsn: "0/70" }), 300, false);
    assert.equal(r.verdict, "refuse");
    assert.equal(r.fact, undefined);
    assert.match(r.reason, /^mp2 has no record of its last contact with mp1 \(no streaming walreceiver, no WAL file time, no replayed transaction\); it holds WAL up to 0\/70\. Fix: /);
    assertRunbookSection(r.reason, "Lost site: last contact too old");
    assert.match(lostStaleness("mp2", "mp1", standby({}), 300, false).reason, /it holds WAL up to nothing\./);
  });
  it("acceptDataLoss turns the refusal into a pass with the refusal as warning", () => {
    const r = lostStaleness("mp2", "mp1", standby({ newestWalFileTime: ago(3600) }), 300, true);
    assert.equal(r.verdict, "pass");
    assert.match(r.warning!, /^tsb-ha:replication\.acceptDataLoss is true: promoting anyway\. Replication gate: .*3600 s ago/);
    assert.equal(r.warning, `tsb-ha:replication.acceptDataLoss is true: promoting anyway. ${r.reason}`);
    assert.equal(lostStaleness("mp2", "mp1", standby({}), 300, true).verdict, "pass");
    assert.equal(lostStaleness("mp2", "mp1", standby({}), 300, false).verdict, "refuse");
    assert.equal(lostStaleness("mp2", "mp1", standby({ newestWalFileTime: ago(1) }), 300, true).warning, undefined, "no warning when nothing was overridden");
  });
  it("a candidate that is already a primary is refused even with acceptDataLoss, naming its timeline and the fix", () => {
    for (const accept of [false, true]) {
      const r = lostStaleness("mp2", "mp1", primary({ timeline: 4, currentLsn: "0/9" }), 300, accept);
      assert.equal(r.verdict, "refuse");
      assert.match(r.reason, /^mp2's Postgres is already a primary \(timeline 4\), not a standby of mp1: nothing tells how much of mp1's data it holds\. Fix: check mp2's database by hand/);
      assertRunbookSection(r.reason, "Already a primary");
    }
    assert.match(lostStaleness("mp2", "mp1", primary({}), 300, false).reason, /\(timeline \?\)/);
  });
});

describe("c) several standbys: never promote one that is behind another", () => {
  it("compares GREATEST(receive, replay) and names the most advanced site", () => {
    const cand = standby({ receiveLsn: "0/300", replayLsn: "0/100" });
    assert.equal(mostAdvancedCheck("mp2", cand, { mp3: standby({ replayLsn: "0/300" }) }).verdict, "pass");
    const r = mostAdvancedCheck("mp2", cand, { mp3: standby({ receiveLsn: "0/301" }), mp4: standby({ receiveLsn: "0/400" }) });
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /^Replication gate: mp2 holds WAL up to 0\/300, but standby mp4 holds more \(up to 0\/400, 256 bytes ahead\): promoting mp2 would lose those writes and mp4 could not follow it\. /);
    assert.match(r.reason, /Fix: promote mp4 instead \(pulumi config set tsb-ha:activeSite mp4\)/);
    assertRunbookSection(r.reason, "Another standby is ahead");
  });
  it("names the most advanced one whatever the order the sites come in", () => {
    const cand = standby({ receiveLsn: "0/300" });
    assert.match(mostAdvancedCheck("mp2", cand, { mp4: standby({ receiveLsn: "0/400" }), mp3: standby({ receiveLsn: "0/301" }) }).reason, /standby mp4 holds more/);
  });
  it("a candidate with no WAL at all is behind any standby that has some", () => {
    const r = mostAdvancedCheck("mp2", standby({}), { mp3: standby({ replayLsn: "0/1" }) });
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /mp2 holds WAL up to nothing, but standby mp3 holds more \(up to 0\/1, \? bytes ahead\)/);
  });
  it("ignores a site that is not a standby, and a standby that holds nothing", () => {
    assert.equal(mostAdvancedCheck("mp2", standby({ replayLsn: "0/1" }), { mp3: primary({ currentLsn: "9/0" }) }).verdict, "pass");
    const r = mostAdvancedCheck("mp2", standby({ replayLsn: "0/1" }), { mp3: standby({}), mp4: standby({ replayLsn: "0/1" }) });
    assert.equal(r.verdict, "pass");
    assert.equal(r.reason, "mp2 (at 0/1) is at least as far as every other standby (mp3, mp4)");
    assert.equal(mostAdvancedCheck("mp2", standby({}), {}).reason, "mp2 (at nothing) is at least as far as every other standby (none)");
  });
});

describe("c) timelines: only WAL of one timeline compares", () => {
  it("a standby on an older timeline is on a dead branch, not ahead, whatever its position", () => {
    const r = mostAdvancedCheck("mp1", standby({ receiveLsn: "0/5000050", receivedTimeline: 2 }), { mp3: standby({ receiveLsn: "0/5000100", walTimeline: 1 }) });
    assert.equal(r.verdict, "pass");
  });
  it("a standby on a newer timeline than the candidate: the candidate did not follow the latest primary", () => {
    const r = mostAdvancedCheck("mp3", standby({ receiveLsn: "0/5000100", walTimeline: 1 }), { mp1: standby({ receiveLsn: "0/5000050", receivedTimeline: 2 }) });
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /^Replication gate: mp3 holds WAL of timeline 1 \(up to 0\/5000100\), but standby mp1 holds timeline 2 \(up to 0\/5000050\): mp3 did not follow the latest primary\. Fix: promote mp1 instead \(pulumi config set tsb-ha:activeSite mp1\), and rebuild mp3 /);
    assertRunbookSection(r.reason, "Standby on another timeline");
  });
  it("a newer timeline's holder is named with both positions, 'nothing' where one holds none", () => {
    const r = mostAdvancedCheck("mp3", standby({ walTimeline: 1 }), { mp1: standby({ receivedTimeline: 2 }) });
    assert.match(r.reason, /^Replication gate: mp3 holds WAL of timeline 1 \(up to nothing\), but standby mp1 holds timeline 2 \(up to nothing\)/);
  });
  it("two standbys equally far ahead: the first one is named", () => {
    const r = mostAdvancedCheck("mp2", standby({ receiveLsn: "0/100" }), { mp3: standby({ receiveLsn: "0/400" }), mp4: standby({ receiveLsn: "0/400" }) });
    assert.match(r.reason, /standby mp3 holds more/);
  });
  it("same timeline, or a timeline unknown on either side: positions decide", () => {
    assert.equal(mostAdvancedCheck("mp2", standby({ receiveLsn: "0/1", walTimeline: 2 }), { mp3: standby({ receiveLsn: "0/2", walTimeline: 2 }) }).verdict, "refuse");
    assert.equal(mostAdvancedCheck("mp2", standby({ receiveLsn: "0/1" }), { mp3: standby({ receiveLsn: "0/2", walTimeline: 2 }) }).verdict, "refuse");
    assert.equal(mostAdvancedCheck("mp2", standby({ receiveLsn: "0/1", walTimeline: 2 }), { mp3: standby({ receiveLsn: "0/2" }) }).verdict, "refuse");
  });
  it("before any wait: a candidate that does not stream is refused at once when another standby is ahead; a streaming one may catch up", () => {
    const others = { mp3: standby({ receiveLsn: "0/900" }) };
    const detached = aheadBeforeWaiting("mp2", standby({ receiveLsn: "0/100", walReceiverStatus: "waiting" }), others);
    assert.equal(detached.verdict, "refuse");
    assert.match(detached.reason, /^Replication gate: mp2 holds WAL up to 0\/100, but standby mp3 holds more \(up to 0\/900, 2048 bytes ahead\)/);
    const streaming = aheadBeforeWaiting("mp2", standby({ receiveLsn: "0/100", walReceiverStatus: "streaming" }), others);
    assert.deepEqual(streaming, { verdict: "pass", reason: "mp2 streams: the wait can close any gap" });
    assert.equal(aheadBeforeWaiting("mp2", standby({ receiveLsn: "0/900" }), others).verdict, "pass");
  });
});
