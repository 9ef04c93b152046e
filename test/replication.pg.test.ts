// The replication gate and the follow proof on REAL PostgreSQL servers (Debian's postgresql package),
// reached the way production reaches them: every site's Postgres behind its own stand-in Kubernetes
// API in kubegres' shape (test/harness/kubegresSites.ts), the gate's production I/O (pods listed,
// psql and pg_waldump through the exec API over a real WebSocket, StatefulSets and Deployments
// patched), and the providers run the way the engine runs them where it matters (EngineDrivenResource).
// Each sequence is one that real servers produce on their own (issue 18): the old primary writing WAL
// after the fence, a receiver `waiting` on a timeline it cannot follow, a detached candidate, a
// shutdown killed by the grace period, a paused replay.
// Run alone: node --import tsx --test test/replication.pg.test.ts
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { KubegresSites, NAMESPACE, POD, STATEFULSET } from "./harness/kubegresSites";
import { until } from "./harness/pgCluster";
import { EngineDrivenResource } from "./harness/dynamicProvider";
import { compareLsn, lastContact, siteTimeline, standbyPosition, standbyStanding, type ReplicationProbe } from "../lib/gates/replication";
import { afterPromotion, followCheck } from "../lib/gates/replicationFollow";
import { primaryHistory, probeReplication } from "../lib/gates/replicationProbe";
import { ReplicationGateProvider, runReplicationGate, type ReplicationGateInputs } from "../components/replicationGate";
import { runStandbyFollow, StandbyFollowProvider, type StandbyFollowInputs } from "../components/standbyFollow";
import { KUBEGRES_CONTROLLER_DEPLOYMENT } from "../lib/config/names";
import { kubePaths, kubeRequest } from "../lib/clients/kubeRead";

const timings: string[] = [];
after(() => console.log(`replication on real servers:\n${timings.map((t) => `  ${t}`).join("\n")}`));

type GateOver = Omit<Partial<ReplicationGateInputs>, "limits"> & { limits?: Partial<ReplicationGateInputs["limits"]> };

function gateInputs(s: KubegresSites, over: GateOver = {}): ReplicationGateInputs {
  return {
    promotion: "mp1->mp2", site: "mp2", from: "mp1", mode: "fenced",
    otherStandbys: s.sites.filter((x) => x !== "mp1" && x !== (over.site ?? "mp2")),
    access: Object.fromEntries(s.sites.map((x) => [x, s.access(x)])),
    postgres: { timeoutSeconds: 20 },
    ...over,
    limits: { catchUpTimeoutSeconds: 20, maxLostContactSeconds: 300, acceptDataLoss: false, stopTimeoutSeconds: 30, pollIntervalMs: 50, ...over.limits },
  };
}

function followInputs(s: KubegresSites, site: string, newActive: string, over: Partial<StandbyFollowInputs> = {}): StandbyFollowInputs {
  return {
    promotion: `mp1->${newActive}`, site, newActive, upstreamHost: s.pg.host(newActive),
    access: { site: s.access(site), newActive: s.access(newActive) }, rebuild: 0, timeoutSeconds: 20, pollIntervalMs: 100,
    postgres: { timeoutSeconds: 20 }, ...over,
  };
}

async function one(s: KubegresSites, site: string, sql: string): Promise<string | null> {
  return Object.values((await s.pg.sql(site, sql))[0] ?? {})[0] ?? null;
}
const probe = (s: KubegresSites, site: string): Promise<ReplicationProbe> => probeReplication(s.pg.transport(site));
const rows = async (s: KubegresSites, site: string, v: string): Promise<number> => Number(await one(s, site, `SELECT count(*)::text FROM t WHERE v = '${v}'`));
const escape = (x: string): string => x.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const v = await f();
  timings.push(`${label}: ${Date.now() - t0} ms`);
  return v;
}
/** Waits until `site` holds everything `from` wrote so far. */
async function caughtUp(s: KubegresSites, site: string, from: string): Promise<void> {
  const end = (await one(s, from, "SELECT pg_current_wal_lsn()::text"))!;
  await until(`${site} to receive ${end}`, async () => (compareLsn(standbyPosition(await probe(s, site))!, end) >= 0 ? true : undefined));
}

