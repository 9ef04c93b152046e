// Config of an adopted management plane (issue 13; docs/adopting.md): `sites.<s>.adopt`, and the secrets
// `adoptedValues` (what the release was installed with) and `adoptedCa` (the CA the control planes trust).
// Checked with the rest of the config, before any resource is registered; no message repeats a secret.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { ConfigError, NAMESPACE } from "./errors";
import { TSB_DEFAULT_FRONT_ENVOY_PORT } from "./names";
import { isValues, parseHelmValues, type Values } from "./helmValues";

export const ADOPT_KEYS = ["release", "namespace", "step", "floatingRecord", "trustBundleRolledOut"];
export const ADOPT_STEPS = ["import", "activate"] as const;
export const FLOATING_RECORD_TYPES = ["A", "AAAA", "CNAME"] as const;
/**
 * The only namespace an adopted MP may live in: the fence, the gates and the probes of this program
 * work in `tsb` (lib/config/names.ts TSB_NAMESPACE), where TSB's docs install every management plane.
 */
export const ADOPTABLE_NAMESPACE = "tsb";

/** `sites.<s>.adopt` after validation. The installed chart version is `tsb.version` (the preflight compares). */
export interface SiteAdoption extends Omit<AdoptConfig, "chartVersion"> {
  /** The live floating record: its type (part of Route53's import ID) and Cloudflare's record id. */
  floatingRecord: { type: (typeof FLOATING_RECORD_TYPES)[number]; id?: string };
}

export interface AdoptionSecrets {
  /** `helm get values <release> -n <namespace> -o yaml`, parsed. */
  values: Values;
  /** The CA the control planes trust; without `keyPem` the set gets a new root (trust-bundle route). */
  ca: { certPem: string; keyPem?: string };
  /** `secrets.tsb.adminPassword` of the installed values: TSB's admin login, kept as it is. */
  adminPassword: string;
}

const at = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((x, k) => (isValues(x) ? x[k] : undefined), v);

/** Helm's limit for a release name (helm/helm pkg/chartutil/validate_name.go: 53 characters, DNS-1123). */
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `sites.<name>.adopt`, or undefined when the site does not set it. */
export function parseSiteAdoption(name: string, value: unknown, dnsProvider: string | undefined): SiteAdoption | undefined {
  if (value === undefined || value === null) return undefined;
  const key = (k: string): string => `sites.${name}.adopt${k ? `.${k}` : ""}`;
  if (!isValues(value)) throw new ConfigError(key(""), value, `is not an object. Allowed: {${ADOPT_KEYS.join(", ")}}; see docs/adopting.md`);
  for (const k of Object.keys(value)) {
    if (!ADOPT_KEYS.includes(k)) throw new ConfigError(key(k), value[k], `is not an adoption setting. Allowed: ${ADOPT_KEYS.join(", ")}`);
  }
  const release = value["release"];
  if (typeof release !== "string" || release.length > 53 || !RELEASE_NAME.test(release)) {
    throw new ConfigError(key("release"), release, "is not a Helm release name. Allowed: the NAME column of `helm ls -n tsb` " +
      "(public installs use mp, managementplane or tsb-managementplane; never guessed: another name would install a second release)");
  }
  const namespace = value["namespace"] ?? ADOPTABLE_NAMESPACE;
  if (namespace !== ADOPTABLE_NAMESPACE) {
    throw new ConfigError(key("namespace"), namespace, `is not supported. Allowed: ${ADOPTABLE_NAMESPACE} (the fence, gates and probes of this program work in namespace ${ADOPTABLE_NAMESPACE}, where TSB installs its management plane)`);
  }
  const step = value["step"];
  if (typeof step !== "string" || !(ADOPT_STEPS as readonly string[]).includes(step)) {
    throw new ConfigError(key("step"), step, `is not an adoption step. Allowed: ${ADOPT_STEPS.join(" (first update), then ")} (docs/adopting.md)`);
  }
  const record = value["floatingRecord"];
  const type = at(record, "type");
  if (!isValues(record) || typeof type !== "string" || !(FLOATING_RECORD_TYPES as readonly string[]).includes(type)) {
    throw new ConfigError(key("floatingRecord.type"), type, `is required: the type of the floating name's live record, which is imported as it is. Allowed: ${FLOATING_RECORD_TYPES.join(", ")}`);
  }
  for (const k of Object.keys(record)) {
    if (k !== "type" && k !== "id") throw new ConfigError(key(`floatingRecord.${k}`), record[k], "is not a record setting. Allowed: type, id");
  }
  const id = record["id"];
  if (dnsProvider === "cloudflare" && (typeof id !== "string" || !/^[0-9a-f]{32}$/.test(id))) {
    throw new ConfigError(key("floatingRecord.id"), id, "is required with Cloudflare: the live record's id, 32 hex digits " +
      "(curl -s -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\" 'https://api.cloudflare.com/client/v4/zones/<zone>/dns_records?name=<floating fqdn>' | jq -r '.result[0].id')");
  }
  if (dnsProvider !== "cloudflare" && id !== undefined) {
    throw new ConfigError(key("floatingRecord.id"), id, "is for Cloudflare only. Allowed: leave it unset with route53 (its import ID is <zone>_<name>_<type>)");
  }
  const rolled = value["trustBundleRolledOut"];
  if (rolled !== undefined && typeof rolled !== "boolean") {
    throw new ConfigError(key("trustBundleRolledOut"), rolled, "is not allowed. Allowed: true or false (write it without quotes)");
  }
  return {
    release, namespace: ADOPTABLE_NAMESPACE, step: step as SiteAdoption["step"],
    floatingRecord: { type: type as SiteAdoption["floatingRecord"]["type"], ...(typeof id === "string" ? { id } : {}) },
    ...(rolled !== undefined ? { trustBundleRolledOut: rolled } : {}),
  };
}

