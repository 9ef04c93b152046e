// Helm values of the `managementplane` chart per site and role (tsb-facts.md, seed step 2 and
// "Deploy the Standby instance"). Pure: the component fills in PEMs and the password as secrets.
import type { SetConfig } from "../config/config";
import type { SitePlan } from "./topology";
import { withPrecedence } from "../config/chartValues";
import type { Values } from "../config/helmValues";

export interface SiteSecretsPem {
  tsbCert: string;
  tsbKey: string;
  xcpCert: string;
  xcpKey: string;
  rootCa: string;
  adminPassword: string;
}

/** The `spec.highAvailability` block: active exposes Postgres; a standby pulls from the active. */
export function highAvailabilityBlock(site: SitePlan, frontEnvoyPort: number): Record<string, unknown> {
  if (site.haMode === "active") {
    return { active: { exposeEmbeddedPostgresInFrontEnvoy: true } };
  }
  if (!site.syncHost) throw new Error(`standby ${site.name} has no synchronisation host`);
  return {
    standby: {
      activeMpSynchronizationEndpoint: { host: site.syncHost, port: frontEnvoyPort, selfSigned: true },
    },
  };
}

/** A new site's values: the program's own (below) over the user's chart values for the site (lib/config/chartValues.ts). */
export function managementPlaneValues(site: SitePlan, tsb: SetConfig["tsb"], pem: SiteSecretsPem, user: Values = {}): Record<string, unknown> {
  return withPrecedence(ownedValues(site, tsb, pem), user);
}

/** What the program owns in a site's values (lib/config/chartValues.ts OWNED_PATHS lists the same paths). */
function ownedValues(site: SitePlan, tsb: SetConfig["tsb"], pem: SiteSecretsPem): Values {
  return {
    image: { registry: tsb.registry, tag: tsb.version },
    secrets: {
      // Keep chart-made secrets (iam-signing-key among them) if the release is ever uninstalled.
      keep: true,
      tsb: { cert: pem.tsbCert, key: pem.tsbKey, adminPassword: pem.adminPassword },
      xcp: {
        autoGenerateCerts: false,
        central: { cert: pem.xcpCert, key: pem.xcpKey },
        rootca: pem.rootCa,
      },
    },
    spec: {
      hub: tsb.registry,
      organization: tsb.organization,
      components: { frontEnvoy: { port: tsb.frontEnvoyPort } },
      highAvailability: highAvailabilityBlock(site, tsb.frontEnvoyPort),
    },
  };
}

/**
 * Stands for the control plane's cluster name in `controlPlaneValues`: the name differs per control
 * plane, so the stack exports one set of values and `withClusterName` (scripts/control-plane-values.ts)
 * fills it in. TSB would reject the placeholder itself, so values merged unfilled fail loudly.
 */
export const CLUSTER_NAME_PLACEHOLDER = "<cluster-name>";

/**
 * Seed step 4: what a control plane's helm values (chart `controlplane`) need to onboard to the set
 * (no secrets): the set's root CA for `secrets.elasticsearch.cacert`, `secrets.tsb.cacert` and
 * `secrets.xcp.rootca`; `spec.managementPlane` on the floating FQDN; telemetry on the floating FQDN too,
 * so a failover moves it with the management plane.
 *
 * `spec.telemetryStore.elastic.{host, port}` is the ControlPlane CR's telemetry store
 * (docs.tetrate.io/service-bridge/1.9.x/refs/install/controlplane/v1alpha1/spec, "A minimal resource must
 * have the container registry hub, telemetryStore, and managementPlane fields set"). [guess] that the
 * management plane's front envoy serves the control planes' Elasticsearch traffic on its own port (the
 * seed's `secrets.elasticsearch.cacert` = the set's root CA points that way) and that
 * `telemetryStore.elastic.selfSigned` is the field for a private CA, as `managementPlane.selfSigned` is.
 *
 * The Elasticsearch parts follow the management plane's telemetry store (lib/config/chartValues.ts
 * telemetryStoreKind): for another store they are left out, and scripts/control-plane-values.ts says
 * what to add (the control plane's block for that store is not in TSB's public reference).
 */
export function controlPlaneValues(floatingFqdn: string, frontEnvoyPort: number, rootCa: string, telemetryStore = "elastic"): Record<string, unknown> {
  const elastic = telemetryStore === "elastic";
  return {
    secrets: {
      ...(elastic ? { elasticsearch: { cacert: rootCa } } : {}),
      tsb: { cacert: rootCa },
      xcp: { rootca: rootCa },
    },
    spec: {
      managementPlane: { host: floatingFqdn, port: frontEnvoyPort, clusterName: CLUSTER_NAME_PLACEHOLDER, selfSigned: true },
      ...(elastic ? { telemetryStore: { elastic: { host: floatingFqdn, port: frontEnvoyPort, selfSigned: true } } } : {}),
    },
  };
}

/**
 * TSB cluster names as `tctl` and the API accept them: lower-case letters, digits and '-', starting and
 * ending with a letter or digit, at most 63 characters. [guess: TSB resource names follow Kubernetes
 * DNS-label rules; the docs' examples all do.]
 */
export function isClusterName(name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name);
}

/**
 * One control plane's values from the stack output `controlPlaneValues` (as `pulumi stack output
 * controlPlaneValues --json` prints it): the placeholder replaced by `clusterName`. Throws a message
 * that says what to run when the input is not that output.
 */
export function withClusterName(output: unknown, clusterName: string): Record<string, unknown> {
  if (!isClusterName(clusterName)) {
    throw new Error(`"${clusterName}" is not a TSB cluster name. Allowed: lower-case letters, digits and '-' (the name of the cluster object in TSB)`);
  }
  if (output === "[secret]") {
    throw new Error("controlPlaneValues printed as [secret]. Run: pulumi stack output controlPlaneValues --json --show-secrets");
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const spec = isObj(output) ? output["spec"] : undefined;
  const managementPlane = isObj(spec) ? spec["managementPlane"] : undefined;
  if (!isObj(output) || !isObj(spec) || !isObj(managementPlane) || managementPlane["clusterName"] !== CLUSTER_NAME_PLACEHOLDER) {
    throw new Error("the input is not the stack output controlPlaneValues of this program (spec.managementPlane.clusterName " +
      `should be ${CLUSTER_NAME_PLACEHOLDER}). Run: pulumi stack output controlPlaneValues --json | npx tsx scripts/control-plane-values.ts <cluster-name>`);
  }
  return { ...output, spec: { ...spec, managementPlane: { ...managementPlane, clusterName } } };
}
