// The replication gate against REAL PostgreSQL (Debian's postgresql package): a primary and two
// streaming standbys on loopback, the same probe SQL and decisions as production, only the transport
// differs (a direct connection here, psql through pod exec in production).
// Run alone: node --import tsx --test test/replication.pg.test.ts
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PgCluster, until } from "./harness/pgCluster";
import { directTransport } from "./harness/pgDirect";
import { EngineDrivenResource } from "./harness/dynamicProvider";
import { compareLsn, parseLsn, standbyPosition } from "../lib/replication";
import { followNewPrimary, probeReplication, switchPoint } from "../lib/replicationProbe";
import { DEFAULT_POSTGRES_POD, execTransport, type PodExec } from "../lib/podExec";
import { execFile } from "node:child_process";
import { ReplicationGateProvider, runReplicationGate, type ReplicationGateInputs, type TransportFactory } from "../components/replicationGate";

// Serialized into the provider process by EngineDrivenResource: a plain function; `pg` is required
// inside directTransport.
const directFactory: TransportFactory = (site, access) => {
  if (!access.direct) return Promise.reject(new Error(`test: no direct access for ${site}`));
  return Promise.resolve(directTransport(access.direct));
};

const SITES = ["mp1", "mp2", "mp3"];

function inputs(c: PgCluster, over: Omit<Partial<ReplicationGateInputs>, "limits"> & { limits?: Partial<ReplicationGateInputs["limits"]> }): ReplicationGateInputs {
  return {
    promotion: "mp1->mp2",
    site: "mp2",
    from: "mp1",
    mode: "fenced",
    otherStandbys: ["mp3"],
    access: Object.fromEntries(SITES.map((s) => [s, { direct: c.access(s) }])),
    ...over,
    limits: { catchUpTimeoutSeconds: 10, maxLostContactSeconds: 300, acceptDataLoss: false, pollIntervalMs: 20, ...over.limits },
  };
}

