// Failover step 1b: the replication gate, as a Pulumi dynamic resource that runs once per promotion.
// Fenced old active (docs/replication.md):
//   probe every standby -> name a standby ahead of a detached candidate at once -> wait until the
//   candidate received the old primary's WAL -> stop the old primary's database cleanly
//   (lib/clients/postgresStop.ts) -> read every standby's last WAL record: the candidate must hold the old
//   primary's shutdown checkpoint (its last record ever) -> no standby ahead -> predict who can follow.
// Lost old active: no standby ahead, then the staleness of the last STREAMING contact.
// The decisions are lib/gates/replication.ts and lib/gates/replicationFollow.ts; the SQL and scripts are
// lib/gates/replicationProbe.ts; in production each runs in the site's Postgres pod through the Kubernetes
// exec API (lib/clients/podExec.ts).
//
// Lifecycle (what `pulumi preview` and `pulumi up` do):
// - preview: the engine calls `check` (and `diff` for an existing gate) but never `create`/`update`
//   of a dynamic provider: its ConfigureResponse declares no preview support (@pulumi/pulumi
//   cmd/dynamic-provider/index.js, `configure`: only setAcceptsecrets(false)), so the gate's outputs
//   are unknown in a preview and nothing is probed. [to check on a real engine]
// - up with a new `promotion` ("mp1->mp2"): `create` runs the gate; a refusal throws, the resource is
//   not created, and everything that depends on it (the promotion) is not done. The next `up`
//   runs the gate again.
// - later `up` with the same promotion/site/from/mode: `diff` says no change (the gate ran once for
//   this promotion; credentials and limits do not re-run it); the SDK no longer replaces a dynamic
//   resource whose provider code changed (cmd/dynamic-provider/index.js, `diff` comment).
// - a new failover ("mp2->mp3") changes `promotion`: `update` runs the gate again.
// - delete: nothing to undo. The old primary's database stays stopped: a fenced site is rebuilt, never restarted.
//
// Wire rules (test/harness/dynamicProvider.ts): the provider runs in another process from a
// serialized closure, so client libraries are required inside functions; secret inputs (kubeconfig
// contents) arrive plain and are never returned as outputs or printed.
import * as pulumi from "@pulumi/pulumi";
import {
  aheadBeforeWaiting,
  catchUpTimedOut,
  fencedCatchUp,
  lostStaleness,
  mostAdvancedCheck,
  oldPrimaryFinal,
  siteTimeline,
  standbyPosition,
  type ReplicationProbe,
  type WalTail,
} from "../lib/gates/replication";
import { afterPromotion, followCheck } from "../lib/gates/replicationFollow";
import { primaryPosition, probeReplication, readTimelineHistory, walTail } from "../lib/gates/replicationProbe";
import type { SiteDb } from "../lib/clients/sqlTransport";
import { DEFAULT_POSTGRES_POD, podExecTransport, type PostgresPodOptions } from "../lib/clients/podExec";
import { postgresPods, stopPostgres, type PostgresStopReport } from "../lib/clients/postgresStop";

/** How the gate reaches one site (the site's kubeconfig and context; unset: the ambient one). */
export interface SiteDbAccess {
  /** Kubeconfig path or contents (secret when contents). */
  kubeconfig?: string;
  context?: string;
}

export interface ReplicationGateLimits {
  /** tsb-ha:replication.catchUpTimeoutSeconds (default 120): bound of the fenced wait. */
  catchUpTimeoutSeconds: number;
  /** tsb-ha:replication.maxLostContactSeconds (default 300; keep above the ~30 s idle keepalive). */
  maxLostContactSeconds: number;
  /** tsb-ha:replication.acceptDataLoss (default false): a lost-site refusal becomes a pass with a warning. */
  acceptDataLoss: boolean;
  /** Bound of the clean stop of the old primary's database (tsb-ha:tsb.fenceTimeoutSeconds). */
  stopTimeoutSeconds: number;
  /** Between probes of the fenced wait (default 1000). */
  pollIntervalMs?: number;
}

