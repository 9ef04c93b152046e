// A small HTTPS client for the TSB management plane's REST API, used by dynamic providers (API
// verification after a promotion, the standby service account). Node's https module only; it is
// required inside the functions because dynamic providers run from a serialized closure in the
// engine's provider process (design notes; test/harness/dynamicProvider.ts).
//
// Sources for the API (docs/tsb-api.md lists them per path):
// - REST = the gRPC API through grpc-gateway, base path /v2, HTTP Basic auth `user:password` or an
//   `x-tetrate-token` JWT: docs.tetrate.io/service-bridge/1.7.x/reference/rest-api/guide
//   ("Authentication", "Basic Auth"); tetratelabs/terraform-provider-tsb internal/helpers/basic_auth.go
//   sends `authorization: Basic base64(user:password)` the same way.
// - gRPC status -> HTTP status: grpc-gateway runtime/errors.go HTTPStatusFromCode (NotFound 404,
//   AlreadyExists and Aborted 409, Unauthenticated 401, PermissionDenied 403, Unavailable 503).
// - Paths with a public example: smarunich/monorepo samples/curl.md (a Tetrate engineer's curl
//   walk-through of `tctl` steps): GET .../tenants, GET .../clusters (`.clusters[].fqn`),
//   POST .../serviceaccounts {"name", "serviceAccount": {}}, GET/PUT .../policy {"allow": [...]},
//   DELETE .../serviceaccounts/NAME.
// - Message shapes: docs.tetrate.io refs/tsb/v2/team_service (CreateServiceAccountRequest: parent,
//   name, serviceAccount, keyEncoding; KeyPair: id = the JWT `kid`, publicKey, privateKey returned
//   once, encoding, defaultToken), refs/tsb/rbac/v2/policy_service (GetPolicy/SetPolicy of an
//   AccessPolicy {allow: Binding[]}), refs/tsb/rbac/v2/binding (Subject.serviceAccount = the fqn).
import type * as httpsTypes from "node:https";
import type { IncomingMessage } from "node:http";

/** Where and how to reach one site's TSB API. Every field is plain data (it crosses the wire). */
export interface TsbConnection {
  /** Site name, for messages. */
  site: string;
  /** The site's permanent FQDN: the TLS server name and the Host header. */
  fqdn: string;
  port: number;
  /** The set's root CA (PEM): the only trust anchor; never the system bundle, never skipped. */
  rootCaPem: string;
  /** Password of TSB user `admin` (the stack's `adminPassword`). Never printed. */
  adminPassword: string;
  /** Optional address to connect to instead of resolving the FQDN (IP or host name); TLS still checks the FQDN. */
  address?: string;
  /** Per-request limit. */
  timeoutMs: number;
  /** Tries per call, for timeouts, refused connections and 5xx (never for 4xx, 501 or TLS refusals). */
  attempts: number;
  /** First wait between tries, doubled each time (at most 10 s). Default 1000. */
  backoffMs?: number;
}

/** What the API answered (status < 500, not 401/403; those throw). */
export interface TsbAnswer {
  status: number;
  body: unknown;
  /** Short, redacted text of the answer, for messages. */
  summary: string;
}

/** The TSB user whose password the set manages (chart value `secrets.tsb.adminPassword`). */
export const TSB_ADMIN_USER = "admin";

/** REST paths used, relative to the API root; see the header for sources, docs/tsb-api.md for the list. */
export const TSB_PATHS = {
  organization: (org: string) => `/v2/organizations/${encodeURIComponent(org)}`,
  tenants: (org: string) => `/v2/organizations/${encodeURIComponent(org)}/tenants`,
  clusters: (org: string) => `/v2/organizations/${encodeURIComponent(org)}/clusters`,
  serviceAccounts: (org: string) => `/v2/organizations/${encodeURIComponent(org)}/serviceaccounts`,
  serviceAccount: (org: string, name: string) =>
    `/v2/organizations/${encodeURIComponent(org)}/serviceaccounts/${encodeURIComponent(name)}`,
  /** [guess] see GENERATE_KEY_PATH_TEMPLATE. */
  generateKey: (org: string, name: string) => fillPathTemplate(GENERATE_KEY_PATH_TEMPLATE, org, name),
  /** The organisation's access policy (rbac/v2 Policy service); smarunich/monorepo shows `.../clusters/NAME/policy`. */
  policy: (org: string) => `/v2/organizations/${encodeURIComponent(org)}/policy`,
};

/**
 * [guess] GenerateServiceAccountKey exists (refs/tsb/v2/team_service; `tctl x sa gen-key`), but its
 * HTTP binding is not public: grpc-gateway's custom-method style is assumed. Overridable
 * (StandbyServiceAccount `generateKeyPath`); `{org}` and `{name}` are replaced.
 */
export const GENERATE_KEY_PATH_TEMPLATE = "/v2/organizations/{org}/serviceaccounts/{name}:generatekey";

export function fillPathTemplate(template: string, org: string, name: string): string {
  return template.split("{org}").join(encodeURIComponent(org)).split("{name}").join(encodeURIComponent(name));
}

/** `https://fqdn:port/path`: the URL a person can try by hand (no credentials in it). */
export function tsbUrl(conn: Pick<TsbConnection, "fqdn" | "port">, path: string): string {
  return `https://${conn.fqdn}:${conn.port}${path}`;
}

/** Replaces the password and any private key in a text meant for a message. */
export function redact(text: string, password: string): string {
  let out = text.replace(/"privateKey"\s*:\s*"(?:[^"\\]|\\.)*"/g, '"privateKey":"(redacted)"');
  out = out.replace(/"d"\s*:\s*"[^"]*"/g, '"d":"(redacted)"');
  if (password) out = out.split(password).join("(redacted)");
  return out;
}

