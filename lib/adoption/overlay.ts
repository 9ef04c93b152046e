// What adopting a hand-installed MP (docs/adopting.md) changes in each phase of index.ts, decided once
// from the adoption plan: the phases ask this overlay and never look at the adoption themselves. Without
// an adoption every answer is the new set's: nothing kept, nothing imported, every proof made. Pure.
import type { SetConfig } from "../config/config";
import type { AdoptionPlan } from "./plan";
import type { AdoptedSans } from "../plan/topology";
import { trustBundleDelta } from "./decide";
import type { AdoptStep } from "../config/adoption";
import type { Values } from "../config/helmValues";

/** What the adopted site's release keeps of the installed one (components/managementPlane.ts reads it). */
export interface AdoptedRelease {
  /** The installed release's name and namespace: another name would be a second install. */
  release: string;
  namespace: string;
  /** Step import: the installed values exactly, and no input the import cannot read back. */
  verbatim: boolean;
  /** `import` IDs, in the update that imports. */
  importIds?: { namespace: string; release: string };
}

/** What one site's release gets from the adoption: spread into its ManagementPlane args. */
export interface ReleaseOverlay {
  installed?: { values: Values; adoptedSite: string };
  adopted?: AdoptedRelease;
}

export interface AdoptionOverlay {
  /**
   * PKI: with its key, the CA the control planes already trust signs every leaf and no root is made
   * (route A); the adopted site gets no leaves before its activate step, and its new leaves keep the
   * SANs of its live ones. Plain here: index.ts makes the key a secret.
   */
  pki: { ca?: { certPem: string; keyPem: string }; skip?: string[]; kept?: Record<string, AdoptedSans> };
  /** The adopted MP's admin password (TSB's login), kept; undefined: the set makes its own. */
  keptAdminPassword?: string;
  /** Each site's release: every site starts from the installed values; the adopted one keeps its release. */
  release(site: string): ReleaseOverlay;
  /** False in step import: the adopted MP is left exactly as it runs, and its leaves do not name its new FQDN yet. */
  proveActiveServes: boolean;
  /** Say which installed values the active's release changes (a run with the adoption preflight). */
  reportChangedValues: boolean;
  /** Step import: the floating name's live record is imported under this ID and kept as it points. */
  keepLiveRecord?: string;
  /** Trust-bundle route (adopted CA without its key): what control planes trust is the old CA and the new root. */
  controlPlaneCa?: (root: string) => string;
  /** The `adoption` output (index.ts adds the value paths the update changes). */
  adoption?: { site: string; step: AdoptStep };
  /** The `adoptionTrustBundle` output: the control planes' values to roll out before any leaf changes. */
  trustBundle?: (root: string) => Values;
}

/**
 * The overlay of this update: `adoption` is its plan (lib/adoption/plan.ts), `kept` the adopted site's
 * SANs (recorded, or read by the preflight). Both undefined, and no `cfg.adoption`: a new set.
 */
export function adoptionOverlay(cfg: Pick<SetConfig, "adoption">, adoption: AdoptionPlan | undefined, kept: AdoptedSans | undefined): AdoptionOverlay {
  const secrets = cfg.adoption;
  const ca = secrets?.ca;
  const importing = adoption?.importIds;
  const installed = secrets && adoption ? { installed: { values: secrets.values, adoptedSite: adoption.site } } : {};
  const adopted: { site: string; release: AdoptedRelease } | undefined = adoption && {
    site: adoption.site,
    release: {
      release: adoption.release, namespace: adoption.namespace, verbatim: importing !== undefined,
      ...(importing ? { importIds: { namespace: importing.namespace, release: importing.release } } : {}),
    },
  };
  const oldCaPem = ca && !ca.keyPem ? ca.certPem : undefined;
  return {
    pki: {
      ...(ca?.keyPem ? { ca: { certPem: ca.certPem, keyPem: ca.keyPem } } : {}),
      ...(adoption && !adoption.decision.issueLeaves ? { skip: [adoption.site] } : {}),
      ...(adoption && kept ? { kept: { [adoption.site]: kept } } : {}),
    },
    ...(secrets ? { keptAdminPassword: secrets.adminPassword } : {}),
    release: (site) => ({ ...installed, ...(adopted?.site === site ? { adopted: adopted.release } : {}) }),
    proveActiveServes: !importing,
    reportChangedValues: adoption?.preflight === true,
    ...(importing ? { keepLiveRecord: importing.floatingRecord } : {}),
    ...(oldCaPem !== undefined ? { controlPlaneCa: (root: string) => `${oldCaPem.trim()}\n${root.trim()}\n` } : {}),
    ...(adoption ? { adoption: { site: adoption.site, step: adoption.decision.step } } : {}),
    ...(adoption && oldCaPem !== undefined ? { trustBundle: (root: string) => trustBundleDelta(oldCaPem, root) } : {}),
  };
}
