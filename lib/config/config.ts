// lib/config/ decides what the stack's config means and whether it is acceptable, before any resource
// exists: every key parsed and checked (here), the one error type, secrets kept out of messages, the
// Helm values trees, and the names TSB fixes. The bottom layer: it imports nothing else of lib/.
//
// The config contract (design.md), parsed and checked as plain data. This file never registers a
// resource; `loadConfig` in lib/config/loadConfig.ts is the only place that touches pulumi.Config.
import { ConfigError, NAMESPACE } from "./errors";
import { redact, withoutSecrets, type SecretConfig } from "./redaction";
import { isDnsLabel, isDnsName, isIp, ipFamily } from "./dnsNames";
import { parseStandbyJwk } from "./jwk";
import { isInlineKubeconfig } from "./kubeconfig";
import { INSTALLED_PLAIN_PATHS, parseAdoptionSecrets, parseSiteAdoption, type AdoptionSecrets, type SiteAdoption } from "./adoption";
import { parseValuesSources, SECRET_VALUES_KEY, SITE_SECRET_VALUES_KEY, VALUES_KEY, type ValuesSource } from "./chartValues";

export const SITE_STATES = ["standby", "fenced", "lost"] as const;
export type SiteState = (typeof SITE_STATES)[number];
export const DNS_PROVIDERS = ["route53", "cloudflare"] as const;
export type DnsProvider = (typeof DNS_PROVIDERS)[number];

export const DEFAULT_CHART_REPO = "https://charts.dl.tetrate.io/public/helm/charts/";
export const DEFAULT_TTL = 60;
export const TTL_WARN_ABOVE = 300;
export const DEFAULT_READY_TIMEOUT_SECONDS = 600;

export interface SiteConfig {
  name: string;
  /** Permanent FQDN: `<site>.<domain>` unless the site sets `fqdn`. */
  fqdn: string;
  context?: string;
  kubeconfig?: string;
  state: SiteState;
  /** LB hostname or IP of the site's front envoy; when set the program owns the permanent record. */
  address?: { value: string; kind: "A" | "AAAA" | "CNAME" };
  /** Rebuild generation; raising it reinstalls the site as a fresh standby. */
  rebuild: number;
  /** A hand-installed management plane this stack takes over (docs/adopting.md). */
  adopt?: SiteAdoption;
}

export const SITE_RECORD_MODES = ["external", "managed"] as const;
export type SiteRecordMode = (typeof SITE_RECORD_MODES)[number];
export const DEFAULT_STANDBY_ROLE = "rbac/org-reader";

export interface ReplicationConfig {
  /** Fenced old active: how long the new active may take to replay its final WAL position. */
  catchUpTimeoutSeconds: number;
  /** Lost old active: the oldest last contact with it that still allows a promotion. */
  maxLostContactSeconds: number;
  /** "<from>-><to>": accept a lost-site staleness refusal for that one failover only. */
  acceptDataLoss?: string;
  /** After a failover: how long each other standby may take to stream from the new active. */
  followTimeoutSeconds: number;
}

export interface SetConfig {
  activeSite: string;
  domain: string;
  floatingFqdn: string;
  sites: SiteConfig[];
  dns: { provider: DnsProvider; zoneId: string; ttl: number; siteRecords: SiteRecordMode };
  tsb: {
    version: string;
    registry: string;
    organization: string;
    chartRepo: string;
    frontEnvoyPort: number;
    readyTimeoutSeconds: number;
    /** Failover step 3b: check the promoted site's TSB API before the floating name moves. */
    verifyApi: boolean;
    /** Role granted to the standby service account the program makes. */
    standbyRole: string;
    apiTimeoutSeconds: number;
    /** Bound on every call to a fenced old active. */
    fenceTimeoutSeconds: number;
    /** How long to wait for a front envoy's load-balancer address. */
    addressTimeoutSeconds: number;
  };
  replication: ReplicationConfig;
  /** The JWK JSON (plain text here; loadConfig wraps it as a secret before any resource sees it). */
  standbyServiceAccountJwk?: string;
  /** Installed values and CA of the adopted site (plain here; components wrap them as secrets). */
  adoption?: AdoptionSecrets;
  /** The user's chart values, set-wide first, then per site (lib/config/chartValues.ts; plain here, secret in every release). */
  chartValues: ValuesSource[];
}

