// The user's chart values (issue 19): everything a production `managementplane` install sets that the
// program does not own (data-store, telemetry and identity-provider settings and credentials, pull
// secrets, resources, node placement). Pure: parsing, the refusals and the precedence
//   owned by the program > per site (sites.<s>.values) > set-wide (values, secretValues) > an adopted MP's installed values.
// The chart's value paths: TSB docs "Management plane installation" with Helm (mirrored in
// rootsongjc/cloud-native-library content/tsb/setup/helm/managementplane.md) and the ManagementPlane
// CR reference (docs.tetrate.io/service-bridge/refs/install/managementplane/v1alpha1/spec).
import * as yaml from "js-yaml";
import { ConfigError, NAMESPACE, SECRET_SHOWN } from "./errors";
import { deepMerge, isValues, type Values } from "./helmValues";
import type { AdoptionSecrets } from "./adoption";

export const VALUES_KEY = "values";
export const SECRET_VALUES_KEY = "secretValues";
export const SITE_SECRET_VALUES_KEY = "siteSecretValues";
export const siteValuesKey = (site: string): string => `sites.${site}.values`;
export const siteSecretValuesKey = (site: string): string => `${SITE_SECRET_VALUES_KEY}.${site}`;

/** One config key's chart values. */
export interface ValuesSource {
  /** The config key it came from (no namespace): values, secretValues or sites.<s>.values. */
  key: string;
  /** Per-site values name their site. */
  site?: string;
  /** Held by Pulumi as a secret: no message ever shows it. */
  secret: boolean;
  values: Values;
}

type Seg = string | number;

interface OwnedPath {
  path: string;
  /** What sets it: a config key, or the program itself. */
  owner: string;
  /** The config key to set instead, when one exists. */
  instead?: string;
}

/** The values that make the set a set (design.md, "Chart values"): a user value there is refused. */
export const OWNED_PATHS: readonly OwnedPath[] = [
  { path: "spec.highAvailability", owner: "each site's role", instead: "activeSite (and sites.<s>.state)" },
  { path: "image.registry", owner: "tsb.registry", instead: "tsb.registry" },
  { path: "image.tag", owner: "tsb.version", instead: "tsb.version" },
  { path: "spec.hub", owner: "tsb.registry", instead: "tsb.registry" },
  { path: "spec.organization", owner: "tsb.organization", instead: "tsb.organization" },
  { path: "spec.components.frontEnvoy.port", owner: "tsb.frontEnvoyPort", instead: "tsb.frontEnvoyPort" },
  { path: "secrets.keep", owner: "the program (always true: chart-made secrets such as iam-signing-key outlive an uninstall)" },
  { path: "secrets.tsb.cert", owner: "the set's PKI (each site's front-envoy leaf)" },
  { path: "secrets.tsb.key", owner: "the set's PKI (each site's front-envoy leaf)" },
  { path: "secrets.tsb.adminPassword", owner: "the program (the stack output adminPassword; an adopted MP keeps the one in adoptedValues)" },
  { path: "secrets.xcp.autoGenerateCerts", owner: "the program (always false: the set's PKI issues the XCP leaves)" },
  { path: "secrets.xcp.central", owner: "the set's PKI (each site's XCP central leaf)" },
  { path: "secrets.xcp.rootca", owner: "the set's root CA (or adoptedCa)" },
  { path: "secrets.xcp.rootcakey", owner: "the set's root CA, whose key never goes to a cluster" },
];

/** The external Postgres: a standby synchronises only the embedded one (seed), so it is refused. */
export const DATA_STORE_PATH = "spec.dataStore";

/**
 * Paths whose values are credentials, so they must come from a secret: everything under the chart's
 * `secrets` (it writes Kubernetes Secrets from them: the helm page's "Secrets configuration") and the
 * operator's pull secret (`operator.pullSecret`, "a Docker JSON config string that will be stored as an
 * image pull secret": the helm page's "Operator extended configuration").
 */
