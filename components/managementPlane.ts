// One site of the set: namespace `tsb`, the copied secrets a standby needs, the `managementplane`
// helm release and, on the active, the ready gate of a failover.
// Every child is named after the site; a role change only changes inputs, never a name.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { SetConfig } from "../lib/config";
import type { SitePlan } from "../lib/topology";
import { managementPlaneValues } from "../lib/values";
import { ANNOTATION_PREFIX, READY_DEPLOYMENT, RELEASE_NAME, SIGNING_KEY_SECRET, STANDBY_SA_SECRET, TSB_NAMESPACE } from "../lib/names";
import type { SiteCerts } from "./pki";

export interface ManagementPlaneArgs {
  site: SitePlan;
  tsb: SetConfig["tsb"];
  provider: k8s.Provider;
  certs: SiteCerts;
  rootCaCertPem: pulumi.Input<string>;
  adminPassword: pulumi.Input<string>;
  /** `data` and `type` of the active's `iam-signing-key` (base64 values), when this site holds a copy. */
  signingKey?: pulumi.Output<{ data: Record<string, string>; type: string }>;
  /** The standby service account's private JWK (JSON), for a standby. */
  standbyJwk?: pulumi.Output<string>;
  /** What the release waits for: the old active's fence before a promotion, the active's ready gate for a standby. */
  releaseDependsOn?: pulumi.Resource[];
  /**
   * Resolves once the failover preflight passed (or at once when there is no failover). The release
   * carries it as an input, so a failed preflight stops a promotion before it is sent.
   */
  preflight: pulumi.Output<string>;
}

export class ManagementPlane extends pulumi.ComponentResource {
  public readonly release?: k8s.helm.v3.Release;
  /** Present on the active site: waits until deployment `tsb` is Available. */
  public readonly readyGate?: k8s.apps.v1.DeploymentPatch;
  private readonly site: SitePlan;
  private readonly provider: k8s.Provider;

  constructor(name: string, args: ManagementPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    // The role is recorded on the component (policies read it); it changes no child's name.
    const identity = { site: args.site.name, role: args.site.role, fqdn: args.site.fqdn };
    super("tsb-ha:index:ManagementPlane", name, identity, opts);
    const { site, provider } = args;
    this.site = site;
    this.provider = provider;
    // Nothing here ever deletes an object from a cluster: a resource that leaves the program (a lost
    // site) leaves the state only. A rebuild replaces on purpose, after the runbook's clean-up.
    const keep = { parent: this, provider, retainOnDelete: true, replacementTrigger: site.rebuild, deleteBeforeReplace: true };

    if (!site.managed) throw new pulumi.ResourceError(`site ${site.name} is not managed by this stack`, this);

    const namespace = new k8s.core.v1.Namespace(`${site.name}-namespace`, {
      metadata: { name: TSB_NAMESPACE, labels: { "app.kubernetes.io/managed-by": "tsb-ha" } },
    }, keep);
    const ns = namespace.metadata.name;
    const prerequisites: pulumi.Resource[] = [namespace];

    if (site.copies) {
      if (!args.signingKey) throw new pulumi.ResourceError(`site ${site.name} needs the active's iam-signing-key`, this);
      prerequisites.push(new k8s.core.v1.Secret(`${site.name}-iam-signing-key`, {
        metadata: { name: SIGNING_KEY_SECRET, namespace: ns },
        type: args.signingKey.apply((k) => k.type),
        data: pulumi.secret(args.signingKey.apply((k) => k.data)),
      }, keep));
      // Only a standby uses the account; elsewhere the secret stays as it is, even if the JWK left config.
      const syncing = site.role === "standby";
      if (syncing && !args.standbyJwk) throw new pulumi.ResourceError(`standby ${site.name} needs the service-account JWK`, this);
      prerequisites.push(new k8s.core.v1.Secret(`${site.name}-sa-jwk`, {
        metadata: { name: STANDBY_SA_SECRET, namespace: ns },
        type: "Opaque",
        stringData: { jwk: pulumi.secret(args.standbyJwk ?? "") },
      }, { ...keep, ...(syncing ? {} : { ignoreChanges: ["stringData", "data"] }) }));
    }

    const values = pulumi
      .all([args.certs.tsbCertPem, args.certs.tsbKeyPem, args.certs.xcpCertPem, args.certs.xcpKeyPem, args.rootCaCertPem, args.adminPassword])
      .apply(([tsbCert, tsbKey, xcpCert, xcpKey, rootCa, adminPassword]) =>
        managementPlaneValues(site, args.tsb, { tsbCert, tsbKey, xcpCert, xcpKey, rootCa, adminPassword }));

    this.release = new k8s.helm.v3.Release(`${site.name}-managementplane`, {
      name: RELEASE_NAME,
      namespace: ns,
      chart: "managementplane",
      version: args.tsb.version,
      repositoryOpts: { repo: args.tsb.chartRepo },
      values: pulumi.secret(values),
      // Constant text; carrying the preflight makes a failed preflight stop the promotion.
      description: args.preflight.apply(() => `tsb-ha management plane, site ${site.name}`),
      timeout: 900,
    }, { ...keep, dependsOn: [...prerequisites, ...(args.releaseDependsOn ?? [])] });

    if (site.readyGate) this.readyGate = this.waitUntilServing(args.tsb.readyTimeoutSeconds);
    // Stack policies see a component's outputs, not its inputs: register the identity as outputs too.
    this.registerOutputs(identity);
  }

  /** Failover step 3: an annotation patch whose await logic waits for deployment `tsb` to be Available. */
  private waitUntilServing(timeoutSeconds: number): k8s.apps.v1.DeploymentPatch {
    return new k8s.apps.v1.DeploymentPatch(`${this.site.name}-${READY_DEPLOYMENT}-ready`, {
      metadata: {
        name: READY_DEPLOYMENT,
        namespace: TSB_NAMESPACE,
        annotations: {
          [`${ANNOTATION_PREFIX}/serving`]: "true",
          "pulumi.com/timeoutSeconds": String(timeoutSeconds),
        },
      },
    }, {
      parent: this,
      provider: this.provider,
      retainOnDelete: true,
      dependsOn: this.release ? [this.release] : [],
      customTimeouts: { create: `${timeoutSeconds}s`, update: `${timeoutSeconds}s` },
    });
  }
}