describe("a fenced failover on real servers (mp1 active, mp2 and mp3 standbys)", () => {
  let s: KubegresSites;
  before(async () => {
    s = await KubegresSites.start({ active: "mp1", standbys: ["mp2", "mp3"] });
    await s.pg.sql("mp1", "CREATE TABLE t (id serial PRIMARY KEY, v text)");
  });
  after(() => s.stop());

  it("the gate stops mp1's database cleanly and passes on its shutdown checkpoint; nothing can add to it afterwards", async () => {
    await s.pg.sql("mp1", "INSERT INTO t (v) SELECT 'before-fence' FROM generate_series(1, 25)");
    await caughtUp(s, "mp2", "mp1");
    const gate = new EngineDrivenResource<ReplicationGateInputs>(new ReplicationGateProvider());
    const t0 = Date.now();
    const out = await gate.create(gateInputs(s));
    timings.push(`three sites, caught up: gate through the engine (provider process, exec, clean stop) ${Date.now() - t0} ms, its own run ${Number(out["waitedSeconds"]) * 1000} ms`);
    assert.equal(out["verdict"], "pass");
    // The shutdown checkpoint the gate found on mp2 is the one mp1's control file names.
    const control = await s.pg.controlData("mp1");
    assert.equal(control["Database cluster state"], "shut down");
    assert.equal(compareLsn(String(out["oldFinalLsn"]), control["Latest checkpoint location"]!), 0);
    assert.deepEqual(s.stops.map((x) => [x.site, x.mode]), [["mp1", "fast"]], "a fast shutdown within the grace period");
    assert.equal(s.pod("mp1"), undefined, "mp1's Postgres pod is gone");
    const controller = s.api("mp1").get("deployments", NAMESPACE, KUBEGRES_CONTROLLER_DEPLOYMENT) as { spec: { replicas: number } };
    assert.equal(controller.spec.replicas, 0, "the kubegres controller first");
    assert.equal((s.statefulSet("mp1") as { spec: { replicas: number } }).spec.replicas, 0);
    assert.match(String(out["message"]), /^mp2 holds mp1's shutdown checkpoint at \S+ \(timeline 1\), the last record mp1 wrote: no data loss; mp1's database stopped in [\d.]+ s \(StatefulSets tsb-postgres-1\)$/);
    // mp3 received the same last record, so it holds nothing mp2 lacks: it is predicted to follow.
    assert.equal((out["standbys"] as Record<string, { follow?: string }>)["mp3"]?.follow, "repoint");
    await assert.rejects(s.pg.sql("mp1", "CHECKPOINT"), "mp1 is stopped: it writes no more WAL");
    // The same promotion again: the gate does not run (its refusal would otherwise stop the update now).
    const again = await gate.up(gateInputs(s));
    assert.equal(again.changes, false);
  });

  it("after mp2's promotion, the follow proof re-points mp3 and proves it streams from mp2 on timeline 2; it keeps following when kubegres rolls its pod", async () => {
    await s.promote("mp2");
    await s.pg.sql("mp2", "INSERT INTO t (v) SELECT 'on-mp2' FROM generate_series(1, 25)");
    const proof = new EngineDrivenResource<StandbyFollowInputs>(new StandbyFollowProvider());
    const t0 = Date.now();
    const out = await proof.create(followInputs(s, "mp3", "mp2"));
    timings.push(`follow proof mp3 -> mp2 through the engine (re-point, stream on timeline 2): ${Date.now() - t0} ms`);
    assert.equal(out["timeline"], 2);
    assert.deepEqual(out["repointed"], [`${NAMESPACE}/${POD}`], "the conninfo of mp3's first base backup still named mp1");
    assert.match(Object.values(out["pods"] as Record<string, string>)[0]!, new RegExp(`^mp3 streams from ${escape(s.pg.host("mp2"))} on timeline 2, at \\S+ past the switch point \\S+$`));
    await until("mp3 to hold mp2's rows", async () => ((await rows(s, "mp3", "on-mp2")) === 25 ? true : undefined));
    assert.equal(await rows(s, "mp3", "before-fence"), 25);
    // The release moves mp3's endpoint: kubegres rewrites PRIMARY_HOST_NAME and the pod is recreated.
    // The init script skips a non-empty data directory, so only the conninfo the proof wrote keeps it on mp2.
    const sts = s.statefulSet("mp3") as { spec: { template: { spec: { initContainers: { env: { name: string; value: string }[] }[] } } } };
    const env = sts.spec.template.spec.initContainers[0]!.env.map((e) => (e.name === "PRIMARY_HOST_NAME" ? { ...e, value: s.pg.host("mp2") } : e));
    await kubeRequest(s.access("mp3"), "mp3", "PATCH", kubePaths.statefulSet(NAMESPACE, STATEFULSET), 10_000,
      { spec: { template: { spec: { initContainers: [{ ...sts.spec.template.spec.initContainers[0]!, env }] } } } });
    await s.pg.sql("mp2", "INSERT INTO t (v) VALUES ('after-roll')");
    await until("mp3 to stream from mp2 again after its restart", async () => {
      const p = await probe(s, "mp3");
      return p.walReceiverStatus === "streaming" && p.upstream?.startsWith(`${s.pg.host("mp2")}:`) && (await rows(s, "mp3", "after-roll")) === 1 ? true : undefined;
    }, 30_000);
    const again = await proof.up(followInputs(s, "mp3", "mp2", { timeoutSeconds: 5 }));
    assert.equal(again.changes, false, "the same promotion: proven once");
  });
});

