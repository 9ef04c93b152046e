// Configs and cluster contents shared by the program tests: the seed's two-site set (mp1, mp2).
import { generateKeyPairSync } from "node:crypto";
import type { ChildInput } from "./harness/runProgram";
import { randomValue } from "./harness/registrationDump";

/** A real private RSA JWK, as `tctl sa create` prints one (kid included). */
export function makeJwk(kid = "tsb-standby-sa-key"): string {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" });
  // Its numbers are new in every run: a registration dump labels them (tests also pass on parts of it).
  for (const [k, v] of Object.entries(jwk)) if (typeof v === "string" && v.length > 8) randomValue(v, `test JWK ${k}`);
  return JSON.stringify({ ...jwk, kid, alg: "RS256" });
}

export const JWK = makeJwk();

export function baseConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    activeSite: "mp1",
    domain: "tsb.example.com",
    sites: { mp1: { context: "mp1" }, mp2: { context: "mp2" } },
    dns: { provider: "route53", zoneId: "Z0123456789", ttl: 60 },
    tsb: { version: "1.12.4", registry: "registry.example.com/tetrate", organization: "tetrate" },
    standbyServiceAccountJwk: JWK,
    ...over,
  };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The iam-signing-key of the set (what the origin's chart made) and the jwks a standby derives. */
export function signingKey(kid = "kid-2024") {
  return { type: "Opaque", data: { kid: b64(kid), "private.key": b64(`-----BEGIN RSA PRIVATE KEY-----\n${kid}\n-----END RSA PRIVATE KEY-----`) } };
}

export function clusterWithKeys(sites: string[], kid = "kid-2024"): NonNullable<ChildInput["clusterSecrets"]> {
  return Object.fromEntries(sites.map((s) => [s, {
    "tsb/iam-signing-key": signingKey(kid),
    "tsb/tsb-iam-jwks": { type: "Opaque", data: { kid: b64(kid), jwks: b64("{\"keys\":[]}") } },
  }]));
}

export function input(config: Record<string, unknown>, extra: Partial<ChildInput> = {}): ChildInput {
  return { config, secretKeys: ["standbyServiceAccountJwk"], clusterSecrets: clusterWithKeys(["mp1", "mp2", "mp3"]), ...extra };
}
