// Which DNS records the set owns (seed "DNS name for Management Plane endpoint").
import type { SetPlan } from "./topology";

export interface DnsRecordSpec {
  /** Resource name: fixed per record, never derived from the record's target. */
  resourceName: string;
  fqdn: string;
  type: "A" | "AAAA" | "CNAME";
  target: string;
}

export function floatingRecord(plan: SetPlan): DnsRecordSpec {
  return { resourceName: "floating-record", fqdn: plan.floatingFqdn, type: "CNAME", target: plan.active.fqdn };
}

/** A site's permanent record, when it sets `address` (kept for a lost site: it lives in DNS, not the cluster). */
export function siteRecords(plan: SetPlan): DnsRecordSpec[] {
  return plan.sites.flatMap((s) => {
    const address = s.config.address;
    return address ? [{ resourceName: `${s.name}-record`, fqdn: s.fqdn, type: address.kind, target: address.value }] : [];
  });
}