export interface ReplicationGateInputs {
  /** "mp1->mp2": the gate runs once per value. */
  promotion: string;
  /** The site to promote. */
  site: string;
  /** The old active. */
  from: string;
  mode: "fenced" | "lost";
  /** Access per site: `site`, `from` (fenced mode) and each of `otherStandbys`. */
  access: Record<string, SiteDbAccess>;
  /** Standbys other than `site` (not the old active). */
  otherStandbys: string[];
  limits: ReplicationGateLimits;
  /** Lost mode: the timeline the old active wrote (last good history); unknown: not checked. */
  activeTimeline?: number;
  /** Where Postgres runs in each site's cluster (defaults: DEFAULT_POSTGRES_POD; each a [guess] but the selector). */
  postgres?: Partial<PostgresPodOptions>;
}

export interface StandbyReport {
  /** GREATEST(receive, replay), or absent. */
  position?: string;
  timeline?: number;
  /** "repoint": can follow the new active; "rebuild": holds WAL the new active lacks. */
  follow?: "repoint" | "rebuild";
  reason: string;
  /** Set when the standby could not be probed (not a refusal: it cannot be promoted either). */
  error?: string;
}

/** What the gate measured, for the program to log. None of it is secret. */
export interface ReplicationGateOutputs {
  promotion: string;
  site: string;
  from: string;
  mode: "fenced" | "lost";
  verdict: "pass" | "pass-with-warning";
  /** One line for the log: what passed and on which facts. */
  message: string;
  /** Set when acceptDataLoss turned a refusal into a pass: log it as a warning. */
  warning?: string;
  /** The new active's probe when the gate passed. */
  newActive: ReplicationProbe;
  /** Fenced: the old primary's shutdown checkpoint, its last record. */
  oldFinalLsn?: string;
  /** Fenced: what the clean stop did (absent when an earlier run had stopped it). */
  stop?: PostgresStopReport;
  /** Lost: which fact gave the last contact, and its age. */
  lastContactFact?: string;
  lastContactAgeSeconds?: number;
  /** Predicted switch point: the end of the WAL the new active holds. */
  expectedSwitchPoint?: string;
  waitedSeconds: number;
  standbys: Record<string, StandbyReport>;
  checkedAt: string;
}

/** How the gate reaches sites: their databases (psql/shell in a Postgres pod) and, on the old active, the clean stop. */
export interface GateIo {
  db(site: string, access: SiteDbAccess, postgres: PostgresPodOptions): Promise<SiteDb>;
  /** The site's Postgres pods that exist (none: stopped). */
  pods(site: string, access: SiteDbAccess, postgres: PostgresPodOptions): Promise<string[]>;
  stop(site: string, access: SiteDbAccess, postgres: PostgresPodOptions, timeoutMs: number, pollMs: number): Promise<PostgresStopReport>;
}

/** Production: the Kubernetes API of each site (pod exec for psql and pg_waldump; patches for the stop). */
export const kubeGateIo: GateIo = {
  db: (site, access, postgres) => podExecTransport(access, site, postgres),
  pods: (site, access, postgres) => postgresPods(access, site, postgres.namespace, postgres.podSelector, postgres.timeoutSeconds * 1000),
  stop: (site, access, postgres, timeoutMs, pollMs) => stopPostgres(access, site, { namespace: postgres.namespace, podSelector: postgres.podSelector, timeoutMs, pollMs }),
};

