// The failover in words, from the plan alone: what `pulumi preview` logs before anything runs (the
// reviewer otherwise sees only `[secret]` release values), and the step names the update logs as each
// step starts and ends. Pure; never touches a secret.
import type { SetConfig } from "../config/config";
import type { SetPlan } from "./topology";
import { CUT_DEPLOYMENTS, FENCE_DEPLOYMENTS, KUBEGRES_CONTROLLER_DEPLOYMENT, OPERATOR_DEPLOYMENT, PREFLIGHT_JWKS_WAIT_SECONDS } from "../config/names";
import { isInlineKubeconfig } from "../config/kubeconfig";
import { oldActiveTimeoutMessage } from "./oldActiveLimits";

export interface FailoverStep {
  /** Short name for progress lines: "fence mp1". */
  name: string;
  /** What it does and its limits, in one sentence. */
  words: string;
}

export function failoverSteps(plan: SetPlan, cfg: SetConfig): FailoverStep[] {
  const f = plan.failover;
  if (!f) return [];
  const from = plan.sites.find((s) => s.name === f.from);
  const fenced = from?.role === "fenced" && from.reachable;
  const to = plan.active;
  const standbys = plan.sites.filter((s) => s.role === "standby").map((s) => s.name);
  const accept = cfg.replication.acceptDataLoss === to.promotion;
  const steps: FailoverStep[] = [
    { name: "preflight", words: `check that ${f.to}'s iam-signing-key has the same kid as ${fenced ? f.from + "'s" : "the set's"} and that its tsb-iam-jwks exists (waiting up to ${PREFLIGHT_JWKS_WAIT_SECONDS} s for its operator to make it); a refusal changes nothing` },
  ];
  if (fenced) {
    steps.push({ name: `fence ${f.from}`, words: `scale ${OPERATOR_DEPLOYMENT}, then ${FENCE_DEPLOYMENTS.join(" and ")} on ${f.from} to 0 replicas (each call bounded by ${cfg.tsb.fenceTimeoutSeconds} s); its release stays as it is` });
  } else {
    steps.push({ name: `skip fence ${f.from}`, words: `${f.from} is lost: nothing on its cluster is read or changed` });
  }
  steps.push(fenced
    ? {
      name: `replication gate ${f.to}`,
      words: `wait up to ${cfg.replication.catchUpTimeoutSeconds} s until ${f.to} holds ${f.from}'s WAL, stop ${f.from}'s database cleanly ` +
        `(${KUBEGRES_CONTROLLER_DEPLOYMENT}, then its Postgres StatefulSets to 0; bounded by ${cfg.tsb.fenceTimeoutSeconds} s; it stays stopped), ` +
        `then require ${f.from}'s shutdown checkpoint as ${f.to}'s last WAL record; refuse otherwise`,
    }
    : { name: `replication gate ${f.to}`, words: `refuse if ${f.to} last heard from ${f.from} more than ${cfg.replication.maxLostContactSeconds} s ago through a streaming receiver, or holds WAL of another timeline${accept ? " (accepted for this failover: replication.acceptDataLoss)" : ""}` });
  if (standbys.length > 0) steps[steps.length - 1]!.words += `; refuse if ${standbys.join(", ")} ${standbys.length === 1 ? "holds" : "hold"} more WAL than ${f.to}`;
  steps.push(
    { name: `promote ${f.to}`, words: `give ${f.to}'s release the active block (exposeEmbeddedPostgresInFrontEnvoy) instead of the standby block` },
    { name: `ready gate ${f.to}`, words: `wait up to ${cfg.tsb.readyTimeoutSeconds} s until deployment tsb on ${f.to} has a ready pod of a revision made after the promotion` },
    cfg.tsb.verifyApi
      ? { name: `verify ${f.to}`, words: `call ${f.to}'s TSB API at https://${to.fqdn}:${cfg.tsb.frontEnvoyPort} (TLS against the set's root CA) and require organization ${cfg.tsb.organization}` }
      : { name: `verify ${f.to}`, words: `skipped (tsb.verifyApi is false): check the organisation by hand at https://${to.fqdn}` },
    { name: "move floating name", words: `CNAME ${plan.floatingFqdn}: ${from?.fqdn ?? f.from} -> ${to.fqdn}, then wait one TTL (${cfg.dns.ttl} s)` },
  );
  if (fenced) steps.push({ name: `cut ${f.from}`, words: `scale ${CUT_DEPLOYMENTS.join(", ")} on ${f.from} to 0 so control planes reconnect through the floating name` });
  if (standbys.length > 0) {
    steps.push({
      name: "re-point standbys",
      words: `${standbys.join(", ")} synchronise from ${to.fqdn} once ${f.to} serves; each must stream from it on its new timeline within ` +
        `${cfg.replication.followTimeoutSeconds} s, or the update stops with its rebuild`,
    });
  }
  return steps;
}

/** The lines a preview (and the update) logs at start. */
export function describePlan(plan: SetPlan, cfg: SetConfig): string[] {
  const steps = failoverSteps(plan, cfg);
  if (steps.length === 0) return [`No failover in this update: ${plan.activeSite} stays the active.`];
  const f = plan.failover!;
  const from = plan.sites.find((s) => s.name === f.from);
  const lines = [
    `Failover ${f.from} -> ${f.to} (${steps.length} steps):`,
    ...steps.map((s, i) => `  ${i + 1}. ${s.name}: ${s.words}`),
  ];
  // Said before anything runs, so the way out is on screen if the old active stops answering.
  if (from?.fenced) {
    const target = { ...(from.config.context ? { context: from.config.context } : {}), ...(from.config.kubeconfig && !isInlineKubeconfig(from.config.kubeconfig) ? { kubeconfigPath: from.config.kubeconfig } : {}) };
    lines.push(`If a call to ${f.from} fails or times out: ${oldActiveTimeoutMessage(f.from, "the fence", cfg.tsb.fenceTimeoutSeconds, target).split("\n").slice(1).join(" ")}`);
  }
  return lines;
}
