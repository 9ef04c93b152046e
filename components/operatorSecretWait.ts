// Issue 19, section 2: wait (bounded) until TSB's operator has made a Secret the program reads
// (lib/gates/operatorSecret.ts says which and why), then hand the program its `namespace/name`, the ID its
// `Secret.get` read takes. A `.get()` of a missing object fails the update at once ("resource '<id>'
// does not exist": pulumi/pulumi pkg/resource/deploy/step.go ReadStep.Apply), so the read waits for this.
//
// `${site}-<secret>-made`. What the state holds: the Secret's data field names, never its data (the
// key is read through the site's k8s provider, as a Pulumi secret, on every update, so a rotated key
// reaches the copies as before); no secret flows through the provider process.
//
// Runs (the pattern of components/deploymentReadyGate.ts and frontEnvoyAddress.ts):
// - create polls once per `pollSeconds` until the Secret has data, each GET bounded, the whole wait
//   bounded by `timeoutSeconds`; refused credentials stop it at once; a timeout fails the update with
//   what to check (nothing that waits for it ran: no copy, no fence);
// - the next `pulumi up` with the same identity (site, namespace, secret, promotion): diff says no
//   change, nothing is read, and the ID is known, so the read runs in that preview too; a changed
//   setting (timeouts, kubeconfig) is an update that reads nothing; a new promotion is a replace;
// - refresh returns the saved state without a call (a lost site must not break a refresh);
// - preview: the engine does not call Create of a dynamic provider in a preview, so a new wait's ID is
//   unknown and the read after it is skipped: what depends on it shows as unknown;
// - delete: nothing on the cluster belongs to it (the site may be lost).
import * as pulumi from "@pulumi/pulumi";
import { plainKubeAccess } from "../lib/clients/kubeAccess";
import { kubePaths, pollObject } from "../lib/clients/kubeRead";
import { secretWaitTimeoutMessage, sightSecret } from "../lib/gates/operatorSecret";
import { operatorSecretWaitName } from "../lib/plan/resourceNames";
import { TSB_NAMESPACE } from "../lib/config/names";
import { DEFAULT_POLL_SECONDS, DEFAULT_REQUEST_TIMEOUT_SECONDS, accessInputs, secretKubeconfig, type ClusterAccessArgs } from "./deploymentReadyGate";

export interface SecretWaitInputs {
  site: string;
  kubeconfig?: string;
  context?: string;
  namespace: string;
  secret: string;
  /** The promotion it belongs to ("install", "mp1->mp2"): a new one waits again. */
  promotion: string;
  timeoutSeconds: number;
  pollSeconds: number;
  requestTimeoutSeconds: number;
}

const IDENTITY = ["site", "namespace", "secret", "promotion"] as const;
const SETTINGS = ["kubeconfig", "context", "timeoutSeconds", "pollSeconds", "requestTimeoutSeconds"] as const;

async function waitForSecret(inputs: SecretWaitInputs): Promise<Record<string, unknown>> {
  const ref = `${inputs.namespace}/${inputs.secret}`;
  const r = await pollObject(plainKubeAccess(inputs), inputs.site, kubePaths.secret(inputs.namespace, inputs.secret), inputs, (object) => {
    const s = sightSecret(object, ref);
    return { done: s.made, seen: s.seen, value: s.dataKeys };
  }, (message) => `site ${inputs.site}: cannot read Secret ${ref}: ${message}`);
  if (r.done) return { ...inputs, ref, dataKeys: r.value, seen: r.seen, polls: r.polls, elapsedSeconds: r.elapsedSeconds };
  throw new Error(secretWaitTimeoutMessage({
    site: inputs.site, namespace: inputs.namespace, secret: inputs.secret, promotion: inputs.promotion,
    timeoutSeconds: inputs.timeoutSeconds, polls: r.polls, lastSeen: r.lastSeen, ...(inputs.context ? { context: inputs.context } : {}),
  }));
}

export const operatorSecretWaitProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: SecretWaitInputs): Promise<pulumi.dynamic.CreateResult> {
    return { id: `${inputs.site}:${inputs.namespace}/${inputs.secret}:${inputs.promotion}`, outs: await waitForSecret(inputs) };
  },
  diff(_id: string, olds: SecretWaitInputs, news: SecretWaitInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = IDENTITY.filter((k) => olds[k] !== news[k]);
    if (replaces.length > 0) return Promise.resolve({ changes: true, replaces: [...replaces] });
    return Promise.resolve({ changes: SETTINGS.some((k) => olds[k] !== news[k]) });
  },
  update(_id: string, olds: Record<string, unknown>, news: SecretWaitInputs): Promise<pulumi.dynamic.UpdateResult> {
    return Promise.resolve({ outs: { ...news, ref: olds["ref"], dataKeys: olds["dataKeys"], seen: olds["seen"], polls: olds["polls"], elapsedSeconds: olds["elapsedSeconds"] } });
  },
  read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
    return Promise.resolve({ id, props });
  },
  async delete(): Promise<void> {
    // The Secret belongs to TSB's operator.
  },
};

export interface OperatorSecretWaitArgs {
  site: string;
  /** `iam-signing-key` or `tsb-iam-jwks` (lib/config/names.ts). */
  secret: string;
  promotion: string;
  access: ClusterAccessArgs;
  timeoutSeconds: number;
  pollSeconds?: number;
  requestTimeoutSeconds?: number;
}

/** `${site}-<secret>-made`: the Secret exists with data; `ref` is its `namespace/name`. */
export class OperatorSecretWait extends pulumi.dynamic.Resource {
  /** `namespace/name`: the ID for `Secret.get`, known once the Secret was seen. */
  declare public readonly ref: pulumi.Output<string>;
  declare public readonly dataKeys: pulumi.Output<string[]>;
  declare public readonly seen: pulumi.Output<string>;
  declare public readonly polls: pulumi.Output<number>;
  declare public readonly elapsedSeconds: pulumi.Output<number>;

  constructor(args: OperatorSecretWaitArgs, opts?: pulumi.CustomResourceOptions) {
    super(operatorSecretWaitProvider, operatorSecretWaitName(args.site, args.secret), {
      site: args.site,
      ...accessInputs(args.access),
      namespace: TSB_NAMESPACE,
      secret: args.secret,
      promotion: args.promotion,
      timeoutSeconds: args.timeoutSeconds,
      pollSeconds: args.pollSeconds ?? DEFAULT_POLL_SECONDS,
      requestTimeoutSeconds: args.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS,
      ref: undefined,
      dataKeys: undefined,
      seen: undefined,
      polls: undefined,
      elapsedSeconds: undefined,
    }, secretKubeconfig({ ...opts, ignoreChanges: [...(opts?.ignoreChanges ?? []), "kubeconfig", "context"] }), "tsb-ha", "OperatorSecretWait");
  }
}