/** Input checks (also run by the engine's `check`, in preview). Returns one message per problem. */
export function gateInputProblems(i: ReplicationGateInputs): string[] {
  const problems: string[] = [];
  if (i.mode !== "fenced" && i.mode !== "lost") problems.push(`mode is "${String(i.mode)}", expected "fenced" or "lost"`);
  if (!i.site || !i.from || i.site === i.from) problems.push(`site "${i.site}" and from "${i.from}" must be two different sites`);
  if (!i.promotion) problems.push("promotion is empty (expected e.g. \"mp1->mp2\")");
  const needs = [i.site, ...(i.mode === "fenced" ? [i.from] : []), ...(i.otherStandbys ?? [])];
  for (const s of needs) if (!i.access?.[s]) problems.push(`no access given for site ${s}`);
  const l = i.limits ?? ({} as ReplicationGateLimits);
  for (const k of ["catchUpTimeoutSeconds", "maxLostContactSeconds", "stopTimeoutSeconds"] as const) {
    if (typeof l[k] !== "number" || !(l[k] >= 0)) problems.push(`limits.${k} is ${JSON.stringify(l[k])}, expected a number >= 0`);
  }
  if (typeof l.acceptDataLoss !== "boolean") problems.push(`limits.acceptDataLoss is ${JSON.stringify(l.acceptDataLoss)}, expected true or false`);
  return problems;
}

type Clock = { now(): number; sleep(ms: number): Promise<void> };

