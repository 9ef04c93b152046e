// Failover step 3b (issue 8, item 3): after the ready gate, the new active's TSB API must answer at
// its permanent FQDN, over TLS verified against the set's root CA, as the set's admin, with the
// configured organisation; only then may the floating name move (the lead makes the DNS record
// depend on this resource).
//
// A dynamic resource, because the check must run during `pulumi up` at a point in the graph, not
// while the program is planned. What the engine does with it (pulumi/pulumi sdk/nodejs/dynamic and
// cmd/dynamic-provider, as in test/harness/dynamicProvider.ts):
// - preview: check and diff only; create/update never run, so preview contacts nothing;
// - first `pulumi up` with this resource: create = the check; a failed check fails the resource,
//   so nothing that depends on it (the floating record) is touched;
// - next `pulumi up` with the same inputs: diff says "no change", no call is made;
// - a new `promotion` key (each failover) or another endpoint/organisation: update = the check again.
// The admin password is used, never stored: outputs hold what the lead logs.
import * as pulumi from "@pulumi/pulumi";
import { asText, tsbCall, tsbUrl, TSB_PATHS, type TsbConnection } from "../lib/clients/tsbApi";
import { decideApiVerification } from "../lib/gates/tsbVerify";

/** Where and how a dynamic resource reaches a site's TSB API (shared with components/standbyServiceAccount.ts). */
export interface TsbApiTargetArgs {
  site: pulumi.Input<string>;
  /** The site's permanent FQDN. */
  fqdn: pulumi.Input<string>;
  /** Front-envoy port (tsb.frontEnvoyPort). */
  port: pulumi.Input<number>;
  organization: pulumi.Input<string>;
  /** The set's root CA certificate (PEM). */
  rootCaPem: pulumi.Input<string>;
  /** Password of TSB user `admin` (secret). */
  adminPassword: pulumi.Input<string>;
  /** Optional address to connect to instead of resolving the FQDN (the certificate must still match the FQDN). */
  address?: pulumi.Input<string>;
  /** Tries per call (timeouts, refused connections, 5xx). Default 5. */
  attempts?: pulumi.Input<number>;
  /** Per-request limit in seconds (tsb.apiTimeoutSeconds). Default 30. */
  timeoutSeconds?: pulumi.Input<number>;
  /** First wait between tries, doubled each time. Default 2000. */
  backoffMs?: pulumi.Input<number>;
}

export interface TsbApiVerificationArgs extends TsbApiTargetArgs {
  /** Changes on each failover (e.g. `${previousActive}->${activeSite}` or the history entry), so the check runs again. */
  promotion: pulumi.Input<string>;
}

/** The inputs as the provider process receives them (plain values). */
interface VerifyInputs {
  site: string;
  fqdn: string;
  port: number;
  organization: string;
  rootCaPem: string;
  adminPassword: string;
  promotion: string;
  address?: string;
  attempts?: number;
  timeoutSeconds?: number;
  backoffMs?: number;
}

/** Inputs whose change means "check again". The password alone does not. */
const RECHECK_ON = ["site", "fqdn", "port", "organization", "rootCaPem", "promotion", "address"] as const;

/** Runs the check; throws the decision's message on failure. Plain function: it runs in the provider process. */
export async function verifyTsbApi(inputs: VerifyInputs): Promise<Record<string, unknown>> {
  const conn: TsbConnection = {
    site: inputs.site,
    fqdn: inputs.fqdn,
    port: Number(inputs.port),
    rootCaPem: inputs.rootCaPem,
    adminPassword: inputs.adminPassword,
    address: inputs.address || undefined,
    attempts: inputs.attempts ?? 5,
    timeoutMs: (inputs.timeoutSeconds ?? 30) * 1000,
    backoffMs: inputs.backoffMs ?? 2000,
  };
  const org = await tsbCall(conn, "GET", TSB_PATHS.organization(inputs.organization));
  const tenants = await tsbCall(conn, "GET", TSB_PATHS.tenants(inputs.organization));
  const clusters = await tsbCall(conn, "GET", TSB_PATHS.clusters(inputs.organization));
  const result = decideApiVerification({
    site: inputs.site,
    url: tsbUrl(conn, TSB_PATHS.organization(inputs.organization)),
    organization: inputs.organization,
    org,
    tenants,
    clusters,
  });
  if (!result.ok) throw new Error(result.message);
  return {
    site: inputs.site,
    fqdn: inputs.fqdn,
    port: Number(inputs.port),
    organization: result.organization,
    rootCaPem: inputs.rootCaPem,
    promotion: inputs.promotion,
    ...(inputs.address ? { address: inputs.address } : {}),
    tenants: result.tenants,
    clusters: result.clusters,
    summary: result.summary,
    checkedAt: new Date().toISOString(),
  };
}

export const tsbApiVerificationProvider: pulumi.dynamic.ResourceProvider = {
  diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
    const changed = RECHECK_ON.filter((k) => asText(olds[k]) !== asText(news[k]));
    return Promise.resolve({ changes: changed.length > 0, replaces: [], deleteBeforeReplace: false });
  },
  async create(inputs: Record<string, unknown>) {
    const outs = await verifyTsbApi(inputs as unknown as VerifyInputs);
    return { id: `${String(inputs["site"])}-tsb-api`, outs };
  },
  async update(_id: string, _olds: Record<string, unknown>, news: Record<string, unknown>) {
    return { outs: await verifyTsbApi(news as unknown as VerifyInputs) };
  },
};

/** Failover step 3b on `site`: passes only when its TSB API serves the organisation. */
export class TsbApiVerification extends pulumi.dynamic.Resource {
  declare public readonly organization: pulumi.Output<string>;
  declare public readonly tenants: pulumi.Output<number>;
  declare public readonly clusters: pulumi.Output<number>;
  /** One line for the lead to log: site, URL, organisation, counts. */
  declare public readonly summary: pulumi.Output<string>;
  declare public readonly checkedAt: pulumi.Output<string>;

  constructor(name: string, args: TsbApiVerificationArgs, opts?: pulumi.CustomResourceOptions) {
    // Type token pulumi-nodejs:dynamic/tsb-ha:TsbApiVerification (lib/plan/resourceNames.ts DYNAMIC_TYPE).
    super(tsbApiVerificationProvider, name, { ...args, tenants: undefined, clusters: undefined, summary: undefined, checkedAt: undefined }, opts, "tsb-ha", "TsbApiVerification");
  }
}
