// Pure tests of the replication gate's decisions, the probe's parsing and the pod-exec transport
// (a fake exec: no cluster). The same code runs against real Postgres in replication.pg.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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
  standbyPosition,
  type ReplicationProbe,
} from "../lib/replication";
import { parseProbeRow, probeReplication } from "../lib/replicationProbe";
import { choosePostgresPod, DEFAULT_POSTGRES_POD, execTransport, exitCodeOf, parsePsqlOutput, psqlCommand, type PodExec } from "../lib/podExec";
import { gateInputProblems, ReplicationGateProvider, runReplicationGate, type ReplicationGateInputs, type ReplicationGateOutputs, type TransportFactory } from "../components/replicationGate";

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

describe("probe row parsing", () => {
  const row = {
    in_recovery: "true", current_lsn: null, receive_lsn: "0/3000148", replay_lsn: "0/3000148", replay_pause_state: "not paused",
    wal_receiver_status: "streaming", last_msg_receipt_time: "1764590400.5", upstream: "10.0.0.1:5432", last_xact_replay_time: null,
    newest_wal_file_time: "1764590400", timeline: "1", now: "1764590401.25",
  };
  it("turns the text row into a probe (times as ISO, NULL as absent)", () => {
    const p = parseProbeRow(row);
    assert.equal(p.role, "standby");
    assert.equal(p.lastMsgReceiptTime, "2025-12-01T12:00:00.500Z");
    assert.equal(p.now, "2025-12-01T12:00:01.250Z");
    assert.equal(p.lastXactReplayTime, undefined);
    assert.equal(p.timeline, 1);
  });
  it("rejects a malformed answer instead of guessing", () => {
    assert.throws(() => parseProbeRow({ ...row, in_recovery: "t" }), /in_recovery/);
    assert.throws(() => parseProbeRow({ ...row, replay_lsn: "garbage" }), /not a WAL position/);
  });
});

describe("pod exec transport", () => {
  it("parses psql -A output: header, rows, NULL apart from empty, newlines and tabs kept", () => {
    const out = "a\x1fb\x1fc\x1e1\x1f\x1a\x1fx y\x1e2\x1f\x1fline1\nline2\tz\n\n";
    assert.deepEqual(parsePsqlOutput(out), [
      { a: "1", b: null, c: "x y" },
      { a: "2", b: "", c: "line1\nline2\tz\n" },
    ]);
    assert.deepEqual(parsePsqlOutput(""), []);
    assert.throws(() => parsePsqlOutput("a\x1fb\x1e1\n"), /row 1 has 1 fields, the header 2/);
  });

  it("the command survives a real sh: SQL quotes intact, password taken from the container's env var", async () => {
    // A fake pod: runs the command with a local sh and a stub psql that prints its arguments and PGPASSWORD.
    const dir = mkdtempSync(path.join(tmpdir(), "fakepod-"));
    writeFileSync(path.join(dir, "psql"), "#!/bin/sh\nprintf 'password\\037sql\\036%s\\037' \"$PGPASSWORD\"\nfor a; do last=$a; done\nprintf '%s\\n' \"$last\"\n");
    chmodSync(path.join(dir, "psql"), 0o755);
    const seen: { target: unknown; command: string[]; timeoutMs: number }[] = [];
    const fake: PodExec = (target, command, timeoutMs) =>
      new Promise((resolve) => {
        seen.push({ target, command, timeoutMs });
        execFile(command[0]!, command.slice(1), { env: { PATH: `${dir}:/usr/bin:/bin`, POSTGRES_PASSWORD: "s3cr'et" } }, (err, stdout, stderr) =>
          resolve({ stdout, stderr, exitCode: err ? Number(err.code ?? 1) : 0 }),
        );
      });
    try {
      const target = { namespace: "tsb", pod: "tsb-postgres-1-0", container: "tsb-postgres-1" };
      const t = execTransport(fake, target, DEFAULT_POSTGRES_POD, "mp2");
      const sql = "SELECT 'it''s' AS x, \"Col\" FROM t WHERE a = $$q$$";
      assert.deepEqual(await t.query(sql), [{ password: "s3cr'et", sql }]);
      assert.deepEqual(seen[0]?.target, target);
      assert.equal(seen[0]?.timeoutMs, DEFAULT_POSTGRES_POD.timeoutSeconds * 1000);
      assert.doesNotMatch((seen[0]?.command ?? []).join(" "), /s3cr/, "the password never leaves the pod");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a failing psql becomes an error naming the site, pod and psql's message", async () => {
    const fake: PodExec = () => Promise.resolve({ stdout: "", stderr: 'psql: error: FATAL:  password authentication failed for user "postgres"\n', exitCode: 2 });
    const t = execTransport(fake, { namespace: "tsb", pod: "tsb-postgres-1-0", container: "c" }, DEFAULT_POSTGRES_POD, "mp2");
    await assert.rejects(probeReplication(t), /site mp2: psql in tsb\/tsb-postgres-1-0 \(container c\) exited 2: .*password authentication failed/);
  });

  it("builds psql without a password mapping when passwordEnv is empty, and rejects a bad variable name", () => {
    const cmd = psqlCommand("SELECT 1", { ...DEFAULT_POSTGRES_POD, passwordEnv: "" });
    assert.equal(cmd[0], "sh");
    assert.doesNotMatch(cmd[2]!, /PGPASSWORD/);
    assert.throws(() => psqlCommand("SELECT 1", { ...DEFAULT_POSTGRES_POD, passwordEnv: "X; rm -rf /" }), /not an environment variable name/);
  });

  it("reads the exit code from the exec API's status", () => {
    assert.equal(exitCodeOf({ status: "Success" }), 0);
    assert.equal(exitCodeOf({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } }), 3);
    assert.equal(exitCodeOf({ status: "Failure", message: "container not found" }), 1);
    assert.equal(exitCodeOf(undefined), undefined);
  });

  it("picks the ready pod labelled primary, its first container by default", () => {
    const pods = [
      { name: "tsb-postgres-2-0", labels: { replicationRole: "replica" }, ready: true, containers: ["tsb-postgres-2"] },
      { name: "tsb-postgres-1-0", labels: { replicationRole: "primary" }, ready: true, containers: ["tsb-postgres-1", "sidecar"] },
      { name: "tsb-postgres-3-0", labels: { replicationRole: "primary" }, ready: false, containers: ["tsb-postgres-3"] },
    ];
    assert.deepEqual(choosePostgresPod(pods, DEFAULT_POSTGRES_POD, "mp2"), { namespace: "tsb", pod: "tsb-postgres-1-0", container: "tsb-postgres-1" });
    assert.equal(choosePostgresPod(pods.slice(0, 1), DEFAULT_POSTGRES_POD, "mp2").pod, "tsb-postgres-2-0");
    assert.throws(() => choosePostgresPod([], DEFAULT_POSTGRES_POD, "mp2"), /site mp2: no ready Postgres pod in namespace tsb with labels app=tsb-postgres/);
    assert.throws(() => choosePostgresPod(pods, { ...DEFAULT_POSTGRES_POD, container: "postgres" }, "mp2"), /no container "postgres"/);
  });
});

