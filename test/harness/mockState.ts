// What each mocked resource "returns", answering as the engine and the providers do. Every rule here is
// a claim about the real thing; each names the source it was read from.
//
// - Stack reference (pulumi/pulumi pkg/resource/deploy/builtins.go, readStackReference): `outputs`
//   holds every output of the referenced stack, secret ones still marked secret, and
//   `secretOutputNames` lists the secret ones. @pulumi/pulumi's StackReference.getOutputValue throws
//   for a name in that list (sdk/nodejs/stackReference.ts); getOutputDetails returns `secretValue`.
// - `.get()` of an object that does not exist (pkg/resource/deploy/step.go, ReadStep.Apply): the
//   provider's Read returns no outputs and the engine fails the step with
//   "resource '<id>' does not exist". A lost cluster does not answer at all.
// - Preview (same ReadStep.Apply: "Read steps run during previews. The only time we can't run is if the
//   ID we are given is unknown"): a read with an unknown ID returns no outputs. A resource that the
//   preview creates has an unknown ID and unknown computed outputs (the provider's Create has not run);
//   a resource that already exists keeps its outputs.
// - The TSB chart and its operator (tsb-facts.md, seed "Import the Secrets"): the operator makes
//   `iam-signing-key` unless one exists (a standby's copy is applied before its release), and derives
//   `tsb-iam-jwks` from it, while it reconciles the ManagementPlane after helm has returned
//   (tsb-facts.md "Added 2026-12"): not at once. Here it has done so after `operatorLagPolls` reads of
//   a wait (components/operatorSecretWait.ts) on that site, or between two updates; a `.get()` right
//   after the release finds nothing. `operatorStalled` sites never get there.
import type * as pulumi from "@pulumi/pulumi";
import type { ChildInput, ClusterObjects } from "./types";
import { JWKS_SECRET, SIGNING_KEY_SECRET } from "../../lib/config/names";
import { secretWaitTimeoutMessage } from "../../lib/gates/operatorSecret";

type Result = { id: string | undefined; state: Record<string, unknown> };

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
/** The SDK's marker for a value the engine does not know yet (sdk/nodejs/runtime/rpc.ts, unknownValue). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The clusters as the program's updates leave them: each run starts from the last one's. */
export class ClusterSim {
  readonly objects: Record<string, ClusterObjects>;
  /** Sites whose operator has a reconcile to finish, with the namespace and the reads it still takes. */
  private readonly reconciling = new Map<string, { ns: string; pollsLeft: number }>();

  constructor(private readonly input: ChildInput) {
    this.objects = structuredClone(input.clusterSecrets ?? {});
    for (const site of input.operatorReconciling ?? []) this.reconciling.set(site, { ns: "tsb", pollsLeft: input.operatorLagPolls ?? 2 });
  }

  private reachable(site: string | undefined): void {
    if (site && this.input.unreachableSites?.includes(site)) {
      throw new Error(`Get "https://${site}.cluster.invalid/api": dial tcp: connect: connection refused (cluster of site ${site} is unreachable)`);
    }
  }

  read(site: string | undefined, id: string): Record<string, unknown> {
    this.reachable(site);
    const secret = site ? this.objects[site]?.[id] : undefined;
    if (!secret) throw new Error(`resource '${id}' does not exist`);
    const [namespace, name] = id.split("/");
    return { metadata: { name, namespace }, type: secret.type ?? "Opaque", data: secret.data };
  }

  /** A Secret the program applies on a site. */
  applySecret(site: string | undefined, inputs: Record<string, unknown>): void {
    this.reachable(site);
    if (!site) return;
    const meta = unwrap(inputs["metadata"]) as { name?: string; namespace?: string };
    const data = { ...(unwrap(inputs["data"]) as Record<string, string> | undefined) };
    for (const [k, v] of Object.entries((unwrap(inputs["stringData"]) as Record<string, string> | undefined) ?? {})) data[k] = b64(v);
    if (!meta.name || typeof meta.namespace !== "string") return;
    (this.objects[site] ??= {})[`${meta.namespace}/${meta.name}`] = { type: (unwrap(inputs["type"]) as string | undefined) ?? "Opaque", data };
  }

