// TSB sites whose embedded Postgres is REAL: one PgCluster node per site, each behind its own stand-in
// Kubernetes API (FakeKubeApi) holding the objects kubegres makes, so production code that reaches
// Postgres only through the API (list pods, pods/exec, patch StatefulSets/Deployments) drives real servers.
// Facts: /work/notes/kubegres-fork.md (Tetrate's kubegres fork at d1199c0, "notes" below).
//
// What is simulated, each from its source:
// - Deployment controller: a Deployment's status follows spec.replicas at once. kubegres-controller-manager
//   is only a Deployment here: scaling it stops nothing, and kubegres' own reconcile (which deletes a
//   not-ready replica StatefulSet or fails over a not-ready primary, notes §2) is NOT reproduced.
// - StatefulSet controller (defaults RollingUpdate, OrderedReady: notes §1, no updateStrategy in the templates):
//   replicas 1 -> 0 deletes the pod; 0 -> 1 creates it; a changed pod template recreates it (same name).
// - kubelet: a deleted pod keeps being listed with a deletionTimestamp (not ready) while its container
//   stops; the image's STOPSIGNAL SIGINT = fast shutdown goes to postgres (PID 1), and after the grace
//   period (terminationGracePeriodSeconds 10, notes §2) SIGKILL to every process of the container (the
//   postmaster and its children). Then the pod goes.
//   A new pod is ready once Postgres accepts connections (`pg_ctl -w start`).
// - init container setup-replica-data-directory: skips a non-empty PGDATA (copy_primary_data_to_replica.sh,
//   notes §3), so a restarted node keeps its data and the primary_conninfo of postgresql.auto.conf.
// - exec in containers[0] runs the command on this machine with the container's env pointed at the node
//   (PGHOST/PGPORT/PGDATA, POSTGRES_PASSWORD, the server binaries on PATH as in the postgres image).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { constants } from "node:os";
import { FakeKubeApi, type ApiChange, type ExecResult } from "./fakeKubeApi";
import { PgCluster } from "./pgCluster";

export const NAMESPACE = "tsb";
export const STATEFULSET = "tsb-postgres-1";
export const POD = "tsb-postgres-1-0";
/** containers[0] is named after its StatefulSet (notes §1). */
export const CONTAINER = "tsb-postgres-1";
export const DEPLOYMENTS = ["tsb-operator-management-plane", "kubegres-controller-manager", "tsb", "iam", "envoy"] as const;

type Obj = Record<string, unknown>;
type PodState = "starting" | "ready" | "terminating";

export interface KubegresSitesOptions {
  /** The active site: its node is the primary. */
  active: string;
  /** Standby sites: each node streams from the active's (PRIMARY_HOST_NAME = the active's address). */
  standbys: string[];
  /** Of every pod (kubegres: 10 s). */
  terminationGracePeriodSeconds?: number;
}

/** How a pod's Postgres stopped: "fast" within the grace period, or "killed" after it. */
export interface StopRecord {
  site: string;
  mode: "fast" | "killed";
  ms: number;
}

export class KubegresSites {
  readonly pg = new PgCluster();
  readonly stops: StopRecord[] = [];
  private readonly apis: Record<string, FakeKubeApi> = {};
  private readonly work: Record<string, Promise<void>> = {};
  private readonly failures: Error[] = [];

  private constructor(readonly active: string, readonly sites: string[], private grace: number) {}

  static async start(opts: KubegresSitesOptions): Promise<KubegresSites> {
    const sites = [opts.active, ...opts.standbys];
    const s = new KubegresSites(opts.active, sites, opts.terminationGracePeriodSeconds ?? 10);
    const [, ...apis] = await Promise.all([s.pg.start(opts.active, opts.standbys), ...sites.map((site) => FakeKubeApi.start({ context: site }))]);
    sites.forEach((site, i) => {
      s.apis[site] = apis[i]!;
      s.work[site] = Promise.resolve();
      s.install(site);
    });
    return s;
  }

  api(site: string): FakeKubeApi {
    const api = this.apis[site];
    if (!api) throw new Error(`no site ${site}`);
    return api;
  }

  /** What production takes per site (components/replicationGate.ts SiteDbAccess, lib/clients/kubeAccess.ts). */
  access(site: string): { kubeconfig: string; context: string } {
    return { kubeconfig: this.api(site).kubeconfigPath, context: site };
  }

