// Failover step 1b, first half: the fenced old active's database made final by a clean stop, as
// CloudNativePG and Patroni stop (or demote) the old primary before they promote a switchover
// target. The fence stopped TSB's writers, but Postgres itself keeps writing WAL (checkpoints,
// standby snapshots) and serving any standby still connected (postgres-replication-facts.md, "Added
// 2026-12"); once it is stopped, nothing can add to what the standbys hold.
//
// How a clean stop looks in TSB's kubegres fork (/work/notes/kubegres-fork.md, sections 1-2):
// - the kubegres controller goes first: it treats a stopped primary as failed (promotes a local
//   replica) and deletes a stopped replica's StatefulSet; it never scales a StatefulSet back up;
// - each StatefulSet `tsb-postgres-N` (one pod) to 0: the kubelet stops the container with the
//   image's STOPSIGNAL, SIGINT in the official postgres images = fast shutdown, which writes the
//   shutdown checkpoint and sends it to every connected standby before exiting; SIGKILL after
//   terminationGracePeriodSeconds (10 s). Whether it was clean is proven afterwards from the standbys
//   (lib/gates/replication.ts oldPrimaryFinal), not assumed.
// Nothing here starts anything: the fenced site stays stopped until it is rebuilt.
import { kubePaths, kubeRequest } from "./kubeRead";
import type { KubeAccess } from "./kubeAccess";
import { KUBEGRES_CONTROLLER_DEPLOYMENT } from "../config/names";

export interface PostgresStopOptions {
  namespace: string;
  /** Label selector of the Postgres pods and of their StatefulSets. */
  podSelector: string;
  /** The whole stop (every call and the waits) ends within this. */
  timeoutMs: number;
  pollMs: number;
}

export interface PostgresStopReport {
  /** What was done to the kubegres controller: "scaled to 0", "already at 0" or "absent". */
  controller: string;
  /** StatefulSets scaled to 0 by this stop (the ones already at 0 are left as they are). */
  scaled: string[];
  /** Every StatefulSet of the site's Postgres. */
  statefulSets: string[];
  seconds: number;
}

interface Listed {
  items?: { metadata?: { name?: string }; spec?: { replicas?: number }; status?: { replicas?: number } }[];
}

const items = (r: Awaited<ReturnType<typeof kubeRequest>>): NonNullable<Listed["items"]> =>
  r.found ? (((r.object ?? {}) as Listed).items ?? []) : [];

/** Stops the site's Postgres cleanly and waits until none of its pods is left. Idempotent: an already stopped site returns at once. */
export async function stopPostgres(access: KubeAccess, site: string, o: PostgresStopOptions, clock = { now: (): number => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) }): Promise<PostgresStopReport> {
  const started = clock.now();
  const left = (): number => Math.max(1, o.timeoutMs - (clock.now() - started));
  const call = (method: "GET" | "PATCH", apiPath: string, patch?: unknown) => kubeRequest(access, site, method, apiPath, left(), patch);
  const waitFor = async (what: string, done: () => Promise<boolean>): Promise<void> => {
    while (!(await done())) {
      if (clock.now() - started >= o.timeoutMs) throw new Error(`site ${site}: ${what} within ${Math.round(o.timeoutMs / 1000)} s`);
      await clock.sleep(Math.min(o.pollMs, left()));
    }
  };

  const controllerPath = kubePaths.deployment(o.namespace, KUBEGRES_CONTROLLER_DEPLOYMENT);
  const controller = await call("GET", controllerPath);
  let controllerDone = "absent";
  if (controller.found) {
    const spec = (controller.object as { spec?: { replicas?: number } }).spec;
    controllerDone = spec?.replicas === 0 ? "already at 0" : "scaled to 0";
    if (controllerDone === "scaled to 0") await call("PATCH", controllerPath, { spec: { replicas: 0 } });
    await waitFor(`the kubegres controller (deployment ${KUBEGRES_CONTROLLER_DEPLOYMENT}) did not stop`, async () => {
      const d = await call("GET", controllerPath);
      return !d.found || !((d.object as { status?: { replicas?: number } }).status?.replicas ?? 0);
    });
  }

  const sets = items(await call("GET", kubePaths.statefulSetsLabelled(o.namespace, o.podSelector)));
  const names = sets.map((s) => s.metadata?.name ?? "").filter((n) => n !== "");
  const scaled: string[] = [];
  for (const s of sets) {
    const name = s.metadata?.name;
    if (!name || s.spec?.replicas === 0) continue;
    await call("PATCH", kubePaths.statefulSet(o.namespace, name), { spec: { replicas: 0 } });
    scaled.push(name);
  }
  await waitFor(`Postgres pods (${o.podSelector}) still exist after their StatefulSets went to 0`, async () =>
    items(await call("GET", kubePaths.podsLabelled(o.namespace, o.podSelector))).length === 0);
  return { controller: controllerDone, scaled, statefulSets: names, seconds: Math.round((clock.now() - started) / 100) / 10 };
}

/** The site's Postgres pods that still exist (a stopped site has none). */
export async function postgresPods(access: KubeAccess, site: string, namespace: string, podSelector: string, timeoutMs: number): Promise<string[]> {
  return items(await kubeRequest(access, site, "GET", kubePaths.podsLabelled(namespace, podSelector), timeoutMs)).map((p) => p.metadata?.name ?? "?");
}