  /** Helm returns once the chart's objects exist; the operator reconciles afterwards. */
  installRelease(site: string | undefined, inputs: Record<string, unknown>): void {
    this.reachable(site);
    if (!site) return;
    const ns = (unwrap(inputs["namespace"]) as string | undefined) ?? "tsb";
    this.reconciling.set(site, { ns, pollsLeft: this.input.operatorLagPolls ?? 2 });
  }

  /** The operator's reconcile: the signing key unless one exists, and the JWKS derived from it. */
  private reconcile(site: string): void {
    const r = this.reconciling.get(site);
    if (!r || this.input.operatorStalled?.includes(site)) return;
    this.reconciling.delete(site);
    const objects = (this.objects[site] ??= {});
    const keyId = `${r.ns}/${SIGNING_KEY_SECRET}`;
    objects[keyId] ??= { type: "Opaque", data: { kid: b64(`kid-made-on-${site}`), "private.key": b64(`key of ${site}`) } };
    const kid = objects[keyId].data["kid"] ?? "";
    objects[`${r.ns}/${JWKS_SECRET}`] = { type: "Opaque", data: { kid, jwks: b64(`{"keys":[{"kid":"${Buffer.from(kid, "base64").toString()}"}]}`) } };
  }

  /**
   * An OperatorSecretWait's reads of `id` on `site`, at most `maxPolls`: how many it took until the
   * Secret held data, or undefined when it never did (each read gives the operator time).
   */
  pollSecret(site: string, id: string, maxPolls: number): { polls: number; dataKeys: string[] } | { polls: number; lastSeen: string } {
    this.reachable(site);
    for (let polls = 1; polls <= maxPolls; polls++) {
      const data = this.objects[site]?.[id]?.data;
      if (data && Object.keys(data).length > 0) return { polls, dataKeys: Object.keys(data).sort() };
      const r = this.reconciling.get(site);
      if (r && --r.pollsLeft <= 0) this.reconcile(site);
    }
    return { polls: maxPolls, lastSeen: this.objects[site]?.[id] ? `Secret ${id} exists but has no data yet` : `Secret ${id} does not exist yet` };
  }

  /** Between two updates the operators finish what they were doing. */
  settle(): void {
    for (const site of [...this.reconciling.keys()]) this.reconcile(site);
  }
}

export interface RequestContext {
  kind: "register" | "read";
  urn: string;
  /** Set by mockState for an import: the inputs the provider read. */
  imported?: Record<string, unknown>;
  /** The request's inputs as the engine receives them (serialized; what the state saves). */
  inputs?: unknown;
}

