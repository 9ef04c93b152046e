// Helm values of the `managementplane` chart per site and role (tsb-facts.md, seed step 2 and
// "Deploy the Standby instance"). Pure: the component fills in PEMs and the password as secrets.
import type { SetConfig } from "./config";
import type { SitePlan } from "./topology";

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

export function managementPlaneValues(site: SitePlan, tsb: SetConfig["tsb"], pem: SiteSecretsPem): Record<string, unknown> {
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

/** Seed step 4: what a control plane's helm values need to onboard to the set (no secrets). */
export function controlPlaneValues(floatingFqdn: string, frontEnvoyPort: number, rootCa: string): Record<string, unknown> {
  return {
    secrets: {
      elasticsearch: { cacert: rootCa },
      tsb: { cacert: rootCa },
      xcp: { rootca: rootCa },
    },
    spec: {
      managementPlane: { host: floatingFqdn, port: frontEnvoyPort, selfSigned: true },
    },
  };
}