describe("the hazard the clean stop closes, on real servers: an old primary still running after the fence", () => {
  let s: KubegresSites;
  let switchPoint = "";
  before(async () => {
    s = await KubegresSites.start({ active: "mp1", standbys: ["mp2", "mp3"] });
    await s.pg.sql("mp1", "CREATE TABLE t (id serial PRIMARY KEY, v text)");
  });
  after(() => s.stop());

  it("mp1 writes WAL by itself after the position the previous gate waited for; mp3 receives it past mp2's switch point and can never follow mp2", async () => {
    await s.pg.sql("mp1", "INSERT INTO t (v) SELECT 'before-fence' FROM generate_series(1, 25)");
    // The previous gate: mp1's position in its own statement, mp2 replayed it, promote; mp1 keeps running.
    const final = (await one(s, "mp1", "SELECT pg_current_wal_lsn()::text"))!;
    await until("mp2 to replay it", async () => (compareLsn((await probe(s, "mp2")).replayLsn!, final) >= 0 ? true : undefined));
    await s.promote("mp2");
    switchPoint = (await primaryHistory(s.pg.transport("mp2"), "mp2")).forks.at(-1)!.at;
    await s.pg.sql("mp1", "CHECKPOINT"); // what mp1 does by itself every checkpoint_timeout
    await until("mp3 to receive mp1's checkpoint", async () => (compareLsn(standbyPosition(await probe(s, "mp3"))!, switchPoint) > 0 ? true : undefined));
    // Postgres' rule, as the follow proof applies it: mp3 is on timeline 1 past where it ended.
    const history = await primaryHistory(s.pg.transport("mp2"), "mp2");
    const verdict = followCheck("mp3", "mp2", await probe(s, "mp3"), history);
    assert.equal(verdict.action, "rebuild", verdict.reason);
    // The follow proof stops the update at once (the previous program re-pointed mp3 and succeeded silently).
    await s.pg.sql("mp2", "INSERT INTO t (v) SELECT 'on-mp2' FROM generate_series(1, 25)");
    await assert.rejects(runStandbyFollow(followInputs(s, "mp3", "mp2", { rebuild: 2 })), (e: Error) => {
      assert.match(e.message, new RegExp(`^mp3 cannot follow the new active mp2 \\(tsb/tsb-postgres-1-0\\): mp3 received WAL up to \\S+ on timeline 1, \\d+ bytes past mp2's switch point ${escape(switchPoint)}`));
      assert.match(e.message, /Rebuild mp3 as a fresh standby: pulumi config set --path 'tsb-ha:sites\.mp3\.rebuild' 3, then pulumi up/);
      return true;
    });
    // Re-pointed anyway (by hand, as the previous program did), it sits on its dead branch: none of mp2's rows.
    await s.pg.setUpstream("mp3", "mp2");
    await until("mp3 to fetch timeline 2's history and stay behind", async () => ((await probe(s, "mp3")).knownTimeline === 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await rows(s, "mp3", "on-mp2"), 0);
    assert.equal(siteTimeline(await probe(s, "mp3")), 1);
  });

  it("a receiver waiting on a timeline it cannot follow shows a recent last message; it is no contact, and the gate refuses to promote it when mp2 is lost", async () => {
    const seen = await until("mp3's receiver to show a recent message while not streaming", async () => {
      const p = await probe(s, "mp3");
      const age = p.lastMsgReceiptTime ? (Date.parse(p.now) - Date.parse(p.lastMsgReceiptTime)) / 1000 : undefined;
      return p.walReceiverStatus !== undefined && p.walReceiverStatus !== "streaming" && age !== undefined && age < 10 ? { p, age } : undefined;
    }, 20_000);
    timings.push(`a ${seen.p.walReceiverStatus} receiver on a dead branch: last message ${seen.age.toFixed(1)} s old`);
    assert.notEqual(lastContact(seen.p)?.fact, "walreceiver last_msg_receipt_time");
    await s.pg.stopNode("mp2", "immediate"); // mp2 is lost
    const lost = gateInputs(s, { promotion: "mp2->mp3", site: "mp3", from: "mp2", mode: "lost", otherStandbys: [] });
    // With the lost active's timeline from history, and without it (the history file mp3 fetched tells).
    for (const withHistory of [true, false]) {
      await assert.rejects(runReplicationGate({ ...lost, ...(withHistory ? { activeTimeline: 2 } : {}) }), (e: Error) => {
        assert.match(e.message, new RegExp(`^Replication gate: mp3 holds WAL of timeline 1 \\(up to \\S+\\), but mp2 (was on|has moved to) timeline 2: mp3 did not follow it`));
        return true;
      }, `with history: ${withHistory}`);
    }
    assert.equal(await rows(s, "mp3", "on-mp2"), 0, "promoting mp3 would have lost mp2's 25 rows");
  });

  it("at fail-back, the follow check reads timelines: a site stuck on timeline 1 cannot follow, although its position is below the new switch point", async () => {
    const p3 = await probe(s, "mp3");
    // Fail back to mp1 rebuilt on timeline 2: the new active's history is mp2's (read above) plus the end of timeline 2.
    const failBack = afterPromotion({ timeline: 2, forks: [{ timeline: 1, at: switchPoint }] }, "FF/0");
    assert.ok(compareLsn(standbyPosition(p3)!, "FF/0") < 0, "by position alone (the previous check) it would be re-pointed");
    const d = followCheck("mp3", "mp1", p3, failBack);
    assert.equal(d.action, "rebuild");
    assert.match(d.reason, new RegExp(`^mp3 received WAL up to \\S+ on timeline 1, \\d+ bytes past mp1's switch point ${escape(switchPoint)}`));
  });
});

describe("a detached candidate and a killed shutdown, on real servers", () => {
  let s: KubegresSites;
  before(async () => {
    s = await KubegresSites.start({ active: "mp1", standbys: ["mp2", "mp3"] });
    await s.pg.sql("mp1", "CREATE TABLE t (id serial PRIMARY KEY, v text)");
  });
  after(() => s.stop());

  it("with mp2 detached, the gate names mp3 (which holds all of the WAL) at once, with both positions, and stops nothing", async () => {
    await s.breakReplication("mp2");
    await until("mp2's receiver to stop streaming", async () => ((await probe(s, "mp2")).walReceiverStatus !== "streaming" ? true : undefined));
    await s.pg.sql("mp1", "INSERT INTO t (v) SELECT 'only-mp3' FROM generate_series(1, 25)");
    await caughtUp(s, "mp3", "mp1");
    const p2 = standbyPosition(await probe(s, "mp2"))!;
    const t0 = Date.now();
    await assert.rejects(runReplicationGate(gateInputs(s, { limits: { catchUpTimeoutSeconds: 60 } })), (e: Error) => {
      assert.match(e.message, new RegExp(`^Replication gate: mp2 holds WAL up to ${escape(p2)}, but standby mp3 holds more \\(up to \\S+, \\d+ bytes ahead\\)`));
      assert.match(e.message, /promote mp3 instead/);
      return true;
    });
    const ms = Date.now() - t0;
    timings.push(`detached candidate refused, naming the standby ahead: ${ms} ms (catch-up bound 60 s)`);
    assert.ok(ms < 15_000, `refused before waiting (${ms} ms)`);
    assert.notEqual(s.pod("mp1"), undefined, "mp1's database was not stopped");
    assert.deepEqual(s.stops, []);
  });

  it("promoting mp3 instead passes: mp1 stops cleanly, mp3 holds its shutdown checkpoint, mp2 (behind, same timeline) is predicted to follow", async () => {
    const out = await timed("three sites, mp3 promoted instead: gate", () => runReplicationGate(gateInputs(s, { promotion: "mp1->mp3", site: "mp3" })));
    assert.equal(out.verdict, "pass");
    assert.deepEqual(s.stops.map((x) => [x.site, x.mode]), [["mp1", "fast"]]);
    assert.equal(out.standbys["mp2"]?.follow, "repoint", out.standbys["mp2"]?.reason);
  });
});

describe("a shutdown killed by its grace period, on real servers (mp1 active, mp2 standby)", () => {
  let s: KubegresSites;
  before(async () => {
    s = await KubegresSites.start({ active: "mp1", standbys: ["mp2"], terminationGracePeriodSeconds: 0 });
    await s.pg.sql("mp1", "CREATE TABLE t (id serial PRIMARY KEY, v text)");
    await s.pg.sql("mp1", "INSERT INTO t (v) SELECT 'x' FROM generate_series(1, 25)");
  });
  after(() => s.stop());

  it("the shutdown checkpoint reaches no standby: refused, naming what mp2 holds; started again as the runbook says, the gate passes", async () => {
    await assert.rejects(runReplicationGate(gateInputs(s)), /Replication gate: no standby holds mp1's shutdown checkpoint \(mp2's last record is a \S+ at \S+ on timeline 1\): mp1's last WAL is only on its own disk/);
    assert.deepEqual(s.stops.map((x) => [x.site, x.mode]), [["mp1", "killed"]]);
    // docs/replication.md, "Shutdown record on no standby": start the database again, its controller still at 0.
    s.setTerminationGracePeriod(10);
    await kubeRequest(s.access("mp1"), "mp1", "PATCH", kubePaths.statefulSet(NAMESPACE, STATEFULSET), 10_000, { spec: { replicas: 1 } });
    const ready = (): boolean => (s.pod("mp1")?.["status"] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
    await until("mp1's pod to be ready again", () => Promise.resolve(ready() ? true : undefined), 30_000);
    await s.settled();
    await caughtUp(s, "mp2", "mp1");
    const out = await timed("two sites, caught up: gate (exec, clean stop)", () => runReplicationGate(gateInputs(s)));
    assert.equal(out.verdict, "pass");
    assert.deepEqual(s.stops.map((x) => x.mode), ["killed", "fast"]);
    await s.promote("mp2");
    assert.equal(await rows(s, "mp2", "x"), 25, "every committed row on the new active");
  });
});

describe("a lost primary and a paused replay, on real servers (mp1 active, mp2 and mp3 standbys)", () => {
  let s: KubegresSites;
  before(async () => {
    s = await KubegresSites.start({ active: "mp1", standbys: ["mp2", "mp3"] });
    await s.pg.sql("mp1", "CREATE TABLE t (id serial PRIMARY KEY, v text)");
  });
  after(() => s.stop());

  it("a paused replay: readiness's rule and the gate agree (both pass), and the promotion replays every received row", async () => {
    await s.pg.sql("mp2", "SELECT pg_wal_replay_pause()");
    await s.pg.sql("mp1", "INSERT INTO t (v) SELECT 'paused' FROM generate_series(1, 25)");
    await caughtUp(s, "mp2", "mp1");
    await caughtUp(s, "mp3", "mp1");
    const target = await probe(s, "mp2");
    assert.ok(compareLsn(target.replayLsn!, target.receiveLsn!) < 0, "replay is behind what was received");
    const standing = standbyStanding("mp2", "mp1", target, await probe(s, "mp1"), 300);
    assert.deepEqual([standing.streaming.verdict, standing.catchUp?.verdict, standing.lostRule.verdict], ["pass", "pass", "pass"], JSON.stringify(standing));
    assert.match(standing.catchUp!.reason, /replay paused by \d+ bytes: a promotion replays all received WAL first/);
    const out = await runReplicationGate(gateInputs(s));
    assert.equal(out.verdict, "pass");
    await s.promote("mp2");
    assert.equal(await rows(s, "mp2", "paused"), 25);
  });
});

describe("a lost primary on real servers (mp1 active, mp2 and mp3 standbys)", () => {
  let s: KubegresSites;
  before(async () => {
    s = await KubegresSites.start({ active: "mp1", standbys: ["mp2", "mp3"] });
    await s.pg.sql("mp1", "CREATE TABLE t (id serial PRIMARY KEY, v text)");
  });
  after(() => s.stop());

  it("passes within the staleness limit, refuses past it naming the fact and age, passes with a warning when the loss is accepted", async () => {
    await s.pg.sql("mp1", "INSERT INTO t (v) SELECT 'c' FROM generate_series(1, 100)");
    await caughtUp(s, "mp2", "mp1");
    await caughtUp(s, "mp3", "mp1");
    await s.pg.stopNode("mp1", "immediate");
    const lost = gateInputs(s, { mode: "lost" });
    const within = await timed("lost primary: gate", () => runReplicationGate(lost));
    assert.equal(within.verdict, "pass");
    assert.ok(within.lastContactFact, "names the fact it used");
    assert.notEqual(within.lastContactFact, "walreceiver last_msg_receipt_time", "no receiver streams from a stopped primary");
    await until("last contact older than 1.5 s", async () => {
      const out = await runReplicationGate(gateInputs(s, { mode: "lost", limits: { maxLostContactSeconds: 1.5, acceptDataLoss: true } }));
      return out.warning ? true : undefined;
    });
    await assert.rejects(runReplicationGate(gateInputs(s, { mode: "lost", limits: { maxLostContactSeconds: 1 } })), (e: Error) => {
      assert.match(e.message, /mp2's last contact with mp1 was \d+ s ago \((newest WAL file write|last replayed transaction)/);
      assert.match(e.message, /maxLostContactSeconds = 1 s/);
      return true;
    });
    const accepted = await runReplicationGate(gateInputs(s, { mode: "lost", limits: { maxLostContactSeconds: 1, acceptDataLoss: true } }));
    assert.equal(accepted.verdict, "pass-with-warning");
  });
});
