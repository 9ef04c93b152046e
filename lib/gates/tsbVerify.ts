// Failover step 3b (the seed's "verify the standby", automated): from what the promoted site's TSB
// API answered, decide whether it serves the set's organisation. Pure: the API calls live in
// components/tsbApiVerification.ts, so this rule is tested on plain values.
//
// Answer shapes (lib/clients/tsbApi.ts header for sources): GetOrganization returns an Organization whose
// `fqn` is `organizations/<name>` (REST guide: `"fqn":"organizations/myorg/tenants/mytenant"` for a
// tenant); ListTenants returns `{tenants: [...]}`; ListClusters returns `{clusters: [...]}`.
// grpc-gateway omits empty lists, so a missing list means zero.

/** One HTTP answer as the check saw it. */
export interface ApiReply {
  status: number;
  body: unknown;
  /** Redacted text of the answer, for the message. */
  summary: string;
}

export interface VerifyInput {
  site: string;
  /** URL of the organisation (what a person would open to check by hand). */
  url: string;
  organization: string;
  org: ApiReply;
  tenants: ApiReply;
  clusters: ApiReply;
}

export type VerifyResult =
  | { ok: true; organization: string; tenants: number; clusters: number; summary: string }
  | { ok: false; message: string };

export function decideApiVerification(v: VerifyInput): VerifyResult {
  const fail = (what: string): VerifyResult => ({
    ok: false,
    message: `site ${v.site}: TSB API verification failed at ${v.url}: ${what}. ` +
      "The floating name was not moved. Check on the site that the promotion completed (deployment tsb ready, the operator's log) " +
      "and that its database holds the organisation (replication caught up before the promotion); to skip this check on a runner that cannot reach the permanent FQDN, set tsb-ha:tsb.verifyApi false.",
  });
  if (v.org.status === 404) return fail(`the API answers but has no organization "${v.organization}" (404: ${v.org.summary})`);
  if (v.org.status !== 200) return fail(`getting the organization answered ${v.org.status}: ${v.org.summary}`);
  const found = organizationName(v.org.body);
  if (found !== v.organization) {
    return fail(`expected organization "${v.organization}", the API answered ${found === undefined ? "without an organization name" : `"${found}"`} (${v.org.summary})`);
  }
  const tenants = countList(v.tenants, "tenants");
  if (typeof tenants === "string") return fail(`listing tenants ${tenants}`);
  const clusters = countList(v.clusters, "clusters");
  if (typeof clusters === "string") return fail(`listing clusters ${clusters}`);
  return {
    ok: true,
    organization: found,
    tenants,
    clusters,
    summary: `site ${v.site}: TSB API at ${v.url} serves organization ${found} with ${tenants} tenant(s) and ${clusters} cluster(s)`,
  };
}

/** The organisation's short name from `fqn` (`organizations/<name>`) or `name`. */
export function organizationName(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const o = body as Record<string, unknown>;
  if (typeof o["fqn"] === "string") {
    const m = /^organizations\/([^/]+)$/.exec(o["fqn"]);
    if (m) return m[1];
  }
  return typeof o["name"] === "string" && o["name"] !== "" ? o["name"] : undefined;
}

function countList(reply: ApiReply, key: string): number | string {
  if (reply.status !== 200) return `answered ${reply.status}: ${reply.summary}`;
  if (typeof reply.body !== "object" || reply.body === null || Array.isArray(reply.body)) return `answered something that is not a JSON object: ${reply.summary}`;
  const list = (reply.body as Record<string, unknown>)[key];
  if (list === undefined) return 0;
  if (!Array.isArray(list)) return `answered a "${key}" member that is not a list: ${reply.summary}`;
  return list.length;
}