export interface ParsedConfig {
  config: SetConfig;
  warnings: string[];
}

/** Raw config values as Pulumi stores them: strings, objects as JSON text. */
export type RawConfig = Record<string, string | undefined>;

export const SITE_KEYS = ["context", "kubeconfig", "fqdn", "state", "address", "rebuild", "adopt", "values"];
export const DNS_KEYS = ["provider", "zoneId", "ttl", "siteRecords"];
export const TSB_KEYS = ["version", "registry", "organization", "chartRepo", "frontEnvoyPort", "readyTimeoutSeconds", "verifyApi", "standbyRole", "apiTimeoutSeconds", "fenceTimeoutSeconds", "addressTimeoutSeconds"];
export const REPLICATION_KEYS = ["catchUpTimeoutSeconds", "maxLostContactSeconds", "acceptDataLoss", "followTimeoutSeconds"];
export const TOP_KEYS = [
  "activeSite", "domain", "floatingFqdn", "sites", "dns", "tsb", "replication", "standbyServiceAccountJwk", "kubeconfigs", "adoptedValues", "adoptedCa",
  VALUES_KEY, SECRET_VALUES_KEY, SITE_SECRET_VALUES_KEY,
];

/**
 * The checked config, or one ConfigError. No message shows a secret: whatever check refuses, the
 * refusal is rewritten against the secret keys and their values (lib/config/errors.ts withoutSecrets).
 */
export function parseConfig(raw: RawConfig, secretKeys: ReadonlySet<string> = new Set()): ParsedConfig {
  const secrets = secretConfigOf(raw, secretKeys);
  try {
    const parsed = checkConfig(raw, secretKeys);
    return { config: parsed.config, warnings: parsed.warnings.map((w) => redact(w, secrets)) };
  } catch (e) {
    throw withoutSecrets(e, secrets);
  }
}

/** What a message is checked against: the secret keys, their values, and what in them is not secret. */
export function secretConfigOf(raw: RawConfig, secretKeys: ReadonlySet<string>): SecretConfig {
  return { raw, secretKeys, plainPaths: { adoptedValues: INSTALLED_PLAIN_PATHS } };
}

