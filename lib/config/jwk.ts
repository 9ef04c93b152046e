// The standby service account's key: what `tctl sa create tsb-standby-sa` prints (a private RSA JWK),
// accepted as JSON or as the seed's base64 file. Errors never print the value: it is a secret.
import { ConfigError } from "./errors";

const KEY = "standbyServiceAccountJwk";
const PRIVATE_RSA_MEMBERS = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];

/** Returns the JWK as compact JSON text, or throws a ConfigError that names what is missing. */
export function parseStandbyJwk(text: string): string {
  const jwk = decode(text.trim());
  if (jwk === undefined) {
    throw new ConfigError(KEY, "(secret, not shown)",
      "is neither JSON nor base64 of JSON. Allowed: the JWK printed by `tctl sa create tsb-standby-sa`, as JSON or base64");
  }
  if (jwk["kty"] !== "RSA") {
    throw new ConfigError(KEY, "(secret, not shown)", `has kty ${JSON.stringify(jwk["kty"])}. Allowed: an RSA private JWK (kty "RSA")`);
  }
  if (typeof jwk["kid"] !== "string" || jwk["kid"] === "") {
    throw new ConfigError(KEY, "(secret, not shown)", "has no kid. Allowed: an RSA private JWK with a kid, as tctl prints it");
  }
  const missing = PRIVATE_RSA_MEMBERS.filter((m) => typeof jwk[m] !== "string" || jwk[m] === "");
  if (missing.length > 0) {
    throw new ConfigError(KEY, "(secret, not shown)",
      `lacks ${missing.join(", ")}: it is ${missing.includes("d") ? "a public key" : "incomplete"}. Allowed: the private RSA JWK (n, e, d, p, q, dp, dq, qi, kid)`);
  }
  return JSON.stringify(jwk);
}

function decode(text: string): Record<string, unknown> | undefined {
  const asJson = tryJson(text);
  if (asJson) return asJson;
  if (!/^[A-Za-z0-9+/=_-]+$/.test(text)) return undefined;
  return tryJson(Buffer.from(text, "base64").toString("utf8"));
}

function tryJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
