// lib/adoption/ adopts a hand-installed management plane, as one pipeline in the order the data flows:
// config (lib/config/adoption.ts) -> read (here: the live cluster, read-only) -> decide (decide.ts: the
// preflight's refusals, the values, the step machine) -> plan (plan.ts: this update's adoption) ->
// overlay (overlay.ts: what it changes in each phase of index.ts) -> describe (describe.ts: the words
// preview logs). Each file imports only the ones before it (test/layers.test.ts).
//
// The read-only preflight reads of an adoption (issue 13): fills the live part of RecordedAdoptionState
// (below) from a site's cluster with bounded GETs (lib/clients/kubeRead.ts), so `adoptionPreflight` can
// judge it before any resource is registered (the lead calls this from the program's main process, in
// preview too). Nothing here writes to the cluster, and no message carries a value read from a Secret:
// the Helm release record holds the installed values, passwords and keys among them.
//
// Helm's storage, as helm/helm v3 writes it (pkg/storage/driver/secrets.go newSecretsObject; pkg/storage/
// storage.go makeKey; pkg/storage/driver/util.go encodeRelease/decodeRelease):
//   Secret `sh.helm.release.v1.<name>.v<revision>`, type `helm.sh/release.v1`, labels owner=helm, name,
//   status, version (+ createdAt/modifiedAt); data.release = base64(gzip(JSON release)), gzip at
//   BestCompression; decodeRelease skips gunzip when the bytes lack the gzip magic 1f 8b 08 (releases stored
//   before compression). The API returns Secret data base64-encoded once more, hence two decodes here.
// The release JSON (pkg/release/release.go, info.go, status.go): name, namespace, version (the revision),
// info.status ("deployed", "superseded", "pending-upgrade", ...), chart.metadata.{name,version}, config =
// the user-supplied values (what `helm get values` prints: pkg/action/get_values.go returns rel.Config).
import { gunzipSync } from "node:zlib";
import { isValues, type Values } from "../config/helmValues";
import type { KubeAccess } from "../clients/kubeAccess";
import { KUBE_ACCESS_DENIED, kubeGet, kubePaths } from "../clients/kubeRead";
import { MANAGEMENT_PLANE_CR, MANAGEMENT_PLANE_CRD, OPERATOR_DEPLOYMENT, SIGNING_KEY_SECRET, TSB_CERTS_SECRET, XCP_CENTRAL_SECRET } from "../config/names";


/** Helm 3's storage Secret type and name prefix (pkg/storage/driver/secrets.go, pkg/storage/storage.go HelmStorageType). */
export const HELM_RELEASE_SECRET_TYPE = "helm.sh/release.v1";
export const HELM_RELEASE_SECRET_PREFIX = "sh.helm.release.v1.";
/** The label selector Helm's `History`/`Last` query with (pkg/storage/storage.go History). */
export const helmReleaseSelector = (release: string): string => `owner=helm,name=${release}`;

/**
 * Secrets a tctl install made that the chart renders too, so the release must own them
 * (rootsongjc/cloud-native-library content/tsb/setup/migrate-tctl-to-helm.md lists exactly these five),
 * plus tsb-certs and xcp-central-cert: step activate supplies `secrets.tsb.cert` and `secrets.xcp.central`,
 * from which the chart renders them (content/tsb/setup/helm/managementplane.md; the migrate page does not
 * list them, so their need for Helm ownership is an inference). iam-signing-key is the operator's, never
 * the chart's: only its existence is read.
 */
export const CHART_SECRETS = ["admin-credentials", "postgres-credentials", "elastic-credentials", "es-certs", "ldap-credentials", TSB_CERTS_SECRET, XCP_CENTRAL_SECRET] as const;

/**
 * The operator's cluster-scoped RBAC: `tsb-operator-management-plane-tsb` in the migrate page for namespace
 * tsb; the suffix being the namespace is inferred from the control plane's `tsb-operator-control-plane-istio-system`
 * on the same page [guess for namespaces other than tsb].
 */
export const operatorClusterRbacName = (namespace: string): string => `${OPERATOR_DEPLOYMENT}-${namespace}`;

// ---------------------------------------------------------------------------------------------------
// Helm's release record

