// After a failover, each other standby must be proven to follow the new active (design.md, failover;
// docs/replication.md "Standbys that follow"): its walreceiver streams from the new active's
// endpoint, on the new timeline, past the switch point, within `timeoutSeconds`, or the update stops
// with the site's positions, timelines and its rebuild command.
//
// Why the program re-points the standby itself: TSB's kubegres fork carries a standby's endpoint only
// in the Postgres StatefulSet's init container (PRIMARY_HOST_NAME), and its init script uses it only
// for the first base backup into an empty data directory; a pod that restarts keeps the
// primary_conninfo written then (kubegres-fork.md, sections 3-4). So after the release moves the
// endpoint, a standby's Postgres still follows the OLD active (stopped by the gate). The proof sets
// the new host in primary_conninfo (everything else kept; lib/gates/replicationProbe.ts repointScript),
// which PG 15 applies on reload and which survives the pod's restarts.
//
// Lifecycle: a dynamic resource `<site>-follows` keyed by the promotion, as the gates are: created
// (or updated) when a failover's promotion appears, it runs once; a later `pulumi up` with the same
// promotion changes and reads nothing; preview does not run it; delete and refresh touch nothing.
import * as pulumi from "@pulumi/pulumi";
import { followProof, followRefused, followTimedOut, type FollowState, type FollowTarget } from "../lib/gates/replicationFollow";
import { primaryHistory, probeReplication, repointStandby } from "../lib/gates/replicationProbe";
import type { SiteDb } from "../lib/clients/sqlTransport";
import { DEFAULT_POSTGRES_POD, podExecTransport, podExecTransports, type PostgresPodOptions } from "../lib/clients/podExec";
import type { SiteDbAccess } from "./replicationGate";

export interface StandbyFollowInputs {
  /** "mp1->mp2": the proof runs once per value. */
  promotion: string;
  /** The standby to prove. */
  site: string;
  newActive: string;
  /** The host its walreceiver must stream from: the new active's synchronization endpoint. */
  upstreamHost: string;
  access: { site: SiteDbAccess; newActive: SiteDbAccess };
  /** The site's rebuild generation (the message gives the next one). */
  rebuild: number;
  timeoutSeconds: number;
  pollIntervalMs?: number;
  postgres?: Partial<PostgresPodOptions>;
}

export interface StandbyFollowOutputs {
  promotion: string;
  site: string;
  newActive: string;
  upstreamHost: string;
  /** The new active's timeline and the switch point the standby passed. */
  timeline: number;
  switchPoint: string;
  /** Per Postgres pod: what the proof saw when it passed. */
  pods: Record<string, string>;
  /** Pods whose primary_conninfo the proof set. */
  repointed: string[];
  seconds: number;
  checkedAt: string;
}

/** How the proof reaches the sites: every Postgres pod of the standby, the new active's database. */
export interface FollowIo {
  dbs(site: string, access: SiteDbAccess, postgres: PostgresPodOptions): Promise<SiteDb[]>;
  db(site: string, access: SiteDbAccess, postgres: PostgresPodOptions): Promise<SiteDb>;
}

export const kubeFollowIo: FollowIo = {
  dbs: (site, access, postgres) => podExecTransports(access, site, postgres),
  db: (site, access, postgres) => podExecTransport(access, site, postgres),
};

