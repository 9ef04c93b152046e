// Issue 10, item 2: the standby's service account (seed, active step 5: `tctl sa create
// tsb-standby-sa` and the reader grant), made by the program through the active's TSB API.
//
// How it behaves (decisions in lib/gates/standbyAccount.ts, HTTP in lib/clients/tsbApi.ts):
// - create / update "ensure" the account: missing -> created with a JWK key (the private key is in
//   that answer only, so it goes to the state as a secret output); present and the state holds one
//   of its keys -> kept; present without such a key (made by tctl, or the key was lost) -> a new key
//   is generated and `note` says so (the lead logs it). Then the reader role is granted by
//   read-merge-write of the organisation's access policy with its etag, retrying on a conflict.
// - diff compares inputs only (no API call, so preview contacts nothing); it also asks for an update
//   when the state lacks a usable key or grant (after a failed run, or what `read` found).
// - read (`pulumi refresh`, `pulumi up --refresh`): the account gone -> the resource leaves the
//   state and the next `pulumi up` creates it again (the engine's own path for "deleted outside");
//   the held key revoked or the grant removed -> `keyHeld`/`roleBound` false, and the next up
//   repairs it. A site that does not answer leaves the state as it was.
// - a failed run leaves nothing the next run cannot finish: if the account was made but the grant
//   failed, create fails and saves nothing; the next run finds the account without a held key,
//   generates a new key and grants the role (the first key stays unused; `note` names it).
// - delete: removes the grant, then the account (404 counts as done).
// Secrets: `privateKeyJwk` is not an input, so the engine stores it in plain text unless the
// resource has `additionalSecretOutputs: ["privateKeyJwk"]` (pulumi/pulumi pkg/resource/plugin/
// provider_plugin.go annotateSecrets): this class adds it. `adminPassword` is kept in the state so
// `delete` can authenticate; it is an input of the same name, so the engine re-marks it secret.
import * as pulumi from "@pulumi/pulumi";
import type { TsbApiTargetArgs } from "./tsbApiVerification";
import { asText, expectStatus, fillPathTemplate, GENERATE_KEY_PATH_TEMPLATE, tsbCall, TSB_PATHS, tsbUrl, type TsbConnection } from "../lib/clients/tsbApi";
import {
  accountKeyIds, decideAccountAction, grantRefused, hasGrant, manualAccountSteps, pathNotServed, privateKeyFromAnswer, serviceAccountFqn,
  STANDBY_ACCOUNT_NAME, STANDBY_ACCOUNT_ROLE, withGrant, withoutGrant, type ManualAccountCase,
} from "../lib/gates/standbyAccount";

/** The active's API makes the account; the account is replicated to standbys with the database. */
export interface StandbyServiceAccountArgs extends TsbApiTargetArgs {
  /** Default `tsb-standby-sa` (the seed's name). */
  accountName?: pulumi.Input<string>;
  /** Role granted on the organisation (tsb.standbyRole). Default `rbac/org-reader` (the seed). */
  role?: pulumi.Input<string>;
  /** Writes of the access policy that may hit a concurrent change (409) before giving up. Default 5. */
  conflictRetries?: pulumi.Input<number>;
  /** [guess] path of GenerateServiceAccountKey; default `<account path>:generatekey`. `{org}` and `{name}` are replaced. */
  generateKeyPath?: pulumi.Input<string>;
}

interface AccountInputs {
  site: string;
  fqdn: string;
  port: number;
  organization: string;
  rootCaPem: string;
  adminPassword: string;
  accountName: string;
  role: string;
  address?: string;
  attempts?: number;
  timeoutSeconds?: number;
  backoffMs?: number;
  conflictRetries?: number;
  generateKeyPath?: string;
}

/** Inputs that move or re-target the account: a change is an update (ensure again), never a silent no-op. */
const UPDATE_ON = ["site", "fqdn", "port", "rootCaPem", "adminPassword", "role", "address", "generateKeyPath"] as const;
/** Inputs that name another account: a change replaces it (create the new one, then delete the old). */
const REPLACE_ON = ["organization", "accountName"] as const;

