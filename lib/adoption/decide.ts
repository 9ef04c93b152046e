// Adopting a hand-installed management plane (issue 13; research: ../shared/reference/adoption-research.md).
// Pure decisions only: the values each step gives the adopted release and the standby, the SANs the new
// leaves must keep, the read-only preflight over a recorded cluster state, and the step machine
// import -> activate -> add standby. Components (wired by the lead) turn them into resources.
//
// Config (lib/config/adoption.ts; docs/adopting.md): the installed chart version is `tsb.version`:
//   sites.<s>.adopt: { release: "<helm release name>", namespace: "tsb", step: "import" | "activate",
//                      floatingRecord: {type, id?}, trustBundleRolledOut?: true  (only when adoptedCa has no key) }
//   sites.<s>.fqdn:  a NEW permanent name for the adopted MP; floatingFqdn = the host the control planes use
//   adoptedValues (secret): `helm get values <release> -n <namespace> -o yaml`, verbatim
//   adoptedCa (secret): { certPem, keyPem? } of the CA the control planes already trust (no keyPem: new root + trust bundle)
// History: SiteHistory.adoptStep (lib/plan/topology.ts) holds `adoptionStep(...).historyStep`; the
// interfaces below are the structural subset this file reads.
import { X509Certificate } from "node:crypto";
import { ConfigError, NAMESPACE } from "../config/errors";
import { SIGNING_KEY_SECRET, TSB_CERTS_SECRET, XCP_CENTRAL_SECRET } from "../config/names";
import { changedLeafPaths, deepMerge, isValues, type Values } from "../config/helmValues";
import { installedFrontEnvoyPort, type AdoptConfig, type AdoptStep } from "../config/adoption";
import type { SanSet } from "../plan/certs";
import type { RecordedAdoptionState, RecordedObject } from "./read";

// ---------------------------------------------------------------------------------------------------
// Values

/** New leaf certificates and keys for a site (PEM), signed by the adopted CA. */
export interface AdoptionCerts {
  tsbCert: string;
  tsbKey: string;
  xcpCert: string;
  xcpKey: string;
  /** The adopted CA's certificate (`secrets.xcp.rootca`). */
  rootCa: string;
}

export interface ValuesChange {
  values: Values;
  /** Every leaf path (dotted, array index as `[i]`) whose value was added, changed or removed, sorted. */
  changedPaths: string[];
}

function certOverlay(certs: AdoptionCerts): Values {
  return {
    secrets: {
      // Keep chart-made secrets (iam-signing-key among them) should a later update stop supplying them.
      keep: true,
      tsb: { cert: certs.tsbCert, key: certs.tsbKey },
      xcp: { autoGenerateCerts: false, central: { cert: certs.xcpCert, key: certs.xcpKey }, rootca: certs.rootCa },
    },
  };
}

/**
 * Step "activate": the installed values with the active HA block and new leaves. Every other key stays
 * exactly: the provider hands Helm only the program's values and Helm reuses the old ones only with
 * reuseValues (helm/helm pkg/action/upgrade.go; pulumi-kubernetes provider/pkg/provider/helm_release.go),
 * so a key left out here would be a live change. `spec.highAvailability` is replaced, not merged: a
 * `standby` block left beside `active` would keep the site a standby.
 */
export function mergeAdoptedValues(existing: Values, activeBlock: Values, certs: AdoptionCerts): ValuesChange {
  const merged = deepMerge(existing, certOverlay(certs));
  const spec = isValues(merged["spec"]) ? merged["spec"] : {};
  merged["spec"] = { ...spec, highAvailability: structuredClone(activeBlock) };
  return { values: merged, changedPaths: changedLeafPaths(existing, merged) };
}

/**
 * A standby's values start from the adopted ones (seed: "start with the same basic helm values") without
 * the active's leaves and HA block, plus the standby's own leaves and block. `secrets.xcp.rootcakey` is
 * dropped too: with `autoGenerateCerts: false` nothing on the standby signs with it, so the CA key is not
 * copied to another cluster.
 */