export interface HelmReleaseRecord {
  name: string;
  namespace: string;
  /** The revision (Helm's `version`). */
  revision: number;
  /** `info.status`: deployed, superseded, failed, pending-install, pending-upgrade, pending-rollback, uninstalling, uninstalled, unknown. */
  status: string;
  chartName: string;
  chartVersion: string;
  /** The user-supplied values (`helm get values`); {} when Helm stored none. */
  config: Values;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function strictBase64(text: string, what: string): Buffer {
  const compact = text.replace(/\s+/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw new Error(`${what} is not base64`);
  return Buffer.from(compact, "base64");
}

/**
 * Decodes one Helm storage Secret (as the API returns it) into the fields the preflight needs. Pure.
 * Errors name the Secret and what is wrong with it, never its contents.
 */
export function decodeHelmReleaseSecret(secret: unknown): HelmReleaseRecord {
  const meta = isValues(secret) && isValues(secret["metadata"]) ? secret["metadata"] : {};
  const id = `Secret ${typeof meta["namespace"] === "string" ? `${meta["namespace"]}/` : ""}${typeof meta["name"] === "string" ? meta["name"] : "(unnamed)"}`;
  if (!isValues(secret)) throw new Error("a Helm release Secret must be an object");
  if (secret["type"] !== HELM_RELEASE_SECRET_TYPE) {
    throw new Error(`${id} is not a Helm 3 release record (type ${JSON.stringify(secret["type"] ?? null)}, expected ${HELM_RELEASE_SECRET_TYPE})`);
  }
  const data = isValues(secret["data"]) ? secret["data"] : {};
  const encoded = data["release"];
  if (typeof encoded !== "string" || encoded === "") throw new Error(`${id} has no data.release`);
  let bytes: Buffer;
  try {
    // The API's base64 of the bytes Helm stored, which are Helm's own base64 text (util.go encodeRelease).
    bytes = strictBase64(strictBase64(encoded, "data.release").toString("latin1"), "the release inside data.release");
  } catch (e) {
    throw new Error(`${id}: ${e instanceof Error ? e.message : "undecodable"}`);
  }
  let json = bytes;
  if (bytes.length >= 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08) {
    try {
      json = gunzipSync(bytes);
    } catch {
      throw new Error(`${id}: data.release has a gzip header but does not decompress (truncated or corrupt)`);
    }
  }
  let rel: unknown;
  try {
    rel = JSON.parse(json.toString("utf8")) as unknown;
  } catch {
    throw new Error(`${id}: data.release does not hold a JSON release (neither gzip nor JSON after base64)`);
  }
  if (!isValues(rel)) throw new Error(`${id}: the decoded release is not a JSON object`);
  const info = isValues(rel["info"]) ? rel["info"] : {};
  const chart = isValues(rel["chart"]) ? rel["chart"] : {};
  const chartMeta = isValues(chart["metadata"]) ? chart["metadata"] : {};
  const need = (v: unknown, field: string): string => {
    if (typeof v !== "string" || v === "") throw new Error(`${id}: the decoded release has no ${field}`);
    return v;
  };
  const revision = rel["version"];
  if (typeof revision !== "number" || !Number.isInteger(revision) || revision < 1) throw new Error(`${id}: the decoded release has no revision (version)`);
  const config = rel["config"];
  if (config !== undefined && config !== null && !isValues(config)) throw new Error(`${id}: the decoded release's config is not a map of values`);
  return {
    name: need(rel["name"], "name"),
    // Helm writes namespace into the record since 3.0; fall back to the Secret's own namespace.
    namespace: typeof rel["namespace"] === "string" && rel["namespace"] !== "" ? rel["namespace"] : need(meta["namespace"], "namespace"),
    revision,
    status: need(info["status"], "info.status"),
    chartName: need(chartMeta["name"], "chart.metadata.name"),
    chartVersion: need(chartMeta["version"], "chart.metadata.version"),
    config: isValues(config) ? config : {},
  };
}

/**
 * The revision `helm get` / `helm get values` / `helm ls` take as current: the highest revision of the
 * release, whatever its status (helm/helm pkg/action/get.go -> action.go releaseContent(name, 0) ->
 * storage.go Last: History(name) sorted by releaseutil.SortByRevision, reversed, first; pkg/action/list.go
 * filterLatestReleases keeps the highest Version too). Secrets of other releases are ignored. Like
 * Helm's driver (secrets.go Query skips what it cannot decode) an undecodable revision is skipped, unless
 * its `version` label says it is the newest: then "current" is unknown and this throws.
 */
export function latestRelease(secrets: readonly unknown[], release: string): HelmReleaseRecord | undefined {
  let best: HelmReleaseRecord | undefined;
  const broken: Array<{ label: number; error: Error }> = [];
  for (const s of secrets) {
    const labels = isValues(s) && isValues(s["metadata"]) && isValues(s["metadata"]["labels"]) ? s["metadata"]["labels"] : {};
    if (labels["name"] !== undefined && labels["name"] !== release) continue;
    try {
      const r = decodeHelmReleaseSecret(s);
      if (r.name !== release) continue;
      if (!best || r.revision > best.revision) best = r;
    } catch (e) {
      const label = Number(labels["version"]);
      broken.push({ label: Number.isInteger(label) ? label : Number.POSITIVE_INFINITY, error: e instanceof Error ? e : new Error("undecodable") });
    }
  }
  const newer = broken.find((b) => !best || b.label >= best.revision);
  if (newer) throw new Error(`${newer.error.message}; it may be the newest revision of ${release}, so the current one is unknown (check: helm history ${release})`);
  return best;
}

// ---------------------------------------------------------------------------------------------------
// The live reads

/** The live part of RecordedAdoptionState, plus what the release stores. */
export type LiveAdoption = Omit<RecordedAdoptionState, "site" | "expect" | "caCertPem"> & {
  /** The latest revision's user-supplied values (`helm get values -o yaml`); secret: passwords and keys. */
  storedValues?: Values;
  /** The latest revision's number. */
  revision?: number;
};

/**
 * Reads what the adoption preflight judges, all GETs in parallel, each bounded by `timeoutMs` (so the
 * whole read too). A 404 is "missing"; a 403 on the CRD leaves `crdSpecProperties` undefined (the preflight
 * refuses with the fix); any other failure throws a message naming the site and the path.
 * Combine with config: `adoptionPreflight({ site, expect, caCertPem, ...live })`.
 */
export async function readAdoptionState(access: KubeAccess, site: string, target: { release: string; namespace: string }, timeoutMs: number): Promise<LiveAdoption> {
  const { release, namespace: ns } = target;
  const get = async (path: string): Promise<Values | undefined> => {
    const r = await kubeGet(access, site, path, timeoutMs);
    return r.found ? (isValues(r.object) ? r.object : {}) : undefined;
  };
  const rbac = operatorClusterRbacName(ns);
  const owned: Array<{ kind: string; name: string; namespaced: boolean; path: string }> = [
    { kind: "Deployment", name: OPERATOR_DEPLOYMENT, namespaced: true, path: kubePaths.deployment(ns, OPERATOR_DEPLOYMENT) },
    { kind: "Service", name: OPERATOR_DEPLOYMENT, namespaced: true, path: kubePaths.service(ns, OPERATOR_DEPLOYMENT) },
    { kind: "ServiceAccount", name: OPERATOR_DEPLOYMENT, namespaced: true, path: kubePaths.serviceAccount(ns, OPERATOR_DEPLOYMENT) },
    { kind: "ClusterRole", name: rbac, namespaced: false, path: kubePaths.clusterRole(rbac) },
    { kind: "ClusterRoleBinding", name: rbac, namespaced: false, path: kubePaths.clusterRoleBinding(rbac) },
    ...CHART_SECRETS.map((name) => ({ kind: "Secret", name, namespaced: true, path: kubePaths.secret(ns, name) })),
    { kind: "ManagementPlane", name: MANAGEMENT_PLANE_CR, namespaced: true, path: kubePaths.managementPlane(ns, MANAGEMENT_PLANE_CR) },
  ];

  const [storage, crd, signingKey, ...ownedObjects] = await Promise.all([
    get(kubePaths.secretsLabelled(ns, helmReleaseSelector(release))),
    get(kubePaths.customResourceDefinition(MANAGEMENT_PLANE_CRD)).catch((e: unknown) => {
      // 403: the preflight says which permission to grant; anything else (401 included) is not "unknown support".
      if (e instanceof Error && e.name === KUBE_ACCESS_DENIED && / answered 403/.test(e.message)) return "forbidden" as const;
      throw e;
    }),
    get(kubePaths.secret(ns, SIGNING_KEY_SECRET)),
    ...owned.map((o) => get(o.path)),
  ]);

  const items = storage && Array.isArray(storage["items"]) ? (storage["items"] as unknown[]) : [];
  let latest: HelmReleaseRecord | undefined;
  try {
    latest = latestRelease(items, release);
  } catch (e) {
    throw new Error(`site ${site}: Helm's record of release ${ns}/${release}: ${e instanceof Error ? e.message : "undecodable"}`);
  }

  const found = owned.map((o, i) => ({ ...o, obj: ownedObjects[i] }));
  const objects: RecordedObject[] = found.flatMap(({ kind, name, namespaced, obj }) => {
    if (!obj) return [];
    const meta = isValues(obj["metadata"]) ? obj["metadata"] : {};
    return [{
      kind,
      name,
      ...(namespaced ? { namespace: ns } : {}),
      ...(isValues(meta["labels"]) ? { labels: stringMap(meta["labels"]) } : {}),
      ...(isValues(meta["annotations"]) ? { annotations: stringMap(meta["annotations"]) } : {}),
    }];
  });
  const objectOf = (kind: string, name: string): Values | undefined => found.find((o) => o.kind === kind && o.name === name)?.obj;
  const cr = objectOf("ManagementPlane", MANAGEMENT_PLANE_CR);

  return {
    ...(latest ? { release: { chartVersion: latest.chartVersion, status: latest.status }, revision: latest.revision, storedValues: latest.config } : {}),
    ...(cr ? { managementPlaneSpec: isValues(cr["spec"]) ? cr["spec"] : {} } : {}),
    ...(crd && crd !== "forbidden" ? { crdSpecProperties: crdSpecProperties(crd) } : {}),
    ...optional("tsbCertsPem", tlsCrt(objectOf("Secret", TSB_CERTS_SECRET), site, ns, TSB_CERTS_SECRET)),
    ...optional("xcpCentralCertPem", tlsCrt(objectOf("Secret", XCP_CENTRAL_SECRET), site, ns, XCP_CENTRAL_SECRET)),
    signingKeySecretExists: signingKey !== undefined,
    objects,
  };
}

/**
 * Top-level properties of `spec` in the CRD's schema, over every served version
 * (`spec.versions[].schema.openAPIV3Schema.properties.spec.properties`), sorted. Pure.
 */
export function crdSpecProperties(crd: unknown): string[] {
  const spec = isValues(crd) && isValues(crd["spec"]) ? crd["spec"] : {};
  const versions = Array.isArray(spec["versions"]) ? spec["versions"] : [];
  const out = new Set<string>();
  for (const v of versions) {
    if (!isValues(v) || v["served"] !== true) continue;
    const schema = isValues(v["schema"]) && isValues(v["schema"]["openAPIV3Schema"]) ? v["schema"]["openAPIV3Schema"] : {};
    const props = isValues(schema["properties"]) && isValues(schema["properties"]["spec"]) ? schema["properties"]["spec"]["properties"] : undefined;
    if (isValues(props)) Object.keys(props).forEach((k) => out.add(k));
  }
  return [...out].sort();
}

/** `tls.crt` of a Secret, decoded; undefined when the Secret or the key is missing. */
function tlsCrt(secret: Values | undefined, site: string, ns: string, name: string): string | undefined {
  const data = secret && isValues(secret["data"]) ? secret["data"] : undefined;
  const b64 = data?.["tls.crt"];
  if (typeof b64 !== "string" || b64 === "") return undefined;
  try {
    return strictBase64(b64, "tls.crt").toString("utf8");
  } catch {
    throw new Error(`site ${site}: Secret ${ns}/${name} has a tls.crt that is not base64`);
  }
}

function stringMap(m: Values): Record<string, string> {
  return Object.fromEntries(Object.entries(m).filter((e): e is [string, string] => typeof e[1] === "string"));
}

function optional<K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, string>);
}