export function accountConnection(i: AccountInputs): TsbConnection {
  return {
    site: i.site,
    fqdn: i.fqdn,
    port: Number(i.port),
    rootCaPem: i.rootCaPem,
    adminPassword: i.adminPassword,
    address: i.address || undefined,
    attempts: i.attempts ?? 5,
    timeoutMs: (i.timeoutSeconds ?? 30) * 1000,
    backoffMs: i.backoffMs ?? 2000,
  };
}

/** TSB does not serve a call the account needs: `answer` says which call and what it answered (no secret). */
export class NotServedByTsb extends Error {
  constructor(readonly answer: string) {
    super(answer);
    this.name = "NotServedByTsb";
  }
}

function notServed(conn: TsbConnection, method: string, path: string, status: number, summary: string): NotServedByTsb {
  return new NotServedByTsb(`${method} ${tsbUrl(conn, path)} answered ${status}: ${summary}`);
}

/**
 * Reads the access policy, applies `change`, writes it back with its etag; re-reads on 409/412. A path
 * TSB does not serve, or a write it refuses (the role may not exist), throws NotServedByTsb.
 */
export async function updateAccessPolicy(conn: TsbConnection, organization: string, retries: number,
  change: (policy: unknown) => { changed: boolean; policy: Record<string, unknown> }): Promise<boolean> {
  const path = TSB_PATHS.policy(organization);
  const tries = Math.max(1, Math.floor(retries) + 1);
  for (let i = 0; i < tries; i++) {
    const current = await tsbCall(conn, "GET", path);
    if (pathNotServed(current.status)) throw notServed(conn, "GET", path, current.status, current.summary);
    expectStatus(conn, "GET", path, current, [200], "reading the organization's access policy");
    const next = change(current.body);
    if (!next.changed) return false;
    const written = await tsbCall(conn, "PUT", path, next.policy);
    if (written.status === 409 || written.status === 412) continue; // someone wrote in between: merge again
    if (grantRefused(written.status)) throw notServed(conn, "PUT", path, written.status, written.summary);
    expectStatus(conn, "PUT", path, written, [200], "writing the organization's access policy");
    return true;
  }
  throw new Error(`site ${conn.site}: the organization's access policy changed under every one of ${tries} writes (409 conflict each time); ` +
    "another writer is busy. Run pulumi up again.");
}

