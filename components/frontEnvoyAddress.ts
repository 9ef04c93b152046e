// Issue 10 item 1: the site's front-envoy address, found. After the site's release, waits (bounded)
// until Service `envoy` in `tsb` (type LoadBalancer; tsb-facts.md) has an ingress address, and
// outputs it with the DNS record type it needs (lib/gates/frontAddress.ts). The lead writes the site's
// permanent record from it unless `sites.<s>.address` overrides.
//
// Why a dynamic resource: a `Service.get` reads once at whatever moment it runs (no wait for the
// load balancer), and pulumi-kubernetes awaits a Service's address only for a Service it creates or
// patches (provider/pkg/await/service.go), while this one belongs to the TSB operator.
//
// Runs: create waits up to `timeoutSeconds`; the next `pulumi up` with the same inputs: diff says no
// change and nothing is read (the address stays as saved); a change of any input re-reads (update).
// `pulumi refresh` (read) re-reads the address once, bounded: a new address is saved, and the next
// `up` writes it to the record; no answer or no address keeps the saved one (a sick site must not
// break a refresh). Preview: the engine does not call Create of a dynamic provider in a preview, so
// a new site's address (and its record's value) is unknown there.
import * as pulumi from "@pulumi/pulumi";
import { envoyAddressName } from "../lib/plan/resourceNames";
import { plainKubeAccess } from "../lib/clients/kubeAccess";
import { kubeGet, kubePaths, pollObject } from "../lib/clients/kubeRead";
import { addressTimeoutMessage, frontAddress, type RecordType } from "../lib/gates/frontAddress";
import { CUT_DEPLOYMENTS, TSB_NAMESPACE } from "../lib/config/names";
import { DEFAULT_POLL_SECONDS, DEFAULT_REQUEST_TIMEOUT_SECONDS, accessInputs, secretKubeconfig, type ClusterAccessArgs } from "./deploymentReadyGate";

/** The front envoy's Service has the deployment's name (tsb-facts.md: service `envoy`). */
export const FRONT_ENVOY_SERVICE = CUT_DEPLOYMENTS[0];
export const DEFAULT_ADDRESS_TIMEOUT_SECONDS = 600;

export interface AddressInputs {
  site: string;
  kubeconfig?: string;
  context?: string;
  namespace: string;
  service: string;
  timeoutSeconds: number;
  pollSeconds: number;
  requestTimeoutSeconds: number;
}

const WAIT_INPUTS = ["kubeconfig", "context", "namespace", "service", "timeoutSeconds", "pollSeconds", "requestTimeoutSeconds"] as const;

async function waitForAddress(inputs: AddressInputs): Promise<Record<string, unknown>> {
  const ref = `${inputs.namespace}/${inputs.service}`;
  const r = await pollObject(plainKubeAccess(inputs), inputs.site, kubePaths.service(inputs.namespace, inputs.service), inputs, (object) => {
    const a = frontAddress(object, ref);
    return { done: a.found, seen: a.seen, value: a };
  }, (message) => `site ${inputs.site}: cannot read ${ref}: ${message}`);
  if (r.done && r.value?.found) {
    return { ...inputs, address: r.value.address, recordType: r.value.recordType, seen: r.seen, elapsedSeconds: r.elapsedSeconds, polls: r.polls };
  }
  throw new Error(addressTimeoutMessage(inputs.site, ref, inputs.timeoutSeconds, r.done ? r.seen : r.lastSeen, inputs.context));
}

export const frontEnvoyAddressProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: AddressInputs): Promise<pulumi.dynamic.CreateResult> {
    return { id: `${inputs.site}:${inputs.namespace}/${inputs.service}`, outs: await waitForAddress(inputs) };
  },
  diff(_id: string, olds: AddressInputs, news: AddressInputs): Promise<pulumi.dynamic.DiffResult> {
    if (olds.site !== news.site) return Promise.resolve({ changes: true, replaces: ["site"] });
    return Promise.resolve({ changes: WAIT_INPUTS.some((k) => olds[k] !== news[k]) });
  },
  async update(_id: string, _olds: AddressInputs, news: AddressInputs): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await waitForAddress(news) };
  },
  async read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
    const inputs = props as unknown as AddressInputs;
    const ref = `${inputs.namespace}/${inputs.service}`;
    try {
      const r = await kubeGet(plainKubeAccess(inputs), inputs.site, kubePaths.service(inputs.namespace, inputs.service), inputs.requestTimeoutSeconds * 1000);
      const a = frontAddress(r.found ? r.object : undefined, ref);
      if (a.found) return { id, props: { ...props, address: a.address, recordType: a.recordType, seen: a.seen } };
      return { id, props: { ...props, seen: `refresh: ${a.seen}; kept ${String(props["address"])}` } };
    } catch (e) {
      return { id, props: { ...props, seen: `refresh: ${e instanceof Error ? e.message : String(e)}; kept ${String(props["address"])}` } };
    }
  },
  async delete(): Promise<void> {
    // The Service belongs to the TSB operator.
  },
};

export interface FrontEnvoyAddressArgs {
  site: string;
  access: ClusterAccessArgs;
  /** Default 600 (a cloud load balancer can take minutes). */
  timeoutSeconds?: number;
  pollSeconds?: number;
  requestTimeoutSeconds?: number;
}

/** `${site}-envoy-address`: the front envoy's load balancer address and the record type it needs. */
export class FrontEnvoyAddress extends pulumi.dynamic.Resource {
  /** IPv4, IPv6 or hostname. */
  declare public readonly address: pulumi.Output<string>;
  declare public readonly recordType: pulumi.Output<RecordType>;
  /** One line for the update's log. */
  declare public readonly seen: pulumi.Output<string>;
  declare public readonly elapsedSeconds: pulumi.Output<number>;

  constructor(args: FrontEnvoyAddressArgs, opts?: pulumi.CustomResourceOptions) {
    super(frontEnvoyAddressProvider, envoyAddressName(args.site), {
      site: args.site,
      ...accessInputs(args.access),
      namespace: TSB_NAMESPACE,
      service: FRONT_ENVOY_SERVICE,
      timeoutSeconds: args.timeoutSeconds ?? DEFAULT_ADDRESS_TIMEOUT_SECONDS,
      pollSeconds: args.pollSeconds ?? DEFAULT_POLL_SECONDS,
      requestTimeoutSeconds: args.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS,
      address: undefined,
      recordType: undefined,
      seen: undefined,
      elapsedSeconds: undefined,
    }, secretKubeconfig(opts), "tsb-ha", "FrontEnvoyAddress");
  }
}