/** Codes Node's TLS layer gives when the server's certificate does not verify: never retried. */
const TLS_REFUSALS = [
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID", "CERT_UNTRUSTED",
  "CERT_REJECTED", "INVALID_CA",
];

/**
 * Calls the API with retries; returns answers below 500 except 401/403, which throw a message naming the
 * credential, and 501 (grpc-gateway's Unimplemented: asking again will not make it exist).
 */
export async function tsbCall(conn: TsbConnection, method: string, path: string, body?: unknown): Promise<TsbAnswer> {
  const url = tsbUrl(conn, path);
  const where = `site ${conn.site}: ${method} ${url}${conn.address ? ` (connected to ${conn.address})` : ""}`;
  const attempts = Math.max(1, Math.floor(conn.attempts));
  let last = "";
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, Math.min(10_000, (conn.backoffMs ?? 1000) * 2 ** (i - 1))));
    let answer: TsbAnswer;
    try {
      answer = await tsbRequestOnce(conn, method, path, body);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      const text = redact(e instanceof Error ? e.message : String(e), conn.adminPassword);
      if (TLS_REFUSALS.includes(code)) {
        throw new Error(`${where}: TLS refused: the server's certificate does not verify against the set's root CA (${code}: ${text}). ` +
          `Fix: check that ${conn.fqdn} reaches ${conn.site}'s front envoy and that its certificate (secret tsb-certs) was issued by the set's root CA for ${conn.fqdn}.`);
      }
      last = code === "TSB_TIMEOUT" ? `no answer within ${Math.round(conn.timeoutMs / 1000)} s` : `${code || "error"}: ${text}`;
      continue;
    }
    if (answer.status === 401 || answer.status === 403) throw new Error(authFailure(conn, where, answer));
    if (answer.status >= 500 && answer.status !== 501) {
      last = `answered ${answer.status}: ${answer.summary}`;
      continue;
    }
    return answer;
  }
  throw new Error(`${where}: ${last} (after ${attempts} ${attempts === 1 ? "try" : "tries"}). ` +
    `Check that ${conn.fqdn} resolves to ${conn.site}'s front envoy, that port ${conn.port} is reachable from this machine, and that deployment tsb in namespace tsb is ready.`);
}

function authFailure(conn: TsbConnection, where: string, answer: TsbAnswer): string {
  const who = `user \`${TSB_ADMIN_USER}\` of the set (password: the stack output \`adminPassword\`, installed as the chart value secrets.tsb.adminPassword)`;
  if (answer.status === 401) {
    return `${where}: answered 401 Unauthorized to ${who}: ${answer.summary}. ` +
      `Fix: the password in TSB differs from the stack's (changed by hand, or the release on ${conn.site} was installed with another one). ` +
      `Log in at https://${conn.fqdn}:${conn.port} as ${TSB_ADMIN_USER} with \`pulumi stack output adminPassword --show-secrets\`; set the password in TSB back to it, or let the release re-apply it.`;
  }
  return `${where}: answered 403 Forbidden to ${who}: ${answer.summary}. ` +
    `Fix: user ${TSB_ADMIN_USER} lacks a permission this call needs; grant it the organisation admin role (rbac/admin) in the organisation's access policy, then run pulumi up again.`;
}

/** One HTTPS request: TLS verified against the root CA only, server name = FQDN, hard time limit. */
export async function tsbRequestOnce(conn: TsbConnection, method: string, path: string, body?: unknown): Promise<TsbAnswer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const https = require("node:https") as typeof httpsTypes;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const auth = Buffer.from(`${TSB_ADMIN_USER}:${conn.adminPassword}`).toString("base64");
  return await new Promise<TsbAnswer>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined = undefined; // declared first: the closure serializer needs it in scope
    const req = https.request({
      host: conn.address ?? conn.fqdn,
      port: conn.port,
      path,
      method,
      servername: conn.fqdn, // SNI and the name the certificate must carry, also when connecting by address
      ca: conn.rootCaPem, // replaces the default trust store: only the set's root CA is trusted
      rejectUnauthorized: true,
      agent: false, // no pooled keep-alive socket outlives the call (the provider process must exit)
      headers: {
        host: conn.port === 443 ? conn.fqdn : `${conn.fqdn}:${conn.port}`,
        authorization: `Basic ${auth}`,
        accept: "application/json",
        connection: "close",
        ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
      },
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e) => { clearTimeout(timer); reject(e); });
      res.on("end", () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = undefined;
        try { parsed = text ? JSON.parse(text) as unknown : undefined; } catch { parsed = undefined; }
        const short = redact(text.replace(/\s+/g, " ").trim(), conn.adminPassword);
        resolve({ status: res.statusCode ?? 0, body: parsed, summary: short.length > 300 ? `${short.slice(0, 297)}...` : short || "(empty body)" });
      });
    });
    timer = setTimeout(() => req.destroy(Object.assign(new Error("no answer in time"), { code: "TSB_TIMEOUT" })), conn.timeoutMs);
    req.on("error", (e) => { clearTimeout(timer); reject(e); });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Throws a message naming the call and the answer unless the status is one of `ok`. */
export function expectStatus(conn: TsbConnection, method: string, path: string, answer: TsbAnswer, ok: number[], what: string): void {
  if (ok.includes(answer.status)) return;
  throw new Error(`site ${conn.site}: ${what}: ${method} ${tsbUrl(conn, path)} answered ${answer.status}: ${answer.summary}`);
}

/** A value from the wire as text for comparisons and messages (strings as they are, others as JSON). */
export function asText(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}