/** Create/update: make sure the account exists, the state holds one of its keys, and the role is granted. */
export async function ensureStandbyAccount(inputs: AccountInputs, olds?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const conn = accountConnection(inputs);
  const org = inputs.organization;
  const name = inputs.accountName;
  const fqn = serviceAccountFqn(org, name);
  const accountPath = TSB_PATHS.serviceAccount(org, name);
  const held = olds && olds["organization"] === org && olds["accountName"] === name && typeof olds["privateKeyJwk"] === "string" && olds["privateKeyJwk"] !== ""
    ? { keyId: asText(olds["keyId"]), jwk: olds["privateKeyJwk"] }
    : undefined;

  const current = await tsbCall(conn, "GET", accountPath);
  if (current.status !== 404) expectStatus(conn, "GET", accountPath, current, [200], `reading service account ${fqn}`);
  let action = decideAccountAction(current.status === 200, held?.keyId, accountKeyIds(current.body));
  const manual = (answer: string, account: ManualAccountCase["account"]): Error =>
    new Error(manualAccountSteps({ site: inputs.site, organization: org, accountName: name, role: inputs.role, answer, account }));
  if (action !== "keep") {
    // Before anything is made: the policy path is not public, and a TSB without it must not be left
    // with an account whose key nobody holds.
    const policyPath = TSB_PATHS.policy(org);
    const policy = await tsbCall(conn, "GET", policyPath);
    if (pathNotServed(policy.status)) throw manual(notServed(conn, "GET", policyPath, policy.status, policy.summary).answer, action === "create" ? "none" : "existed");
  }
  let key = held;
  let note: string;
  let madeHere = false;
  if (action === "create") {
    const path = TSB_PATHS.serviceAccounts(org);
    const made = await tsbCall(conn, "POST", path, { name, serviceAccount: { description: "Standby management planes synchronise with this account (tsb-ha)" }, keyEncoding: "JWK" });
    if (made.status === 409) action = "newKey"; // made by someone else since the read
    else {
      expectStatus(conn, "POST", path, made, [200, 201], `creating service account ${fqn}`);
      key = keyOrThrow(conn, made.body, `creating service account ${fqn}`);
      note = `created service account ${fqn} with key ${key.keyId}`;
      madeHere = true;
    }
  }
  if (action === "newKey") {
    const path = fillPathTemplate(inputs.generateKeyPath || GENERATE_KEY_PATH_TEMPLATE, org, name);
    const others = accountKeyIds(current.body);
    const made = await tsbCall(conn, "POST", path, { keyEncoding: "JWK" });
    if (pathNotServed(made.status)) throw manual(notServed(conn, "POST", path, made.status, made.summary).answer, "existed");
    expectStatus(conn, "POST", path, made, [200, 201], `generating a key for service account ${fqn}`);
    key = keyOrThrow(conn, made.body, `generating a key for service account ${fqn}`);
    note = `service account ${fqn} existed without a key this stack holds (made by tctl or by hand, or an earlier run failed after creating it); ` +
      `generated key ${key.keyId}. Its other keys (${others.join(", ") || "none"}) stay valid; revoke unused ones with \`tctl x sa revoke-key\`.`;
  }
  note ??= typeof olds?.["note"] === "string" && olds["note"] !== "" ? olds["note"] : `service account ${fqn} exists; the stack holds its key ${key?.keyId ?? ""}`;

  const oldRole = typeof olds?.["role"] === "string" ? olds["role"] : undefined;
  const retries = inputs.conflictRetries ?? 5;
  try {
    await updateAccessPolicy(conn, org, retries, (p) => withGrant(p, inputs.role, fqn));
  } catch (e) {
    if (!(e instanceof NotServedByTsb)) throw e;
    // An account this run made keeps no key once the run fails: take it back, so the seed's commands work.
    if (!madeHere) throw manual(e.answer, action === "keep" ? "held" : "existed");
    const gone = await tsbCall(conn, "DELETE", accountPath).then((r) => r.status < 300 || r.status === 404, () => false);
    throw manual(e.answer, gone ? "removed" : "left");
  }
  if (oldRole && oldRole !== inputs.role && olds?.["organization"] === org) {
    await updateAccessPolicy(conn, org, retries, (p) => withoutGrant(p, oldRole, fqn));
  }
  return {
    site: inputs.site,
    fqdn: inputs.fqdn,
    port: Number(inputs.port),
    organization: org,
    rootCaPem: inputs.rootCaPem,
    adminPassword: inputs.adminPassword,
    accountName: name,
    role: inputs.role,
    ...(inputs.address ? { address: inputs.address } : {}),
    ...(inputs.generateKeyPath ? { generateKeyPath: inputs.generateKeyPath } : {}),
    accountFqn: fqn,
    keyId: key!.keyId,
    privateKeyJwk: key!.jwk,
    keyHeld: true,
    roleBound: true,
    note,
  };
}