export function mockState(args: pulumi.runtime.MockResourceArgs, input: ChildInput, clusters: ClusterSim, request: RequestContext): Result {
  const inputs = args.inputs as Record<string, unknown>;
  const site = siteOfProvider(args.provider);
  const isRead = request.kind === "read";
  const existing = input.existingUrns?.includes(request.urn) ?? false;
  const creatingInPreview = input.preview === true && !existing && !isRead;
  // An import (the `import` option; the SDK mock passes its ID as args.id): the engine reads the object
  // through the provider in preview and update alike, fails "resource '<id>' does not exist" when it is
  // missing, takes the read inputs as the "old" side and then diffs the program's inputs against them
  // (pulumi/pulumi pkg/resource/deploy/step.go ImportStep.Apply; ignoreChanges keep the read values
  // there: processIgnoreChanges). What a helm Release's Read returns: test/adoption.program.test.ts.
  // Only when the state has no resource under this URN with the same import ID (step_generator.go:
  // isImport := goal.ID != "" && (old == nil || old.External || oldImportID != goal.ID)).
  const inState = input.previousStates?.[request.urn];
  const importing = !isRead && args.id !== undefined && args.id !== "" && !args.type.startsWith("pulumi:") && inState?.importId !== args.id;
  if (importing) {
    const read = input.importable?.[`${args.type} ${args.id}`];
    if (!read) throw new Error(`resource '${args.id}' does not exist`);
    request.imported = read;
  }
  const id = creatingInPreview && !importing ? undefined : args.id && args.id !== "" ? args.id : `${args.name}-id`;

  const result = (state: Record<string, unknown>, computed: Record<string, unknown> = {}): Result => {
    if (creatingInPreview) return { id, state: { ...state, ...Object.fromEntries(Object.keys(computed).map((k) => [k, UNKNOWN])) } };
    return { id, state: { ...state, ...computed } };
  };

  if (args.type === "pulumi:pulumi:StackReference") {
    const secretNames = input.previousSecretOutputNames ?? [];
    const outputs = Object.fromEntries(Object.entries(input.previousOutputs ?? {}).map(([k, v]) =>
      [k, secretNames.includes(k) ? { [SECRET_SIG]: SECRET_VALUE, value: v } : v]));
    return { id: args.id || String(inputs["name"]), state: { name: inputs["name"], outputs, secretOutputNames: secretNames } };
  }
  if (args.type.startsWith("tls:")) {
    // Real keys differ on every run; the engine keeps an unchanged resource's outputs (a `same` step:
    // pulumi/pulumi pkg/resource/deploy/step_generator.go), so a key made last update is still the key.
    const prev = input.previousStates?.[request.urn];
    if (input.tls === "openssl" && prev && JSON.stringify(prev.inputs) === JSON.stringify(request.inputs)) {
      return { id, state: prev.state as Record<string, unknown> };
    }
    if (input.tls === "openssl" && !creatingInPreview) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tlsModule = require("./opensslTls") as { opensslTlsState: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown> };
      return result(inputs, tlsModule.opensslTlsState(args.type, args.name, inputs));
    }
    return result(inputs, fakeTls(args.type, args.name, input.certGeneration ?? 0));
  }
  if (args.type === "random:index/randomPassword:RandomPassword") {
    return result(inputs, { result: `password-of-${args.name}` });
  }
  if (args.type === "kubernetes:helm.sh/v3:Release") {
    if (!input.preview) clusters.installRelease(site, inputs);
    return result(inputs, { status: { name: inputs["name"], namespace: inputs["namespace"], status: "deployed" } });
  }
  if (args.type === "kubernetes:core/v1:Secret" && isRead) {
    // An unknown ID in preview: the engine does not call the provider and the read has no outputs.
    if (!args.id || args.id === UNKNOWN) return { id: undefined, state: {} };
    return { id: args.id, state: clusters.read(site, args.id) };
  }
  if (args.type === "kubernetes:core/v1:Secret" && !input.preview) {
    clusters.applySecret(site, inputs);
  }
  if (args.type === "pulumi-nodejs:dynamic/tsb-ha:OperatorSecretWait" && !creatingInPreview && !input.dynamicOutputs?.[args.name]) {
    // What components/operatorSecretWait.ts does against a cluster whose operator is still reconciling.
    const w = unwrap(inputs) as { site: string; namespace: string; secret: string; promotion: string; timeoutSeconds: number; pollSeconds: number; context?: string };
    const ref = `${w.namespace}/${w.secret}`;
    const seen = clusters.pollSecret(w.site, ref, Math.floor(w.timeoutSeconds / w.pollSeconds) + 1);
    if ("lastSeen" in seen) {
      throw new Error(secretWaitTimeoutMessage({ site: w.site, namespace: w.namespace, secret: w.secret, promotion: w.promotion, timeoutSeconds: w.timeoutSeconds, polls: seen.polls, lastSeen: seen.lastSeen, ...(w.context ? { context: w.context } : {}) }));
    }
    return result(inputs, { ref, dataKeys: seen.dataKeys, seen: `Secret ${ref} exists (data: ${seen.dataKeys.join(", ")})`, polls: seen.polls, elapsedSeconds: seen.polls * w.pollSeconds });
  }
  if (args.type.startsWith("pulumi-nodejs:dynamic")) {
    // A provider whose create throws: the engine fails the step, and nothing that depends on it resolves.
    const failure = input.failing?.[args.name];
    if (failure !== undefined && !creatingInPreview) throw new Error(failure);
    // What the dynamic provider's create returns (each provider's own tests run it for real, through
    // test/harness/dynamicProvider.ts); a test may override it by resource name.
    return result(inputs, input.dynamicOutputs?.[args.name] ?? dynamicDefaults(args.type, inputs));
  }
  return result(inputs);
}

