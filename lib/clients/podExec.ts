// The production SqlTransport: `psql` inside a site's Postgres pod through the Kubernetes exec API
// (@kubernetes/client-node 1.4.0 `Exec`, the API `kubectl exec` uses), so the gate needs no network
// path to Postgres and no database password on the machine running pulumi.
//
// Facts and guesses (each default is a parameter; docs/replication.md says how to check them):
// - TSB's embedded Postgres is run by kubegres in namespace `tsb`; its pods carry `app=tsb-postgres`
//   and `replicationRole=primary|replica` (Tetrate docs, "Manage Embedded PostgreSQL":
//   https://docs.tetrate.io/service-bridge/next/operations/postgresql/managing-kubegres,
//   `kubectl get pod -n tsb -l app=tsb-postgres --label-columns replicationRole`).
// - kubegres puts Postgres in the pod's FIRST container, named after its StatefulSet
//   (reactive-tech/kubegres internal/controller/spec/template/ResourcesCreatorFromTemplate.go,
//   initStatefulSet: `container := &...Containers[0]; container.Name = statefulSetResourceName`).
// - kubegres' pg_hba.conf asks a password even on the local socket (`local all all md5`), and the
//   superuser password is in the container's env `POSTGRES_PASSWORD` (reactive-tech/kubegres
//   BaseConfigMapTemplate.yaml, Kubegres spec.env). [guess] that Tetrate's fork keeps both and the
//   superuser `postgres`: the password is read INSIDE the pod from that env var (never leaves it).
// - [guess] on a standby site, the pod labelled `replicationRole=primary` is the one the gate must
//   read (kubegres' primary of that site, which TSB promotes); without one, the first ready pod by name.
import type * as k8sClient from "@kubernetes/client-node";
import { kubeConfigFor, withTimeout, type KubeAccess } from "./kubeAccess";
import type { SiteDb } from "./sqlTransport";

export interface PostgresPodOptions {
  /** Namespace of the Postgres pods. */
  namespace: string;
  /** Label selector of every Postgres pod of the site. [doc: Tetrate "Manage Embedded PostgreSQL"] */
  podSelector: string;
  /** `key=value` of the pod to prefer among them. [guess] */
  preferLabel: string;
  /** Container to exec in; unset: the pod's first container (kubegres). */
  container?: string;
  /** [guess] superuser of the embedded Postgres. */
  user: string;
  database: string;
  /** Name of the container env var holding the password; "" = no password (trust/peer). [guess] */
  passwordEnv: string;
  /** Bound of one exec (connect, run psql, read the answer). */
  timeoutSeconds: number;
}

export const DEFAULT_POSTGRES_POD: PostgresPodOptions = {
  namespace: "tsb",
  podSelector: "app=tsb-postgres",
  preferLabel: "replicationRole=primary",
  user: "postgres",
  database: "postgres",
  passwordEnv: "POSTGRES_PASSWORD",
  timeoutSeconds: 30,
};

// psql -A output separators: unit separator between fields, record separator between rows, SUB
// for NULL, so that empty strings, NULLs and values with newlines or tabs stay apart.
const FIELD = "\x1f";
const RECORD = "\x1e";
const NULL_MARK = "\x1a";

/** Single-quoted for POSIX sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * psql as a shell command in the container: the container's password variable mapped to PGPASSWORD
 * (the value stays in the pod), -X (no psqlrc), -q, ON_ERROR_STOP; `extra` arguments before the user.
 */
export function psqlInvocation(opts: Pick<PostgresPodOptions, "user" | "database" | "passwordEnv">, extra: string[] = [], exec = ""): string {
  if (opts.passwordEnv !== "" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.passwordEnv)) throw new Error(`passwordEnv "${opts.passwordEnv}" is not an environment variable name`);
  const psql = ["psql", "-X", "-q", ...extra, "-v", "ON_ERROR_STOP=1", "-U", opts.user, "-d", opts.database].map(shellQuote).join(" ");
  return `${opts.passwordEnv === "" ? "" : `PGPASSWORD="$${opts.passwordEnv}" `}${exec}${psql}`;
}