function checkConfig(raw: RawConfig, secretKeys: ReadonlySet<string>): ParsedConfig {
  const warnings: string[] = [];
  for (const key of Object.keys(raw)) {
    if (TOP_KEYS.includes(key)) continue;
    const head = key.split(/[.[]/)[0] ?? key;
    if (key !== head && TOP_KEYS.includes(head)) {
      // `pulumi config set tsb-ha:sites.mp1.state x` without --path stores one literal top-level key.
      throw new ConfigError(key, raw[key],
        `is a key whose name contains a dot: it was set without --path, so it is not part of ${head}. ` +
        `Fix: pulumi config rm '${NAMESPACE}:${key}' (removes the stray key), then pulumi config set --path '${NAMESPACE}:${key}' <value>`);
    }
    throw new ConfigError(key, raw[key], `is not a key of this program${suggestion(key, TOP_KEYS)}. Allowed: ${TOP_KEYS.join(", ")}`);
  }

  const domain = requireString(raw, "domain");
  if (!isDnsName(domain)) {
    throw new ConfigError("domain", domain, "is not a DNS name. Allowed: lower-case labels joined by dots, e.g. tsb.example.com");
  }

  if (secretKeys.has("sites")) {
    // Pulumi marks a whole key secret when any part of it was set with --secret.
    throw new ConfigError("sites", "(not shown)", "is stored as a secret (a part of it was set with --secret). The topology stays plain: the plan, " +
      `the outputs and the history show it, and on-call reads it with pulumi config. Allowed: plain sites; kubeconfig contents in ${NAMESPACE}:kubeconfigs, ` +
      `a site's secret chart values in ${NAMESPACE}:${SITE_SECRET_VALUES_KEY}.<site>. Fix: set the secret part there, then set the plain one again without --secret`);
  }
  const sites = parseSites(raw, domain);
  applySecretKubeconfigs(raw, secretKeys, sites);
  const activeSite = requireString(raw, "activeSite");
  const active = sites.find((s) => s.name === activeSite);
  if (!active) {
    const names = sites.map((s) => s.name);
    const near = nearest(activeSite, names);
    throw new ConfigError("activeSite", activeSite, `is not one of the sites (${names.join(", ")}).${near ? ` Did you mean ${near}?` : ""} ` +
      `Fix: pulumi config set ${NAMESPACE}:activeSite ${near ?? "<one of the sites>"}`);
  }
  if (active.state !== "standby") {
    throw new ConfigError(`sites.${activeSite}.state`, active.state,
      `marks the active site ${active.state}; a ${active.state} site is never promoted. ` +
      `Allowed: leave state unset (or standby) on the active site, or choose another activeSite`);
  }

  const floatingFqdn = optionalString(raw, "floatingFqdn") ?? `active.${domain}`;
  if (!isDnsName(floatingFqdn)) {
    throw new ConfigError("floatingFqdn", floatingFqdn, "is not a DNS name. Allowed: e.g. active.tsb.example.com");
  }
  const clash = sites.find((s) => s.fqdn === floatingFqdn);
  if (clash) {
    throw new ConfigError("floatingFqdn", floatingFqdn, `is also site ${clash.name}'s permanent FQDN. Allowed: a name no site uses`);
  }

  const dns = parseDns(raw, warnings);
  const tsb = parseTsb(raw);
  const adoption = parseAdoption(raw, secretKeys, sites, dns.provider, tsb);

  // Optional: without it the program makes the standby service account through the active's TSB API.
  const jwkRaw = raw["standbyServiceAccountJwk"];
  let standbyServiceAccountJwk: string | undefined;
  if (jwkRaw !== undefined && jwkRaw !== "") {
    if (!secretKeys.has("standbyServiceAccountJwk")) {
      throw new ConfigError("standbyServiceAccountJwk", "(value not shown)",
        `is stored in plain text. Allowed: a secret. Fix: pulumi config set --secret ${NAMESPACE}:standbyServiceAccountJwk "$(cat tsb-standby-sa-b64e)"`);
    }
    standbyServiceAccountJwk = parseStandbyJwk(jwkRaw);
  }
  const replication = parseReplication(raw, sites);
  const entries = JSON.parse(raw["sites"]!) as Record<string, Record<string, unknown>>;
  const chartValues = parseValuesSources(raw, secretKeys, sites.map((s) => ({ site: s.name, values: entries[s.name]?.["values"] })));

  const config: SetConfig = { activeSite, domain, floatingFqdn, sites, dns, tsb, replication, chartValues };
  if (standbyServiceAccountJwk !== undefined) config.standbyServiceAccountJwk = standbyServiceAccountJwk;
  if (adoption) config.adoption = adoption;
  return { config, warnings };
}

/** `sites.<s>.adopt` (one site at most) and the secrets that go with it (lib/config/adoption.ts). */
function parseAdoption(raw: RawConfig, secretKeys: ReadonlySet<string>, sites: SiteConfig[], provider: DnsProvider, tsb: SetConfig["tsb"]): AdoptionSecrets | undefined {
  const entries = JSON.parse(raw["sites"] ?? "{}") as Record<string, Record<string, unknown>>;
  for (const site of sites) {
    const adopt = parseSiteAdoption(site.name, entries[site.name]?.["adopt"], provider);
    if (adopt) site.adopt = adopt;
  }
  const adopting = sites.filter((s) => s.adopt);
  if (adopting.length > 1) {
    throw new ConfigError(`sites.${adopting[1]!.name}.adopt`, "(set)", `adopts a second management plane beside ${adopting[0]!.name}. ` +
      "Allowed: one adopted site per set (a set has one database); the others join as standbys");
  }
  return parseAdoptionSecrets(raw, secretKeys, adopting[0]?.name, tsb);
}

function parseSites(raw: RawConfig, domain: string): SiteConfig[] {
  const obj = requireObject(raw, "sites");
  const names = Object.keys(obj);
  if (names.length === 0) {
    throw new ConfigError("sites", {}, "is empty. Allowed: one entry per site, e.g. {\"mp1\": {\"context\": \"mp1\"}}");
  }
  const sites: SiteConfig[] = [];
  const byFqdn = new Map<string, string>();
  for (const name of names) {
    if (!isDnsLabel(name)) {
      throw new ConfigError(`sites.${name}`, name, "is not a DNS label. Allowed: 1-63 lower-case letters, digits and '-', not starting or ending with '-'");
    }
    const entry = obj[name] ?? {};
    if (!isPlainObject(entry)) {
      throw new ConfigError(`sites.${name}`, entry, `is not an object. Allowed: {${SITE_KEYS.join(", ")}}`);
    }
    for (const k of Object.keys(entry)) {
      if (!SITE_KEYS.includes(k)) {
        throw new ConfigError(`sites.${name}.${k}`, entry[k], `is not a site setting${suggestion(k, SITE_KEYS)}. Allowed: ${SITE_KEYS.join(", ")}`);
      }
    }
    const key = (k: string) => `sites.${name}.${k}`;
    const fqdn = optionalField(entry, key("fqdn")) ?? `${name}.${domain}`;
    if (!isDnsName(fqdn)) throw new ConfigError(key("fqdn"), fqdn, "is not a DNS name. Allowed: e.g. mp1.tsb.example.com");
    const other = byFqdn.get(fqdn);
    if (other) {
      throw new ConfigError(key("fqdn"), fqdn, `is also site ${other}'s FQDN. Allowed: a permanent FQDN per site, each different`);
    }
    byFqdn.set(fqdn, name);

    const stateValue = entry["state"] ?? "standby";
    if (typeof stateValue !== "string" || !(SITE_STATES as readonly string[]).includes(stateValue)) {
      throw new ConfigError(key("state"), stateValue, `is not a site state. Allowed: ${SITE_STATES.join(", ")}`);
    }
    const rebuild = wholeNumber(entry, key("rebuild"), 0, 0, Number.MAX_SAFE_INTEGER, "0 (never rebuilt), raised by one per rebuild");
    const site: SiteConfig = { name, fqdn, state: stateValue as SiteState, rebuild };
    const context = optionalField(entry, key("context"));
    if (context !== undefined) site.context = context;
    const kubeconfig = optionalField(entry, key("kubeconfig"));
    if (kubeconfig !== undefined) {
      if (isInlineKubeconfig(kubeconfig)) {
        throw new ConfigError(key("kubeconfig"), "(contents, not shown)",
          `holds kubeconfig contents in plain text. Allowed: a path here, or the contents as a secret: pulumi config set --secret --path '${NAMESPACE}:kubeconfigs.${name}' "$(cat kubeconfig)"`);
      }
      site.kubeconfig = kubeconfig;
    }
    const address = optionalField(entry, key("address"));
    if (address !== undefined) {
      if (isIp(address)) site.address = { value: address, kind: ipFamily(address) === 6 ? "AAAA" : "A" };
      else if (isDnsName(address)) site.address = { value: address, kind: "CNAME" };
      else throw new ConfigError(key("address"), address, "is neither an IP address nor a host name. Allowed: the front envoy LB's IP or host name");
    }
    sites.push(site);
  }
  return sites;
}

/** `kubeconfigs`: a secret object of kubeconfig contents by site, for credentials that must not sit in `sites`. */
function applySecretKubeconfigs(raw: RawConfig, secretKeys: ReadonlySet<string>, sites: SiteConfig[]): void {
  if (raw["kubeconfigs"] === undefined || raw["kubeconfigs"] === "") return;
  if (!secretKeys.has("kubeconfigs")) {
    throw new ConfigError("kubeconfigs", "(contents, not shown)", `is stored in plain text. Allowed: a secret. Fix: pulumi config set --secret --path '${NAMESPACE}:kubeconfigs.<site>' "$(cat kubeconfig)"`);
  }
  const obj = requireObject(raw, "kubeconfigs", false);
  for (const [name, contents] of Object.entries(obj)) {
    const site = sites.find((s) => s.name === name);
    if (!site) throw new ConfigError(`kubeconfigs.${name}`, name, `is not one of the sites (${sites.map((s) => s.name).join(", ")})${suggestion(name, sites.map((s) => s.name))}`);
    if (typeof contents !== "string" || contents.trim() === "") {
      throw new ConfigError(`kubeconfigs.${name}`, "(secret, not shown)", "is not kubeconfig contents. Allowed: the text of a kubeconfig file");
    }
    if (site.kubeconfig !== undefined) {
      throw new ConfigError(`kubeconfigs.${name}`, "(secret, not shown)", `is set while sites.${name}.kubeconfig is set too. Allowed: one of them`);
    }
    site.kubeconfig = contents;
  }
}

function parseDns(raw: RawConfig, warnings: string[]): SetConfig["dns"] {
  const obj = requireObject(raw, "dns");
  for (const k of Object.keys(obj)) {
    if (!DNS_KEYS.includes(k)) throw new ConfigError(`dns.${k}`, obj[k], `is not a DNS setting${suggestion(k, DNS_KEYS)}. Allowed: ${DNS_KEYS.join(", ")}`);
  }
  const provider = obj["provider"];
  if (typeof provider !== "string" || !(DNS_PROVIDERS as readonly string[]).includes(provider)) {
    throw new ConfigError("dns.provider", provider, `is not a supported DNS provider. Allowed: ${DNS_PROVIDERS.join(", ")}`);
  }
  const zoneId = obj["zoneId"];
  if (typeof zoneId !== "string" || zoneId.trim() === "") {
    throw new ConfigError("dns.zoneId", zoneId, "is not a zone ID. Allowed: the hosted zone ID (Route53) or zone ID (Cloudflare) of the zone holding the names");
  }
  const ttl = wholeNumber(obj, "dns.ttl", DEFAULT_TTL, 1, 86400, "a TTL in seconds, a whole number from 1 to 86400 (60 or less recommended)");
  if (ttl > TTL_WARN_ABOVE) {
    warnings.push(`${NAMESPACE}:dns.ttl is ${ttl}: after a failover, control planes may keep resolving the old active for up to ${ttl} s. ` +
      `A TTL of 60 or less is recommended.`);
  }
  const siteRecords = obj["siteRecords"] ?? "external";
  if (typeof siteRecords !== "string" || !(SITE_RECORD_MODES as readonly string[]).includes(siteRecords)) {
    throw new ConfigError("dns.siteRecords", siteRecords,
      `is not a record mode. Allowed: external (each site's permanent record is managed elsewhere, the default) or managed (the program writes it from the front envoy's load-balancer address)`);
  }
  return { provider: provider as DnsProvider, zoneId, ttl, siteRecords: siteRecords as SiteRecordMode };
}

function parseTsb(raw: RawConfig): SetConfig["tsb"] {
  const obj = requireObject(raw, "tsb");
  for (const k of Object.keys(obj)) {
    if (!TSB_KEYS.includes(k)) throw new ConfigError(`tsb.${k}`, obj[k], `is not a TSB setting${suggestion(k, TSB_KEYS)}. Allowed: ${TSB_KEYS.join(", ")}`);
  }
  const version = requireField(obj, "tsb.version");
  if (!/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/.test(version)) {
    throw new ConfigError("tsb.version", version, "is not a chart version. Allowed: a semantic version such as 1.12.4");
  }
  const registry = requireField(obj, "tsb.registry");
  if (/\s|^https?:\/\//.test(registry)) {
    throw new ConfigError("tsb.registry", registry, "is not an image registry. Allowed: a registry host and path without scheme, e.g. registry.example.com/tetrate");
  }
  const organization = requireField(obj, "tsb.organization");
  if (!isDnsLabel(organization)) {
    throw new ConfigError("tsb.organization", organization, "is not a TSB organization name. Allowed: lower-case letters, digits and '-' (TSB requires lower case)");
  }
  const chartRepo = optionalField(obj, "tsb.chartRepo") ?? DEFAULT_CHART_REPO;
  if (!/^(https?|oci):\/\/\S+$/.test(chartRepo)) {
    throw new ConfigError("tsb.chartRepo", chartRepo, "is not a chart repository URL. Allowed: https://... or oci://...");
  }
  const frontEnvoyPort = wholeNumber(obj, "tsb.frontEnvoyPort", 443, 1, 65535, "a TCP port, a whole number from 1 to 65535 (the seed uses 443)");
  const readyTimeoutSeconds = wholeNumber(obj, "tsb.readyTimeoutSeconds", DEFAULT_READY_TIMEOUT_SECONDS, 30, 7200, "a whole number of seconds from 30 to 7200 (default 600)");
  const verifyApi = flag(obj, "tsb.verifyApi", true);
  const standbyRole = optionalField(obj, "tsb.standbyRole") ?? DEFAULT_STANDBY_ROLE;
  if (!/^rbac\/[a-z][a-z0-9-]*$/.test(standbyRole)) {
    throw new ConfigError("tsb.standbyRole", standbyRole, "is not a TSB role. Allowed: rbac/<name>, e.g. rbac/org-reader (the seed) or rbac/reader");
  }
  const apiTimeoutSeconds = wholeNumber(obj, "tsb.apiTimeoutSeconds", 30, 5, 300, "a whole number of seconds from 5 to 300 (default 30)");
  const fenceTimeoutSeconds = wholeNumber(obj, "tsb.fenceTimeoutSeconds", 120, 10, 1800, "a whole number of seconds from 10 to 1800 (default 120)");
  const addressTimeoutSeconds = wholeNumber(obj, "tsb.addressTimeoutSeconds", 600, 30, 3600, "a whole number of seconds from 30 to 3600 (default 600)");
  return { version, registry, organization, chartRepo, frontEnvoyPort, readyTimeoutSeconds, verifyApi, standbyRole, apiTimeoutSeconds, fenceTimeoutSeconds, addressTimeoutSeconds };
}

function parseReplication(raw: RawConfig, sites: SiteConfig[]): ReplicationConfig {
  const obj = raw["replication"] === undefined || raw["replication"] === "" ? {} : requireObject(raw, "replication");
  for (const k of Object.keys(obj)) {
    if (!REPLICATION_KEYS.includes(k)) throw new ConfigError(`replication.${k}`, obj[k], `is not a replication setting${suggestion(k, REPLICATION_KEYS)}. Allowed: ${REPLICATION_KEYS.join(", ")}`);
  }
  // Above max_standby_streaming_delay (30 s), which a long query on the standby may hold replay for.
  const catchUpTimeoutSeconds = wholeNumber(obj, "replication.catchUpTimeoutSeconds", 120, 35, 3600, "a whole number of seconds from 35 to 3600 (default 120)");
  // A healthy idle standby hears from its primary only every ~30 s (wal_receiver_timeout / 2).
  const maxLostContactSeconds = wholeNumber(obj, "replication.maxLostContactSeconds", 300, 60, 604800, "a whole number of seconds from 60 to 604800 (default 300)");
  // Covers kubegres rolling the standby's Postgres pod after its endpoint changed, and a reconnect through the front envoy.
  const followTimeoutSeconds = wholeNumber(obj, "replication.followTimeoutSeconds", 300, 30, 3600, "a whole number of seconds from 30 to 3600 (default 300)");
  const replication: ReplicationConfig = { catchUpTimeoutSeconds, maxLostContactSeconds, followTimeoutSeconds };
  const accept = optionalField(obj, "replication.acceptDataLoss");
  if (accept !== undefined) {
    const [from, to, extra] = accept.split("->");
    const names = sites.map((s) => s.name);
    if (extra !== undefined || !from || !to || !names.includes(from) || !names.includes(to)) {
      throw new ConfigError("replication.acceptDataLoss", accept,
        `is not a failover. Allowed: "<old active>-><new active>" naming two sites (${names.join(", ")}), e.g. "mp1->mp2"; it accepts the loss for that one failover only`);
    }
    replication.acceptDataLoss = accept;
  }
  return replication;
}

// ---- small readers: each names the key it reads in its error ----

function requireString(raw: RawConfig, key: string): string {
  const v = raw[key];
  if (v === undefined || v.trim() === "") {
    throw new ConfigError(key, v, `is required. Fix: pulumi config set ${NAMESPACE}:${key} <value>`);
  }
  return v;
}

function optionalString(raw: RawConfig, key: string): string | undefined {
  const v = raw[key];
  return v === undefined || v === "" ? undefined : v;
}

function requireObject(raw: RawConfig, key: string, showValue = true): Record<string, unknown> {
  const text = raw[key];
  if (text === undefined || text === "") {
    throw new ConfigError(key, undefined, `is required. Allowed: an object; see Pulumi.example.yaml`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(key, showValue ? text : "(not shown)", "is not an object. Allowed: a YAML/JSON object; see Pulumi.example.yaml");
  }
  if (!isPlainObject(parsed)) throw new ConfigError(key, showValue ? parsed : "(not shown)", "is not an object. Allowed: a YAML/JSON object; see Pulumi.example.yaml");
  return parsed;
}

function requireField(obj: Record<string, unknown>, key: string): string {
  const v = optionalField(obj, key);
  if (v === undefined) throw new ConfigError(key, undefined, "is required. Allowed: a non-empty string");
  return v;
}

function optionalField(obj: Record<string, unknown>, key: string): string | undefined {
  const field = key.slice(key.lastIndexOf(".") + 1);
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.trim() === "") {
    throw new ConfigError(key, v, `is ${typeof v === "string" ? "empty" : "not text"}. Allowed: a non-empty string`);
  }
  return v;
}

/**
 * A whole number in [min, max]. A number written as text ("60": quoted in the stack file, or set
 * without --path, which stores strings) gets its own message: it looks right and is easy to miss.
 */
function wholeNumber(obj: Record<string, unknown>, key: string, fallback: number, min: number, max: number, allowed: string): number {
  const v = obj[key.slice(key.lastIndexOf(".") + 1)] ?? fallback;
  if (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) {
    throw new ConfigError(key, v, `is text, not a number. Allowed: ${allowed}. ` +
      `Fix: write it without quotes in Pulumi.<stack>.yaml, or pulumi config set --path '${NAMESPACE}:${key}' ${v.trim()} (--path stores whole numbers as numbers)`);
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(key, v, `is not allowed. Allowed: ${allowed}`);
  }
  return v;
}

/** A boolean; "true"/"false" as text gets its own message, as numbers do. */
function flag(obj: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = obj[key.slice(key.lastIndexOf(".") + 1)] ?? fallback;
  if (typeof v === "string" && /^(true|false)$/i.test(v.trim())) {
    throw new ConfigError(key, v, `is text, not a boolean. Allowed: true or false. Fix: write it without quotes, or pulumi config set --path '${NAMESPACE}:${key}' ${v.trim().toLowerCase()}`);
  }
  if (typeof v !== "boolean") throw new ConfigError(key, v, "is not allowed. Allowed: true or false");
  return v;
}

/** The closest name by edit distance, when it is close enough to be a likely typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const scored = candidates.map((c) => ({ c, d: editDistance(word.toLowerCase(), c.toLowerCase()) })).sort((a, b) => a.d - b.d);
  const [first, second] = scored;
  if (!first || first.d > Math.max(2, Math.floor(word.length / 3))) return undefined;
  // A tie (mp9: mp1 or mp2?) is no suggestion: guessing the first would send a person to the wrong site.
  return second && second.d === first.d ? undefined : first.c;
}

function suggestion(word: string, candidates: readonly string[]): string {
  const near = nearest(word, candidates);
  return near ? ` (did you mean ${near}?)` : "";
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
