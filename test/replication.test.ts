// The probe's parsing, the pod-exec transport (a fake exec: no cluster) and the gate component's
// orchestration. The gate's pure decisions are in test/gates/replication.test.ts; the same code runs
// against real Postgres in replication.pg.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseProbeRow, parseWalTail, probeReplication, repointScript, tailScanStart, walTailScript } from "../lib/gates/replicationProbe";
import type { SiteDb } from "../lib/clients/sqlTransport";
import { choosePostgresPod, DEFAULT_POSTGRES_POD, execTransport, exitCodeOf, parsePsqlOutput, psqlCommand, type PodExec } from "../lib/clients/podExec";
import { gateInputProblems, ReplicationGateProvider, runReplicationGate, type GateIo, type ReplicationGateInputs, type ReplicationGateOutputs } from "../components/replicationGate";

describe("probe row parsing", () => {
  const row = {
    in_recovery: "true", current_lsn: null, receive_lsn: "0/3000148", replay_lsn: "0/3000148", replay_pause_state: "not paused",
    wal_receiver_status: "streaming", last_msg_receipt_time: "1764590400.5", upstream: "10.0.0.1:5432", last_xact_replay_time: null,
    newest_wal_file_time: "1764590400", timeline: "1", received_tli: "2", wal_timeline: "3", now: "1764590401.25",
  };
  it("turns the text row into a probe (times as ISO, NULL as absent)", () => {
    const p = parseProbeRow(row);
    assert.equal(p.role, "standby");
    assert.equal(p.lastMsgReceiptTime, "2025-12-01T12:00:00.500Z");
    assert.equal(p.now, "2025-12-01T12:00:01.250Z");
    assert.equal(p.lastXactReplayTime, undefined);
    assert.deepEqual([p.timeline, p.receivedTimeline, p.walTimeline], [1, 2, 3]);
    const bare = parseProbeRow({ ...row, received_tli: null, wal_timeline: null });
    assert.deepEqual([bare.receivedTimeline, bare.walTimeline], [undefined, undefined]);
  });
  it("rejects a malformed answer instead of guessing", () => {
    assert.throws(() => parseProbeRow({ ...row, in_recovery: "t" }), /in_recovery/);
    assert.throws(() => parseProbeRow({ ...row, replay_lsn: "garbage" }), /not a WAL position/);
    for (const bad of ["0", "x", "1.5", "-1"]) assert.throws(() => parseProbeRow({ ...row, received_tli: bad }), /received_tli is .* expected a timeline number/, bad);
  });
});