export const SECRET_ONLY_PATHS: readonly string[] = ["secrets", "operator.pullSecret"];

const segs = (path: string): string[] => path.split(".");

/** A path for messages: keys joined by dots, list indexes as [i]. */
export function showPath(at: readonly Seg[]): string {
  return at.reduce<string>((out, s) => (typeof s === "number" ? `${out}[${s}]` : out === "" ? s : `${out}.${s}`), "");
}

interface Leaf {
  at: Seg[];
  value: unknown;
}

/** Every leaf of a values tree; an empty map or list is a leaf of its own (an empty root too: it touches nothing). */
function leaves(v: unknown, at: Seg[] = []): Leaf[] {
  if (isValues(v) && Object.keys(v).length > 0) return Object.entries(v).flatMap(([k, x]) => leaves(x, [...at, k]));
  if (Array.isArray(v) && v.length > 0) return v.flatMap((x, i) => leaves(x, [...at, i]));
  return [{ at, value: v }];
}

/** `a` is `b` or an ancestor of it (no segment is ever undefined, so a longer `a` fails on its own). */
const isPrefix = (a: readonly Seg[], b: readonly Seg[]): boolean => a.every((s, i) => s === b[i]);

/**
 * Where a leaf acts in the map tree: a leaf inside a list acts on the whole list (Helm replaces lists),
 * so its reach is the path of the list.
 */
function reach(leaf: Leaf): { at: Seg[]; replacesBelow: boolean } {
  const i = leaf.at.findIndex((s) => typeof s === "number");
  if (i !== -1) return { at: leaf.at.slice(0, i), replacesBelow: true };
  // A leaf that is a map is an empty one, which merges to nothing; anything else set above a path
  // replaces the map that holds it.
  return { at: leaf.at, replacesBelow: !isValues(leaf.value) };
}

/** A leaf touches a path when it sets it, sets something under it, or replaces a map above it. */
function touches(leaf: Leaf, path: readonly string[]): boolean {
  const r = reach(leaf);
  return isPrefix(path, r.at) || (r.replacesBelow && isPrefix(r.at, path));
}

const shown = (source: ValuesSource, value: unknown): unknown => (source.secret ? SECRET_SHOWN : value);
const rmCommand = (key: string): string => `pulumi config rm --path '${NAMESPACE}:${key}'`;

/**
 * The first refusal of one source's values: a path the program owns, the external data store, or (in
 * plain text) a credential. The message names the config key and the path, never a secret value.
 */
export function valuesRefusal(source: ValuesSource): ConfigError | undefined {
  const all = leaves(source.values);
  for (const owned of OWNED_PATHS) {
    const leaf = all.find((l) => touches(l, segs(owned.path)));
    if (!leaf) continue;
    const at = showPath(leaf.at);
    const where = at === owned.path ? `sets ${owned.path}` : isPrefix(segs(owned.path), leaf.at) ? `sets ${at}, under ${owned.path}` : `replaces ${owned.path}`;
    const fix = owned.instead ? `, and set ${NAMESPACE}:${owned.instead} instead` : "; the program sets it";
    return new ConfigError(`${source.key}.${at}`, shown(source, leaf.value),
      `${where}, which the program owns (from ${owned.owner}). Allowed: any path the program does not own. ` +
      `Fix: remove it (${rmCommand(`${source.key}.${at}`)})${fix}`);
  }
  const store = all.find((l) => touches(l, segs(DATA_STORE_PATH)));
  if (store) {
    const at = showPath(store.at);
    return new ConfigError(`${source.key}.${at}`, shown(source, store.value),
      `sets ${DATA_STORE_PATH}: an external Postgres. The set relies on the embedded Postgres that each standby synchronises (seed), ` +
      `so an external data store is not supported. Fix: remove it (${rmCommand(`${source.key}.${at}`)})`);
  }
  if (source.secret) return undefined;
  for (const path of SECRET_ONLY_PATHS) {
    const leaf = all.find((l) => isPrefix(segs(path), reach(l).at) && reach(l).replacesBelow);
    if (!leaf) continue;
    const at = showPath(leaf.at);
    const secretKey = source.site === undefined ? SECRET_VALUES_KEY : siteSecretValuesKey(source.site);
    return new ConfigError(`${source.key}.${at}`, "(not shown)",
      `is a credential (everything under ${path}) given in plain text. Allowed: a secret, in ${NAMESPACE}:${secretKey}. ` +
      `Fix: ${rmCommand(`${source.key}.${at}`)}, then pulumi config set --secret --path '${NAMESPACE}:${secretKey}.${at}' <value>`);
  }
  return undefined;
}

