// A two-site set (mp1 active, mp2 standby) as the read-only commands see it: the stack's raw config
// and history, the signing-key and JWKS Secret data, the standby's JWK. Shared by the status and
// readiness tests.
import { generateKeyPairSync } from "node:crypto";
import type { SetHistory, SiteHistory } from "../../lib/plan/topology";

export const DOMAIN = "tsb.example.com";
export const FQDN = { mp1: `mp1.${DOMAIN}`, mp2: `mp2.${DOMAIN}`, mp3: `mp3.${DOMAIN}` } as const;
export const FLOATING = `active.${DOMAIN}`;
export const ORG = "tetrate";

let jwk: string | undefined;
/** A private RSA JWK with a kid, as `tctl sa create` prints it (made once per process). */
export function standbyJwk(): string {
  jwk ??= JSON.stringify({ ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }), kid: "standby-sa-key" });
  return jwk;
}

export const b64 = (s: string): string => Buffer.from(s).toString("base64");
export const signingKeyData = (kid: string): Record<string, string> => ({ kid: b64(kid), "private.key": b64("(not a real key)") });
/** tsb-iam-jwks as the seed shows it: `data.kid` (base64; `yq .data.kid | base64 -d`). Its other fields are not public. */
export const jwksData = (kid: string): Record<string, string> => ({ kid: b64(kid) });

export interface SiteOpts {
  context?: string;
  kubeconfig?: string;
  state?: string;
}

/** The stack's config without namespace, objects as JSON text (as `pulumi config --json` gives them). */
export function rawConfig(active: string, sites: Record<string, SiteOpts>, tsb: Record<string, unknown> = {}): Record<string, string> {
  return {
    activeSite: active,
    domain: DOMAIN,
    sites: JSON.stringify(sites),
    dns: JSON.stringify({ provider: "cloudflare", zoneId: "zone-1", ttl: 60 }),
    tsb: JSON.stringify({ version: "1.12.4", registry: "registry.example.com/tetrate", organization: ORG, ...tsb }),
    standbyServiceAccountJwk: standbyJwk(),
  };
}

export const SECRET_KEYS = ["standbyServiceAccountJwk"];

export function history(active: string, roles: Record<string, SiteHistory["role"]>): SetHistory {
  const entry = (role: SiteHistory["role"]): SiteHistory => ({ role, rebuild: 0, haMode: role === "standby" ? "standby" : "active", copies: role !== "active", detached: role === "lost", gated: false });
  return { activeSite: active, sites: Object.fromEntries(Object.entries(roles).map(([s, r]) => [s, entry(r)])) };
}