describe("gate orchestration (scripted probes)", () => {
  const base: ReplicationGateInputs = {
    promotion: "mp1->mp2", site: "mp2", from: "mp1", mode: "fenced", otherStandbys: [],
    access: { mp1: {}, mp2: {} }, limits: { catchUpTimeoutSeconds: 5, maxLostContactSeconds: 300, acceptDataLoss: false, pollIntervalMs: 1000 },
  };
  const row = (replay: string): Record<string, string | null> => ({ in_recovery: "true", replay_lsn: replay, receive_lsn: replay, now: "1764590400" });
  function scripted(replays: string[]): { factory: TransportFactory; clock: { now(): number; sleep(ms: number): Promise<void> } } {
    let t = 0;
    const factory: TransportFactory = (site) =>
      Promise.resolve({
        query: (sql: string) =>
          Promise.resolve(site === "mp1" ? [{ in_recovery: "false", lsn: "0/500" }] : sql.includes("pg_stat_wal_receiver") ? [row(replays.shift() ?? "0/100")] : []),
      });
    return { factory, clock: { now: () => t, sleep: (ms) => Promise.resolve(void (t += ms)) } };
  }
  it("polls the new active until it replayed the old active's final position", async () => {
    const s = scripted(["0/100", "0/300", "0/500"]);
    const out = await runReplicationGate(base, s.factory, s.clock);
    assert.equal(out.oldFinalLsn, "0/500");
    assert.equal(out.newActive.replayLsn, "0/500");
    assert.equal(out.waitedSeconds, 2);
  });
  it("refuses after the timeout, with the last positions", async () => {
    const s = scripted([]);
    await assert.rejects(runReplicationGate(base, s.factory, s.clock), /did not replay mp1's final WAL position 0\/500 within 5 s \(mp2 replayed 0\/100/);
  });
  it("runs once per promotion: only promotion/site/from/mode changes re-run it (not access or limits)", async () => {
    const p = new ReplicationGateProvider();
    const olds = { promotion: "mp1->mp2", site: "mp2", from: "mp1", mode: "fenced" } as ReplicationGateOutputs;
    assert.deepEqual(await p.diff("id", olds, { ...base, access: { mp1: { context: "other" }, mp2: {} }, limits: { ...base.limits, catchUpTimeoutSeconds: 1 } }), { changes: false });
    assert.deepEqual(await p.diff("id", olds, { ...base, promotion: "mp2->mp1", site: "mp1", from: "mp2" }), { changes: true });
    assert.deepEqual(await p.diff("id", olds, { ...base, mode: "lost" }), { changes: true });
  });
  it("checks its inputs before reaching any site", () => {
    assert.deepEqual(gateInputProblems({ ...base, mode: "fenced", access: { mp2: {} } }), ["no access given for site mp1"]);
    assert.match(gateInputProblems({ ...base, from: "mp2" }).join(), /two different sites/);
  });
});
