// The names and type tokens the program registers, in one place: components build their resource
// names with these helpers, and the policy pack and the tests look resources up with the same
// helpers, so a rename cannot leave a policy checking a name the program no longer uses.
//
// Names follow the site (or a fixed set-wide name), never the role: a changed name is a delete and a
// create (style.md). Changing any string here renames live resources; ship `aliases` with it.
//
// This file is loaded by the policy pack too (policy/policies.ts), which Pulumi runs with ts-node from
// the policy/ folder (see policy/tsconfig.json). Keep it free of imports other than ./names, which
// has none, so the pack type-checks without the program's dependencies.
import { ANNOTATION_PREFIX, READY_DEPLOYMENT } from "../config/names";

/** Component type tokens (`<package>:<module>:<type>`). */
export const COMPONENT_TYPE = {
  pki: "tsb-ha:index:Pki",
  managementPlane: "tsb-ha:index:ManagementPlane",
  siteFence: "tsb-ha:index:SiteFence",
  floatingDns: "tsb-ha:index:FloatingDns",
  promotion: "tsb-ha:index:Promotion",
} as const;

/** Dynamic resources: `pulumi-nodejs:dynamic/tsb-ha:<Type>` (the SDK keeps the pulumi-nodejs package). */
export const DYNAMIC_TYPE = {
  replicationGate: "pulumi-nodejs:dynamic/tsb-ha:ReplicationGate",
  tsbBaseline: "pulumi-nodejs:dynamic/tsb-ha:TsbBaseline",
  tsbReadyGate: "pulumi-nodejs:dynamic/tsb-ha:TsbReadyGate",
  tsbApiVerification: "pulumi-nodejs:dynamic/tsb-ha:TsbApiVerification",
  standbyServiceAccount: "pulumi-nodejs:dynamic/tsb-ha:StandbyServiceAccount",
  frontEnvoyAddress: "pulumi-nodejs:dynamic/tsb-ha:FrontEnvoyAddress",
  standbyFollow: "pulumi-nodejs:dynamic/tsb-ha:StandbyFollow",
  operatorSecretWait: "pulumi-nodejs:dynamic/tsb-ha:OperatorSecretWait",
} as const;

// ---- set-wide names (index.ts) ----

/** The Pki component; its root CA children are `set-root-key` and `set-root`. */
export const PKI_NAME = "set";
/** The FloatingDns component; its timer child is `dns-propagation`. */
export const FLOATING_DNS_NAME = "dns";
/** The admin password (random.RandomPassword). */
export const ADMIN_PASSWORD_NAME = "admin-password";
/** The stack reference to this same stack that reads the last good `history`. */
export const HISTORY_REFERENCE_NAME = "previous-update";
/** The floating CNAME (lib/plan/dnsPlan.ts floatingRecord). */
export const FLOATING_RECORD_NAME = "floating-record";

// ---- children of the Pki component (components/pki.ts) ----

export const rootKeyName = (pki: string = PKI_NAME): string => `${pki}-root-key`;
export const rootCertName = (pki: string = PKI_NAME): string => `${pki}-root`;

/** The two leaves of a site: front envoy (`secrets.tsb`) and XCP central (`secrets.xcp.central`). */
export const LEAF_PARTS = ["tsb", "xcp-central"] as const;
export type LeafPart = (typeof LEAF_PARTS)[number];
/** Prefix of a leaf's key, request and certificate: `${site}-tsb`, `${site}-xcp-central`. */
export const leafPrefix = (site: string, part: LeafPart): string => `${site}-${part}`;
export const leafKeyName = (site: string, part: LeafPart): string => `${leafPrefix(site, part)}-key`;
export const certRequestName = (site: string, part: LeafPart): string => `${leafPrefix(site, part)}-csr`;
export const leafCertName = (site: string, part: LeafPart): string => `${leafPrefix(site, part)}-cert`;

// ---- per site ----