/**
 * The installed values that the stack also holds in plain config (`tsb.*`) and that a refusal must name
 * to be of use: not secrets, though `adoptedValues` is one as a whole for its credentials.
 */
export const INSTALLED_PLAIN_PATHS = ["image.tag", "image.registry", "spec.hub", "spec.organization", "spec.components.frontEnvoy.port"];

/** What an adopted set's TSB settings must agree with in the installed values. */
export interface InstalledExpectations {
  version: string;
  registry: string;
  organization: string;
  frontEnvoyPort: number;
}

/**
 * `adoptedValues` and `adoptedCa`: required (as secrets) when a site adopts, refused otherwise. The
 * installed organization and front-envoy port must agree with `tsb.*` for the life of the set (the
 * program keeps every installed value, so a difference would be a standby that differs from its active).
 * The image is compared only while the adoption runs (installedImageRefusal): afterwards it follows `tsb.*`.
 */
export function parseAdoptionSecrets(
  raw: Record<string, string | undefined>, secretKeys: ReadonlySet<string>, adoptingSite: string | undefined, tsb: InstalledExpectations,
): AdoptionSecrets | undefined {
  const given = (k: string): boolean => raw[k] !== undefined && raw[k] !== "";
  if (!adoptingSite) {
    for (const k of ["adoptedValues", "adoptedCa"]) {
      if (given(k)) throw new ConfigError(k, "(secret, not shown)", `is set but no site sets adopt. Allowed: only with sites.<site>.adopt. Fix: pulumi config rm ${NAMESPACE}:${k}`);
    }
    return undefined;
  }
  for (const k of ["adoptedValues", "adoptedCa"]) {
    if (!given(k)) throw new ConfigError(k, undefined, `is required while ${adoptingSite} is adopted. ${howToSet(k)}`);
    if (!secretKeys.has(k)) throw new ConfigError(k, "(value not shown)", `is stored in plain text. Allowed: a secret. ${howToSet(k)}`);
  }
  const values = parseHelmValues(raw["adoptedValues"]!);
  const mismatch = (path: string, installed: unknown, key: string, configured: unknown, shown?: string): never => {
    throw installedDiffers(path, installed, key, configured, "a standby must run as its active does", shown);
  };
  const org = at(values, "spec", "organization");
  if (org !== undefined && org !== tsb.organization) mismatch("spec.organization", org, "organization", tsb.organization);
  // Unset is not "anything goes": TSB's front envoy then listens on its default.
  const listens = installedFrontEnvoyPort(values["spec"]);
  if (listens.port !== tsb.frontEnvoyPort) mismatch("spec.components.frontEnvoy.port", listens.port, "frontEnvoyPort", tsb.frontEnvoyPort, listens.text);
  const adminPassword = at(values, "secrets", "tsb", "adminPassword");
  if (typeof adminPassword !== "string" || adminPassword === "") {
    throw new ConfigError("adoptedValues", "[secret]", "has no secrets.tsb.adminPassword. The program logs in to the adopted MP's API with it (to prove it serves) and gives it to the standby. " +
      "Installs made with tctl keep it in Secret admin-credentials: hand the MP to Helm with the password in its values first (docs/adopting.md, prerequisites)");
  }
  return { values, ca: parseAdoptedCa(raw["adoptedCa"]!), adminPassword };
}

function howToSet(k: string): string {
  return k === "adoptedValues"
    ? `Fix: helm get values <release> -n tsb -o yaml | pulumi config set --secret ${NAMESPACE}:adoptedValues`
    // From standard input: a value starting with "-----" would be read as a flag (pulumi/pulumi#6015).
    : `Fix: pulumi config set --secret --path '${NAMESPACE}:adoptedCa.certPem' < ca.crt and, when you have it, ` +
      `pulumi config set --secret --path '${NAMESPACE}:adoptedCa.keyPem' < ca.key`;
}