/** Runs the gate; throws the refusal's message. Used by create/update, and callable directly in tests. */
export async function runReplicationGate(i: ReplicationGateInputs, io: GateIo = kubeGateIo, clock: Clock = realClock): Promise<ReplicationGateOutputs> {
  const problems = gateInputProblems(i);
  if (problems.length > 0) throw new Error(`ReplicationGate ${i.promotion}: ${problems.join("; ")}`);
  const postgres: PostgresPodOptions = { ...DEFAULT_POSTGRES_POD, ...(i.postgres ?? {}) };
  const db = (s: string): Promise<SiteDb> => io.db(s, i.access[s]!, postgres);
  const started = clock.now();
  const poll = Math.max(10, i.limits.pollIntervalMs ?? 1000);
  // Every standby is read at each step, in parallel: each read is an exec round trip.
  const [newActiveDb, ...dbs] = await Promise.all([db(i.site), ...i.otherStandbys.map((s) => db(s).catch((e: unknown) => ({ error: errorText(e) })))]);
  const otherDbs = new Map<string, SiteDb | { error: string }>(i.otherStandbys.map((s, n) => [s, dbs[n]!]));
  const standbys: Record<string, StandbyReport> = {};
  const probeOthers = async (): Promise<Record<string, ReplicationProbe>> => {
    const probes = await Promise.all([...otherDbs].map(async ([s, d]) => {
      try {
        if ("error" in d) throw new Error(d.error);
        return [s, await probeReplication(d)] as const;
      } catch (e) {
        return [s, { error: errorText(e) }] as const;
      }
    }));
    const out: Record<string, ReplicationProbe> = {};
    for (const [s, p] of probes) {
      if ("error" in p) standbys[s] = { reason: `not probed: ${p.error}`, error: p.error };
      else {
        out[s] = p;
        delete standbys[s];
      }
    }
    return out;
  };

  let [probe, others] = await Promise.all([probeReplication(newActiveDb), probeOthers()]);
  let message: string;
  let warning: string | undefined;
  let oldFinalLsn: string | undefined;
  let stop: PostgresStopReport | undefined;
  let contact: { fact?: string; ageSeconds?: number } = {};
  const refuse = (d: { verdict: string; reason: string }): void => {
    if (d.verdict === "refuse") throw new Error(d.reason);
  };
  if (i.mode === "fenced") {
    const unreachable = (e: unknown): never => {
      throw new Error(`${i.from} is marked fenced but its Postgres cannot be reached (${errorText(e)}). If ${i.from} is gone, set its state to lost.`);
    };
    const running = await io.pods(i.from, i.access[i.from]!, postgres).catch(unreachable);
    if (running.length > 0) {
      // Still running (a first run): bring the candidate up to the old primary's position, then stop it.
      const old = await primaryPosition(await db(i.from).catch(unreachable), i.from);
      refuse(aheadBeforeWaiting(i.site, probe, others));
      const deadline = started + i.limits.catchUpTimeoutSeconds * 1000;
      for (let n = 0; ; n++) {
        const d = fencedCatchUp(i.site, i.from, probe, old.lsn, old.timeline);
        if (d.verdict === "pass") break;
        refuse(d);
        if (clock.now() >= deadline || n > 100_000) {
          refuse(mostAdvancedCheck(i.site, probe, await probeOthers()));
          throw new Error(catchUpTimedOut(i.site, i.from, probe, old.lsn, Math.round((clock.now() - started) / 1000), old.timeline).reason);
        }
        await clock.sleep(Math.min(poll, Math.max(0, deadline - clock.now())));
        probe = await probeReplication(newActiveDb);
      }
      stop = await io.stop(i.from, i.access[i.from]!, postgres, i.limits.stopTimeoutSeconds * 1000, Math.min(poll, 1000));
      [probe, others] = await Promise.all([probeReplication(newActiveDb), probeOthers()]);
    }
    // The old primary is stopped: its shutdown checkpoint is the last record it ever wrote.
    const tailOf = async (s: string, d: SiteDb | { error: string } | undefined, p: ReplicationProbe): Promise<WalTail | { error: string }> =>
      d === undefined || "error" in d ? { error: d?.error ?? "no access" } : walTail(d, s, p).catch((e: unknown) => ({ error: errorText(e) }));
    const [mine, ...rest] = await Promise.all([tailOf(i.site, newActiveDb, probe), ...Object.entries(others).map(([s, p]) => tailOf(s, otherDbs.get(s), p))]);
    const tails = Object.fromEntries(Object.keys(others).map((s, n) => [s, rest[n]!]));
    const final = oldPrimaryFinal(i.site, i.from, mine, tails);
    refuse(final);
    if ("lastLsn" in mine) oldFinalLsn = mine.lastLsn;
    refuse(mostAdvancedCheck(i.site, probe, others));
    message = `${final.reason}${stop ? `; ${i.from}'s database stopped in ${stop.seconds} s (StatefulSets ${stop.statefulSets.join(", ") || "none"})` : ""}`;
  } else {
    // Not overridable by acceptDataLoss: the loss is avoidable by promoting the more advanced standby.
    refuse(mostAdvancedCheck(i.site, probe, others));
    const d = lostStaleness(i.site, i.from, probe, i.limits.maxLostContactSeconds, i.limits.acceptDataLoss, i.activeTimeline);
    refuse(d);
    message = d.reason;
    warning = d.warning;
    contact = { ...(d.fact ? { fact: d.fact } : {}), ...(d.ageSeconds !== undefined ? { ageSeconds: d.ageSeconds } : {}) };
  }

  // d) Which standbys can follow the new active: its history once promoted at the end of what it holds.
  const expectedSwitchPoint = standbyPosition(probe);
  const tl = siteTimeline(probe);
  const future = expectedSwitchPoint === undefined || tl === undefined ? undefined
    : afterPromotion(await readTimelineHistory(newActiveDb, i.site, tl), expectedSwitchPoint);
  for (const [s, p] of Object.entries(others)) {
    const position = standbyPosition(p);
    const at = { ...(position ? { position } : {}), ...(siteTimeline(p) !== undefined ? { timeline: siteTimeline(p)! } : {}) };
    if (!future) {
      standbys[s] = { ...at, reason: "no switch point to compare with" };
      continue;
    }
    const f = followCheck(s, i.site, p, future);
    standbys[s] = { ...at, follow: f.action, reason: f.reason };
  }
  return {
    promotion: i.promotion,
    site: i.site,
    from: i.from,
    mode: i.mode,
    verdict: warning ? "pass-with-warning" : "pass",
    message,
    ...(warning ? { warning } : {}),
    newActive: probe,
    ...(oldFinalLsn ? { oldFinalLsn } : {}),
    ...(stop ? { stop } : {}),
    ...(contact.fact ? { lastContactFact: contact.fact } : {}),
    ...(contact.ageSeconds !== undefined ? { lastContactAgeSeconds: Math.round(contact.ageSeconds) } : {}),
    ...(expectedSwitchPoint ? { expectedSwitchPoint } : {}),
    waitedSeconds: Math.round((clock.now() - started) / 100) / 10,
    standbys,
    checkedAt: new Date(clock.now()).toISOString(),
  };
}

