// Which address a site's permanent record gets, from the front envoy's LoadBalancer Service
// (tsb-facts.md: service `envoy` in `tsb`, type LoadBalancer; its `status.loadBalancer.ingress[]`
// holds the address). Kubernetes core/v1 LoadBalancerIngress has `ip` (IPv4 or IPv6) and/or
// `hostname` (cloud LBs such as AWS ELB/NLB report only a hostname).
// Pure: components/frontEnvoyAddress.ts polls the cluster and asks this function.
import { isIPv4, isIPv6 } from "node:net";
import { NAMESPACE } from "../config/errors";

export type RecordType = "A" | "AAAA" | "CNAME";

export type FrontAddress =
  | { found: true; address: string; recordType: RecordType; seen: string }
  | { found: false; seen: string };

/**
 * One record per site: an IPv4 address first (A), else an IPv6 one (AAAA), else a hostname (CNAME).
 * Among equals, the first the Service lists (the API keeps that order stable).
 */
export function frontAddress(service: unknown, serviceName: string): FrontAddress {
  if (service === undefined || service === null) return { found: false, seen: `service ${serviceName} does not exist yet` };
  const spec = record(record(service)["spec"]);
  const type = typeof spec["type"] === "string" ? spec["type"] : "ClusterIP";
  const ingress = record(record(record(service)["status"])["loadBalancer"])["ingress"];
  const entries = Array.isArray(ingress) ? ingress.map(record) : [];
  const ips = entries.map((e) => e["ip"]).filter((v): v is string => typeof v === "string" && v !== "");
  const hostnames = entries.map((e) => e["hostname"]).filter((v): v is string => typeof v === "string" && v !== "");
  const v4 = ips.find((ip) => isIPv4(ip));
  if (v4) return found(v4, "A", serviceName);
  const v6 = ips.find((ip) => isIPv6(ip));
  if (v6) return found(v6, "AAAA", serviceName);
  const host = hostnames[0]?.replace(/\.$/, "");
  if (host) return found(host, "CNAME", serviceName);
  if (type !== "LoadBalancer") {
    return { found: false, seen: `service ${serviceName} is of type ${type}, so no load balancer will give it an address; set sites.<site>.address instead` };
  }
  return { found: false, seen: `service ${serviceName} (type LoadBalancer) has no ingress address yet: the cloud load balancer is still being provisioned, or none is available in this cluster` };
}

function found(address: string, recordType: RecordType, serviceName: string): FrontAddress {
  return { found: true, address, recordType, seen: `service ${serviceName} has ingress ${address} (${recordType} record)` };
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The failure when no address appeared in time; says how to go on without one. */
export function addressTimeoutMessage(site: string, serviceRef: string, timeoutSeconds: number, lastSeen: string, context?: string): string {
  const [ns, name] = serviceRef.split("/");
  return [
    `site ${site}: ${serviceRef} got no load balancer address within ${timeoutSeconds} s. Last seen: ${lastSeen}.`,
    `Check: kubectl${context ? ` --context ${context}` : ""} -n ${ns ?? "?"} describe service ${name ?? "?"} (its events say why the cloud has not provisioned a load balancer).`,
    `Or give the address yourself: pulumi config set --path '${NAMESPACE}:sites.${site}.address' <ip-or-hostname>`,
  ].join("\n");
}
