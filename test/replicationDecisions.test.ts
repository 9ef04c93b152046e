// The replication gate's decisions as plain functions (lib/replication only: no probe, no pod exec,
// no Pulumi), so the file runs in well under a second and mutation testing can afford it.
// The probe, the transport and the gate component stay in replication.test.ts; the same decisions
// run against real Postgres in replication.pg.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import {
  catchUpTimedOut,
  compareLsn,
  fencedCatchUp,
  followCheck,
  formatLsn,
  lastContact,
  lostStaleness,
  lsnDiff,
  mostAdvancedCheck,
  parseLsn,
  parseTimelineHistory,
  RUNBOOK,
  standbyPosition,
  type ReplicationProbe,
} from "../lib/replication";

const NOW = "2026-12-01T12:00:00.000Z";
const ago = (s: number): string => new Date(Date.parse(NOW) - s * 1000).toISOString();
const standby = (p: Partial<ReplicationProbe>): ReplicationProbe => ({ role: "standby", now: NOW, ...p });
const primary = (p: Partial<ReplicationProbe>): ReplicationProbe => ({ role: "primary", now: NOW, ...p });

/** The runbook, from the repository root; searched upwards because a mutation-testing sandbox (stryker.config.json ignores docs/) sits below it. */
function readRunbook(): string {
  for (let dir = path.join(__dirname, ".."), i = 0; i < 6; dir = path.dirname(dir), i++) {
    const file = path.join(dir, RUNBOOK);
    if (existsSync(file)) return readFileSync(file, "utf8");
  }
  throw new Error(`${RUNBOOK} not found above ${__dirname}`);
}
/** Every refusal's fix points at a runbook section: that section must exist, under that exact title. */
const runbookHeadings = new Set(
  readRunbook()
    .split("\n")
    .filter((l) => l.startsWith("#"))
    .map((l) => l.replace(/^#+\s*/, "").trim()),
);
function assertRunbookSection(reason: string, section: string): void {
  assert.ok(reason.includes(`${RUNBOOK}, "${section}"`), `"${reason}" should point at ${RUNBOOK}, "${section}"`);
  assert.ok(runbookHeadings.has(section), `${RUNBOOK} has no section "${section}"`);
  assert.equal(RUNBOOK, "docs/replication.md");
}

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

describe("a) fenced old active: wait until the new active replayed its final position", () => {
  it("passes when replay reached the final LSN, waits (naming both positions) before", () => {
    const ok = fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/5000000" }), "0/5000000");
    assert.equal(ok.verdict, "pass");
    assert.match(ok.reason, /^mp2 replayed 0\/5000000, at or past mp1's final position 0\/5000000: no data loss$/);
    assert.equal(fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/5000001" }), "0/5000000").verdict, "pass");
    const w = fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/4FFFF00", receiveLsn: "0/5000000" }), "0/5000000");
    assert.equal(w.verdict, "wait");
    assert.match(w.reason, /mp2 replayed 0\/4FFFF00 .* 256 bytes behind mp1's final position 0\/5000000/);
  });
  it("the wait names what was received, the walreceiver's state and a paused replay (not a running one)", () => {
    const w = fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/10", receiveLsn: "0/20", walReceiverStatus: "streaming", replayPauseState: "paused" }), "0/30");
    assert.equal(w.reason, "mp2 replayed 0/10 (received 0/20), 32 bytes behind mp1's final position 0/30; replay is paused; walreceiver streaming");
    const running = fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/10", replayPauseState: "not paused" }), "0/30");
    assert.equal(running.reason, "mp2 replayed 0/10 (received none), 32 bytes behind mp1's final position 0/30; walreceiver not running");
    assert.doesNotMatch(fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/10" }), "0/30").reason, /paused/);
  });
  it("waits while the new active has replayed nothing yet", () => {
    const w = fencedCatchUp("mp2", "mp1", standby({ receiveLsn: "0/40" }), "0/30");
    assert.equal(w.verdict, "wait");
    assert.equal(w.reason, "mp2 has not replayed any WAL yet (mp1 ended at 0/30)");
  });
  it("received is not enough: replay decides", () => {
    assert.equal(fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/1", receiveLsn: "0/9" }), "0/9").verdict, "wait");
  });
  it("times out into a refusal with both positions, the pause state and the fix", () => {
    const r = catchUpTimedOut("mp2", "mp1", standby({ replayLsn: "0/100", receiveLsn: "0/200", replayPauseState: "paused", walReceiverStatus: "streaming" }), "0/200", 120);
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /^Replication gate: mp2 did not replay mp1's final WAL position 0\/200 within 120 s \(mp2 replayed 0\/100, received 0\/200; walreceiver streaming, replay paused\)\. /);
    assert.match(r.reason, /Promoting now would lose mp1's last writes\. Fix: see why mp2 lags/);
    assert.match(r.reason, /then run pulumi up again, or raise tsb-ha:replication\.catchUpTimeoutSeconds\.$/);
    assertRunbookSection(r.reason, "Standby did not catch up");
  });
  it("a timeout with nothing replayed and no walreceiver says so, and says nothing of a pause that is not one", () => {
    const r = catchUpTimedOut("mp2", "mp1", standby({ replayPauseState: "not paused" }), "0/200", 30);
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /within 30 s \(mp2 replayed nothing, received nothing; walreceiver not running\)\. Promoting/);
    assert.doesNotMatch(catchUpTimedOut("mp2", "mp1", standby({ replayLsn: "0/1" }), "0/200", 30).reason, /replay (paused|undefined)/);
  });
  it("a last probe that caught up after all passes; a primary is still refused as such", () => {
    assert.equal(catchUpTimedOut("mp2", "mp1", standby({ replayLsn: "0/200" }), "0/200", 30).verdict, "pass");
    assert.match(catchUpTimedOut("mp2", "mp1", primary({ currentLsn: "0/9" }), "0/200", 30).reason, /already a primary/);
  });
  it("refuses a candidate that is already a primary, naming its timeline, position and the fix", () => {
    const r = fencedCatchUp("mp2", "mp1", primary({ currentLsn: "0/9", timeline: 3 }), "0/1");
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /^mp2's Postgres is already a primary \(timeline 3, at 0\/9\), not a standby of mp1: the gate cannot prove it holds mp1's writes up to 0\/1\. /);
    assert.match(r.reason, /Fix: check both sites' databases by hand \(.*\) before promoting\.$/);
    assertRunbookSection(r.reason, "Already a primary");
    assert.match(fencedCatchUp("mp2", "mp1", primary({}), "0/1").reason, /\(timeline \?, at \?\)/);
  });
});

describe("b) lost old active: staleness of the last contact", () => {
  it("uses the walreceiver's last message while its row exists", () => {
    const p = standby({ walReceiverStatus: "streaming", lastMsgReceiptTime: ago(5), newestWalFileTime: ago(500) });
    assert.deepEqual(lastContact(p), { fact: "walreceiver last_msg_receipt_time", at: ago(5) });
  });
  it("a walreceiver time without its row, or a row without a time, is not used", () => {
    assert.deepEqual(lastContact(standby({ walReceiverStatus: "starting", newestWalFileTime: ago(40) })), { fact: "newest WAL file write", at: ago(40) });
    assert.deepEqual(lastContact(standby({ lastMsgReceiptTime: ago(5), newestWalFileTime: ago(40) })), { fact: "newest WAL file write", at: ago(40) });
    assert.equal(lastContact(standby({ walReceiverStatus: "starting" })), undefined);
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
    assert.match(r.reason, /^mp2 has no record of its last contact with mp1 \(no walreceiver row, no WAL file time, no replayed transaction\); it holds WAL up to 0\/70\. Fix: /);
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

describe("d) other standbys after the promotion", () => {
  it("follow iff they hold nothing past the switch point; else rebuild", () => {
    const ok = followCheck("mp3", "mp2", standby({ receiveLsn: "0/400" }), "0/400");
    assert.deepEqual([ok.verdict, ok.action], ["pass", "repoint"]);
    assert.equal(ok.reason, "mp3 holds WAL up to 0/400, not past mp2's switch point 0/400: it can follow mp2");
    const r = followCheck("mp3", "mp2", standby({ receiveLsn: "0/401", replayLsn: "0/100" }), "0/400");
    assert.deepEqual([r.verdict, r.action], ["refuse", "rebuild"]);
    assert.match(r.reason, /^mp3 received WAL up to 0\/401, 1 bytes past mp2's switch point 0\/400: it cannot follow mp2's new timeline and needs a rebuild \(pg_rewind or a fresh base backup; /);
    assert.match(r.reason, /\)\. Not re-pointed\.$/);
    assertRunbookSection(r.reason, "Standby cannot follow");
  });
  it("a standby that holds no WAL yet can follow", () => {
    const ok = followCheck("mp3", "mp2", standby({}), "0/400");
    assert.deepEqual([ok.verdict, ok.action], ["pass", "repoint"]);
    assert.match(ok.reason, /^mp3 holds WAL up to nothing, not past/);
  });
  it("a primary cannot follow: rebuild, with the fix", () => {
    const r = followCheck("mp3", "mp2", primary({ currentLsn: "0/1" }), "0/400");
    assert.deepEqual([r.verdict, r.action], ["refuse", "rebuild"]);
    assert.match(r.reason, /^mp3's Postgres is a primary, not a standby: it cannot follow mp2\. Fix: rebuild mp3 /);
    assertRunbookSection(r.reason, "Standby cannot follow");
  });
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
});