/** The command of one SQL string: psql -A (unaligned) with separators no value contains, as the shell's own process. */
export function psqlCommand(sql: string, opts: Pick<PostgresPodOptions, "user" | "database" | "passwordEnv">): string[] {
  const unaligned = ["-A", "-F", FIELD, "-R", RECORD, "-P", "footer=off", "-P", `null=${NULL_MARK}`];
  return ["sh", "-c", `${psqlInvocation(opts, unaligned, "exec ")} -c ${shellQuote(sql)}`];
}

/** Rows from `psql -A -F US -R RS -P footer=off -P null=SUB` output: header record, then one record per row. */
export function parsePsqlOutput(stdout: string): Record<string, string | null>[] {
  // psql ends the last record with a newline instead of the record separator.
  const body = stdout.endsWith("\n") ? stdout.slice(0, -1) : stdout;
  if (body === "") return [];
  const [header, ...records] = body.split(RECORD);
  const cols = (header ?? "").split(FIELD);
  return records.map((rec, i) => {
    const values = rec.split(FIELD);
    if (values.length !== cols.length) throw new Error(`psql output row ${i + 1} has ${values.length} fields, the header ${cols.length}`);
    return Object.fromEntries(cols.map((c, j) => [c, values[j] === NULL_MARK ? null : (values[j] ?? null)]));
  });
}

export interface PodTarget {
  namespace: string;
  pod: string;
  container: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code of the command; undefined when the API gave no status. */
  exitCode: number | undefined;
}

/** Runs a command in a pod (production: Kubernetes exec; tests: a fake). */
export type PodExec = (target: PodTarget, command: string[], timeoutMs: number) => Promise<ExecResult>;

/** A site's database over any PodExec; errors name the site and pod, never the SQL's secrets (it has none). */
export function execTransport(exec: PodExec, target: PodTarget, opts: Pick<PostgresPodOptions, "user" | "database" | "passwordEnv" | "timeoutSeconds">, site: string): SiteDb {
  return {
    psql: psqlInvocation(opts),
    where: `${target.namespace}/${target.pod}`,
    shell: (script: string) => exec(target, ["sh", "-c", script], opts.timeoutSeconds * 1000),
    async query(sql: string): Promise<Record<string, string | null>[]> {
      const r = await exec(target, psqlCommand(sql, opts), opts.timeoutSeconds * 1000);
      if (r.exitCode !== 0) {
        const why = r.stderr.trim().split("\n").slice(0, 3).join(" | ") || "no message";
        throw new Error(`site ${site}: psql in ${target.namespace}/${target.pod} (container ${target.container}) exited ${r.exitCode ?? "without a status"}: ${why}`);
      }
      return parsePsqlOutput(r.stdout);
    },
  };
}

export interface PodSummary {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
  containers: string[];
}

/** kubegres' instance index (label `index`): it promotes the lowest-index ready replica (kubegres-fork.md, section 5). */
const byIndex = (a: PodSummary, b: PodSummary): number =>
  (Number(a.labels["index"] ?? Infinity) - Number(b.labels["index"] ?? Infinity)) || a.name.localeCompare(b.name);

/** Picks the pod to read: ready ones only; the preferred label first, then the lowest kubegres index, then by name (pure, tested). */
export function choosePostgresPod(pods: PodSummary[], opts: Pick<PostgresPodOptions, "namespace" | "podSelector" | "preferLabel" | "container">, site: string): PodTarget {
  return readyPostgresPods(pods, opts, site)[0]!;
}

/** Every ready Postgres pod of the site, the one to read first; throws when there is none. */
export function readyPostgresPods(pods: PodSummary[], opts: Pick<PostgresPodOptions, "namespace" | "podSelector" | "preferLabel" | "container">, site: string): PodTarget[] {
  const ready = pods.filter((p) => p.ready).sort(byIndex);
  if (ready.length === 0) {
    throw new Error(
      `site ${site}: no ready Postgres pod in namespace ${opts.namespace} with labels ${opts.podSelector} ` +
        `(found ${pods.length}: ${pods.map((p) => p.name).join(", ") || "none"}). Check: kubectl -n ${opts.namespace} get pods -l ${opts.podSelector} --show-labels`,
    );
  }
  const [key, value] = opts.preferLabel.split("=", 2);
  const preferred = ready.filter((p) => key !== undefined && p.labels[key] === value);
  return [...preferred, ...ready.filter((p) => !preferred.includes(p))].map((pod) => {
    const container = opts.container ?? pod.containers[0];
    if (!container) throw new Error(`site ${site}: pod ${pod.name} has no containers`);
    if (!pod.containers.includes(container)) throw new Error(`site ${site}: pod ${pod.name} has no container "${container}" (has: ${pod.containers.join(", ")})`);
    return { namespace: opts.namespace, pod: pod.name, container };
  });
}