function keyOrThrow(conn: TsbConnection, body: unknown, what: string): { keyId: string; jwk: string } {
  try {
    return privateKeyFromAnswer(body);
  } catch (e) {
    throw new Error(`site ${conn.site}: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export const standbyServiceAccountProvider: pulumi.dynamic.ResourceProvider = {
  diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
    const replaces = REPLACE_ON.filter((k) => asText(olds[k]) !== asText(news[k]));
    const updates = UPDATE_ON.filter((k) => asText(olds[k]) !== asText(news[k]));
    const repair = !olds["privateKeyJwk"] || olds["keyHeld"] === false || olds["roleBound"] === false;
    return Promise.resolve({ changes: replaces.length + updates.length > 0 || repair, replaces: [...replaces], deleteBeforeReplace: false });
  },
  async create(inputs: Record<string, unknown>) {
    const outs = await ensureStandbyAccount(inputs as unknown as AccountInputs);
    return { id: String(outs["accountFqn"]), outs };
  },
  async update(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
    return { outs: await ensureStandbyAccount(news as unknown as AccountInputs, olds) };
  },
  async read(id: string, props: Record<string, unknown>) {
    const state = props as unknown as AccountInputs & Record<string, unknown>;
    const conn = accountConnection(state);
    const org = String(state.organization);
    const name = String(state.accountName);
    let account;
    try {
      account = await tsbCall(conn, "GET", TSB_PATHS.serviceAccount(org, name));
    } catch {
      return { id, props }; // no answer: nothing learned, the state stays
    }
    // Gone: an empty id tells the engine the resource no longer exists (cmd/dynamic-provider read -> ReadResponse.id);
    // refresh drops it from the state and the next up creates it again.
    if (account.status === 404) return { id: "", props: {} };
    if (account.status !== 200) return { id, props };
    const keyHeld = accountKeyIds(account.body).includes(asText(state["keyId"]));
    let roleBound = props["roleBound"] !== false;
    try {
      const policy = await tsbCall(conn, "GET", TSB_PATHS.policy(org));
      if (policy.status === 200) roleBound = hasGrant(policy.body, String(state.role), serviceAccountFqn(org, name));
    } catch {
      // keep what the state says
    }
    return { id, props: { ...props, keyHeld, roleBound } };
  },
  async delete(_id: string, props: Record<string, unknown>) {
    const state = props as unknown as AccountInputs;
    const conn = accountConnection(state);
    const fqn = serviceAccountFqn(state.organization, state.accountName);
    await updateAccessPolicy(conn, state.organization, state.conflictRetries ?? 5, (p) => withoutGrant(p, state.role, fqn));
    const path = TSB_PATHS.serviceAccount(state.organization, state.accountName);
    const gone = await tsbCall(conn, "DELETE", path);
    expectStatus(conn, "DELETE", path, gone, [200, 204, 404], `deleting service account ${fqn}`);
  },
};

/** Service account `tsb-standby-sa` on the active, with its private JWK as a secret output. */
export class StandbyServiceAccount extends pulumi.dynamic.Resource {
  declare public readonly accountName: pulumi.Output<string>;
  declare public readonly accountFqn: pulumi.Output<string>;
  /** The JWK's `kid` (= TSB's key id). */
  declare public readonly keyId: pulumi.Output<string>;
  /** The private RSA JWK (JSON): the standby's Secret `tsb-standby-sa` `data.jwk`. Secret. */
  declare public readonly privateKeyJwk: pulumi.Output<string>;
  /** What happened to the account, for the update's log (e.g. "generated key ..."). */
  declare public readonly note: pulumi.Output<string>;
  declare public readonly role: pulumi.Output<string>;

  constructor(name: string, args: StandbyServiceAccountArgs, opts?: pulumi.CustomResourceOptions) {
    super(standbyServiceAccountProvider, name, {
      ...args,
      accountName: args.accountName ?? STANDBY_ACCOUNT_NAME,
      role: args.role ?? STANDBY_ACCOUNT_ROLE,
      accountFqn: undefined, keyId: undefined, privateKeyJwk: undefined, note: undefined, keyHeld: undefined, roleBound: undefined,
    }, {
      ...opts,
      // The key is an output no input shares a name with: without this it would be stored in plain text.
      additionalSecretOutputs: [...new Set([...(opts?.additionalSecretOutputs ?? []), "privateKeyJwk", "adminPassword"])],
    }, "tsb-ha", "StandbyServiceAccount");
  }
}