/** "urn:pulumi:prod::tsb-ha::pulumi:providers:kubernetes::mp1-k8s::id" -> "mp1". */
export function siteOfProvider(provider: string | undefined): string | undefined {
  const name = provider?.split("::")[3];
  return name?.endsWith("-k8s") ? name.slice(0, -4) : undefined;
}

/** The mock monitor hands inputs over with secret markers kept; read through them. */
export function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (SECRET_SIG in o && "value" in o) return unwrap(o["value"]);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

/** The shapes of components/*.ts dynamic providers' outputs, with plausible values. */
function dynamicDefaults(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const site = typeof unwrap(inputs["site"]) === "string" ? (unwrap(inputs["site"]) as string) : "?";
  const siteNumber = /\d+$/.exec(site)?.[0] ?? "1";
  switch (type.split(":").pop()) {
    case "FrontEnvoyAddress":
      return { address: `203.0.113.${siteNumber}`, recordType: "A", seen: `service envoy on ${site}: 203.0.113.${siteNumber}`, elapsedSeconds: 3 };
    case "TsbBaseline":
      return { observed: { exists: true, uid: `uid-tsb-${site}`, generation: 1, specReplicas: 0 }, seen: "tsb at 0 replicas" };
    case "TsbReadyGate":
      return { seen: "tsb: 1/1 ready at generation 2", elapsedSeconds: 42, polls: 9, observation: { exists: true, readyReplicas: 1 } };
    case "TsbApiVerification":
      return { tenants: 3, clusters: 5, summary: `https://${String(unwrap(inputs["fqdn"]))}: organization ${String(unwrap(inputs["organization"]))}, 3 tenants, 5 clusters`, checkedAt: "2026-12-01T00:00:00Z" };
    case "StandbyServiceAccount":
      return { accountFqn: "organizations/tetrate/serviceaccounts/tsb-standby-sa", keyId: "sa-key-1", privateKeyJwk: MOCK_ACCOUNT_JWK, note: "created service account tsb-standby-sa", keyHeld: true, roleBound: true };
    case "StandbyFollow":
      return { timeline: 2, switchPoint: "0/5000000", pods: { "tsb/tsb-postgres-1-0": `${site} streams (mocked)` }, repointed: ["tsb/tsb-postgres-1-0"], seconds: 3, checkedAt: "2026-12-01T00:00:00Z" };
    case "ReplicationGate": {
      const others = (unwrap(inputs["otherStandbys"]) as string[] | undefined) ?? [];
      return {
        verdict: "pass", message: `${site} has replayed everything (mocked)`, waitedSeconds: 0, checkedAt: "2026-12-01T00:00:00Z",
        standbys: Object.fromEntries(others.map((o) => [o, { follow: "repoint", reason: "behind the switch point" }])),
      };
    }
    default:
      return {};
  }
}

/** The key the mocked StandbyServiceAccount returns (an RSA private JWK, as TSB returns it). */
export const MOCK_ACCOUNT_JWK = JSON.stringify({ kty: "RSA", kid: "sa-key-1", alg: "RS256", n: "bW9jaw", e: "AQAB", d: "bW9jay1k", p: "cA", q: "cQ", dp: "ZHA", dq: "ZHE", qi: "cWk" });

function fakeTls(type: string, name: string, generation: number): Record<string, unknown> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey":
      return { privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${name}\n-----END PRIVATE KEY-----\n`, publicKeyPem: `public-${name}` };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: `csr-${name}` };
    default:
      // A renewed leaf (earlyRenewalHours reached) is a new certificate: `generation` stands for it.
      return { certPem: `-----BEGIN CERTIFICATE-----\n${name}${type.endsWith("LocallySignedCert") && generation > 0 ? `-renewed-${generation}` : ""}\n-----END CERTIFICATE-----\n` };
  }
}
