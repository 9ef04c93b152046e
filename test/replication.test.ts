// The probe's parsing, the pod-exec transport (a fake exec: no cluster) and the gate component's
// orchestration. The gate's pure decisions are in replicationDecisions.test.ts; the same code runs
// against real Postgres in replication.pg.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseProbeRow, probeReplication } from "../lib/replicationProbe";
import { choosePostgresPod, DEFAULT_POSTGRES_POD, execTransport, exitCodeOf, parsePsqlOutput, psqlCommand, type PodExec } from "../lib/podExec";
import { gateInputProblems, ReplicationGateProvider, runReplicationGate, type ReplicationGateInputs, type ReplicationGateOutputs, type TransportFactory } from "../components/replicationGate";

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
