// The standby's service account (seed, active step 5), as plain decisions: what to do with the
// account, how to read the key TSB returns once, and how to add the reader grant to the
// organisation's access policy without touching anyone else's bindings.
// Shapes (lib/clients/tsbApi.ts header for sources): ServiceAccount {fqn, keys: KeyPair[]}, KeyPair {id
// (= the JWT `kid`), publicKey, privateKey (only in the answer that made it), encoding};
// AccessPolicy {allow: [{role, subjects: [{user|team|serviceAccount: fqn}]}], ...}.

/** The account name the seed uses (`tctl sa create tsb-standby-sa`). */
export const STANDBY_ACCOUNT_NAME = "tsb-standby-sa";
/** The role the seed grants; TSB's public role list names `rbac/reader`, so it is configurable. */
export const STANDBY_ACCOUNT_ROLE = "rbac/org-reader";

export function serviceAccountFqn(organization: string, name: string): string {
  return `organizations/${organization}/serviceaccounts/${name}`;
}

/** create: no account; keep: the stack holds a key the account still has; newKey: otherwise. */
export type AccountAction = "create" | "keep" | "newKey";

export function decideAccountAction(accountExists: boolean, heldKeyId: string | undefined, accountKeyIds: string[]): AccountAction {
  if (!accountExists) return "create";
  return heldKeyId !== undefined && heldKeyId !== "" && accountKeyIds.includes(heldKeyId) ? "keep" : "newKey";
}

/** The `id` of each key pair of a ServiceAccount answer. */
export function accountKeyIds(account: unknown): string[] {
  const keys = asObject(account)?.["keys"];
  if (!Array.isArray(keys)) return [];
  return keys.map((k) => asObject(k)?.["id"]).filter((id): id is string => typeof id === "string" && id !== "");
}

const PRIVATE_RSA_MEMBERS = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];

/**
 * The private key from an answer that made one (CreateServiceAccount: `keys[]`; a generated key:
 * the KeyPair itself or a ServiceAccount with it in `keys[]`), as compact JWK JSON with a `kid`.
 * Throws a message that never contains key material.
 */
export function privateKeyFromAnswer(answer: unknown): { keyId: string; jwk: string } {
  const o = asObject(answer);
  const candidates: unknown[] = Array.isArray(o?.["keys"]) ? (o["keys"] as unknown[]) : [answer];
  const pair = candidates.map(asObject).find((k) => k !== undefined && k["privateKey"] !== undefined && k["privateKey"] !== "");
  if (!pair) throw new Error("the answer holds no private key (keys[].privateKey is missing; TSB returns it only once, in the answer that made the key)");
  const raw = pair["privateKey"];
  const jwk = typeof raw === "string" ? parseJwkText(raw) : asObject(raw);
  if (!jwk) throw new Error("keys[].privateKey is not a JWK (was the key requested with keyEncoding JWK?)");
  const id = typeof pair["id"] === "string" ? pair["id"] : undefined;
  const kid = typeof jwk["kid"] === "string" && jwk["kid"] !== "" ? jwk["kid"] : id;
  if (!kid) throw new Error("the key has neither a kid nor an id");
  if (jwk["kty"] !== "RSA") throw new Error(`the key has kty ${JSON.stringify(jwk["kty"])}, not RSA`);
  const missing = PRIVATE_RSA_MEMBERS.filter((m) => typeof jwk[m] !== "string" || jwk[m] === "");
  if (missing.length > 0) throw new Error(`the key lacks ${missing.join(", ")}: not a private RSA JWK`);
  return { keyId: kid, jwk: JSON.stringify({ ...jwk, kid }) };
}

function parseJwkText(text: string): Record<string, unknown> | undefined {
  for (const candidate of [text, Buffer.from(text, "base64").toString("utf8")]) {
    try {
      const v = asObject(JSON.parse(candidate));
      if (v) return v;
    } catch {
      // not this form
    }
  }
  return undefined;
}

/** True when `role` is granted to the service account `subject` in the policy. */
export function hasGrant(policy: unknown, role: string, subject: string): boolean {
  return bindings(policy).some((b) => b["role"] === role && subjectsOf(b).some((s) => s["serviceAccount"] === subject));
}

/**
 * The policy with `role` granted to `subject`, every other member and binding as it was (the
 * `etag` included, so a concurrent writer makes the write fail instead of being overwritten).
 */
export function withGrant(policy: unknown, role: string, subject: string): { changed: boolean; policy: Record<string, unknown> } {
  const base = { ...(asObject(policy) ?? {}) };
  if (hasGrant(policy, role, subject)) return { changed: false, policy: base };
  const allow = bindings(policy).map((b) => ({ ...b }));
  const same = allow.find((b) => b["role"] === role);
  if (same) same["subjects"] = [...subjectsOf(same), { serviceAccount: subject }];
  else allow.push({ role, subjects: [{ serviceAccount: subject }] });
  return { changed: true, policy: { ...base, allow } };
}