/**
 * Set-wide values and secretValues side by side: a path in both is refused (which one wins would be a
 * guess), with the paths and never a value.
 */
export function overlapRefusal(plain: ValuesSource, secret: ValuesSource): ConfigError | undefined {
  // An empty map sets nothing, so it meets nothing.
  const a = leaves(plain.values).map(reach).filter((r) => r.replacesBelow);
  const b = leaves(secret.values).map(reach).filter((r) => r.replacesBelow);
  const both = new Set<string>();
  for (const x of a) {
    for (const y of b) {
      // Two paths meet when one is the other or under it; the message names the longer.
      const longer = isPrefix(x.at, y.at) ? y.at : isPrefix(y.at, x.at) ? x.at : undefined;
      if (longer) both.add(showPath(longer));
    }
  }
  if (both.size === 0) return undefined;
  return new ConfigError(secret.key, SECRET_SHOWN, `sets ${[...both].sort().join(", ")}, which ${NAMESPACE}:${plain.key} sets too. ` +
    `Allowed: each path in one of them (credentials in ${secret.key}). Fix: remove it from one of them`);
}

/**
 * A config value of chart values: an object (set with --path, or a map in the stack file, which Pulumi
 * hands over as JSON) or YAML text (`pulumi config set [--secret] <key> "$(cat values.yaml)"`).
 */
export function parseValues(key: string, text: string, secret: boolean): Values {
  const problem = "is not a map of chart values. Allowed: a YAML or JSON object of managementplane chart values, e.g. {spec: {telemetryStore: {elastic: {host: es.example.com, port: 9200}}}}";
  let parsed: unknown;
  try {
    parsed = yaml.load(text, { schema: yaml.JSON_SCHEMA });
  } catch {
    throw new ConfigError(key, secret ? SECRET_SHOWN : text, problem);
  }
  if (!isValues(parsed)) throw new ConfigError(key, secret ? SECRET_SHOWN : parsed ?? text, problem);
  return parsed;
}

/**
 * `values`, `secretValues`, each site's `values` and `siteSecretValues`, checked. The secret keys must be
 * secrets; `values` is taken as secret too when Pulumi holds it so (a part set with --secret makes the
 * whole key secret). `sites` itself stays plain (lib/config/config.ts), so per-site secrets have their own key.
 */