/** An object the release must own, with its metadata as read from the cluster. */
export interface RecordedObject {
  kind: string;
  name: string;
  /** Absent for cluster-scoped objects (ClusterRole, ClusterRoleBinding). */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** What the preflight reads (all with bounded GETs), recorded so tests can replay a cluster. */
export interface RecordedAdoptionState {
  site: string;
  expect: { release: string; namespace: string; chartVersion: string; organization: string; floatingFqdn: string; frontEnvoyPort: number };
  /** Helm's release record; undefined when `helm ls` would not list it. */
  release?: { chartVersion: string; status: string };
  /** `spec` of the ManagementPlane CR; undefined when the CR is missing. */
  managementPlaneSpec?: Values;
  /** Top-level properties of `spec` in the CRD's schema; undefined when the CRD was not readable. */
  crdSpecProperties?: string[];
  /** `tls.crt` (PEM, decoded) of the live Secrets; undefined when the Secret is missing. */
  tsbCertsPem?: string;
  xcpCentralCertPem?: string;
  /** Secret `iam-signing-key` exists in the namespace. */
  signingKeySecretExists: boolean;
  /** The adopted CA's certificate (PEM). */
  caCertPem: string;
  /** The operator's objects, the Secrets and the CR: what the release must own. */
  objects: RecordedObject[];
}
