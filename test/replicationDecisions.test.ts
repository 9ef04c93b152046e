// The replication gate's decisions as plain functions (lib/replication only: no probe, no pod exec,
// no Pulumi), so the file runs in well under a second and mutation testing can afford it.
// The probe, the transport and the gate component stay in replication.test.ts; the same decisions
// run against real Postgres in replication.pg.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
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
  standbyPosition,
  type ReplicationProbe,
} from "../lib/replication";

const NOW = "2026-12-01T12:00:00.000Z";
const ago = (s: number): string => new Date(Date.parse(NOW) - s * 1000).toISOString();
const standby = (p: Partial<ReplicationProbe>): ReplicationProbe => ({ role: "standby", now: NOW, ...p });

describe("LSN arithmetic", () => {
  it("reads Postgres' X/Y text as a 64-bit position and prints it back", () => {
    assert.equal(parseLsn("16/B374D848"), (0x16n << 32n) + 0xb374d848n);
    assert.equal(formatLsn(parseLsn("16/B374D848")), "16/B374D848");
    assert.equal(formatLsn(parseLsn("0/0")), "0/0");
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

describe("a) fenced old active: wait until the new active replayed its final position", () => {
  it("passes when replay reached the final LSN, waits (naming both positions) before", () => {
    assert.equal(fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/5000000" }), "0/5000000").verdict, "pass");
    const w = fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/4FFFF00", receiveLsn: "0/5000000" }), "0/5000000");
    assert.equal(w.verdict, "wait");
    assert.match(w.reason, /mp2 replayed 0\/4FFFF00 .* 256 bytes behind mp1's final position 0\/5000000/);
  });
  it("received is not enough: replay decides", () => {
    assert.equal(fencedCatchUp("mp2", "mp1", standby({ replayLsn: "0/1", receiveLsn: "0/9" }), "0/9").verdict, "wait");
  });
  it("times out into a refusal with both positions, the pause state and the fix", () => {
    const r = catchUpTimedOut("mp2", "mp1", standby({ replayLsn: "0/100", receiveLsn: "0/200", replayPauseState: "paused", walReceiverStatus: "streaming" }), "0/200", 120);
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /mp2 did not replay mp1's final WAL position 0\/200 within 120 s \(mp2 replayed 0\/100, received 0\/200; walreceiver streaming, replay paused\)/);
    assert.match(r.reason, /catchUpTimeoutSeconds/);
  });
  it("refuses a candidate that is already a primary", () => {
    assert.equal(fencedCatchUp("mp2", "mp1", { role: "primary", currentLsn: "0/9", now: NOW }, "0/1").verdict, "refuse");
  });
});

describe("b) lost old active: staleness of the last contact", () => {
  it("uses the walreceiver's last message while its row exists", () => {
    const p = standby({ walReceiverStatus: "streaming", lastMsgReceiptTime: ago(5), newestWalFileTime: ago(500) });
    assert.deepEqual(lastContact(p), { fact: "walreceiver last_msg_receipt_time", at: ago(5) });
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
    assert.match(r.reason, /mp2's last contact with mp1 was 301 s ago \(newest WAL file write: .*\), WAL up to 0\/60, older than tsb-ha:replication.maxLostContactSeconds = 300 s/);
    assert.match(r.reason, /pulumi config set --path tsb-ha:replication.acceptDataLoss true/);
  });
  it("acceptDataLoss turns the refusal into a pass with the refusal as warning", () => {
    const r = lostStaleness("mp2", "mp1", standby({ newestWalFileTime: ago(3600) }), 300, true);
    assert.equal(r.verdict, "pass");
    assert.match(r.warning!, /acceptDataLoss is true: promoting anyway\. .*3600 s ago/);
    assert.equal(lostStaleness("mp2", "mp1", standby({}), 300, true).verdict, "pass");
    assert.equal(lostStaleness("mp2", "mp1", standby({}), 300, false).verdict, "refuse");
  });
});

describe("c) several standbys: never promote one that is behind another", () => {
  it("compares GREATEST(receive, replay) and names the most advanced site", () => {
    const cand = standby({ receiveLsn: "0/300", replayLsn: "0/100" });
    assert.equal(standbyPosition(cand), "0/300");
    assert.equal(mostAdvancedCheck("mp2", cand, { mp3: standby({ replayLsn: "0/300" }) }).verdict, "pass");
    const r = mostAdvancedCheck("mp2", cand, { mp3: standby({ receiveLsn: "0/301" }), mp4: standby({ receiveLsn: "0/400" }) });
    assert.equal(r.verdict, "refuse");
    assert.match(r.reason, /mp2 holds WAL up to 0\/300, but standby mp4 holds more \(up to 0\/400, 256 bytes ahead\)/);
    assert.match(r.reason, /pulumi config set tsb-ha:activeSite mp4/);
  });
  it("ignores a site that is not a standby", () => {
    assert.equal(mostAdvancedCheck("mp2", standby({ replayLsn: "0/1" }), { mp3: { role: "primary", currentLsn: "9/0", now: NOW } }).verdict, "pass");
  });
});

describe("d) other standbys after the promotion", () => {
  it("follow iff they hold nothing past the switch point; else rebuild", () => {
    assert.equal(followCheck("mp3", "mp2", standby({ receiveLsn: "0/400" }), "0/400").action, "repoint");
    const r = followCheck("mp3", "mp2", standby({ receiveLsn: "0/401", replayLsn: "0/100" }), "0/400");
    assert.equal(r.action, "rebuild");
    assert.match(r.reason, /mp3 received WAL up to 0\/401, 1 bytes past mp2's switch point 0\/400: .*needs a rebuild/);
  });
  it("reads the switch point from a timeline history file (last line)", () => {
    assert.deepEqual(parseTimelineHistory("1\t0/400B7D8\tno recovery target specified\n\n2\t0/5000000\tx\n").at(-1), { parentTimeline: 2, switchPoint: "0/5000000" });
    assert.throws(() => parseTimelineHistory("garbage"), /not "<timeline> <LSN> <reason>"/);
  });
});
