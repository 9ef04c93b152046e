// The floating name (a CNAME to the active's permanent FQDN) and, where a site sets `address`, the
// site's permanent record. Route53 or Cloudflare, as `dns.provider` says.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as time from "@pulumiverse/time";
import type { DnsProvider } from "../lib/config/config";
import type { DnsRecordSpec } from "../lib/plan/dnsPlan";
import { COMPONENT_TYPE, propagationName } from "../lib/plan/resourceNames";

/** A record whose target and type are known only once the site's load balancer has an address. */
export interface FoundRecord {
  resourceName: string;
  fqdn: string;
  type: pulumi.Input<string>;
  target: pulumi.Input<string>;
}

export interface FloatingDnsArgs {
  provider: DnsProvider;
  zoneId: string;
  ttl: number;
  /** The floating CNAME: floating FQDN -> the active's permanent FQDN. */
  floating: DnsRecordSpec;
  /** Permanent records of the sites that set `address`, and those found from the front envoy's address. */
  siteRecords: Array<DnsRecordSpec | FoundRecord>;
  /** The floating record moves only after these (the active's ready gate). */
  after: pulumi.Resource[];
  /**
   * Adoption step import: the floating name's live record is imported under this ID and kept exactly as
   * it is (ignoreChanges on what it points at; the engine keeps the imported values for ignored
   * properties: pulumi/pulumi pkg/resource/deploy/step.go ImportStep). A rerun passes the same ID: the
   * engine does not import what is in state under it (step_generator.go isImport).
   */
  keepLiveRecord?: string;
}

/** The record properties that say where a name points (aws route53/record, cloudflare dnsRecord). */
const POINTS_AT = { route53: ["type", "records", "ttl", "aliases"], cloudflare: ["type", "content", "ttl", "proxied", "comment", "tags"] };

export class FloatingDns extends pulumi.ComponentResource {
  public readonly floatingRecord: pulumi.CustomResource;
  /**
   * Done one TTL after the floating record last moved: resolvers may serve the old target until
   * then (seed: "allow time for the DNS change to propagate"). A timer only; it holds no state, and
   * a new target replaces it, which is what makes it wait again.
   */
  public readonly propagated: pulumi.CustomResource;

  constructor(name: string, args: FloatingDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    const identity = { floatingFqdn: args.floating.fqdn, target: args.floating.target };
    super(COMPONENT_TYPE.floatingDns, name, identity, opts);
    // The floating record is the set's front door: a delete would cut every control plane off.
    const kept = args.keepLiveRecord;
    this.floatingRecord = this.record(args, args.floating, {
      parent: this, protect: true, dependsOn: args.after,
      ...(kept ? { import: kept, ignoreChanges: POINTS_AT[args.provider] } : {}),
    });
    for (const spec of args.siteRecords) this.record(args, spec, { parent: this });
    this.propagated = new time.Sleep(propagationName(name), {
      createDuration: `${args.ttl}s`,
      // While an adopted record is kept as it is live, the timer says so: the update that moves the
      // record drops the key and so replaces the timer, which waits one TTL again.
      triggers: { target: args.floating.target, ...(kept ? { kept: "live record" } : {}) },
    }, { parent: this, dependsOn: [this.floatingRecord] });
    this.registerOutputs(identity);
  }

  private record(args: FloatingDnsArgs, spec: DnsRecordSpec | FoundRecord, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    if (args.provider === "route53") {
      return new aws.route53.Record(spec.resourceName, {
        zoneId: args.zoneId,
        name: spec.fqdn,
        type: spec.type,
        ttl: args.ttl,
        records: [spec.target],
      }, opts);
    }
    return new cloudflare.DnsRecord(spec.resourceName, {
      zoneId: args.zoneId,
      name: spec.fqdn,
      type: spec.type,
      content: spec.target,
      ttl: args.ttl,
      proxied: false,
    }, opts);
  }
}