export function parseValuesSources(
  raw: Record<string, string | undefined>, secretKeys: ReadonlySet<string>, siteValues: ReadonlyArray<{ site: string; values: unknown }>,
): ValuesSource[] {
  const given = (k: string): boolean => raw[k] !== undefined && raw[k] !== "";
  const sources: ValuesSource[] = [];
  if (given(VALUES_KEY)) {
    const secret = secretKeys.has(VALUES_KEY);
    sources.push({ key: VALUES_KEY, secret, values: parseValues(VALUES_KEY, raw[VALUES_KEY]!, secret) });
  }
  if (given(SECRET_VALUES_KEY)) {
    requireSecret(SECRET_VALUES_KEY, secretKeys, `${SECRET_VALUES_KEY}.<path>`);
    sources.push({ key: SECRET_VALUES_KEY, secret: true, values: parseValues(SECRET_VALUES_KEY, raw[SECRET_VALUES_KEY]!, true) });
  }
  for (const { site, values } of siteValues) {
    if (values === undefined || values === null) continue;
    const key = siteValuesKey(site);
    if (!isValues(values)) {
      throw new ConfigError(key, values, "is not a map of chart values. Allowed: an object of managementplane chart values for this site only, e.g. {spec: {components: {...}}}");
    }
    sources.push({ key, site, secret: false, values });
  }
  if (given(SITE_SECRET_VALUES_KEY)) {
    requireSecret(SITE_SECRET_VALUES_KEY, secretKeys, `${SITE_SECRET_VALUES_KEY}.<site>.<path>`);
    const bySite = parseValues(SITE_SECRET_VALUES_KEY, raw[SITE_SECRET_VALUES_KEY]!, true);
    const names = siteValues.map((s) => s.site);
    for (const [site, values] of Object.entries(bySite)) {
      const key = siteSecretValuesKey(site);
      if (!names.includes(site)) throw new ConfigError(key, site, `is not one of the sites (${names.join(", ")}). Allowed: chart values by site name`);
      if (!isValues(values)) throw new ConfigError(key, SECRET_SHOWN, "is not a map of chart values. Allowed: an object of managementplane chart values for this site only");
      sources.push({ key, site, secret: true, values });
    }
  }
  for (const source of sources) {
    const refused = valuesRefusal(source);
    if (refused) throw refused;
  }
  // Plain and secret values at one level may not name the same path: which one wins would be a guess.
  const byKey = (k: string): ValuesSource | undefined => sources.find((s) => s.key === k);
  const pairs = [[VALUES_KEY, SECRET_VALUES_KEY], ...siteValues.map(({ site }) => [siteValuesKey(site), siteSecretValuesKey(site)])];
  for (const [plainKey, secretKey] of pairs) {
    const [plain, secret] = [byKey(plainKey!), byKey(secretKey!)];
    const overlap = plain && secret ? overlapRefusal(plain, secret) : undefined;
    if (overlap) throw overlap;
  }
  return sources;
}

function requireSecret(key: string, secretKeys: ReadonlySet<string>, path: string): void {
  if (secretKeys.has(key)) return;
  throw new ConfigError(key, "(not shown)", `is stored in plain text. Allowed: a secret. ` +
    `Fix: pulumi config rm ${NAMESPACE}:${key}, then pulumi config set --secret --path '${NAMESPACE}:${path}' <value>`);
}

/** The user's values for one site: set-wide first, then the site's own over them. */
export function userValuesFor(sources: readonly ValuesSource[], site: string): Values {
  return [...sources.filter((s) => s.site === undefined), ...sources.filter((s) => s.site === site)]
    .reduce<Values>((merged, s) => deepMerge(merged, s.values), {});
}

/** A site's release values: the program's own over the user's, over an adopted MP's installed ones. */
export function withPrecedence(owned: Values, user: Values, installed: Values = {}): Values {
  return deepMerge(deepMerge(installed, user), owned);
}

/**
 * The management plane's telemetry store, as `spec.telemetryStore` names it: `elastic` when unset too
 * (TSB then installs a non-production Elasticsearch: helm management-plane page, "non-production
 * external dependencies"). Another name (BanyanDB in newer TSB: tsb-facts.md) is returned as given.
 */
export function telemetryStoreKind(values: Values): string {
  const spec = values["spec"];
  const store = isValues(spec) ? spec["telemetryStore"] : undefined;
  if (!isValues(store) || Object.keys(store).length === 0 || "elastic" in store) return "elastic";
  return Object.keys(store).sort().join("+");
}

/** The telemetry store of the set's active management plane: its installed values (adopted) under the user's. */
// Structural, not Pick<SetConfig>: config.ts parses through this file, so importing its type here would close a cycle.
export function activeTelemetryStore(cfg: { activeSite: string; chartValues: readonly ValuesSource[]; adoption?: AdoptionSecrets | undefined }): string {
  return telemetryStoreKind(withPrecedence({}, userValuesFor(cfg.chartValues, cfg.activeSite), cfg.adoption?.values));
}