/** The site's Kubernetes provider (components/clusterAccess.ts siteProvider). */
export const providerName = (site: string): string => `${site}-k8s`;
/** A read of an existing Secret on a site (components/clusterAccess.ts readSecretData). */
export const secretReadName = (site: string, secret: string): string => `${site}-${secret}-read`;
/** The wait until TSB's operator has made a Secret the program reads (components/operatorSecretWait.ts). */
export const operatorSecretWaitName = (site: string, secret: string): string => `${site}-${secret}-made`;
/** The site's permanent DNS record, when it sets `address` (lib/plan/dnsPlan.ts siteRecords). */
export const siteRecordName = (site: string): string => `${site}-record`;

// ---- children of the ManagementPlane component (components/managementPlane.ts) ----

export const namespaceName = (site: string): string => `${site}-namespace`;
/** A standby's copy of the active's `iam-signing-key`. */
export const signingKeyCopyName = (site: string): string => `${site}-iam-signing-key`;
/** A standby's Secret `tsb-standby-sa` (`data.jwk`). */
export const standbyJwkSecretName = (site: string): string => `${site}-sa-jwk`;

const RELEASE_SUFFIX = "-managementplane";
/** The site's helm release of the `managementplane` chart. */
export const releaseResourceName = (site: string): string => `${site}${RELEASE_SUFFIX}`;
/** The site a release resource name belongs to, or undefined when it is not a release name. */
export function siteOfReleaseResource(name: string): string | undefined {
  return name.endsWith(RELEASE_SUFFIX) && name.length > RELEASE_SUFFIX.length ? name.slice(0, -RELEASE_SUFFIX.length) : undefined;
}
/** The Promotion component of the active site (components/promotion.ts). */
export const promotionName = (site: string): string => `${site}-promotion`;
/** Failover step 1b: the promoted site has replayed what the old active wrote. */
export const replicationGateName = (site: string): string => `${site}-replication-gate`;
/** After a failover, the proof that another standby follows the new active (components/standbyFollow.ts). */
export const standbyFollowName = (site: string): string => `${site}-follows`;
/** Deployment `tsb` as it was before the promotion (the ready gate's baseline). */
export const baselineName = (site: string): string => `${site}-${READY_DEPLOYMENT}-baseline`;
/** The front envoy's load-balancer address, found after the release (dns.siteRecords: managed). */
export const envoyAddressName = (site: string): string => `${site}-envoy-address`;
/** Failover step 3: deployment `tsb` has a ready pod, changed since before the promotion. */
export const readyGateName = (site: string): string => `${site}-${READY_DEPLOYMENT}-ready`;
/** Failover step 3b: the active's TSB API answers with the organisation. */
export const verificationName = (site: string): string => `${site}-api-verified`;
/** The standby service account made through the active's API (one per set: the database is shared). */
export const STANDBY_ACCOUNT_RESOURCE = "standby-service-account";

// ---- children of the SiteFence component (components/siteFence.ts) ----

/** The patch that scales one deployment of a fenced site to 0 (`mp1-tsb-scaled-down`). */
export const fencePatchName = (site: string, deployment: string): string => `${site}-${deployment}-scaled-down`;

// ---- children of the FloatingDns component (components/floatingDns.ts) ----

/** The timer that waits one TTL after the floating record moved. */
export const propagationName = (floatingDns: string = FLOATING_DNS_NAME): string => `${floatingDns}-propagation`;

// ---- annotations the program sets ----

/** On a fence patch: resolves only once the failover preflight passed. */
export const FENCED_ANNOTATION = `${ANNOTATION_PREFIX}/fenced`;
/** On the ready-gate patch of deployment `tsb`. */
export const SERVING_ANNOTATION = `${ANNOTATION_PREFIX}/serving`;
/** pulumi-kubernetes: a server-side apply patch takes fields other managers own. */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

// ---- roles, as the ManagementPlane component registers them (lib/plan/topology.ts Role) ----

export const ROLE = { active: "active", standby: "standby", fenced: "fenced", lost: "lost" } as const;
export type RoleName = (typeof ROLE)[keyof typeof ROLE];
