// One site of the set: namespace `tsb`, the copied secrets a standby needs and the `managementplane`
// helm release. The gates of a promotion are components/promotion.ts.
// Every child is named after the site; a role change only changes inputs, never a name.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { SetConfig } from "../lib/config/config";
import type { SitePlan } from "../lib/plan/topology";
import { managementPlaneValues, type SiteSecretsPem } from "../lib/plan/values";
import { adoptedSiteValues } from "../lib/adoption/plan";
import { userValuesFor, type ValuesSource } from "../lib/config/chartValues";
import type { Values } from "../lib/config/helmValues";
import { RELEASE_NAME, SIGNING_KEY_SECRET, STANDBY_SA_SECRET, TSB_NAMESPACE } from "../lib/config/names";
import { COMPONENT_TYPE, namespaceName, releaseResourceName, signingKeyCopyName, standbyJwkSecretName } from "../lib/plan/resourceNames";
import type { SiteCerts } from "./pki";
import type { AdoptedRelease } from "../lib/adoption/overlay";

/**
 * Every input of a helm Release (@pulumi/kubernetes 4.34.2 helm/v3/release.d.ts, ReleaseArgs). A
 * fenced site's release ignores changes to all of them: the engine then reuses the state's values and
 * sends no upgrade (pulumi docs, "ignoreChanges"; a wildcard does not exist: pulumi/pulumi#6710).
 */
export const RELEASE_INPUTS = [
  // `compat` is set by the SDK itself (helm/v3/release.js), not by ReleaseArgs.
  "compat", "allowNullValues", "atomic", "chart", "cleanupOnFail", "createNamespace", "dependencyUpdate", "description", "devel",
  "disableCRDHooks", "disableOpenapiValidation", "disableWebhooks", "forceUpdate", "keyring", "lint", "maxHistory", "name",
  "namespace", "postrender", "recreatePods", "renderSubchartNotes", "replace", "repositoryOpts", "resetValues", "reuseValues",
  "skipAwait", "skipCrds", "takeOwnership", "timeout", "valueYamlFiles", "values", "verify", "version", "waitForJobs",
];

export interface ManagementPlaneArgs {
  site: SitePlan;
  tsb: SetConfig["tsb"];
  provider: k8s.Provider;
  /** The site's leaves; an adopted site has none before its activate step (it keeps its live ones). */
  certs?: SiteCerts;
  rootCaCertPem: pulumi.Input<string>;
  adminPassword: pulumi.Input<string>;
  /** `data` and `type` of the active's `iam-signing-key` (base64 values), when this site holds a copy. */
  signingKey?: pulumi.Output<{ data: Record<string, string>; type: string }>;
  /** The standby service account's private JWK (JSON), for a standby. */
  standbyJwk?: pulumi.Output<string>;
  /** What the release waits for: the fence and the gates before a promotion, the active serving for a standby. */
  releaseDependsOn?: pulumi.Resource[];
  /** Everything on this site waits for these (a fenced site: its fence). */
  after?: pulumi.Resource[];
  /**
   * Resolves once the failover preflight passed (or at once when there is no failover). The release
   * carries it as an input, so a failed preflight stops a promotion before it is sent.
   */
  preflight: pulumi.Output<string>;
  /** Rejects when this standby cannot follow the new active's timeline (the replication gate's report). */
  canFollow?: pulumi.Output<string>;
  /** An adopted set: every site's values start from the installed ones (lib/adoption/plan.ts). */
  installed?: { values: Values; adoptedSite: string };
  /** The user's chart values (set-wide and per site): under the program's own, over the installed ones. */
  chartValues?: ValuesSource[];
  /** This is the adopted site (docs/adopting.md). */
  adopted?: AdoptedRelease;
}