  statefulSet(site: string): Obj | undefined {
    return this.api(site).get("statefulsets", NAMESPACE, STATEFULSET);
  }

  pod(site: string): Obj | undefined {
    return this.api(site).get("pods", NAMESPACE, POD);
  }

  /** Waits for every transition started so far (stops, starts); throws the first that failed. */
  async settled(): Promise<void> {
    await Promise.all(Object.values(this.work));
    if (this.failures.length > 0) throw this.failures[0]!;
  }

  /** The grace period of pods from now on (the template and the live pod; not a template change). */
  setTerminationGracePeriod(seconds: number): void {
    this.grace = seconds;
    for (const site of this.sites) {
      this.changeTemplateInPlace(site, (sts) => patchTemplate(sts, (spec) => ({ ...spec, terminationGracePeriodSeconds: seconds })), (spec) => ({ ...spec, terminationGracePeriodSeconds: seconds }));
    }
  }

  /**
   * A standby site becomes active as TSB + kubegres do it (notes §5): kubegres labels the StatefulSet and
   * its template replicationRole=primary and the trigger file promotes Postgres. Here the labels change in
   * place and pg_promote stands for the trigger file (same end state; the real pod is also recreated).
   */
  async promote(site: string): Promise<void> {
    await this.enqueue(site, async () => {
      this.changeTemplateInPlace(site, (sts) => {
        const primary = relabel(sts, "primary");
        return { ...primary, spec: { ...(primary["spec"] as Obj), serviceName: "tsb-postgres" } };
      });
      await this.pg.promote(site);
    });
  }

  /** The site's API drops connections ("unreachable"), never answers ("hang"), or works again ("none"). */
  partition(site: string, mode: "unreachable" | "hang" | "none"): void {
    const api = this.api(site);
    api.clearFaults();
    if (mode !== "none") api.inject({ kind: mode === "hang" ? "hang" : "reset" });
  }

