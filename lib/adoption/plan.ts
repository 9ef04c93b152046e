// What an adopted set does in this update (docs/adopting.md): the step (lib/adoption/decide.ts adoptionStep),
// whether the read-only preflight runs, what is imported, each site's values and leaf SANs, and what
// `history` records. Pure; index.ts and the components turn it into reads and resources.
import type { SetConfig } from "../config/config";
import type { SetHistory, SitePlan, AdoptedSans } from "../plan/topology";
import type { SiteSecretsPem } from "../plan/values";
import { highAvailabilityBlock } from "../plan/values";
import { siteCertSpecs, type LeafSpec, type SanSet, type SiteCertSpecs } from "../plan/certs";
import { installedImageRefusal } from "../config/adoption";
import { withPrecedence } from "../config/chartValues";
import { ConfigError, NAMESPACE } from "../config/errors";
import {
  adoptionImportIds, adoptionStep, floatingRecordImportId, mergeAdoptedValues, sansToKeep,
  standbyValuesFromExisting, type AdoptionDecision, type ValuesChange,
} from "./decide";
import { changedLeafPaths, isValues, type Values } from "../config/helmValues";

export interface AdoptionPlan {
  site: string;
  release: string;
  namespace: string;
  decision: AdoptionDecision;
  /** Run the read-only preflight: step import (every run: it is what keeps the import a no-op), or a step not yet done. */
  preflight: boolean;
  /**
   * `import` IDs, on every run of step import: the engine imports only when the state has no resource
   * with that import ID (pulumi/pulumi pkg/resource/deploy/step_generator.go: isImport), so a rerun is a
   * no-op and a back-out that deleted the three from state can import again.
   */
  importIds?: { namespace: string; release: string; floatingRecord: string };
  /** SANs recorded when the site was activated; until then the preflight reads them from the live leaves. */
  recordedSans?: AdoptedSans;
}

/** Undefined when no site adopts. Throws ConfigError (adoptionStep) for a skipped or mixed step. */
export function planAdoption(cfg: SetConfig, history: SetHistory | undefined): AdoptionPlan | undefined {
  const site = cfg.sites.find((s) => s.adopt);
  if (!site?.adopt) return undefined;
  const adopt = site.adopt;
  const decision = adoptionStep(
    history && { activeSite: history.activeSite, sites: history.sites },
    {
      activeSite: cfg.activeSite,
      sites: cfg.sites.map((s) => ({ name: s.name, ...(s.adopt ? { adopt: { ...s.adopt, chartVersion: cfg.tsb.version } } : {}) })),
      adoptedCaKeyGiven: cfg.adoption?.ca.keyPem !== undefined,
    },
  );
  if (!decision) return undefined;
  const done = history?.sites[site.name];
  const importing = decision.step === "import";
  const plan: AdoptionPlan = { site: site.name, release: adopt.release, namespace: adopt.namespace, decision, preflight: importing || done?.adoptStep !== decision.step };
  if (plan.preflight && cfg.adoption) {
    const refused = installedImageRefusal(cfg.adoption.values, cfg.tsb);
    if (refused) throw refused;
  }
  if (importing && cfg.adoption) {
    const refused = userValuesAtImport(cfg, site.name, cfg.adoption.values);
    if (refused) throw refused;
  }
  if (importing) {
    const ids = adoptionImportIds(adopt);
    plan.importIds = {
      ...ids,
      floatingRecord: floatingRecordImportId(cfg.dns.provider, cfg.dns.zoneId, cfg.floatingFqdn, adopt.floatingRecord.type, adopt.floatingRecord.id),
    };
  }
  if (done?.adoptSans) plan.recordedSans = done.adoptSans;
  return plan;
}

/**
 * Step import changes nothing, so chart values that would change an installed one wait for step
 * activate (values equal to the installed ones are accepted: a user may carry them over). Paths only.
 */
export function userValuesAtImport(cfg: Pick<SetConfig, "chartValues">, site: string, installed: Values): ConfigError | undefined {
  for (const source of cfg.chartValues.filter((s) => s.site === undefined || s.site === site)) {
    const paths = changedLeafPaths(installed, withPrecedence({}, source.values, installed));
    if (paths.length === 0) continue;
    return new ConfigError(source.key, "(not shown)", `would change the installed values of ${site} at ${paths.slice(0, 12).join(", ")}${paths.length > 12 ? `, and ${paths.length - 12} more` : ""} ` +
      `in step import, which changes nothing. Fix: set them after the import, with ${NAMESPACE}:sites.${site}.adopt.step activate (one update each; docs/adopting.md)`);
  }
  return undefined;
}

