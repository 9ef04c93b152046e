// Kubernetes names fixed by the TSB chart and the seed (tsb-facts.md, "Deployments and services").
export const TSB_NAMESPACE = "tsb";
export const RELEASE_NAME = "mp";
export const OPERATOR_DEPLOYMENT = "tsb-operator-management-plane";
/** Seed failover step 1: stop taking configuration on the old active. */
export const FENCE_DEPLOYMENTS = ["tsb", "iam"] as const;
/** Seed failover step 5: make control planes reconnect (and re-resolve) after DNS moved. */
export const CUT_DEPLOYMENTS = ["envoy"] as const;
/** Seed failover step 2: the promotion is done when this deployment is Available. */
export const READY_DEPLOYMENT = "tsb";
export const SIGNING_KEY_SECRET = "iam-signing-key";
/** The ManagementPlane CR the chart renders (install.tetrate.io/v1alpha1, in the release's namespace) and its CRD. */
export const MANAGEMENT_PLANE_CR = "managementplane";
export const MANAGEMENT_PLANE_CRD = "managementplanes.install.tetrate.io";
export const JWKS_SECRET = "tsb-iam-jwks";
export const STANDBY_SA_SECRET = "tsb-standby-sa";
export const ANNOTATION_PREFIX = "tsb-ha.tetrate.io";
/**
 * TSB's front envoy port when `spec.components.frontEnvoy.port` is unset (TSB docs, helm management
 * plane page; tsb-facts.md "Added 2026-12"). The program's own installs set the port (tsb.frontEnvoyPort,
 * default 443, as the seed assumes); an adopted MP installed without it listens here.
 */
export const TSB_DEFAULT_FRONT_ENVOY_PORT = 8443;
/**
 * The oldest Pulumi CLI the program runs with: the version of the @pulumi/pulumi SDK it pins (the CLI
 * should be at least as new as the SDK). Older CLIs silently ignore `replacementTrigger` (engine support:
 * pulumi/pulumi#20850/#20936, late 2025), which the rebuild relies on.
 */
export const MIN_PULUMI_CLI = "3.248.0";
/**
 * TSB's embedded Postgres (tetrateio/kubegres, release-v1.16.x; /work/notes/kubegres-fork.md): the
 * kubegres controller is its own Deployment in the management plane's namespace (Tetrate docs,
 * "Manage Embedded PostgreSQL"), not part of TSB's operator; each instance is a StatefulSet
 * `tsb-postgres-<index>` of one pod, labelled `app=tsb-postgres`.
 */
export const KUBEGRES_CONTROLLER_DEPLOYMENT = "kubegres-controller-manager";
export const POSTGRES_LABEL_SELECTOR = "app=tsb-postgres";

/** The chart's leaf-certificate Secrets (an adopted MP's live leaves are read from them). */
export const TSB_CERTS_SECRET = "tsb-certs";
export const XCP_CENTRAL_SECRET = "xcp-central-cert";

/** How long the failover preflight waits for the new active's `tsb-iam-jwks` (docs/failover.md, "Preflight failed"). */
export const PREFLIGHT_JWKS_WAIT_SECONDS = 60;