  /** The site's standby loses its upstream: primary_conninfo points where nothing listens. */
  async breakReplication(site: string): Promise<void> {
    await this.pg.setUpstream(site, null);
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.work));
    await this.pg.stopAll();
    await Promise.all(Object.values(this.apis).map((a) => a.close()));
    if (this.failures.length > 0) throw this.failures[0]!;
  }

  /**
   * Changes the StatefulSet without the StatefulSet controller seeing it (no API write), and carries the
   * change to the live pod if it was up to date, so that no rolling restart follows.
   */
  private changeTemplateInPlace(site: string, change: (sts: Obj) => Obj, podSpec: (spec: Obj) => Obj = (spec) => spec): void {
    const api = this.api(site);
    const before = this.statefulSet(site)!;
    api.set("statefulsets", NAMESPACE, STATEFULSET, change(before));
    const pod = this.pod(site);
    if (pod && labelsOf(pod)["controller-revision-hash"] === revision(before)) {
      api.set("pods", NAMESPACE, POD, { ...pod, metadata: { ...(pod["metadata"] as Obj), labels: this.podLabels(site) }, spec: podSpec(pod["spec"] as Obj) });
    }
    this.syncStatus(site);
  }

  private install(site: string): void {
    const api = this.api(site);
    for (const name of DEPLOYMENTS) api.set("deployments", NAMESPACE, name, deployment(name, 1));
    api.set("statefulsets", NAMESPACE, STATEFULSET, this.initialStatefulSet(site));
    this.setPod(site, "ready");
    this.syncStatus(site);
    api.execHandler = (_ns, _pod, container, command) => this.exec(site, container, command);
    api.onChange((c) => this.react(site, c));
  }

  private react(site: string, c: ApiChange): void {
    if (c.namespace !== NAMESPACE) return;
    const api = this.api(site);
    if (c.kind === "deployments") {
      // Deployment controller + kubelet, instantly. kubegres' controller is not simulated (see header).
      const replicas = Number((c.after["spec"] as Obj)["replicas"] ?? 1);
      api.set("deployments", NAMESPACE, c.name, { ...c.after, status: deployment(c.name, replicas, c.after)["status"] });
    } else if (c.kind === "statefulsets" && c.name === STATEFULSET) {
      this.background(site, "StatefulSet change", () => this.reconcile(site));
    } else if (c.kind === "pods" && c.verb === "delete" && c.name === POD) {
      // kubelet stops the deleted pod; the StatefulSet controller recreates it (same name).
      this.background(site, "pod deletion", async () => {
        await this.terminate(site);
        await this.reconcile(site);
      });
    }
  }

  /** Transitions of one site run one after another, as one controller would make them. */
  private enqueue(site: string, f: () => Promise<void>): Promise<void> {
    const job = this.work[site]!.then(f);
    this.work[site] = job.catch(() => undefined);
    return job;
  }

  /** A transition nobody awaits: its failure is kept for settled() and stop(). */
  private background(site: string, what: string, f: () => Promise<void>): void {
    const job = this.work[site]!.then(f).catch((e: unknown) => {
      this.failures.push(new Error(`site ${site}: ${what}: ${(e as Error).message}`));
    });
    this.work[site] = job;
  }

  /** StatefulSet controller (RollingUpdate, one pod): level-triggered, desired from spec. */
  private async reconcile(site: string): Promise<void> {
    const sts = this.statefulSet(site)!;
    const want = Number((sts["spec"] as Obj)["replicas"] ?? 1);
    const pod = this.pod(site);
    if (pod && (want === 0 || labelsOf(pod)["controller-revision-hash"] !== revision(sts))) await this.terminate(site);
    if (want > 0 && !this.pod(site)) {
      this.setPod(site, "starting");
      this.syncStatus(site);
      // The init container skips a non-empty PGDATA: Postgres starts with its own data and conninfo.
      await this.pg.startNode(site);
      this.setPod(site, "ready");
    }
    this.syncStatus(site);
  }

  /** kubelet: SIGINT (fast shutdown), SIGKILL after the grace period, then the pod is gone. */
  private async terminate(site: string): Promise<void> {
    const pod = this.pod(site);
    if (!pod) return;
    const meta = pod["metadata"] as Obj;
    const grace = Number(meta["deletionGracePeriodSeconds"] ?? (pod["spec"] as Obj)["terminationGracePeriodSeconds"] ?? this.grace);
    this.setPod(site, "terminating", grace);
    this.syncStatus(site);
    const t0 = Date.now();
    let mode: StopRecord["mode"] = "fast";
    try {
      if (grace <= 0) throw new Error("no grace period");
      await this.pg.stopNode(site, "fast", grace);
    } catch {
      mode = "killed";
      await this.pg.killNode(site);
    }
    this.stops.push({ site, mode, ms: Date.now() - t0 });
    this.api(site).set("pods", NAMESPACE, POD, undefined);
    this.syncStatus(site);
  }

  /** Runs a command "in" containers[0]; no running Postgres = no running container. */
  private exec(site: string, container: string, command: string[]): Promise<ExecResult> {
    const pod = this.pod(site);
    if (container !== CONTAINER || !pod || (pod["status"] as Obj)["phase"] !== "Running" || this.pg.postmaster(site) === undefined) {
      // [inferred] the kubelet's answer when the container is not running; the API server passes it on.
      return Promise.reject(new Error(`unable to upgrade connection: container not found ("${container}")`));
    }
    const env = {
      PATH: `${this.pg.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      LANG: "C.UTF-8",
      PGHOST: this.pg.host(site),
      PGPORT: String(this.pg.port),
      PGDATA: this.pg.node(site).dir,
      POSTGRES_PASSWORD: DUMMY_PASSWORD,
    };
    return new Promise((resolve, reject) => {
      const child = spawn(command[0]!, command.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (c: Buffer) => out.push(c));
      child.stderr.on("data", (c: Buffer) => err.push(c));
      child.on("error", reject);
      child.on("close", (code, signal) => {
        resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0) });
      });
    });
  }

  private podLabels(site: string): Record<string, string> {
    const sts = this.statefulSet(site)!;
    const tpl = (sts["spec"] as Obj)["template"] as Obj;
    return { ...labelsOf(tpl), "controller-revision-hash": revision(sts), "statefulset.kubernetes.io/pod-name": POD };
  }

  private setPod(site: string, state: PodState, grace?: number): void {
    const api = this.api(site);
    const old = this.pod(site);
    const sts = this.statefulSet(site)!;
    const tpl = (sts["spec"] as Obj)["template"] as Obj;
    const ready = state === "ready";
    const meta = old && state !== "starting" ? (old["metadata"] as Obj) : { labels: this.podLabels(site), ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: STATEFULSET, controller: true }] };
    const deleting = state === "terminating" && meta["deletionTimestamp"] === undefined
      ? { deletionTimestamp: new Date(Date.now() + grace! * 1000).toISOString().replace(/\.\d+Z$/, "Z"), deletionGracePeriodSeconds: grace }
      : {};
    api.set("pods", NAMESPACE, POD, {
      metadata: { ...meta, ...deleting },
      spec: old && state !== "starting" ? old["spec"] : { ...(tpl["spec"] as Obj), nodeName: `node-${site}`, hostname: POD, subdomain: (sts["spec"] as Obj)["serviceName"] },
      status: {
        phase: state === "starting" ? "Pending" : "Running",
        ...(state === "starting" ? {} : { podIP: this.pg.host(site) }),
        conditions: [{ type: "Ready", status: ready ? "True" : "False" }, { type: "ContainersReady", status: ready ? "True" : "False" }],
      },
    });
  }

  private syncStatus(site: string): void {
    const sts = this.statefulSet(site)!;
    const pod = this.pod(site);
    const ready = pod !== undefined && ((pod["status"] as Obj)["conditions"] as Array<{ type: string; status: string }>).some((c) => c.type === "Ready" && c.status === "True");
    const updated = pod !== undefined && labelsOf(pod)["controller-revision-hash"] === revision(sts);
    const n = (b: boolean): number => (b ? 1 : 0);
    this.api(site).set("statefulsets", NAMESPACE, STATEFULSET, {
      ...sts,
      status: {
        observedGeneration: (sts["metadata"] as Obj)["generation"],
        replicas: n(pod !== undefined),
        readyReplicas: n(ready),
        availableReplicas: n(ready),
        currentReplicas: n(updated),
        updatedReplicas: n(updated),
      },
    });
  }

  private initialStatefulSet(site: string): Obj {
    const role = site === this.active ? "primary" : "replica";
    const labels = { app: "tsb-postgres", index: "1", replicationRole: role };
    const pgdata = this.pg.node(site).dir;
    return {
      metadata: { generation: 1, labels },
      spec: {
        replicas: 1,
        serviceName: role === "primary" ? "tsb-postgres" : "tsb-postgres-replica",
        selector: { matchLabels: { app: "tsb-postgres", index: "1" } },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: this.grace,
            containers: [{ name: CONTAINER, env: [{ name: "PGDATA", value: pgdata }, { name: "POSTGRES_PASSWORD", value: DUMMY_PASSWORD }] }],
            ...(role === "primary"
              ? {}
              : { initContainers: [{ name: "setup-replica-data-directory", env: [{ name: "PRIMARY_HOST_NAME", value: this.pg.host(this.active) }, { name: "PGDATA", value: pgdata }] }] }),
          },
        },
      },
    };
  }
}

/** The test servers trust every local connection; production's psql sends it as PGPASSWORD anyway. */
const DUMMY_PASSWORD = "unused-with-trust";

function labelsOf(o: Obj): Record<string, string> {
  return ((o["metadata"] as Obj | undefined)?.["labels"] ?? {}) as Record<string, string>;
}

/** Like the controller-revision-hash label: changes with the pod template, and only then. */
function revision(sts: Obj): string {
  const tpl = JSON.stringify((sts["spec"] as Obj)["template"]);
  return `${STATEFULSET}-${createHash("sha256").update(tpl).digest("hex").slice(0, 10)}`;
}

function patchTemplate(sts: Obj, f: (spec: Obj) => Obj): Obj {
  const spec = sts["spec"] as Obj;
  const tpl = spec["template"] as Obj;
  return { ...sts, spec: { ...spec, template: { ...tpl, spec: f(tpl["spec"] as Obj) } } };
}

function relabel(sts: Obj, role: "primary" | "replica"): Obj {
  const spec = sts["spec"] as Obj;
  const tpl = spec["template"] as Obj;
  return {
    ...sts,
    metadata: { ...(sts["metadata"] as Obj), labels: { ...labelsOf(sts), replicationRole: role } },
    spec: { ...spec, template: { ...tpl, metadata: { ...(tpl["metadata"] as Obj), labels: { ...labelsOf(tpl), replicationRole: role } } } },
  };
}

/** A Deployment whose pods all run (status follows spec.replicas). */
function deployment(name: string, replicas: number, from?: Obj): Obj {
  const meta = (from?.["metadata"] ?? { generation: 1, labels: { app: name } }) as Obj;
  return {
    metadata: meta,
    spec: (from?.["spec"]) ?? { replicas, selector: { matchLabels: { app: name } } },
    status: { observedGeneration: meta["generation"], replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas },
  };
}