/**
 * The installed values must be what the stack was given: Helm keeps the user values of the last
 * revision (`helm get values`), and the import stores exactly those as the release's inputs
 * (pulumi-kubernetes provider/pkg/provider/helm_release.go setReleaseAttributes: `Values = r.Config`).
 * A difference would be a helm upgrade hidden in the import. Paths only: values hold passwords.
 */
export function valuesDriftRefusal(site: string, stored: Values | undefined, given: Values): { code: "values-drift"; message: string } | undefined {
  if (stored === undefined) return undefined; // no release: adoptionPreflight already refuses
  const paths = changedLeafPaths(stored, given);
  if (paths.length === 0) return undefined;
  const shown = paths.slice(0, 12).join(", ") + (paths.length > 12 ? `, and ${paths.length - 12} more` : "");
  return {
    code: "values-drift",
    message: `${site}: adoptedValues differ from the values the release runs with, at ${shown}. The import must change nothing: ` +
      "set adoptedValues again from helm get values <release> -n tsb -o yaml (someone may have upgraded the release since)",
  };
}

/** The SANs the adopted site's new leaves keep, per leaf: its permanent and floating names, and every live SAN. */
export function adoptedSans(liveTsbPem: string, liveXcpPem: string, fqdn: string, floatingFqdn: string): AdoptedSans {
  return { tsb: sansToKeep([liveTsbPem], fqdn, floatingFqdn), xcp: sansToKeep([liveXcpPem], fqdn, floatingFqdn) };
}

/** A site's leaf specs; the adopted site's also carry the SANs its live leaves had (names, IPs, URIs). */
export function leafSpecsFor(fqdn: string, floatingFqdn: string, kept?: AdoptedSans): SiteCertSpecs {
  const specs = siteCertSpecs(fqdn, floatingFqdn);
  if (!kept) return specs;
  const union = (spec: LeafSpec, sans: SanSet): LeafSpec => ({
    ...spec,
    dnsNames: unique([...spec.dnsNames, ...sans.dnsNames], (d) => d.toLowerCase()),
    uris: unique([...spec.uris, ...sans.uris], (u) => u),
    ipAddresses: unique([...(spec.ipAddresses ?? []), ...sans.ipAddresses], (ip) => ip),
  });
  return { tsb: union(specs.tsb, kept.tsb), xcp: union(specs.xcp, kept.xcp) };
}

function unique(list: string[], key: (s: string) => string): string[] {
  const seen = new Set<string>();
  return list.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}

/**
 * A site's values in an adopted set: the installed values (every hand-set key stays: Helm reuses none of
 * the old ones when new ones are given, helm/helm pkg/action/upgrade.go), the user's chart values for the
 * site over them (lib/config/chartValues.ts), and the site's HA block and leaves over both. The adopted site
 * keeps all of its own; another site drops the adopted site's leaves and CA key (lib/adoption/decide.ts).
 * `image.tag`/`image.registry` and `spec.hub`, where the install set them, follow `tsb.*` (equal while
 * adopting: planAdoption), so a later version bump upgrades every site alike.
 */
export function adoptedSiteValues(existing: Values, site: SitePlan, adoptedSite: string, tsb: SetConfig["tsb"], pem: SiteSecretsPem, user: Values = {}): ValuesChange {
  const image = existing["image"];
  const follow: Values = {};
  if (isValues(image)) follow["image"] = { ...("tag" in image ? { tag: tsb.version } : {}), ...("registry" in image ? { registry: tsb.registry } : {}) };
  const spec = existing["spec"];
  if (isValues(spec) && "hub" in spec) follow["spec"] = { hub: tsb.registry };
  const base = withPrecedence(follow, user, existing);
  const block = highAvailabilityBlock(site, tsb.frontEnvoyPort);
  const certs = { tsbCert: pem.tsbCert, tsbKey: pem.tsbKey, xcpCert: pem.xcpCert, xcpKey: pem.xcpKey, rootCa: pem.rootCa };
  const change = site.name === adoptedSite ? mergeAdoptedValues(base, block, certs) : standbyValuesFromExisting(base, block, certs);
  return { values: change.values, changedPaths: changedLeafPaths(existing, change.values) };
}
