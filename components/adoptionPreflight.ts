// The adoption preflight, run by the program itself before it registers any resource, so it runs in
// `pulumi preview` as in `pulumi up`, and a refusal stops the update with nothing touched. Reads only
// (lib/adoption/read.ts: bounded GETs); judges with lib/adoption/decide.ts adoptionPreflight.
import * as pulumi from "@pulumi/pulumi";
import type { SetConfig } from "../lib/config/config";
import type { AdoptedSans } from "../lib/plan/topology";
import { adoptionPreflight } from "../lib/adoption/decide";
import { adoptedSans, valuesDriftRefusal, type AdoptionPlan } from "../lib/adoption/plan";
import { readAdoptionState } from "../lib/adoption/read";
import { plainKubeAccess } from "../lib/clients/kubeAccess";

/**
 * Reads the adopted site and refuses, with every fix at once, when it cannot be adopted as configured.
 * Returns the SANs its new leaves must keep (step activate), read from its live leaves.
 */
export async function runAdoptionPreflight(cfg: SetConfig, adoption: AdoptionPlan): Promise<AdoptedSans | undefined> {
  const site = cfg.sites.find((s) => s.name === adoption.site)!;
  const given = cfg.adoption!;
  const access = plainKubeAccess(site);
  let live: Awaited<ReturnType<typeof readAdoptionState>>;
  try {
    live = await readAdoptionState(access, site.name, { release: adoption.release, namespace: adoption.namespace }, cfg.tsb.apiTimeoutSeconds * 1000);
  } catch (e) {
    throw new pulumi.RunError(`adopting ${site.name}: the read-only preflight could not read its cluster (${e instanceof Error ? e.message : String(e)}). ` +
      `Nothing was changed. Fix: check sites.${site.name}.context / kubeconfig, then run pulumi preview again`);
  }
  const refusals = adoptionPreflight({
    ...live,
    site: site.name,
    expect: {
      release: adoption.release, namespace: adoption.namespace, chartVersion: cfg.tsb.version,
      organization: cfg.tsb.organization, floatingFqdn: cfg.floatingFqdn, frontEnvoyPort: cfg.tsb.frontEnvoyPort,
    },
    caCertPem: given.ca.certPem,
  });
  // The import must change nothing, so the given values must be the live ones. From activate on they
  // differ on purpose (a rerun after a failed activate finds the merged values live).
  const drift = adoption.decision.step === "import" ? valuesDriftRefusal(site.name, live.storedValues, given.values) : undefined;
  // Trust-bundle route: from activate on, the control planes trust old and new root, and a rerun after a
  // failed activate finds leaves from the new root live; the chain to the old CA no longer decides.
  const bundleRoute = given.ca.keyPem === undefined && adoption.decision.step === "activate";
  const all = [...refusals.filter((r) => !(bundleRoute && r.code === "cert-chain")), ...(drift ? [drift] : [])];
  if (all.length > 0) {
    throw new pulumi.RunError(`adopting ${site.name} (step ${adoption.decision.step}) is refused by the read-only preflight; nothing was changed:\n` +
      all.map((r) => `- [${r.code}] ${r.message}`).join("\n"));
  }
  if (!adoption.decision.issueLeaves || !live.tsbCertsPem || !live.xcpCentralCertPem) return undefined;
  return adoptedSans(live.tsbCertsPem, live.xcpCentralCertPem, site.fqdn, cfg.floatingFqdn);
}