describe("a standby's last WAL record (pg_waldump)", () => {
  // What pg_waldump 15 printed for a standby after its primary's fast shutdown (measured on Debian's 15.18).
  const output = [
    "rmgr: Heap        len (rec/tot):     59/    59, tx:        725, lsn: 0/00817B08, prev 0/00817AC8, desc: INSERT off 110 flags 0x00, blkref #0: rel 1663/5/16384 blk 0",
    "rmgr: Transaction len (rec/tot):     34/    34, tx:        725, lsn: 0/00817B48, prev 0/00817B08, desc: COMMIT 2026-12-07 03:06:26.559035 UTC",
    "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/00817B70, prev 0/00817B48, desc: CHECKPOINT_SHUTDOWN redo 0/817B70; tli 1; prev tli 1; fpw true; xid 0:726; oid 16387; shutdown",
    "pg_waldump: error: error in WAL record at 0/817B70: invalid record length at 0/817BE8: wanted 24, got 0",
    "",
  ].join("\n");
  it("the last valid record, where it ends, and whether it is a shutdown checkpoint", () => {
    assert.deepEqual(parseWalTail(output, 1), {
      timeline: 1, lastLsn: "0/817B70", endLsn: "0/817BE8", shutdown: true,
      description: "CHECKPOINT_SHUTDOWN redo 0/817B70; tli 1; prev tli 1; fpw true; xid 0:726; oid 16387; shutdown",
    });
    const commit = parseWalTail(output.split("\n").slice(0, 2).join("\n"), 2);
    assert.deepEqual([commit.lastLsn, commit.shutdown, commit.endLsn, commit.timeline], ["0/817B48", false, undefined, 2]);
  });
  it("no record is an error quoting pg_waldump (e.g. not installed)", () => {
    assert.throws(() => parseWalTail("sh: 1: pg_waldump: not found\n", 1), /pg_waldump found no WAL record: sh: 1: pg_waldump: not found/);
    assert.throws(() => parseWalTail("", 1), /no output/);
  });
  it("starts one page before the page of the last byte, never below 0; the script quotes nothing from outside", () => {
    assert.equal(tailScanStart("0/817BE8"), "0/814000");
    assert.equal(tailScanStart("0/816000"), "0/812000");
    assert.equal(tailScanStart("0/816001"), "0/814000");
    assert.equal(tailScanStart("0/1000"), "0/0");
    assert.equal(tailScanStart("1/0"), "0/FFFFC000");
    assert.equal(walTailScript(2, "0/814000"), 'pg_waldump --path="$PGDATA/pg_wal" --timeline=2 --start=0/814000 2>&1 | tail -n 6');
    assert.throws(() => walTailScript(1, "0/1; rm -rf /"), /not a WAL position/);
  });
  it("the re-point script keeps the conninfo inside the pod and refuses a host that is not one", () => {
    const script = repointScript("PGPASSWORD=x psql", "mp2.tsb.example.com");
    assert.match(script, /^PGPASSWORD=x psql -v host=mp2\.tsb\.example\.com <<'TSBHA_SQL'\n/);
    assert.match(script, /ALTER SYSTEM SET primary_conninfo = :'conninfo';/);
    assert.match(script, /\nTSBHA_SQL$/);
    for (const bad of ["a b", "x;y", "$(id)", "h'"]) assert.throws(() => repointScript("psql", bad), /is not a host name or address/, bad);
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

describe("gate orchestration (scripted sites)", () => {
  const base: ReplicationGateInputs = {
    promotion: "mp1->mp2", site: "mp2", from: "mp1", mode: "fenced", otherStandbys: [],
    access: { mp1: {}, mp2: {}, mp3: {} }, limits: { catchUpTimeoutSeconds: 5, maxLostContactSeconds: 300, acceptDataLoss: false, stopTimeoutSeconds: 60, pollIntervalMs: 1000 },
  };
  const SHUTDOWN = "rmgr: XLOG len (rec/tot): 114/ 114, tx: 0, lsn: 0/00000500, prev 0/000004C8, desc: CHECKPOINT_SHUTDOWN redo 0/500; tli 1; shutdown\n";
  const COMMIT = "rmgr: Transaction len (rec/tot): 34/ 34, tx: 7, lsn: 0/000004C8, prev 0/00000490, desc: COMMIT 2026-12-07\n";
  /** A scripted set: each standby's receive positions per probe, what pg_waldump shows after the stop, the old primary running or not. */
  function scripted(o: { receives: Record<string, string[]>; tails?: Record<string, string>; running?: boolean; streaming?: Record<string, boolean> }) {
    let t = 0;
    let running = o.running ?? true;
    const calls: string[] = [];
    const db = (site: string): SiteDb => ({
      psql: "psql", where: `tsb/${site}-pod`,
      shell: () => Promise.resolve({ stdout: running ? "" : o.tails?.[site] ?? COMMIT, stderr: "", exitCode: 0 }),
      query: (sql: string) => {
        if (site === "mp1") return Promise.resolve([{ in_recovery: "false", lsn: "0/480", timeline: "1" }]);
        if (sql.includes("pg_read_file")) return Promise.resolve([{ history: null }]);
        calls.push(`probe ${site}`);
        const list = o.receives[site] ?? [];
        const at = (list.length > 1 ? list.shift() : list[0]) ?? "0/100";
        const stream = o.streaming?.[site] ?? true;
        return Promise.resolve([{ in_recovery: "true", receive_lsn: at, replay_lsn: at, wal_timeline: "1", now: "1764590400", ...(stream ? { wal_receiver_status: "streaming" } : {}) }]);
      },
    });
    const io: GateIo = {
      db: (site) => Promise.resolve(db(site)),
      pods: () => Promise.resolve(running ? ["tsb-postgres-1-0"] : []),
      stop: () => {
        calls.push("stop mp1");
        running = false;
        return Promise.resolve({ controller: "scaled to 0", scaled: ["tsb-postgres-1"], statefulSets: ["tsb-postgres-1"], seconds: 1.5 });
      },
    };
    return { io, calls, clock: { now: () => t, sleep: (ms: number) => Promise.resolve(void (t += ms)) } };
  }
  it("waits until the new active holds the old primary's position, stops the old database, and passes on its shutdown checkpoint", async () => {
    const s = scripted({ receives: { mp2: ["0/100", "0/300", "0/480", "0/578"] }, tails: { mp2: SHUTDOWN } });
    const out = await runReplicationGate(base, s.io, s.clock);
    assert.equal(out.oldFinalLsn, "0/500");
    assert.equal(out.waitedSeconds, 2);
    assert.deepEqual(s.calls.filter((c) => c === "stop mp1"), ["stop mp1"]);
    assert.deepEqual(s.calls, ["probe mp2", "probe mp2", "probe mp2", "stop mp1", "probe mp2"], "stopped once the new active held 0/480, then probed again");
    assert.match(out.message, /^mp2 holds mp1's shutdown checkpoint at 0\/500 \(timeline 1\), the last record mp1 wrote: no data loss; mp1's database stopped in 1\.5 s \(StatefulSets tsb-postgres-1\)$/);
    assert.deepEqual(out.stop?.scaled, ["tsb-postgres-1"]);
  });
  it("a database an earlier run stopped is not stopped again; the last records decide", async () => {
    const s = scripted({ receives: { mp2: ["0/578"] }, tails: { mp2: SHUTDOWN }, running: false });
    const out = await runReplicationGate(base, s.io, s.clock);
    assert.equal(out.stop, undefined);
    assert.equal(s.calls.includes("stop mp1"), false);
    assert.equal(out.waitedSeconds, 0);
  });
  it("refuses after the timeout without stopping anything, naming both positions", async () => {
    const s = scripted({ receives: { mp2: ["0/100"] } });
    await assert.rejects(runReplicationGate(base, s.io, s.clock), /mp2 did not receive mp1's WAL up to 0\/480 within 5 s \(mp2 holds 0\/100, replayed 0\/100; walreceiver streaming\)\. mp1's database was not stopped/);
    assert.equal(s.calls.includes("stop mp1"), false);
  });
  it("names another standby ahead: at once when the candidate does not stream, and at the timeout", async () => {
    const detached = scripted({ receives: { mp2: ["0/100"], mp3: ["0/480"] }, streaming: { mp2: false } });
    await assert.rejects(runReplicationGate({ ...base, otherStandbys: ["mp3"] }, detached.io, detached.clock), /mp2 holds WAL up to 0\/100, but standby mp3 holds more \(up to 0\/480/);
    assert.equal(detached.clock.now(), 0, "refused before any wait");
    const streaming = scripted({ receives: { mp2: ["0/100"], mp3: ["0/480"] } });
    await assert.rejects(runReplicationGate({ ...base, otherStandbys: ["mp3"] }, streaming.io, streaming.clock), /standby mp3 holds more/);
    assert.equal(streaming.clock.now(), 5000, "waited for its catch-up first");
  });
  it("after the stop, the standby holding the shutdown checkpoint is named; none holding it is refused", async () => {
    const other = scripted({ receives: { mp2: ["0/480", "0/4F0"], mp3: ["0/578"] }, tails: { mp2: COMMIT, mp3: SHUTDOWN } });
    await assert.rejects(runReplicationGate({ ...base, otherStandbys: ["mp3"] }, other.io, other.clock), /its last record \(shutdown checkpoint at 0\/500\) reached standby mp3, not mp2/);
    const none = scripted({ receives: { mp2: ["0/480"] }, tails: { mp2: COMMIT } });
    await assert.rejects(runReplicationGate(base, none.io, none.clock), /no standby holds mp1's shutdown checkpoint/);
  });
  it("lost: another standby ahead is named before the staleness rule, even when data loss is accepted", async () => {
    const s = scripted({ receives: { mp2: ["0/100"], mp3: ["0/200"] } });
    const lost: ReplicationGateInputs = { ...base, mode: "lost", otherStandbys: ["mp3"], limits: { ...base.limits, acceptDataLoss: true } };
    await assert.rejects(runReplicationGate(lost, s.io, s.clock), /standby mp3 holds more/);
    assert.equal(s.calls.includes("stop mp1"), false);
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
    assert.match(gateInputProblems({ ...base, limits: { ...base.limits, stopTimeoutSeconds: -1 } }).join(), /limits\.stopTimeoutSeconds is -1/);
  });
});