export function standbyValuesFromExisting(existing: Values, standbyBlock: Values, certs: AdoptionCerts): ValuesChange {
  // The active's leaves and HA block need no removal: the overlay and the block below replace them.
  const base = structuredClone(existing);
  const secrets = isValues(base["secrets"]) ? base["secrets"] : undefined;
  const xcp = secrets && isValues(secrets["xcp"]) ? secrets["xcp"] : undefined;
  if (xcp) delete xcp["rootcakey"];
  const values = deepMerge(base, certOverlay(certs));
  values["spec"] = { ...(isValues(values["spec"]) ? values["spec"] : {}), highAvailability: structuredClone(standbyBlock) };
  return { values, changedPaths: changedLeafPaths(existing, values) };
}

// ---------------------------------------------------------------------------------------------------
// Certificates

/** Splits a PEM bundle into its certificates, first (the leaf) first. */
export function pemCertificates(bundle: string): X509Certificate[] {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** DNS, IP and URI SANs of a certificate, from node's `subjectAltName` text (quoted entries are JSON strings). */
export function sansOf(cert: X509Certificate): SanSet {
  const out: SanSet = { dnsNames: [], ipAddresses: [], uris: [] };
  const re = /(DNS|IP Address|URI):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const m of (cert.subjectAltName ?? "").matchAll(re)) {
    const raw = m[2] ?? "";
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.trim();
    if (m[1] === "DNS") out.dnsNames.push(value);
    else if (m[1] === "URI") out.uris.push(value);
    else out.ipAddresses.push(value);
  }
  return out;
}

/**
 * SANs for a new leaf that replaces the live ones: the permanent and floating names first, then every
 * SAN any live certificate had (`central.xcp.tetrate.io`, the spiffe URI, IPs, old hostnames), so no
 * control plane that reaches the MP by an old name or address loses it. DNS names compare without case.
 */
export function sansToKeep(liveCertPems: string[], permanentFqdn: string, floatingFqdn: string): SanSet {
  const out: SanSet = { dnsNames: [], ipAddresses: [], uris: [] };
  const add = (list: string[], v: string, fold: boolean): void => {
    const key = fold ? v.toLowerCase() : v;
    if (!list.some((x) => (fold ? x.toLowerCase() : x) === key)) list.push(v);
  };
  add(out.dnsNames, permanentFqdn, true);
  add(out.dnsNames, floatingFqdn, true);
  liveCertPems.forEach((pem, i) => {
    const leaf = pemCertificates(pem)[0];
    if (!leaf) throw new Error(`live certificate ${i + 1} of ${liveCertPems.length} holds no PEM certificate`);
    const s = sansOf(leaf);
    s.dnsNames.forEach((d) => add(out.dnsNames, d, true));
    s.ipAddresses.forEach((ip) => add(out.ipAddresses, ip, false));
    s.uris.forEach((u) => add(out.uris, u, false));
  });
  return out;
}

/**
 * Does the first certificate of `bundle` chain to `caPem`, through intermediates in the same bundle?
 * Signature (verify) and names (checkIssued) both; validity dates are not judged here.
 */
