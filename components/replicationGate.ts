// Failover step 1b: the replication gate, as a Pulumi dynamic resource that runs once per promotion.
// The decisions are lib/replication.ts; the SQL is lib/replicationProbe.ts; in production each probe
// is `psql` exec'd in the site's Postgres pod (lib/podExec.ts).
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
// - delete: nothing to undo (the gate only reads).
//
// Wire rules (test/harness/dynamicProvider.ts): the provider runs in another process from a
// serialized closure, so client libraries are required inside functions; secret inputs (kubeconfig
// contents) arrive plain and are never returned as outputs or printed.
import * as pulumi from "@pulumi/pulumi";
import {
  catchUpTimedOut,
  fencedCatchUp,
  followCheck,
  lostStaleness,
  mostAdvancedCheck,
  standbyPosition,
  type ReplicationProbe,
} from "../lib/replication";
import { finalWalPosition, probeReplication, type SqlTransport } from "../lib/replicationProbe";
import { DEFAULT_POSTGRES_POD, podExecTransport, type PostgresPodOptions } from "../lib/podExec";

/** How the gate reaches one site's Postgres. */
export interface SiteDbAccess {
  /** Kubeconfig path or contents (secret when contents); unset: the ambient kubeconfig. */
  kubeconfig?: string;
  context?: string;
  /** Tests only: a direct connection; needs a provider built with a transport factory that accepts it. */
  direct?: { host: string; port: number; user: string; database: string };
}

export interface ReplicationGateLimits {
  /** tsb-ha:replication.catchUpTimeoutSeconds (default 120): bound of the fenced wait. */
  catchUpTimeoutSeconds: number;
  /** tsb-ha:replication.maxLostContactSeconds (default 300; keep above the ~30 s idle keepalive). */
  maxLostContactSeconds: number;
  /** tsb-ha:replication.acceptDataLoss (default false): a lost-site refusal becomes a pass with a warning. */
  acceptDataLoss: boolean;
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
  /** Where Postgres runs in each site's cluster (defaults: DEFAULT_POSTGRES_POD; each a [guess] but the selector). */
  postgres?: Partial<PostgresPodOptions>;
}

export interface StandbyReport {
  /** GREATEST(receive, replay), or absent. */
  position?: string;
  /** "repoint": can follow the new active; "rebuild": holds WAL past the switch point. */
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
  /** Fenced: the old active's final WAL position (the expected switch point). */
  oldFinalLsn?: string;
  /** Lost: which fact gave the last contact, and its age. */
  lastContactFact?: string;
  lastContactAgeSeconds?: number;
  /** Predicted switch point: fenced = oldFinalLsn; lost = the new active's GREATEST(receive, replay). */
  expectedSwitchPoint?: string;
  waitedSeconds: number;
  standbys: Record<string, StandbyReport>;
  checkedAt: string;
}

/** Builds a SqlTransport for one site. Production: psql through pod exec. */
export type TransportFactory = (site: string, access: SiteDbAccess, postgres: PostgresPodOptions) => Promise<SqlTransport>;

export const execTransportFactory: TransportFactory = async (site, access, postgres) => {
  if (access.direct) throw new Error(`site ${site}: a direct database connection is for tests only; production reaches Postgres through pod exec`);
  return podExecTransport({ ...(access.kubeconfig ? { kubeconfig: access.kubeconfig } : {}), ...(access.context ? { context: access.context } : {}) }, site, postgres);
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
  for (const k of ["catchUpTimeoutSeconds", "maxLostContactSeconds"] as const) {
    if (typeof l[k] !== "number" || !(l[k] >= 0)) problems.push(`limits.${k} is ${JSON.stringify(l[k])}, expected a number >= 0`);
  }
  if (typeof l.acceptDataLoss !== "boolean") problems.push(`limits.acceptDataLoss is ${JSON.stringify(l.acceptDataLoss)}, expected true or false`);
  return problems;
}

