// Failover step 3 (issue 8 item 2): proof that the promotion took effect before anything moves to
// the new active. Two dynamic resources on the promoted site:
//   `${site}-tsb-baseline`  reads deployment `tsb` BEFORE the promotion (absent is fine);
//   `${site}-tsb-ready`     after the promoted release, polls until lib/gates/readyGate.ts says pass, or
//                           fails after `timeoutSeconds` naming the site, what it saw last and what
//                           to check.
//
// Why a dynamic resource that polls the API, not a DeploymentPatch and its await (read in
// pulumi/pulumi-kubernetes, provider/pkg/await/await.go, await/deployment.go,
// provider/pkg/metadata/overrides.go, provider/pkg/provider/provider.go):
// - A Patch resource's Create is one server-side apply (await.go `Creation`: `client.Patch(...,
//   types.ApplyPatchType, ...)`), retried only on NotFound/NoMatch. Server-side apply creates a
//   missing object, and an annotation-only Deployment lacks `spec.selector`/`template`: the API
//   server rejects it (422 Invalid), after the fence and the promotion. The seed's standby runs "a
//   limited set of services", so `tsb` may well be missing right after `helm upgrade` returns.
// - The await then runs once, from the object as it was when the patch landed: deployment.go
//   passes when `Available=True` and the ReplicaSet has `readyReplicas >= spec.replicas`, and
//   `specReplicas == 0` counts as done ("Replicas scaled to 0"). A `tsb` already running, or at 0,
//   on the standby passes at once, before the operator has reacted to the promotion.
// - `pulumi.com/waitFor` (overrides.go `ReadyCondition`: a JSONPath or condition on the same
//   object) and `pulumi.com/skipAwait` change what is awaited, not when: still one apply to an
//   object that must exist, and no way to say "changed since before the promotion".
// - A Patch whose inputs do not change is not updated again, so a second failover to the same
//   site would not wait at all.
// Here the baseline is taken before the promotion (the release depends on it), the gate tolerates
// `tsb` appearing late, never passes on the baseline's object, bounds every API call
// (lib/clients/kubeRead.ts) and the whole wait, and both are replaced when `promotion` changes, so every
// failover runs them again.
//
// What a preview shows: the engine does not call Create of a dynamic provider in a preview
// (pulumi/pulumi pkg/resource/plugin/provider_plugin.go, Create: a provider whose Configure did not
// announce `supportsPreview` is not called in a preview; @pulumi/pulumi
// cmd/dynamic-provider/index.js `configure` announces only acceptSecrets=false), so a failover's
// preview lists both as `create`, or `replace` (diff: `promotion` changed), with unknown outputs,
// and touches no cluster. The next
// `pulumi up` with the same promotion: diff says no change, nothing is read, and `read` (refresh)
// returns the saved state without a call (a proof of the past cannot be re-read, and a later
// `lost` site must not break a refresh).
import * as pulumi from "@pulumi/pulumi";
import { baselineName, readyGateName } from "../lib/plan/resourceNames";
import { plainKubeAccess, sleep } from "../lib/clients/kubeAccess";
import { kubeGet, kubePaths, pollObject } from "../lib/clients/kubeRead";
import { baselineOf, describeBaseline, observeDeployment, readyGateDecision, readyGateTimeoutMessage, type DeploymentBaseline, type DeploymentObservation } from "../lib/gates/readyGate";
import { READY_DEPLOYMENT, TSB_NAMESPACE } from "../lib/config/names";

/** A site's cluster, as its k8s.Provider gets it. The kubeconfig is kept as a secret. */
export interface ClusterAccessArgs {
  /** Path or contents; unset: the ambient kubeconfig of the process running `pulumi`. */
  kubeconfig?: pulumi.Input<string>;
  context?: string;
}

export const DEFAULT_POLL_SECONDS = 5;
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 15;

/** Inputs as the provider receives them (also its saved state, with the results added). */
export interface BaselineInputs {
  site: string;
  promotion: string;
  kubeconfig?: string;
  context?: string;
  namespace: string;
  deployment: string;
  requestTimeoutSeconds: number;
}