export function chainsTo(bundle: string, caPem: string): boolean {
  const [ca] = pemCertificates(caPem);
  const certs = pemCertificates(bundle);
  let current = certs[0];
  if (!ca || !current) return false;
  for (let hops = 0; hops <= certs.length; hops++) {
    if (current.checkIssued(ca) && current.verify(ca.publicKey)) return true;
    const cur: X509Certificate = current;
    const parent = certs.find((c) => c !== cur && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!parent) return false;
    current = parent;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Preflight

export const HELM_MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const HELM_RELEASE_NAME_ANNOTATION = "meta.helm.sh/release-name";
export const HELM_RELEASE_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace";



export interface Refusal {
  /** Stable name for tests and docs. */
  code: "release-missing" | "release-version" | "release-status" | "cr-missing" | "organization" | "front-envoy-port" | "external-postgres"
    | "no-high-availability" | "signing-key-in-tsb-certs" | "signing-key-unknown" | "tsb-cert-automation"
    | "cert-missing" | "cert-chain" | "floating-not-served" | "helm-ownership" | "owned-by-other-release";
  /** What is wrong and the fix, in one message (commands included). */
  message: string;
}

/**
 * Read-only checks before anything is imported. Returns every refusal (empty: adoption may start), so
 * one preview shows all fixes at once.
 */
export function adoptionPreflight(r: RecordedAdoptionState): Refusal[] {
  const out: Refusal[] = [];
  const { release: rel, namespace: ns } = r.expect;
  const key = (k: string): string => `${NAMESPACE}:sites.${r.site}.adopt.${k}`;
  const refuse = (code: Refusal["code"], message: string): void => { out.push({ code, message: `${r.site}: ${message}` }); };

  if (!r.release) {
    refuse("release-missing", `helm has no release ${ns}/${rel}. Check the name with: helm ls -A | grep managementplane, then set ${key("release")}. ` +
      "If the MP was installed with tctl, hand it to Helm first (docs: setup/migrate-tctl-to-helm): label and annotate its objects (below), then helm upgrade --install with the same values");
  } else {
    if (r.release.chartVersion !== r.expect.chartVersion) {
      refuse("release-version", `release ${ns}/${rel} runs chart ${r.release.chartVersion}, config says ${r.expect.chartVersion}. Adoption never upgrades TSB: set ${NAMESPACE}:tsb.version to ${r.release.chartVersion} (upgrade later, after the standby has joined)`);
    }
    if (r.release.status !== "deployed") {
      refuse("release-status", `release ${ns}/${rel} is ${r.release.status}, not deployed. Finish or undo the last helm operation first (helm history ${rel} -n ${ns}; helm rollback ${rel} <last deployed revision> -n ${ns})`);
    }
  }

  const spec = r.managementPlaneSpec;
  if (!spec) {
    refuse("cr-missing", `the ManagementPlane CR is missing in ${ns} (kubectl get managementplanes -n ${ns}). Nothing to adopt`);
  } else {
    if (spec["organization"] !== r.expect.organization) {
      refuse("organization", `the MP serves organization ${JSON.stringify(spec["organization"])}, config says ${JSON.stringify(r.expect.organization)}. ` +
        `Changing it disconnects every control plane: set ${NAMESPACE}:tsb.organization to ${JSON.stringify(spec["organization"])}`);
    }
    // The standbys sync from this port and the API check calls it: it must be the one the MP listens on.
    const listens = installedFrontEnvoyPort(spec);
    if (listens.port !== r.expect.frontEnvoyPort) {
      refuse("front-envoy-port", `the front envoy listens on ${listens.text}, config says ${r.expect.frontEnvoyPort}. ` +
        `The API check after activate and the standby's sync would call a port nothing serves: set ${NAMESPACE}:tsb.frontEnvoyPort to ${JSON.stringify(listens.port)}`);
    }
    const dataStore = spec["dataStore"];
    if (isValues(dataStore) && Object.keys(dataStore).length > 0) {
      refuse("external-postgres", "spec.dataStore is set: the MP uses an external Postgres, and a standby synchronises only the embedded one (seed). " +
        "Not supported by this program: replicate the external database with its own tools and follow the vendor's DR guide");
    }
    const tokenIssuer = isValues(spec["tokenIssuer"]) ? spec["tokenIssuer"] : {};
    const jwt = isValues(tokenIssuer["jwt"]) ? tokenIssuer["jwt"] : {};
    const keysSecret = jwt["signingKeysSecret"];
    if (keysSecret === TSB_CERTS_SECRET) {
      refuse("signing-key-in-tsb-certs", "spec.tokenIssuer.jwt.signingKeysSecret is tsb-certs: the IAM signs tokens with the front-envoy key, so the new leaf certificate would change the signing key and invalidate every token. " +
        `Move the key to its own Secret first, keeping the old issuer name for the old key (docs: operations/multiple-iam-keys), let tokens roll over, then adopt`);
    } else if (keysSecret === undefined && !r.signingKeySecretExists) {
      refuse("signing-key-unknown", `neither spec.tokenIssuer.jwt.signingKeysSecret nor Secret ${SIGNING_KEY_SECRET} tells where the IAM signing key is kept, so the standby cannot get a copy. ` +
        `Check with: kubectl get managementplane -n ${ns} -o yaml; kubectl get secret -n ${ns} ${SIGNING_KEY_SECRET}`);
    }
    const certIssuer = isValues(spec["certIssuer"]) ? spec["certIssuer"] : {};
    if (certIssuer["tsbCerts"] !== undefined) {
      refuse("tsb-cert-automation", "spec.certIssuer.tsbCerts is set: TSB issues tsb-certs itself and would overwrite the leaf the program supplies. " +
        "Remove spec.certIssuer.tsbCerts in a reviewed helm upgrade first (docs: automated-certificate-management) [guess: the vendor should confirm the order]");
    }
  }
  if (r.crdSpecProperties && !r.crdSpecProperties.includes("highAvailability")) {
    refuse("no-high-availability", `the ManagementPlane CRD of chart ${r.release?.chartVersion ?? r.expect.chartVersion} has no spec.highAvailability: this TSB has no active/standby mode. Upgrade TSB to a version with it first, outside this program`);
  } else if (!r.crdSpecProperties) {
    refuse("no-high-availability", "the ManagementPlane CRD (managementplanes.install.tetrate.io) could not be read, so support for spec.highAvailability is unknown. Grant get on customresourcedefinitions, or check: kubectl get crd managementplanes.install.tetrate.io -o yaml | grep highAvailability");
  }

  const certs: Array<[string, string | undefined]> = [[TSB_CERTS_SECRET, r.tsbCertsPem], [XCP_CENTRAL_SECRET, r.xcpCentralCertPem]];
  for (const [name, pem] of certs) {
    if (!pem) { refuse("cert-missing", `Secret ${ns}/${name} has no tls.crt. Nothing to compare with the given CA: check kubectl get secret -n ${ns} ${name}`); continue; }
    let ok = false;
    try { ok = chainsTo(pem, r.caCertPem); } catch { ok = false; }
    if (!ok) {
      refuse("cert-chain", `the live ${name} does not chain to ${NAMESPACE}:adoptedCa. Control planes trust the CA that issued it; a leaf from another CA would cut them off. ` +
        `Set adoptedCa to that CA (openssl x509 -in <(kubectl get secret -n ${ns} ${name} -o jsonpath='{.data.tls\\.crt}' | base64 -d) -noout -issuer), or take the trust-bundle route (docs/adopting.md)`);
    }
  }
  if (r.tsbCertsPem) {
    let names: string[] = [];
    try { const leaf = pemCertificates(r.tsbCertsPem)[0]; names = leaf ? sansOf(leaf).dnsNames : []; } catch { names = []; }
    if (!names.some((d) => dnsNameCovers(d, r.expect.floatingFqdn))) {
      refuse("floating-not-served", `the live ${TSB_CERTS_SECRET} does not name ${r.expect.floatingFqdn}, so control planes do not reach the MP by that name. ` +
        `Set ${NAMESPACE}:floatingFqdn to the host in the control planes' spec.managementPlane.host; if that is an IP, every control plane must be moved to a name first (docs/adopting.md)`);
    }
  }

  const unlabelled: RecordedObject[] = [];
  for (const o of r.objects) {
    const owner = o.annotations?.[HELM_RELEASE_NAME_ANNOTATION];
    const ownerNs = o.annotations?.[HELM_RELEASE_NAMESPACE_ANNOTATION];
    if ((owner !== undefined && owner !== rel) || (ownerNs !== undefined && ownerNs !== ns)) {
      refuse("owned-by-other-release", `${o.kind}/${o.name} belongs to helm release ${ownerNs ?? "?"}/${owner ?? "?"}, not ${ns}/${rel}. Check ${key("release")}; do not relabel an object another release owns`);
    } else if (o.labels?.[HELM_MANAGED_BY_LABEL] !== "Helm" || owner !== rel || ownerNs !== ns) {
      unlabelled.push(o);
    }
  }
  if (unlabelled.length > 0) {
    refuse("helm-ownership", `${unlabelled.length} object(s) lack Helm's ownership metadata for ${ns}/${rel} (installed with tctl, or edited by hand). Pulumi's Release has no take-ownership, so run:\n` +
      ownershipCommands(unlabelled, rel, ns).join("\n"));
  }
  return out;
}

/** A SAN DNS name covers a host: equal without case, or a wildcard for exactly one left-most label. */
export function dnsNameCovers(san: string, host: string): boolean {
  const a = san.toLowerCase();
  const b = host.toLowerCase();
  if (a === b) return true;
  return a.startsWith("*.") && b.endsWith(a.slice(1)) && b.split(".").length === a.split(".").length;
}

/** The kubectl commands that let Helm adopt objects (helm/helm PR #7649; docs: setup/migrate-tctl-to-helm). */
export function ownershipCommands(objects: RecordedObject[], release: string, namespace: string): string[] {
  return objects.flatMap((o) => {
    const ref = `${o.namespace ? `-n ${o.namespace} ` : ""}${o.kind.toLowerCase()}/${o.name}`;
    return [
      `kubectl label ${ref} ${HELM_MANAGED_BY_LABEL}=Helm --overwrite`,
      `kubectl annotate ${ref} ${HELM_RELEASE_NAME_ANNOTATION}=${release} ${HELM_RELEASE_NAMESPACE_ANNOTATION}=${namespace} --overwrite`,
    ];
  });
}

// ---------------------------------------------------------------------------------------------------
// Steps

/** The part of SetConfig the step machine reads (structural: SetConfig fits once SiteConfig has `adopt`). */
export interface AdoptionConfigView {
  activeSite: string;
  sites: Array<{ name: string; adopt?: AdoptConfig }>;
  /** The adopted CA's key is in config (route A); without it the set gets a new root (route B). */
  adoptedCaKeyGiven: boolean;
}

/** The part of the `history` output it reads (SiteHistory with the proposed `adoptStep`). */
export interface AdoptionHistoryView {
  activeSite: string;
  sites: Record<string, { adoptStep?: AdoptStep }>;
}

export interface AdoptionDecision {
  site: string;
  step: AdoptStep;
  /** The release gets the adopted values verbatim (import) or merged with the HA block and new leaves (activate). */
  values: "verbatim" | "merged";
  /** Leaf certificates are issued from the adopted CA; never a new root CA. */
  issueLeaves: boolean;
  /** What the next run reads back as `adoptStep`. */
  historyStep: AdoptStep;
}

/**
 * The step machine: import (adopt as it is) -> activate (HA block, new leaves, DNS) -> add standbys (as
 * for a new set). A step is taken only after the previous one succeeded (its history), one per update;
 * going back from activate to import (the back-out) is allowed while no other site exists. Returns
 * undefined when no site adopts; throws ConfigError naming the key otherwise.
 */
export function adoptionStep(history: AdoptionHistoryView | undefined, config: AdoptionConfigView): AdoptionDecision | undefined {
  const adopting = config.sites.filter((s) => s.adopt);
  if (adopting.length === 0) return undefined;
  const [site, ...more] = adopting;
  if (!site?.adopt) return undefined;
  const stepKey = `sites.${site.name}.adopt.step`;
  if (more.length > 0) {
    throw new ConfigError(`sites.${more[0]!.name}.adopt`, "[set]", `adopts a second management plane; ${site.name} already adopts one. A set has one database: adopt one site, add the others as standbys`);
  }
  const step = site.adopt.step;
  const done = history?.sites[site.name]?.adoptStep;
  const others = config.sites.filter((s) => s.name !== site.name).map((s) => s.name);
  const newOthers = others.filter((n) => !history?.sites[n]);
  const order = `Steps, one update each: import (set ${stepKey} to import), activate (then set it to activate), then add the standby sites`;

  if (history && !history.sites[site.name]) {
    throw new ConfigError(`sites.${site.name}.adopt`, "[set]", `adopts ${site.name} into a set that already runs without it (active ${history.activeSite}). Adoption starts a set; a second MP joins as a standby (remove adopt)`);
  }
  if (step === "import") {
    if (done === "activate" && others.length > 0) {
      throw new ConfigError(stepKey, step, `goes back to the installed values while ${others.join(", ")} ${others.length === 1 ? "synchronises" : "synchronise"} from ${site.name}. Remove the standby sites first (one update), then go back`);
    }
    if (others.length > 0) {
      throw new ConfigError(stepKey, step, `imports ${site.name} in the update that also adds ${others.join(", ")}. No update both imports and changes a live MP. ${order}`);
    }
    if (config.activeSite !== site.name) {
      throw new ConfigError("activeSite", config.activeSite, `must be ${site.name}, the adopted site, while it is imported`);
    }
    return { site: site.name, step, values: "verbatim", issueLeaves: false, historyStep: "import" };
  }
  // step === "activate"
  if (done === undefined) {
    throw new ConfigError(stepKey, step, `skips the import step: ${site.name} is not in this stack yet, and importing and changing it in one update could uninstall or rewrite it. ${order}`);
  }
  if (done === "import" && newOthers.length > 0) {
    throw new ConfigError(stepKey, step, `activates ${site.name} in the update that also adds ${newOthers.join(", ")}. A standby needs the active's HA block live first. ${order}`);
  }
  if (!config.adoptedCaKeyGiven && site.adopt.trustBundleRolledOut !== true) {
    throw new ConfigError(`sites.${site.name}.adopt.trustBundleRolledOut`, site.adopt.trustBundleRolledOut,
      `must be true before ${site.name} gets leaves from a new root: adoptedCa has no key, so every control plane must first trust old + new root ` +
      `(the stack output adoptionTrustBundle: secrets.tsb.cacert, secrets.xcp.rootca, secrets.elasticsearch.cacert). Roll it out to every control plane, then: pulumi config set --path '${NAMESPACE}:sites.${site.name}.adopt.trustBundleRolledOut' true`);
  }
  if (done === "import" && config.activeSite !== site.name) {
    throw new ConfigError("activeSite", config.activeSite, `must be ${site.name} while it is being made the active`);
  }
  return { site: site.name, step, values: "merged", issueLeaves: true, historyStep: "activate" };
}

// ---------------------------------------------------------------------------------------------------
// Import IDs (research §4) and the trust-bundle route

/** `import` IDs of what step import adopts; `kubernetes:helm.sh/v3:Release` takes `<namespace>/<name>`. */
export function adoptionImportIds(adopt: Pick<AdoptConfig, "release" | "namespace">): { namespace: string; release: string } {
  return { namespace: adopt.namespace, release: `${adopt.namespace}/${adopt.release}` };
}

/**
 * `import` ID of the existing floating record: Route53 `<zoneId>_<name>_<type>` (@pulumi/aws
 * route53/record.d.ts); Cloudflare v6 DnsRecord `<zoneId>/<recordId>` (@pulumi/cloudflare dnsRecord.d.ts;
 * the record id comes from cloudflare.getDnsRecord).
 */
export function floatingRecordImportId(provider: "route53" | "cloudflare", zoneId: string, fqdn: string, type: string, cloudflareRecordId?: string): string {
  if (provider === "route53") return `${zoneId}_${fqdn}_${type}`;
  if (!cloudflareRecordId) throw new Error(`the Cloudflare record id of ${fqdn} is needed to import it (cloudflare.getDnsRecord)`);
  return `${zoneId}/${cloudflareRecordId}`;
}

/**
 * CA-key-unavailable route: the control planes' values change that must be rolled out before any leaf
 * changes (each CA value a bundle of old + new root; that TSB accepts a multi-PEM bundle is [guess] from
 * the "ca bundle" naming, research §2).
 */
export function trustBundleDelta(oldCaPem: string, newCaPem: string): Values {
  const bundle = `${oldCaPem.trim()}\n${newCaPem.trim()}\n`;
  return { secrets: { tsb: { cacert: bundle }, xcp: { rootca: bundle }, elasticsearch: { cacert: bundle } } };
}