/** Reads the V1Status the exec API sends at the end: Success, or Failure with an ExitCode cause. */
export function exitCodeOf(status: { status?: string; reason?: string; message?: string; details?: { causes?: { reason?: string; message?: string }[] } } | undefined): number | undefined {
  if (!status) return undefined;
  if (status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  const code = cause?.message === undefined ? NaN : Number(cause.message);
  return Number.isInteger(code) ? code : 1;
}

/** Production PodExec: the Kubernetes exec API, bounded by `timeoutMs` (the socket is closed on timeout). */
export function kubernetesPodExec(kc: k8sClient.KubeConfig): PodExec {
  return async (target, command, timeoutMs) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const k8s = require("@kubernetes/client-node") as typeof k8sClient;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Writable } = require("node:stream") as typeof import("node:stream");
    const collect = (chunks: Buffer[]): import("node:stream").Writable =>
      new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let socket: { close(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<ExecResult>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`exec in ${target.namespace}/${target.pod}: no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        const done = (status: k8sClient.V1Status | undefined): void => {
          const apiMessage = status?.status === "Failure" && status.message ? `\n${status.message}` : "";
          resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") + apiMessage, exitCode: exitCodeOf(status) });
        };
        new k8s.Exec(kc)
          .exec(target.namespace, target.pod, target.container, command, collect(out), collect(err), null, false, (status) => done(status))
          .then((opened) => {
            // isomorphic-ws's types do not resolve here; the socket is a `ws` WebSocket.
            const ws = opened as unknown as { on(event: "close", cb: () => void): void; close(): void };
            socket = ws;
            // The status frame normally ends the command; a closed socket without one still ends the wait.
            ws.on("close", () => setTimeout(() => done(undefined), 50));
          }, (e: unknown) => {
            // A refused upgrade (pod gone: 404, no such container: 400) rejects with a `ws` ErrorEvent, not an Error.
            const why = e instanceof Error ? e.message : typeof (e as { message?: unknown })?.message === "string" ? (e as { message: string }).message : String(e);
            reject(new Error(`exec in ${target.namespace}/${target.pod} (container ${target.container}) refused: ${why}`));
          });
      });
    } finally {
      clearTimeout(timer);
      socket?.close();
    }
  };
}

/** Lists the site's Postgres pods as PodSummary. */
export async function listPostgresPods(kc: k8sClient.KubeConfig, opts: Pick<PostgresPodOptions, "namespace" | "podSelector">): Promise<PodSummary[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const k8s = require("@kubernetes/client-node") as typeof k8sClient;
  const list = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: opts.namespace, labelSelector: opts.podSelector });
  return list.items.map((p) => ({
    name: p.metadata?.name ?? "",
    labels: p.metadata?.labels ?? {},
    ready: p.status?.phase === "Running" && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    containers: (p.spec?.containers ?? []).map((c) => c.name),
  }));
}

/** The production transport for one site: find the pod, then psql through exec. */
export async function podExecTransport(access: KubeAccess, site: string, opts: PostgresPodOptions = DEFAULT_POSTGRES_POD): Promise<SiteDb & { target: PodTarget }> {
  const [first] = await podExecTransports(access, site, opts);
  return first!;
}

/** One transport per ready Postgres pod of the site (every kubegres instance of a standby site streams from the active). */
export async function podExecTransports(access: KubeAccess, site: string, opts: PostgresPodOptions = DEFAULT_POSTGRES_POD): Promise<(SiteDb & { target: PodTarget })[]> {
  const kc = kubeConfigFor(access, site);
  const pods = await withTimeout(listPostgresPods(kc, opts), opts.timeoutSeconds * 1000, `site ${site}: list Postgres pods`);
  const exec = kubernetesPodExec(kc);
  return readyPostgresPods(pods, opts, site).map((target) => ({ ...execTransport(exec, target, opts, site), target }));
}
