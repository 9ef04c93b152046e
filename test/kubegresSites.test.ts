// The kubegres site simulation (test/harness/kubegresSites.ts) driven by PRODUCTION code: lib/clients/podExec.ts
// (client-node's Exec over a real WebSocket to the stand-in API) and client-node's AppsV1Api/CoreV1Api,
// against real PostgreSQL (active mp1, standbys mp2 and mp3 streaming from it).
// Run alone: node --import tsx --test test/kubegresSites.test.ts
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { CONTAINER, KubegresSites, NAMESPACE, POD, STATEFULSET } from "./harness/kubegresSites";
import { until } from "./harness/pgCluster";
import { kubeConfigFor } from "../lib/clients/kubeAccess";
import { kubernetesPodExec, listPostgresPods, podExecTransport, DEFAULT_POSTGRES_POD, type PodTarget } from "../lib/clients/podExec";
import { probeReplication } from "../lib/gates/replicationProbe";
import { compareLsn } from "../lib/gates/replication";

const TARGET: PodTarget = { namespace: NAMESPACE, pod: POD, container: CONTAINER };

describe("kubegres sites: production pod exec and API calls against real PostgreSQL", () => {
  let sites: KubegresSites;
  const timings: string[] = [];
  const kc = (site: string): k8s.KubeConfig => kubeConfigFor(sites.access(site), site);
  const apps = (site: string): k8s.AppsV1Api => kc(site).makeApiClient(k8s.AppsV1Api);
  const core = (site: string): k8s.CoreV1Api => kc(site).makeApiClient(k8s.CoreV1Api);
  const exec = (site: string, script: string): ReturnType<ReturnType<typeof kubernetesPodExec>> => kubernetesPodExec(kc(site))(TARGET, ["sh", "-c", script], 10_000);
  const scale = (site: string, replicas: number): Promise<k8s.V1StatefulSet> =>
    apps(site).patchNamespacedStatefulSet({ name: STATEFULSET, namespace: NAMESPACE, body: [{ op: "replace", path: "/spec/replicas", value: replicas }] });
  const readyPods = async (site: string): Promise<string[]> => (await listPostgresPods(kc(site), DEFAULT_POSTGRES_POD)).filter((p) => p.ready).map((p) => p.name);
  const one = async (site: string, sql: string): Promise<string | null> => Object.values((await sites.pg.sql(site, sql))[0] ?? {})[0] ?? null;

  before(async () => {
    const t0 = Date.now();
    sites = await KubegresSites.start({ active: "mp1", standbys: ["mp2", "mp3"] });
    timings.push(`start of 3 sites (initdb, 2 base backups, 3 APIs): ${Date.now() - t0} ms`);
    await sites.pg.sql("mp1", "CREATE TABLE t (v text)");
    await sites.pg.sql("mp1", "INSERT INTO t SELECT 'x' FROM generate_series(1, 100)");
  });

  after(async () => {
    await sites?.stop();
    console.log(timings.map((t) => `  ${t}`).join("\n"));
  });

  it("the production transport (pod list, psql through exec) reads the same probe as a direct connection", async () => {
    const viaExec = await podExecTransport(sites.access("mp2"), "mp2");
    assert.deepEqual(viaExec.target, TARGET);
    const stable = (p: Awaited<ReturnType<typeof probeReplication>>): unknown => ({ ...p, now: undefined, lastMsgReceiptTime: undefined, newestWalFileTime: undefined });
    const [a, b] = [await probeReplication(viaExec), await probeReplication(sites.pg.transport("mp2"))];
    assert.deepEqual(stable(a), stable(b));
    assert.equal(a.role, "standby");
    assert.equal(a.upstream, `${sites.pg.host("mp1")}:${sites.pg.port}`);
    const rounds: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      await viaExec.query("SELECT 1 AS one");
      rounds.push(Date.now() - t0);
    }
    timings.push(`one exec round trip (psql SELECT 1): ${rounds.sort((x, y) => x - y).join(" / ")} ms`);
  });

  it("exit code, stdout and stderr travel on their channels; a psql error is reported by the production transport", async () => {
    const r = await exec("mp2", "echo out; echo err >&2; exit 7");
    assert.equal(r.exitCode, 7);
    assert.equal(r.stdout, "out\n");
    assert.match(r.stderr, /^err\n/);
    assert.match(r.stderr, /command terminated with non-zero exit code: command terminated with exit code 7/);
    assert.deepEqual(await exec("mp2", "printf ok"), { stdout: "ok", stderr: "", exitCode: 0 });
    const env = await exec("mp2", 'echo "$PGHOST $PGPORT $PGDATA"; command -v pg_waldump');
    assert.equal(env.stdout, `${sites.pg.host("mp2")} ${sites.pg.port} ${sites.pg.node("mp2").dir}\n${sites.pg.bin}/pg_waldump\n`);
    const t = await podExecTransport(sites.access("mp2"), "mp2");
    await assert.rejects(t.query("SELECT * FROM no_such_table"), /site mp2: psql in tsb\/tsb-postgres-1-0 \(container tsb-postgres-1\) exited 1: ERROR: {2}relation "no_such_table" does not exist/);
  });

  it("a container the pod does not have: 400 before the upgrade", async () => {
    await assert.rejects(kubernetesPodExec(kc("mp2"))({ ...TARGET, container: "nope" }, ["true"], 5000), (e: unknown) => {
      assert.match(String((e as { message?: string }).message), /Unexpected server response: 400/);
      return true;
    });
  });

  it("scaling the old active's StatefulSet to 0 stops Postgres cleanly and its shutdown checkpoint reaches the standbys", async () => {
    const manager = await apps("mp1").patchNamespacedDeployment({ name: "kubegres-controller-manager", namespace: NAMESPACE, body: [{ op: "replace", path: "/spec/replicas", value: 0 }] });
    assert.equal(manager.spec?.replicas, 0);
    assert.equal((await apps("mp1").readNamespacedDeployment({ name: "kubegres-controller-manager", namespace: NAMESPACE })).status?.readyReplicas, 0);
    assert.deepEqual(await readyPods("mp1"), [POD], "stopping the controller stops nothing else");
    const before = await podExecTransport(sites.access("mp1"), "mp1");

    const t0 = Date.now();
    const sts = await scale("mp1", 0);
    assert.equal(sts.spec?.replicas, 0);
    assert.equal(sts.metadata?.generation, 2);
    const terminating = await core("mp1").listNamespacedPod({ namespace: NAMESPACE, labelSelector: "app=tsb-postgres" });
    assert.equal(terminating.items.length, 1, "the pod is still listed while Postgres stops");
    assert.ok(terminating.items[0]!.metadata?.deletionTimestamp, "with a deletionTimestamp");
    assert.deepEqual(await readyPods("mp1"), [], "and not ready");
    await until("the pod to go", async () => ((await listPostgresPods(kc("mp1"), DEFAULT_POSTGRES_POD)).length === 0 ? true : undefined));
    timings.push(`clean stop (PATCH replicas 0 -> pod gone): ${Date.now() - t0} ms`);
    assert.deepEqual(sites.stops.at(-1)?.mode, "fast");
    assert.equal(sites.pg.postmaster("mp1"), undefined);
    const status = (await apps("mp1").readNamespacedStatefulSet({ name: STATEFULSET, namespace: NAMESPACE })).status;
    assert.deepEqual([status?.replicas, status?.readyReplicas, status?.observedGeneration], [0, 0, 2]);

    const control = await sites.pg.controlData("mp1");
    assert.equal(control["Database cluster state"], "shut down");
    const checkpoint = control["Latest checkpoint location"]!;
    for (const s of ["mp2", "mp3"]) {
      const received = (await probeReplication(await podExecTransport(sites.access(s), s))).receiveLsn!;
      assert.ok(compareLsn(received, checkpoint) > 0, `${s} received ${received}, past the shutdown checkpoint at ${checkpoint}`);
    }
    const dump = await exec("mp2", `pg_waldump -p "$PGDATA/pg_wal" -s ${checkpoint} -n 1`);
    assert.equal(dump.exitCode, 0, dump.stderr);
    const record = /lsn: ([0-9A-F]+\/[0-9A-F]+), .*desc: (\S+)/.exec(dump.stdout);
    assert.ok(record, dump.stdout);
    assert.equal(compareLsn(record[1]!, checkpoint), 0, `the record at ${checkpoint}`);
    assert.equal(record[2], "CHECKPOINT_SHUTDOWN");

    await assert.rejects(before.query("SELECT 1"), (e: unknown) => {
      assert.ok(e instanceof Error, "an Error, not the websocket's ErrorEvent");
      assert.match(e.message, /^exec in tsb\/tsb-postgres-1-0 \(container tsb-postgres-1\) refused: Unexpected server response: 404$/);
      return true;
    });
  });

  it("scaling it back to 1 starts the same data directory; the standbys follow it again", async () => {
    await scale("mp1", 1);
    await until("mp1's pod to be ready", async () => ((await readyPods("mp1")).length === 1 ? true : undefined));
    await sites.settled();
    const p = await probeReplication(await podExecTransport(sites.access("mp1"), "mp1"));
    assert.equal(p.role, "primary");
    assert.equal(await one("mp1", "SELECT count(*)::text FROM t"), "100");
    await Promise.all(["mp2", "mp3"].map((s) => sites.pg.waitStreaming(s)));
  });

  it("a stop that outlives the grace period is a kill: no shutdown checkpoint; the next start recovers", async () => {
    sites.setTerminationGracePeriod(1);
    // A stopped checkpointer cannot write the shutdown checkpoint, so the fast shutdown cannot finish.
    const checkpointer = Number(await one("mp1", "SELECT pid::text FROM pg_stat_activity WHERE backend_type = 'checkpointer'"));
    process.kill(checkpointer, "SIGSTOP");
    try {
      const t0 = Date.now();
      await scale("mp1", 0);
      await sites.settled();
      assert.ok(Date.now() - t0 >= 1000, `killed after the grace period (${Date.now() - t0} ms)`);
      assert.equal(sites.stops.at(-1)?.mode, "killed");
      assert.equal(sites.pg.postmaster("mp1"), undefined);
      assert.equal((await sites.pg.controlData("mp1"))["Database cluster state"], "in production");
    } finally {
      sites.setTerminationGracePeriod(10);
      await scale("mp1", 1);
      await sites.settled();
    }
    assert.deepEqual(await readyPods("mp1"), [POD]);
    assert.equal(await one("mp1", "SELECT count(*)::text FROM t"), "100");
  });

  it("deleting the pod restarts Postgres; the StatefulSet controller recreates the pod", async () => {
    const pid = sites.pg.postmaster("mp3");
    const uid = sites.pod("mp3")?.["metadata"] as { uid: string };
    const deleted = await core("mp3").deleteNamespacedPod({ name: POD, namespace: NAMESPACE });
    assert.equal(deleted.metadata?.deletionGracePeriodSeconds, 10);
    await sites.settled();
    assert.deepEqual(await readyPods("mp3"), [POD]);
    assert.notEqual((sites.pod("mp3")?.["metadata"] as { uid: string }).uid, uid.uid);
    assert.notEqual(sites.pg.postmaster("mp3"), pid);
    assert.equal(sites.stops.at(-1)?.mode, "fast");
    await sites.pg.waitStreaming("mp3");
  });

  it("a new PRIMARY_HOST_NAME in the pod template recreates the pod, and Postgres keeps its primary_conninfo", async () => {
    const pid = sites.pg.postmaster("mp2");
    const newHost = sites.pg.host("mp3");
    // Strategic merge patch: lists keyed by name merge item by item (PGDATA stays).
    const body = { spec: { template: { spec: { initContainers: [{ name: "setup-replica-data-directory", env: [{ name: "PRIMARY_HOST_NAME", value: newHost }] }] } } } };
    const sts = await apps("mp2").patchNamespacedStatefulSet({ name: STATEFULSET, namespace: NAMESPACE, body }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch));
    assert.deepEqual(sts.spec?.template.spec?.initContainers?.[0]?.env?.map((e) => [e.name, e.value]), [["PRIMARY_HOST_NAME", newHost], ["PGDATA", sites.pg.node("mp2").dir]]);
    await sites.settled();
    assert.notEqual(sites.pg.postmaster("mp2"), pid, "restarted");
    assert.deepEqual(await readyPods("mp2"), [POD]);
    assert.match((await one("mp2", "SHOW primary_conninfo"))!, new RegExp(`host=${sites.pg.host("mp1").replace(/\./g, "\\.")} `));
    const status = (await apps("mp2").readNamespacedStatefulSet({ name: STATEFULSET, namespace: NAMESPACE })).status;
    assert.deepEqual([status?.updatedReplicas, status?.readyReplicas, status?.observedGeneration], [1, 1, 2]);
  });

  it("PATCH answers as the API server: 404 for a missing object, 422 for a patch that does not apply, merge patch", async () => {
    const code = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { code?: number }) => e.code ?? 0);
    assert.equal(await code(apps("mp3").patchNamespacedStatefulSet({ name: "tsb-postgres-9", namespace: NAMESPACE, body: [] })), 404);
    assert.equal(await code(apps("mp3").patchNamespacedStatefulSet({ name: STATEFULSET, namespace: NAMESPACE, body: [{ op: "replace", path: "/spec/nothing/here", value: 1 }] })), 422);
    const merged = await apps("mp3").patchNamespacedDeployment({ name: "iam", namespace: NAMESPACE, body: { metadata: { labels: { extra: "1" } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    assert.deepEqual(merged.metadata?.labels, { app: "iam", extra: "1" });
    assert.equal(merged.metadata?.generation, 1, "no spec change, same generation");
  });

  it("promote relabels the site primary and promotes Postgres; a partitioned API refuses or hangs; a broken standby stops streaming", async () => {
    const pid = sites.pg.postmaster("mp2");
    await sites.promote("mp2");
    await sites.settled();
    assert.equal(sites.pg.postmaster("mp2"), pid, "promoted in place, no rolling restart");
    assert.equal((await listPostgresPods(kc("mp2"), DEFAULT_POSTGRES_POD))[0]?.labels["replicationRole"], "primary");
    assert.equal((await apps("mp2").readNamespacedStatefulSet({ name: STATEFULSET, namespace: NAMESPACE })).spec?.template.metadata?.labels?.["replicationRole"], "primary");
    assert.equal((await probeReplication(await podExecTransport(sites.access("mp2"), "mp2"))).role, "primary");

    sites.partition("mp3", "unreachable");
    await assert.rejects(podExecTransport(sites.access("mp3"), "mp3"));
    sites.partition("mp3", "hang");
    await assert.rejects(podExecTransport(sites.access("mp3"), "mp3", { ...DEFAULT_POSTGRES_POD, timeoutSeconds: 1 }), /no answer within 1 s/);
    sites.partition("mp3", "none");
    const t = await podExecTransport(sites.access("mp3"), "mp3");
    assert.equal((await probeReplication(t)).walReceiverStatus, "streaming");
    await sites.breakReplication("mp3");
    await until("mp3's receiver to stop streaming", async () => ((await probeReplication(t)).walReceiverStatus !== "streaming" ? true : undefined));
  });
});
