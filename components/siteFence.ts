// Failover steps 1 and 5 on the old active: fence (operator, `tsb`, `iam` to 0 replicas) and cut
// (`envoy` to 0 once the floating name points elsewhere). Server-side apply patches, so the release
// values stay exactly as they were.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CUT_DEPLOYMENTS, FENCE_DEPLOYMENTS, OPERATOR_DEPLOYMENT, TSB_NAMESPACE } from "../lib/config/names";
import { COMPONENT_TYPE, FENCED_ANNOTATION, PATCH_FORCE_ANNOTATION, fencePatchName } from "../lib/plan/resourceNames";

export interface SiteFenceArgs {
  site: string;
  provider: k8s.Provider;
  /** Bound on each patch's await (tsb.fenceTimeoutSeconds; lib/plan/oldActiveLimits.ts). */
  customTimeouts?: pulumi.CustomTimeouts;
  /** Resolves once the failover preflight passed; every patch carries it, so a failed preflight fences nothing. */
  preflight: pulumi.Output<string>;
}

export class SiteFence extends pulumi.ComponentResource {
  /** The operator first, then `tsb` and `iam`. */
  public readonly patches: k8s.apps.v1.DeploymentPatch[];
  public readonly site: string;
  private readonly args: SiteFenceArgs;

  constructor(name: string, args: SiteFenceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPE.siteFence, name, { site: args.site }, opts);
    this.args = args;
    this.site = args.site;
    // The operator reconciles deployments and would undo a scale-down it did not make: stop it first.
    const operator = this.scaleToZero(OPERATOR_DEPLOYMENT, []);
    this.patches = [operator, ...FENCE_DEPLOYMENTS.map((d) => this.scaleToZero(d, [operator]))];
    this.registerOutputs({ site: args.site });
  }

  /** Step 5: the old front proxy to 0, after `after` (the floating record has moved and propagated). */
  public cutFrontProxy(after: pulumi.Resource[]): k8s.apps.v1.DeploymentPatch[] {
    return CUT_DEPLOYMENTS.map((d) => this.scaleToZero(d, [...this.patches, ...after]));
  }

  private scaleToZero(deployment: string, dependsOn: pulumi.Resource[]): k8s.apps.v1.DeploymentPatch {
    return new k8s.apps.v1.DeploymentPatch(fencePatchName(this.args.site, deployment), {
      metadata: {
        name: deployment,
        namespace: TSB_NAMESPACE,
        annotations: {
          // Take `replicas` from helm and the operator, whose field managers own it.
          [PATCH_FORCE_ANNOTATION]: "true",
          [FENCED_ANNOTATION]: this.args.preflight.apply(() => "true"),
        },
      },
      spec: { replicas: 0 },
    }, { parent: this, provider: this.args.provider, retainOnDelete: true, dependsOn, ...(this.args.customTimeouts ? { customTimeouts: this.args.customTimeouts } : {}) });
  }
}