type Clock = { now(): number; sleep(ms: number): Promise<void> };
const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function runStandbyFollow(i: StandbyFollowInputs, io: FollowIo = kubeFollowIo, clock: Clock = realClock): Promise<StandbyFollowOutputs> {
  const postgres: PostgresPodOptions = { ...DEFAULT_POSTGRES_POD, ...(i.postgres ?? {}) };
  const started = clock.now();
  const deadline = started + i.timeoutSeconds * 1000;
  const poll = Math.max(10, i.pollIntervalMs ?? 2000);
  const seconds = (): number => Math.round((clock.now() - started) / 100) / 10;
  const history = await primaryHistory(await io.db(i.newActive, i.access.newActive, postgres), i.newActive);
  const target: FollowTarget = { upstreamHost: i.upstreamHost, history };
  const repointed = new Set<string>();
  let states: Record<string, FollowState> = {};
  for (let n = 0; n < 100_000; n++) {
    states = {};
    let following = 0;
    const dbs = await io.dbs(i.site, i.access.site, postgres).catch((e: unknown) => {
      states[`${i.site} pods`] = { error: errorText(e) };
      return [];
    });
    for (const db of dbs) {
      const probe = await probeReplication(db).catch((e: unknown) => ({ error: errorText(e) }));
      if ("error" in probe) {
        states[db.where] = probe;
        continue;
      }
      const decision = followProof(i.site, i.newActive, probe, target);
      if (decision.verdict === "refuse") throw new Error(followRefused(i.site, i.newActive, db.where, decision, i.rebuild));
      states[db.where] = { probe, decision };
      if (decision.verdict === "pass") following++;
      else if (!repointed.has(db.where)) {
        try {
          await repointStandby(db, i.site, i.upstreamHost);
          repointed.add(db.where);
        } catch (e) {
          states[db.where] = { error: errorText(e) };
        }
      }
    }
    if (dbs.length > 0 && following === dbs.length) {
      return {
        promotion: i.promotion, site: i.site, newActive: i.newActive, upstreamHost: i.upstreamHost,
        timeline: history.timeline, switchPoint: history.forks.at(-1)?.at ?? "",
        pods: Object.fromEntries(Object.entries(states).map(([w, s]) => [w, "decision" in s ? s.decision.reason : s.error])),
        repointed: [...repointed], seconds: seconds(), checkedAt: new Date(clock.now()).toISOString(),
      };
    }
    if (clock.now() >= deadline) break;
    await clock.sleep(Math.min(poll, Math.max(0, deadline - clock.now())));
  }
  throw new Error(followTimedOut(i.site, i.newActive, target, states, Math.round(seconds()), i.rebuild));
}

/** Inputs that start a new proof; access, limits and the generation do not re-run a passed one. */
const RUN_KEYS = ["promotion", "site", "newActive", "upstreamHost"] as const;

export class StandbyFollowProvider implements pulumi.dynamic.ResourceProvider<StandbyFollowInputs, StandbyFollowOutputs> {
  constructor(private readonly io: FollowIo = kubeFollowIo) {}

  async create(inputs: StandbyFollowInputs): Promise<pulumi.dynamic.CreateResult<StandbyFollowOutputs>> {
    return { id: `${inputs.site}:${inputs.promotion}`, outs: await runStandbyFollow(inputs, this.io) };
  }

  diff(_id: string, olds: StandbyFollowOutputs, news: StandbyFollowInputs): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve({ changes: RUN_KEYS.some((k) => olds[k] !== news[k]) });
  }

  async update(_id: string, _olds: StandbyFollowOutputs, news: StandbyFollowInputs): Promise<pulumi.dynamic.UpdateResult<StandbyFollowOutputs>> {
    return { outs: await runStandbyFollow(news, this.io) };
  }

  /** refresh keeps what the proof saw at the time. */
  read(id: string, props?: StandbyFollowOutputs): Promise<pulumi.dynamic.ReadResult<StandbyFollowOutputs>> {
    return Promise.resolve(props ? { id, props } : { id });
  }

  delete(): Promise<void> {
    return Promise.resolve();
  }
}

type Inputify<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class StandbyFollow extends pulumi.dynamic.Resource {
  declare public readonly timeline: pulumi.Output<number>;
  declare public readonly switchPoint: pulumi.Output<string>;
  declare public readonly pods: pulumi.Output<Record<string, string>>;
  declare public readonly repointed: pulumi.Output<string[]>;
  declare public readonly seconds: pulumi.Output<number>;

  constructor(name: string, args: Inputify<StandbyFollowInputs>, opts?: pulumi.CustomResourceOptions, provider: StandbyFollowProvider = new StandbyFollowProvider()) {
    super(provider, name, { ...args, timeline: undefined, switchPoint: undefined, pods: undefined, repointed: undefined, seconds: undefined, checkedAt: undefined }, opts, "tsb-ha", "StandbyFollow");
  }
}