const realClock = {
  now: (): number => Date.now(),
  sleep: (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms)),
};

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Inputs that start a new gate run; everything else (access, limits) does not re-run a passed gate. */
const RUN_KEYS = ["promotion", "site", "from", "mode"] as const;

export class ReplicationGateProvider implements pulumi.dynamic.ResourceProvider<ReplicationGateInputs, ReplicationGateOutputs> {
  /** `io`: how to reach the sites (default: their Kubernetes APIs). Plain functions only (it is serialized). */
  constructor(private readonly io: GateIo = kubeGateIo) {}

  check(_olds: ReplicationGateInputs, news: ReplicationGateInputs): Promise<pulumi.dynamic.CheckResult<ReplicationGateInputs>> {
    const problems = gateInputProblems(news);
    return Promise.resolve(problems.length === 0 ? { inputs: news } : { inputs: news, failures: problems.map((reason) => ({ property: "", reason })) });
  }

  async create(inputs: ReplicationGateInputs): Promise<pulumi.dynamic.CreateResult<ReplicationGateOutputs>> {
    const outs = await runReplicationGate(inputs, this.io);
    return { id: inputs.promotion, outs };
  }

  diff(_id: string, olds: ReplicationGateOutputs, news: ReplicationGateInputs): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve({ changes: RUN_KEYS.some((k) => olds[k] !== news[k]) });
  }

  async update(_id: string, _olds: ReplicationGateOutputs, news: ReplicationGateInputs): Promise<pulumi.dynamic.UpdateResult<ReplicationGateOutputs>> {
    return { outs: await runReplicationGate(news, this.io) };
  }

  /** refresh keeps what the gate measured at the time (re-probing would describe a later state). */
  read(id: string, props?: ReplicationGateOutputs): Promise<pulumi.dynamic.ReadResult<ReplicationGateOutputs>> {
    return Promise.resolve(props ? { id, props } : { id });
  }

  delete(): Promise<void> {
    return Promise.resolve();
  }
}

type Inputify<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export type ReplicationGateArgs = Inputify<ReplicationGateInputs>;

/** Gate resource. Make the promotion depend on it, and it on the fence (`dependsOn`). */
export class ReplicationGate extends pulumi.dynamic.Resource {
  declare public readonly verdict: pulumi.Output<"pass" | "pass-with-warning">;
  declare public readonly message: pulumi.Output<string>;
  declare public readonly warning: pulumi.Output<string | undefined>;
  declare public readonly newActive: pulumi.Output<ReplicationProbe>;
  declare public readonly oldFinalLsn: pulumi.Output<string | undefined>;
  declare public readonly stop: pulumi.Output<PostgresStopReport | undefined>;
  declare public readonly lastContactFact: pulumi.Output<string | undefined>;
  declare public readonly lastContactAgeSeconds: pulumi.Output<number | undefined>;
  declare public readonly expectedSwitchPoint: pulumi.Output<string | undefined>;
  declare public readonly waitedSeconds: pulumi.Output<number>;
  declare public readonly standbys: pulumi.Output<Record<string, StandbyReport>>;
  declare public readonly checkedAt: pulumi.Output<string>;

  constructor(name: string, args: ReplicationGateArgs, opts?: pulumi.CustomResourceOptions, provider: ReplicationGateProvider = new ReplicationGateProvider()) {
    super(
      provider,
      name,
      {
        ...args,
        verdict: undefined,
        message: undefined,
        warning: undefined,
        newActive: undefined,
        oldFinalLsn: undefined,
        stop: undefined,
        lastContactFact: undefined,
        lastContactAgeSeconds: undefined,
        expectedSwitchPoint: undefined,
        waitedSeconds: undefined,
        standbys: undefined,
        checkedAt: undefined,
      },
      opts,
      // Type token pulumi-nodejs:dynamic/tsb-ha:ReplicationGate (dynamic resources keep the pulumi-nodejs package).
      "tsb-ha",
      "ReplicationGate",
    );
  }
}