/** `{certPem, keyPem?}`: a CA certificate and, when given, its own private key. */
function parseAdoptedCa(text: string): AdoptionSecrets["ca"] {
  let v: unknown;
  try { v = JSON.parse(text); } catch { v = undefined; }
  if (!isValues(v)) throw new ConfigError("adoptedCa", "(secret, not shown)", `is not an object. Allowed: {certPem, keyPem}. ${howToSet("adoptedCa")}`);
  for (const k of Object.keys(v)) {
    if (k !== "certPem" && k !== "keyPem") throw new ConfigError(`adoptedCa.${k}`, "(secret, not shown)", "is not a CA setting. Allowed: certPem, keyPem");
  }
  const certPem = v["certPem"];
  let cert: X509Certificate | undefined;
  try { cert = typeof certPem === "string" ? new X509Certificate(certPem) : undefined; } catch { cert = undefined; }
  if (!cert || typeof certPem !== "string") throw new ConfigError("adoptedCa.certPem", "(secret, not shown)", "is not a PEM certificate. Allowed: the CA certificate that issued the live tsb-certs and xcp-central-cert");
  if (!cert.ca) throw new ConfigError("adoptedCa.certPem", "(secret, not shown)", `is not a CA certificate (subject ${cert.subject.replace(/\n/g, ", ")}; basicConstraints CA:FALSE). Allowed: the CA that issued the live leaves, not a leaf`);
  const keyPem = v["keyPem"];
  if (keyPem === undefined || keyPem === "") return { certPem };
  let matches = false;
  try { matches = typeof keyPem === "string" && cert.checkPrivateKey(createPrivateKey(keyPem)); } catch { matches = false; }
  if (!matches) throw new ConfigError("adoptedCa.keyPem", "(secret, not shown)", "is not the private key of adoptedCa.certPem. Allowed: that CA's key in PEM, or unset (the trust-bundle route, docs/adopting.md)");
  return { certPem, keyPem: keyPem as string };
}

function installedDiffers(path: string, installed: unknown, key: string, configured: unknown, why: string, shown = JSON.stringify(installed)): ConfigError {
  return new ConfigError(`tsb.${key}`, configured, `differs from the installed ${path} (${shown}). Adoption changes no installed value (${why}): ` +
    `set ${NAMESPACE}:tsb.${key} to ${JSON.stringify(installed)}`);
}

/**
 * While the adoption runs (step import, or activate not yet done), the installed image and hub must be
 * `tsb.version` / `tsb.registry`: a difference would upgrade or move the live MP inside the adoption.
 * Once activated, every site's image follows `tsb.*` (lib/adoption/plan.ts adoptedSiteValues): upgrades
 * are ordinary updates.
 */
export function installedImageRefusal(values: Values, tsb: Pick<InstalledExpectations, "version" | "registry">): ConfigError | undefined {
  const why = "change it once activate has succeeded: from then on every site follows tsb.*";
  const tag = at(values, "image", "tag");
  if (tag !== undefined && tag !== tsb.version) return installedDiffers("image.tag", tag, "version", tsb.version, why);
  const registry = at(values, "image", "registry");
  if (registry !== undefined && registry !== tsb.registry) return installedDiffers("image.registry", registry, "registry", tsb.registry, why);
  const hub = at(values, "spec", "hub");
  if (hub !== undefined && hub !== tsb.registry) return installedDiffers("spec.hub", hub, "registry", tsb.registry, why);
  return undefined;
}

export type AdoptStep = "import" | "activate";

/** `sites.<s>.adopt` as proposed. */
export interface AdoptConfig {
  release: string;
  namespace: string;
  chartVersion: string;
  step: AdoptStep;
  /**
   * Set only when the adopted CA's key is not available (corporate PKI): the set gets a new root, and the
   * control planes must trust old + new (trustBundleDelta) before any leaf changes. `true` is the
   * operator's word that every control plane runs with the bundle.
   */
  trustBundleRolledOut?: boolean;
}

/**
 * The port an installed front envoy listens on, from a ManagementPlane `spec` (the CR, or the helm
 * values' `spec`): `components.frontEnvoy.port`, or TSB's default when it is unset.
 */
export function installedFrontEnvoyPort(spec: unknown): { port: unknown; text: string } {
  const components = isValues(spec) ? spec["components"] : undefined;
  const frontEnvoy = isValues(components) ? components["frontEnvoy"] : undefined;
  const port = isValues(frontEnvoy) ? frontEnvoy["port"] : undefined;
  return port === undefined
    ? { port: TSB_DEFAULT_FRONT_ENVOY_PORT, text: `${TSB_DEFAULT_FRONT_ENVOY_PORT} (spec.components.frontEnvoy.port is unset: TSB's default)` }
    : { port, text: JSON.stringify(port) };
}