async function one(c: PgCluster, site: string, sql: string): Promise<string | null> {
  const rows = await c.sql(site, sql);
  return Object.values(rows[0] ?? {})[0] ?? null;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("replication gate on real PostgreSQL (primary mp1, standbys mp2 and mp3)", () => {
  const main = new PgCluster();
  const ahead = new PgCluster();

  before(async () => {
    await Promise.all([main.start("mp1", ["mp2", "mp3"]), ahead.start("mp1", ["mp2", "mp3"])]);
    for (const c of [main, ahead]) await c.sql("mp1", "CREATE TABLE t (id serial PRIMARY KEY, v text)");
  });

  after(async () => {
    await Promise.all([main.stopAll(), ahead.stopAll()]);
    assert.deepEqual([...main.runningPostmasters(), ...ahead.runningPostmasters()], []);
  });

  it("the exec transport's psql command and parsing read the same probe as a direct connection", async () => {
    // A fake pod exec: the production command run by a local sh, the real psql pointed at mp2.
    const local: PodExec = (_target, command, timeoutMs) =>
      new Promise((resolve) => {
        const env = { ...process.env, PGHOST: main.host("mp2"), PGPORT: String(main.port), POSTGRES_PASSWORD: "unused-with-trust" };
        execFile(command[0]!, command.slice(1), { env, timeout: timeoutMs }, (err, stdout, stderr) => resolve({ stdout, stderr, exitCode: err ? 1 : 0 }));
      });
    const viaPsql = await probeReplication(execTransport(local, { namespace: "tsb", pod: "p", container: "c" }, DEFAULT_POSTGRES_POD, "mp2"));
    const direct = await probeReplication(main.transport("mp2"));
    const stable = (p: typeof direct): unknown => ({ ...p, now: undefined, lastMsgReceiptTime: undefined, newestWalFileTime: undefined });
    assert.deepEqual(stable(viaPsql), stable(direct));
    assert.equal(viaPsql.role, "standby");
    assert.equal(viaPsql.walReceiverStatus, "streaming");
  });

  it("passes at once when the new active has replayed everything the fenced primary wrote", async () => {
    await main.sql("mp1", "INSERT INTO t (v) SELECT 'a' FROM generate_series(1, 100)");
    const out = await runReplicationGate(inputs(main, {}), directFactory);
    const endOfWal = await one(main, "mp1", "SELECT pg_current_wal_lsn()::text");
    assert.equal(out.oldFinalLsn, endOfWal);
    assert.ok(compareLsn(out.newActive.replayLsn!, endOfWal!) >= 0);
    assert.ok(out.waitedSeconds < 2, `waited ${out.waitedSeconds} s`);
    assert.equal(out.verdict, "pass");
    assert.equal(out.standbys["mp3"]?.follow, "repoint");
  });

  it("waits while the new active's replay is paused, times out naming both positions, and passes once replay resumes", async () => {
    await main.sql("mp2", "SELECT pg_wal_replay_pause()");
    await main.sql("mp1", "INSERT INTO t (v) SELECT 'b' FROM generate_series(1, 100)");
    const finalLsn = await one(main, "mp1", "SELECT pg_current_wal_lsn()::text");
    await until("mp2 to receive the rows", async () => ((await probeReplication(main.transport("mp2"))).receiveLsn === finalLsn ? true : undefined));
    const replayed = await one(main, "mp2", "SELECT pg_last_wal_replay_lsn()::text");
    assert.ok(compareLsn(replayed!, finalLsn!) < 0);

    const t0 = Date.now();
    await assert.rejects(runReplicationGate(inputs(main, { limits: { catchUpTimeoutSeconds: 1 } }), directFactory), (e: Error) => {
      assert.match(e.message, new RegExp(`mp2 did not replay mp1's final WAL position ${escape(finalLsn!)} within 1 s`));
      assert.match(e.message, new RegExp(`mp2 replayed ${escape(replayed!)}`));
      assert.match(e.message, /replay paused/);
      return true;
    });
    assert.ok(Date.now() - t0 >= 1000, "the gate waited for its timeout");

    const gate = runReplicationGate(inputs(main, {}), directFactory);
    await new Promise((r) => setTimeout(r, 300));
    await main.sql("mp2", "SELECT pg_wal_replay_resume()");
    const out = await gate;
    assert.equal(out.verdict, "pass");
    assert.ok(out.waitedSeconds >= 0.3, `waited ${out.waitedSeconds} s`);
    assert.ok(compareLsn(out.newActive.replayLsn!, finalLsn!) >= 0);
  });

  it("lost primary: passes within the staleness limit, refuses past it naming the fact and age, passes with a warning when data loss is accepted", async () => {
    await main.sql("mp1", "INSERT INTO t (v) SELECT 'c' FROM generate_series(1, 100)");
    const finalLsn = (await one(main, "mp1", "SELECT pg_current_wal_lsn()::text"))!;
    for (const s of ["mp2", "mp3"]) {
      await until(`${s} to replay`, async () => (compareLsn(standbyPosition(await probeReplication(main.transport(s)))!, finalLsn) >= 0 ? true : undefined));
    }
    await main.stopNode("mp1", "fast");
    const lost = { mode: "lost" as const };

    const within = await runReplicationGate(inputs(main, lost), directFactory);
    assert.equal(within.verdict, "pass");
    assert.ok(within.lastContactFact, "names the fact it used");
    assert.ok(within.lastContactAgeSeconds! < 300);
    assert.ok(compareLsn(within.expectedSwitchPoint!, finalLsn) >= 0, "the new active holds everything mp1 wrote");

    // Ages are measured by the server: wait until the last contact is over 1 s old.
    await until("last contact older than 1.5 s", async () => {
      const out = await runReplicationGate(inputs(main, { ...lost, limits: { maxLostContactSeconds: 1.5, acceptDataLoss: true } }), directFactory);
      return out.warning ? true : undefined;
    });
    await assert.rejects(runReplicationGate(inputs(main, { ...lost, limits: { maxLostContactSeconds: 1 } }), directFactory), (e: Error) => {
      assert.match(e.message, /mp2's last contact with mp1 was \d+ s ago \((newest WAL file write|last replayed transaction|walreceiver last_msg_receipt_time)/);
      assert.match(e.message, /maxLostContactSeconds = 1 s/);
      assert.match(e.message, /acceptDataLoss true/);
      return true;
    });
    const accepted = await runReplicationGate(inputs(main, { ...lost, limits: { maxLostContactSeconds: 1, acceptDataLoss: true } }), directFactory);
    assert.equal(accepted.verdict, "pass-with-warning");
    assert.match(accepted.warning!, /acceptDataLoss is true: promoting anyway/);
  });

  it("runs as the engine runs it: once per promotion, refusing through the engine too", async () => {
    const gate = new EngineDrivenResource<ReplicationGateInputs>(new ReplicationGateProvider(directFactory));
    await assert.rejects(gate.create(inputs(main, { mode: "lost", limits: { maxLostContactSeconds: 1 } })), /older than tsb-ha:replication.maxLostContactSeconds = 1 s/);
    const first = await gate.create(inputs(main, { mode: "lost" }));
    assert.equal(first["verdict"], "pass");
    assert.equal((first["newActive"] as { role: string }).role, "standby");
    const again = await gate.up(inputs(main, { mode: "lost", limits: { maxLostContactSeconds: 1 } }));
    assert.equal(again.changes, false, "same promotion: the gate does not run again (else it would refuse)");
    assert.equal(again.state["checkedAt"], first["checkedAt"]);
    // A new promotion re-runs it: ReplicationGateProvider.diff, tested in replication.test.ts.
  });

  it("after promoting mp2, mp3 (not past the switch point) is re-pointed and receives rows written on mp2", async () => {
    const before = standbyPosition(await probeReplication(main.transport("mp2")))!;
    await main.sql("mp2", "SELECT pg_promote(true, 60)");
    const sp = await switchPoint(main.transport("mp2"), "mp2");
    assert.equal(sp.timeline, 2);
    assert.equal(sp.switchPoint, before, "the switch point is the end of the WAL mp2 held");
    const f = await followNewPrimary(main.transport("mp3"), "mp3", "mp2", sp.switchPoint, main.conninfo("mp2"));
    assert.equal(f.action, "repoint", f.reason);
    await main.sql("mp2", "INSERT INTO t (v) VALUES ('after-promotion')");
    await until("mp3 to see the row written on mp2", async () => ((await one(main, "mp3", "SELECT count(*)::text FROM t WHERE v = 'after-promotion'")) === "1" ? true : undefined));
    const p3 = await probeReplication(main.transport("mp3"));
    assert.equal(p3.upstream, `${main.host("mp2")}:${main.port}`);
  });

  it("a standby ahead of the candidate: promotion refused naming it; after a promotion anyway it is reported for rebuild, not re-pointed", async () => {
    // mp2 stops receiving (its primary_conninfo points nowhere); mp3 keeps streaming.
    await ahead.setUpstream("mp2", null);
    await until("mp2's walreceiver to stop", async () => ((await probeReplication(ahead.transport("mp2"))).walReceiverStatus === undefined ? true : undefined));
    await ahead.sql("mp1", "INSERT INTO t (v) SELECT 'only-mp3' FROM generate_series(1, 50)");
    const end = (await one(ahead, "mp1", "SELECT pg_current_wal_lsn()::text"))!;
    await until("mp3 to receive", async () => (compareLsn(standbyPosition(await probeReplication(ahead.transport("mp3")))!, end) >= 0 ? true : undefined));
    await ahead.stopNode("mp1", "fast");
    const p2 = standbyPosition(await probeReplication(ahead.transport("mp2")))!;
    const p3 = standbyPosition(await probeReplication(ahead.transport("mp3")))!;
    assert.ok(parseLsn(p3) > parseLsn(p2));

    await assert.rejects(runReplicationGate(inputs(ahead, { mode: "lost" }), directFactory), (e: Error) => {
      assert.match(e.message, new RegExp(`mp2 holds WAL up to ${escape(p2)}, but standby mp3 holds more \\(up to ${escape(p3)}`));
      assert.match(e.message, /promote mp3 instead/);
      return true;
    });
    // acceptDataLoss does not override it: the loss is avoidable.
    await assert.rejects(runReplicationGate(inputs(ahead, { mode: "lost", limits: { acceptDataLoss: true } }), directFactory), /standby mp3 holds more/);

    await ahead.sql("mp2", "SELECT pg_promote(true, 60)");
    const sp = await switchPoint(ahead.transport("mp2"), "mp2");
    const conninfoBefore = await one(ahead, "mp3", "SHOW primary_conninfo");
    const f = await followNewPrimary(ahead.transport("mp3"), "mp3", "mp2", sp.switchPoint, ahead.conninfo("mp2"));
    assert.equal(f.action, "rebuild");
    assert.match(f.reason, new RegExp(`mp3 received WAL up to ${escape(p3)}, \\d+ bytes past mp2's switch point ${escape(sp.switchPoint)}`));
    assert.equal(await one(ahead, "mp3", "SHOW primary_conninfo"), conninfoBefore, "not re-pointed");
    assert.equal(await one(ahead, "mp3", "SELECT pg_is_in_recovery()::text"), "true");
  });
});