/** The policy without `subject` in `role`'s bindings (a binding left with no subject is dropped). */
export function withoutGrant(policy: unknown, role: string, subject: string): { changed: boolean; policy: Record<string, unknown> } {
  const base = { ...(asObject(policy) ?? {}) };
  if (!hasGrant(policy, role, subject)) return { changed: false, policy: base };
  const allow = bindings(policy)
    .map((b) => (b["role"] === role ? { ...b, subjects: subjectsOf(b).filter((s) => s["serviceAccount"] !== subject) } : b))
    .filter((b) => b["role"] !== role || subjectsOf(b).length > 0);
  return { changed: true, policy: { ...base, allow } };
}

function bindings(policy: unknown): Record<string, unknown>[] {
  const allow = asObject(policy)?.["allow"];
  return Array.isArray(allow) ? allow.map(asObject).filter((b): b is Record<string, unknown> => b !== undefined) : [];
}

function subjectsOf(binding: Record<string, unknown>): Record<string, unknown>[] {
  const s = binding["subjects"];
  return Array.isArray(s) ? s.map(asObject).filter((x): x is Record<string, unknown> => x !== undefined) : [];
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * TSB's HTTP binding of a call the program needs is not public (the new-key path `:generatekey`, the
 * organisation's policy path: tsb-facts.md "Added 2026-12"). An answer that says the path or method
 * is not there (404, 405, 501) is not retried with another guess: the person makes the account.
 */
export function pathNotServed(status: number): boolean {
  return status === 404 || status === 405 || status === 501;
}

/** A write of the access policy that TSB refused for its content or path: the role may not exist (400, 404), or the method is not served. */
export function grantRefused(status: number): boolean {
  return status === 400 || pathNotServed(status);
}

export interface ManualAccountCase {
  site: string;
  organization: string;
  accountName: string;
  role: string;
  /** Which call answered what, e.g. "POST https://.../serviceaccounts/tsb-standby-sa:generatekey answered 404: ...". */
  answer: string;
  /**
   * The account as the person finds it: "none" (nothing was made), "existed" (made before this run, no
   * key of it in the stack), "removed" (this run made it and deleted it again), "left" (this run made it
   * and could not delete it), "held" (the stack holds a key of it: only the grant is missing).
   */
  account: "none" | "existed" | "removed" | "left" | "held";
}

/**
 * The stop when TSB does not serve what the program would call: the seed's own commands (active step 5:
 * `tctl sa create`, the grant) and the config key that hands the stack the key, so the program makes no
 * account. Names no secret.
 */
export function manualAccountSteps(c: ManualAccountCase): string {
  const fqn = serviceAccountFqn(c.organization, c.accountName);
  const binding = JSON.stringify([{ role: c.role, subjects: [{ serviceAccount: fqn }] }]);
  const grant = `  tctl get ab organizations/${c.organization} -o yaml | yq '.spec.allow += ${binding}' | tctl apply -f -`;
  const roleHint = "If TSB refused the role, check the roles it has (tctl get ab organizations/<org> -o yaml) and set tsb.standbyRole, or grant another by hand. docs/tsb-api.md, \"Making the account by hand\".";
  if (c.account === "held") {
    return [
      `site ${c.site}: ${c.answer}.`,
      `The stack holds a key of ${fqn}; only its grant is missing, and the program does not try another path. Grant it by hand on ${c.site}, as the seed does (active step 5), then run pulumi up again:`,
      grant,
      roleHint,
    ].join("\n");
  }
  const before = {
    none: "Nothing was made in TSB.",
    removed: `This run had made ${fqn}; it was deleted again, so the commands below start clean.`,
    existed: `${fqn} already exists and this stack holds none of its keys: if you made it with tctl and kept tsb-standby-sa-b64e, skip the first command; otherwise delete the account in TSB first.`,
    left: `This run made ${fqn} and could not delete it again: delete it in TSB before the first command.`,
  }[c.account];
  return [
    `site ${c.site}: ${c.answer}.`,
    `TSB's HTTP paths for a new service-account key and for the organisation's access policy are not public, so the program does not try another one. ${before}`,
    `Make the account by hand on ${c.site}, as the seed does (active step 5; role ${c.role} from tsb.standbyRole):`,
    `  tctl sa create ${c.accountName} | base64 -w0 > tsb-standby-sa-b64e`,
    grant,
    "then give the stack its key (with it in config the program makes no account) and run pulumi up again:",
    `  pulumi config set --secret tsb-ha:standbyServiceAccountJwk "$(cat tsb-standby-sa-b64e)"`,
    roleHint,
  ].join("\n");
}