/** Runs the gate; throws the refusal's message. Used by create/update, and callable directly in tests. */
export async function runReplicationGate(i: ReplicationGateInputs, factory: TransportFactory, clock: { now(): number; sleep(ms: number): Promise<void> } = realClock): Promise<ReplicationGateOutputs> {
  const problems = gateInputProblems(i);
  if (problems.length > 0) throw new Error(`ReplicationGate ${i.promotion}: ${problems.join("; ")}`);
  const postgres: PostgresPodOptions = { ...DEFAULT_POSTGRES_POD, ...(i.postgres ?? {}) };
  const transport = (s: string): Promise<SqlTransport> => factory(s, i.access[s]!, postgres);
  const started = clock.now();
  const newActiveDb = await transport(i.site);

  let probe = await probeReplication(newActiveDb);
  let oldFinalLsn: string | undefined;
  let warning: string | undefined;
  let message: string;
  let contact: { fact?: string; ageSeconds?: number } = {};
  if (i.mode === "fenced") {
    const oldDb = await transport(i.from).catch((e: unknown) => {
      throw new Error(`${i.from} is marked fenced but its Postgres cannot be reached (${errorText(e)}). If ${i.from} is gone, set its state to lost.`);
    });
    const finalLsn = await finalWalPosition(oldDb, i.from);
    oldFinalLsn = finalLsn;
    const deadline = started + i.limits.catchUpTimeoutSeconds * 1000;
    const poll = Math.max(10, i.limits.pollIntervalMs ?? 1000);
    // Bounded in time and in count.
    for (let n = 0; ; n++) {
      const d = fencedCatchUp(i.site, i.from, probe, finalLsn);
      if (d.verdict === "pass") {
        message = d.reason;
        break;
      }
      if (d.verdict === "refuse") throw new Error(d.reason);
      if (clock.now() >= deadline || n > 100_000) {
        throw new Error(catchUpTimedOut(i.site, i.from, probe, finalLsn, Math.round((clock.now() - started) / 1000)).reason);
      }
      await clock.sleep(Math.min(poll, Math.max(0, deadline - clock.now())));
      probe = await probeReplication(newActiveDb);
    }
  } else {
    const d = lostStaleness(i.site, i.from, probe, i.limits.maxLostContactSeconds, i.limits.acceptDataLoss);
    if (d.verdict !== "pass") throw new Error(d.reason);
    message = d.reason;
    warning = d.warning;
    contact = { ...(d.fact ? { fact: d.fact } : {}), ...(d.ageSeconds !== undefined ? { ageSeconds: d.ageSeconds } : {}) };
  }

  // c) no other standby holds more; d) predict which standbys can follow the new active.
  const others: Record<string, ReplicationProbe> = {};
  const standbys: Record<string, StandbyReport> = {};
  for (const s of i.otherStandbys) {
    try {
      others[s] = await probeReplication(await transport(s));
    } catch (e) {
      standbys[s] = { reason: `not probed: ${errorText(e)}`, error: errorText(e) };
    }
  }
  const advanced = mostAdvancedCheck(i.site, probe, others);
  // Not overridable by acceptDataLoss: the loss is avoidable by promoting the more advanced standby.
  if (advanced.verdict !== "pass") throw new Error(advanced.reason);
  const expectedSwitchPoint = oldFinalLsn ?? standbyPosition(probe);
  for (const [s, p] of Object.entries(others)) {
    const position = standbyPosition(p);
    if (expectedSwitchPoint === undefined) {
      standbys[s] = { ...(position ? { position } : {}), reason: "no switch point to compare with" };
      continue;
    }
    const f = followCheck(s, i.site, p, expectedSwitchPoint);
    standbys[s] = { ...(position ? { position } : {}), follow: f.action, reason: f.reason };
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
  /** `factory`: how to reach a site's Postgres (default: psql through pod exec). Must be a plain function (it is serialized). */
  constructor(private readonly factory: TransportFactory = execTransportFactory) {}

  check(_olds: ReplicationGateInputs, news: ReplicationGateInputs): Promise<pulumi.dynamic.CheckResult<ReplicationGateInputs>> {
    const problems = gateInputProblems(news);
    return Promise.resolve(problems.length === 0 ? { inputs: news } : { inputs: news, failures: problems.map((reason) => ({ property: "", reason })) });
  }

  async create(inputs: ReplicationGateInputs): Promise<pulumi.dynamic.CreateResult<ReplicationGateOutputs>> {
    const outs = await runReplicationGate(inputs, this.factory);
    return { id: inputs.promotion, outs };
  }

  diff(_id: string, olds: ReplicationGateOutputs, news: ReplicationGateInputs): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve({ changes: RUN_KEYS.some((k) => olds[k] !== news[k]) });
  }

  async update(_id: string, _olds: ReplicationGateOutputs, news: ReplicationGateInputs): Promise<pulumi.dynamic.UpdateResult<ReplicationGateOutputs>> {
    return { outs: await runReplicationGate(news, this.factory) };
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
