// Which DNS records the set owns (seed "DNS name for Management Plane endpoint").
import type { SetConfig } from "../config/config";
import type { SetPlan } from "./topology";
import { FLOATING_RECORD_NAME, siteRecordName } from "./resourceNames";

export interface DnsRecordSpec {
  /** Resource name: fixed per record, never derived from the record's target. */
  resourceName: string;
  fqdn: string;
  type: "A" | "AAAA" | "CNAME";
  target: string;
}

/** A site's permanent record whose target is found after the install: the front envoy's LB address. */
export interface DiscoveredRecordSpec {
  resourceName: string;
  site: string;
  fqdn: string;
}

export function floatingRecord(plan: SetPlan): DnsRecordSpec {
  return { resourceName: FLOATING_RECORD_NAME, fqdn: plan.floatingFqdn, type: "CNAME", target: plan.active.fqdn };
}

/** A site's permanent record, when it sets `address` (kept for a lost site: it lives in DNS, not the cluster). */
export function siteRecords(plan: SetPlan): DnsRecordSpec[] {
  return plan.sites.flatMap((s) => {
    const address = s.config.address;
    return address ? [{ resourceName: siteRecordName(s.name), fqdn: s.fqdn, type: address.kind, target: address.value }] : [];
  });
}

/**
 * With `dns.siteRecords: managed`, the permanent record of each site without `address` comes from its
 * front envoy's load-balancer address, read once the release exists. A fenced site keeps its record
 * (its address watch is not run again); a lost site's record leaves the stack (its target is a dead
 * load balancer) and comes back with its rebuild.
 */
export function discoveredSiteRecords(plan: SetPlan, dns: SetConfig["dns"]): DiscoveredRecordSpec[] {
  if (dns.siteRecords !== "managed") return [];
  return plan.sites
    .filter((s) => !s.config.address && s.managed && s.role !== "lost")
    .map((s) => ({ resourceName: siteRecordName(s.name), site: s.name, fqdn: s.fqdn }));
}
