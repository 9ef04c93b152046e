// Secrets TSB's operator makes, which the program reads: `iam-signing-key` on the active (made while the
// operator reconciles the ManagementPlane, after helm has returned: tsb-facts.md "Added 2026-12"; the
// standbys get a copy) and `tsb-iam-jwks` on a standby (derived from that key; the failover preflight
// checks it). A read right after the release can find neither on a first install, so
// components/operatorSecretWait.ts polls (bounded) until the Secret is there with data, and only then
// does the program read it. Pure: what one read saw, and what to say when the wait ran out.
import { NAMESPACE } from "../config/errors";
import { JWKS_SECRET, SIGNING_KEY_SECRET } from "../config/names";

export interface SecretSighting {
  /** The Secret exists and holds at least one data field: the operator has written it. */
  made: boolean;
  /** One line for the log and for the timeout message; data field names only, never a value. */
  seen: string;
  /** Names of its data fields (e.g. `kid`, `private.key`), never the values. */
  dataKeys: string[];
}

/** What one GET of Secret `ref` (`namespace/name`) found: the API's object, or undefined for a 404. */
export function sightSecret(secret: unknown, ref: string): SecretSighting {
  if (secret === undefined || secret === null) return { made: false, seen: `Secret ${ref} does not exist yet`, dataKeys: [] };
  const data = (secret as Record<string, unknown>)["data"];
  const dataKeys = typeof data === "object" && data !== null && !Array.isArray(data) ? Object.keys(data).sort() : [];
  if (dataKeys.length === 0) return { made: false, seen: `Secret ${ref} exists but has no data yet`, dataKeys };
  return { made: true, seen: `Secret ${ref} exists (data: ${dataKeys.join(", ")})`, dataKeys };
}

/** Why the program waits: the values a timeout message needs. */
export interface SecretWaitFailure {
  site: string;
  namespace: string;
  secret: string;
  /** The promotion the wait belongs to ("install", "mp1->mp2"). */
  promotion: string;
  timeoutSeconds: number;
  polls: number;
  lastSeen: string;
  context?: string;
}

/**
 * The stop when the operator did not make the Secret in time: the Secret, the site, what waits for it
 * (nothing of that was done), what to check, and that a rerun waits again.
 */
export function secretWaitTimeoutMessage(f: SecretWaitFailure): string {
  const kubectl = `kubectl${f.context ? ` --context ${f.context}` : ""} -n ${f.namespace}`;
  const ref = `${f.namespace}/${f.secret}`;
  const head = `site ${f.site}: Secret ${ref} was not made within ${f.timeoutSeconds} s (${f.polls} reads). Last seen: ${f.lastSeen}.`;
  const operator = `Check TSB's operator on ${f.site}: ${kubectl} logs -l name=tsb-operator --tail=100; ${kubectl} get managementplane managementplane -o yaml (status); ${kubectl} get secret ${f.secret}.`;
  if (f.secret === JWKS_SECRET) {
    return [
      `Failover ${f.promotion.replace("->", " -> ")} refused: ${head} Nothing was fenced.`,
      `The standby's operator generates it from ${SIGNING_KEY_SECRET} (seed, "Import the Secrets"). ${operator}`,
      "Run pulumi up again once it exists (npm run readiness -- --target " + f.site + " checks it).",
    ].join("\n");
  }
  return [
    head,
    `TSB's operator makes it while it reconciles the ManagementPlane, after helm has returned; the standbys' copies (and so their releases) wait for it, and none was written. ${operator}`,
    `Then run pulumi up again: the release is in place and the next update waits again (tsb.readyTimeoutSeconds bounds the wait: pulumi config set --path '${NAMESPACE}:tsb.readyTimeoutSeconds' <seconds>).`,
  ].join("\n");
}
