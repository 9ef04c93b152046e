// What the preview says about an adoption step: what this update does and what comes next, so the
// person at the keyboard can compare it with the preview's resource list (docs/adopting.md).
import type { SetConfig } from "../config/config";
import type { AdoptionPlan } from "./plan";

export function describeAdoption(adoption: AdoptionPlan, cfg: SetConfig): string[] {
  const site = cfg.sites.find((s) => s.name === adoption.site);
  const key = `tsb-ha:sites.${adoption.site}.adopt.step`;
  const record = `${cfg.floatingFqdn} (${site?.adopt?.floatingRecord.type ?? "?"})`;
  const bundle = cfg.adoption?.ca.keyPem === undefined;
  if (adoption.decision.step === "import") {
    return [
      `Adopting ${adoption.site}, step import: imports Namespace ${adoption.namespace}, Release ${adoption.namespace}/${adoption.release} ` +
        `(the installed values and chart ${cfg.tsb.version}) and the floating record ${record} as it is live, all protected (a rerun finds them in state and imports nothing).`,
      "Expected: 3 imports. The release's import is followed, in this same update, by one update of it (Pulumi 3.174 and newer, pulumi/pulumi#19339): " +
        "a helm upgrade with the installed chart version and values that adds repositoryOpts and timeout (and chart, if this machine's helm names it differently), because Helm stores no repository. Any other change on them: stop and fix the config.",
      "Until that update has finished, the stack's state holds the imported values (admin password, certificate keys) without secret markers: " +
        "if it fails, run pulumi up again until it succeeds, and treat state exports and backups of this stack as holding them in clear until then.",
      bundle
        ? `Next: roll the stack output adoptionTrustBundle out to every control plane, set tsb-ha:sites.${adoption.site}.adopt.trustBundleRolledOut true and ${key} activate.`
        : `Next: set ${key} activate (one update), after ${site?.fqdn ?? "the new permanent name"} resolves to this MP's load balancer.`,
    ];
  }
  if (!adoption.preflight) return [];
  return [
    `Adopting ${adoption.site}, step activate: the HA active block and new leaves from the ${bundle ? "new root" : "adopted CA"} (every live SAN kept) go into the installed values; ` +
      `once ${site?.fqdn ?? adoption.site} serves, the floating record ${record} becomes a CNAME to it, in place, TTL ${cfg.dns.ttl}.`,
    "Next: add the standby sites (one update); they start from the installed values.",
  ];
}