export interface GateInputs extends BaselineInputs {
  baseline: DeploymentBaseline;
  timeoutSeconds: number;
  pollSeconds: number;
}

/** Inputs that identify the proof: a change is a new proof (replace). */
const IDENTITY = ["site", "promotion", "namespace", "deployment"] as const;
/** Inputs that only say how to reach or how long to wait: stored by an update, nothing re-read. */
const SETTINGS = ["kubeconfig", "context", "requestTimeoutSeconds", "timeoutSeconds", "pollSeconds"] as const;

function diffIdentity(olds: Record<string, unknown>, news: Record<string, unknown>): pulumi.dynamic.DiffResult {
  const replaces = IDENTITY.filter((k) => olds[k] !== news[k]);
  if (replaces.length > 0) return { changes: true, replaces: [...replaces] };
  return { changes: SETTINGS.some((k) => olds[k] !== news[k]) };
}

export const tsbBaselineProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: BaselineInputs): Promise<pulumi.dynamic.CreateResult> {
    const path = kubePaths.deployment(inputs.namespace, inputs.deployment);
    let lastError = "";
    // A few bounded tries: the site was just reachable for the preflight; a blip should not stop the failover.
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const r = await kubeGet(plainKubeAccess(inputs), inputs.site, path, inputs.requestTimeoutSeconds * 1000);
        const observed = baselineOf(r.found ? observeDeployment(r.object) : { exists: false });
        return { id: `${inputs.site}:${inputs.promotion}:baseline`, outs: { ...inputs, observed, seen: describeBaseline(observed) } };
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
        if (e instanceof Error && e.name === "KubeAccessDenied") break;
        if (attempt < 3) await sleep(2000);
      }
    }
    throw new Error(`site ${inputs.site}: could not read ${inputs.namespace}/${inputs.deployment} before the promotion (${inputs.promotion}), so the promotion was not sent: ${lastError}`);
  },
  diff(_id: string, olds: BaselineInputs, news: BaselineInputs): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve(diffIdentity(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>));
  },
  update(_id: string, olds: Record<string, unknown>, news: BaselineInputs): Promise<pulumi.dynamic.UpdateResult> {
    return Promise.resolve({ outs: { ...news, observed: olds["observed"], seen: olds["seen"] } });
  },
  read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
    return Promise.resolve({ id, props });
  },
  async delete(): Promise<void> {
    // Nothing on the cluster belongs to it.
  },
};

export const tsbReadyGateProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: GateInputs): Promise<pulumi.dynamic.CreateResult> {
    // Bounded: one read per pollSeconds until the deadline, each read within the time left.
    const r = await pollObject(plainKubeAccess(inputs), inputs.site, kubePaths.deployment(inputs.namespace, inputs.deployment), inputs, (object) => {
      const observation: DeploymentObservation = object === undefined ? { exists: false } : observeDeployment(object);
      const decision = readyGateDecision(inputs.baseline, observation);
      return { done: decision.pass, seen: decision.seen, value: observation };
    }, (message) => `site ${inputs.site}: the ready gate cannot read ${inputs.namespace}/${inputs.deployment}: ${message}`);
    if (r.done) {
      return { id: `${inputs.site}:${inputs.promotion}:ready`, outs: { ...inputs, seen: r.seen, observation: r.value, elapsedSeconds: r.elapsedSeconds, polls: r.polls } };
    }
    throw new Error(readyGateTimeoutMessage({ site: inputs.site, promotion: inputs.promotion, timeoutSeconds: inputs.timeoutSeconds, polls: r.polls, lastSeen: r.lastSeen, ...(inputs.context ? { context: inputs.context } : {}) }));
  },
  diff(_id: string, olds: GateInputs, news: GateInputs): Promise<pulumi.dynamic.DiffResult> {
    // `baseline` is not compared: it changes only with `promotion`, and in a preview it is unknown
    // whenever the baseline resource is updated (settings only), which would show a false replace.
    return Promise.resolve(diffIdentity(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>));
  },
  update(_id: string, olds: Record<string, unknown>, news: GateInputs): Promise<pulumi.dynamic.UpdateResult> {
    return Promise.resolve({ outs: { ...news, baseline: olds["baseline"], seen: olds["seen"], observation: olds["observation"], elapsedSeconds: olds["elapsedSeconds"], polls: olds["polls"] } });
  },
  read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
    return Promise.resolve({ id, props });
  },
  async delete(): Promise<void> {
    // Nothing on the cluster belongs to it.
  },
};