export class ManagementPlane extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  /** Adopted set: the value paths this update gives the release that the installed values lack or differ in. */
  public readonly changedPaths?: pulumi.Output<string[]>;

  constructor(name: string, args: ManagementPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    // The role is recorded on the component (policies read it); it changes no child's name.
    // `adopted`: "as-installed" while an adopted MP keeps its installed values (step import), then "managed".
    const identity = {
      site: args.site.name, role: args.site.role, fqdn: args.site.fqdn,
      ...(args.adopted ? { adopted: args.adopted.verbatim ? "as-installed" : "managed" } : {}),
    };
    super(COMPONENT_TYPE.managementPlane, name, identity, opts);
    const { site, provider } = args;
    // Nothing here ever deletes an object from a cluster: a resource that leaves the program (a lost
    // site) leaves the state only. A rebuild replaces on purpose, after the runbook's clean-up.
    const keep = { parent: this, provider, retainOnDelete: true, replacementTrigger: site.rebuild, deleteBeforeReplace: true, dependsOn: args.after ?? [] };

    if (!site.managed) throw new pulumi.ResourceError(`site ${site.name} is not managed by this stack`, this);

    const adopted = args.adopted;
    // Step import takes the adopted namespace and release as they are, protected: the imports must not
    // turn into anything else. Afterwards they are guarded like every site's (retainOnDelete) and no
    // longer protected: the engine refuses to delete a protected resource before it looks at
    // retainOnDelete (pulumi/pulumi pkg/resource/deploy/step.go DeleteStep.Apply), so a protected
    // release would stop the failover that drops the adopted site once it is lost.
    const owned = adopted?.verbatim ? { ...keep, protect: true } : keep;
    const namespace = new k8s.core.v1.Namespace(namespaceName(site.name), {
      metadata: adopted ? { name: adopted.namespace } : { name: TSB_NAMESPACE, labels: { "app.kubernetes.io/managed-by": "tsb-ha" } },
    }, {
      ...owned,
      ...(adopted?.importIds ? { import: adopted.importIds.namespace } : {}),
      // The import reads the live labels, annotations and spec as inputs (pulumi-kubernetes
      // provider/pkg/provider/provider.go Read, readFromCluster); the program owns none of them.
      ...(adopted ? { ignoreChanges: ["metadata", "spec"] } : {}),
    });
    const ns = namespace.metadata.name;
    const prerequisites: pulumi.Resource[] = [namespace];

    if (site.copies) {
      if (!args.signingKey) throw new pulumi.ResourceError(`site ${site.name} needs the active's iam-signing-key`, this);
      prerequisites.push(new k8s.core.v1.Secret(signingKeyCopyName(site.name), {
        metadata: { name: SIGNING_KEY_SECRET, namespace: ns },
        type: args.signingKey.apply((k) => k.type),
        data: pulumi.secret(args.signingKey.apply((k) => k.data)),
      }, keep));
      // Only a standby uses the account; elsewhere the secret stays as it is, even if the JWK left config.
      const syncing = site.role === "standby";
      if (syncing && !args.standbyJwk) throw new pulumi.ResourceError(`standby ${site.name} needs the service-account JWK`, this);
      prerequisites.push(new k8s.core.v1.Secret(standbyJwkSecretName(site.name), {
        metadata: { name: STANDBY_SA_SECRET, namespace: ns },
        type: "Opaque",
        stringData: { jwk: pulumi.secret(args.standbyJwk ?? "") },
      }, { ...keep, ...(syncing ? {} : { ignoreChanges: ["stringData", "data"] }) }));
    }

    const { values, changedPaths } = this.values(args);
    this.changedPaths = changedPaths;

    this.release = new k8s.helm.v3.Release(releaseResourceName(site.name), {
      name: adopted?.release ?? RELEASE_NAME,
      namespace: ns,
      chart: "managementplane",
      version: args.tsb.version,
      repositoryOpts: { repo: args.tsb.chartRepo },
      values: pulumi.secret(values),
      // Step import too: what the import reads back (helm_release.go importRelease: name, namespace,
      // chart, values, version; timeout 300 by default) lacks the chart repository, which Helm does not
      // store, so since Pulumi 3.174 (pulumi/pulumi#19339) the import is followed by an update in the
      // same `pulumi up`: one helm upgrade, bounded like every other.
      timeout: 900,
      // Step import: no other input, so that upgrade changes nothing else. The preflight already ran, before any registration.
      ...(adopted?.verbatim ? {} : {
        // Constant text; carrying the preflight (and, on a standby, the follow check) stops the release
        // before it is sent when either fails.
        description: pulumi.all([args.preflight, args.canFollow ?? "ok"]).apply(() => `tsb-ha management plane, site ${site.name}`),
      }),
    }, {
      ...owned,
      dependsOn: [...keep.dependsOn, ...prerequisites, ...(args.releaseDependsOn ?? [])],
      // A fenced site's release gets no helm upgrade for any reason (a renewed certificate, a version,
      // registry or port change): an upgrade would start its operator, which restarts tsb and iam.
      ...(site.fenced ? { ignoreChanges: RELEASE_INPUTS } : {}),
      // The values hold leaf keys, the admin password and the user's credentials (secretValues): their copy
      // in state is secret whatever the provider returns, and an import writes the stored values before
      // the program's secret marking applies to them.
      additionalSecretOutputs: ["values"],
      ...(adopted?.importIds ? { import: adopted.importIds.release } : {}),
    });

    // Stack policies see a component's outputs, not its inputs: register the identity as outputs too.
    this.registerOutputs(identity);
  }

  /** The release's values: the program's own, or (adopted set) the installed ones with this site's block and leaves. */
  private values(args: ManagementPlaneArgs): { values: pulumi.Output<Values>; changedPaths?: pulumi.Output<string[]> } {
    const { site, installed } = args;
    if (args.adopted?.verbatim && installed) return { values: pulumi.output(installed).apply((i) => i.values as Values), changedPaths: pulumi.output([]) };
    const certs = args.certs;
    if (!certs) throw new pulumi.ResourceError(`site ${site.name} has no leaf certificates`, this);
    // Plain here; the release's values are a secret as a whole (the constructor), secret user values included.
    const user = userValuesFor(args.chartValues ?? [], site.name);
    const pem = pulumi
      .all([certs.tsbCertPem, certs.tsbKeyPem, certs.xcpCertPem, certs.xcpKeyPem, args.rootCaCertPem, args.adminPassword])
      .apply(([tsbCert, tsbKey, xcpCert, xcpKey, rootCa, adminPassword]): SiteSecretsPem => ({ tsbCert, tsbKey, xcpCert, xcpKey, rootCa, adminPassword }));
    if (!installed) return { values: pem.apply((p) => managementPlaneValues(site, args.tsb, p, user)) };
    const change = pem.apply((p) => adoptedSiteValues(installed.values, site, installed.adoptedSite, args.tsb, p, user));
    // Paths only (never values): not secret, so the preview can print them.
    return { values: change.apply((c) => c.values), changedPaths: pulumi.unsecret(change.apply((c) => c.changedPaths)) };
  }
}