export interface TsbBaselineArgs {
  /** The site being promoted. */
  site: string;
  /** Names the failover, e.g. "mp1->mp2"; a new value takes a new baseline. */
  promotion: pulumi.Input<string>;
  access: ClusterAccessArgs;
  requestTimeoutSeconds?: number;
}

/** `${site}-tsb-baseline`: deployment `tsb` as it was before the promotion. */
export class TsbBaseline extends pulumi.dynamic.Resource {
  /** {exists, uid?, generation?, specReplicas?}: pass it to TsbReadyGate's `baseline`. */
  declare public readonly observed: pulumi.Output<DeploymentBaseline>;
  /** One line for the update's log. */
  declare public readonly seen: pulumi.Output<string>;

  constructor(args: TsbBaselineArgs, opts?: pulumi.CustomResourceOptions) {
    super(tsbBaselineProvider, baselineName(args.site), {
      ...commonInputs(args.site, args.promotion, args.access, args.requestTimeoutSeconds),
      observed: undefined,
      seen: undefined,
    }, secretKubeconfig(opts), "tsb-ha", "TsbBaseline");
  }
}

export interface TsbReadyGateArgs extends TsbBaselineArgs {
  /** TsbBaseline.observed of the same promotion. */
  baseline: pulumi.Input<DeploymentBaseline>;
  /** tsb.readyTimeoutSeconds. */
  timeoutSeconds: number;
  pollSeconds?: number;
}

/** `${site}-tsb-ready`: passes once `tsb` has a ready pod of its current revision, changed since the baseline. */
export class TsbReadyGate extends pulumi.dynamic.Resource {
  /** What the passing read saw, for the update's log. */
  declare public readonly seen: pulumi.Output<string>;
  declare public readonly elapsedSeconds: pulumi.Output<number>;
  declare public readonly polls: pulumi.Output<number>;
  declare public readonly observation: pulumi.Output<DeploymentObservation>;

  constructor(args: TsbReadyGateArgs, opts?: pulumi.CustomResourceOptions) {
    super(tsbReadyGateProvider, readyGateName(args.site), {
      ...commonInputs(args.site, args.promotion, args.access, args.requestTimeoutSeconds),
      baseline: args.baseline,
      timeoutSeconds: args.timeoutSeconds,
      pollSeconds: args.pollSeconds ?? DEFAULT_POLL_SECONDS,
      seen: undefined,
      elapsedSeconds: undefined,
      polls: undefined,
      observation: undefined,
    }, secretKubeconfig(opts), "tsb-ha", "TsbReadyGate");
  }
}

function commonInputs(site: string, promotion: pulumi.Input<string>, access: ClusterAccessArgs, requestTimeoutSeconds?: number): pulumi.Inputs {
  return {
    site,
    promotion,
    ...accessInputs(access),
    namespace: TSB_NAMESPACE,
    deployment: READY_DEPLOYMENT,
    requestTimeoutSeconds: requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS,
  };
}

/** A site's cluster access as dynamic-resource inputs: contents or a path, secret either way, so the state never shows contents in plain text. */
export function accessInputs(access: ClusterAccessArgs): pulumi.Inputs {
  return {
    ...(access.kubeconfig !== undefined ? { kubeconfig: pulumi.secret(access.kubeconfig) } : {}),
    ...(access.context ? { context: access.context } : {}),
  };
}

/** The engine re-marks `kubeconfig` as secret since its input is; listing it also covers a plain input. */
export function secretKubeconfig(opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions {
  return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "kubeconfig"] };
}
