// The gates of the active's promotion (design.md, failover 1b-3b), in order:
//   replication gate (before the release moves) -> baseline of deployment `tsb` -> [release] ->
//   ready gate -> TSB API verification. What comes next (standbys, the floating name) waits for `serving`.
// Each gate is a dynamic resource keyed by the promotion ("mp1->mp2"; "install" for the first
// active): it runs once when the key appears and a later `pulumi up` with the same key changes and
// reads nothing. Why dynamic resources and not patches: components/deploymentReadyGate.ts.
import * as pulumi from "@pulumi/pulumi";
import type { SetConfig } from "../lib/config/config";
import type { SetPlan, SitePlan } from "../lib/plan/topology";
import { COMPONENT_TYPE, replicationGateName, standbyFollowName, verificationName } from "../lib/plan/resourceNames";
import { ReplicationGate } from "./replicationGate";
import { StandbyFollow } from "./standbyFollow";
import { TsbBaseline, TsbReadyGate } from "./deploymentReadyGate";
import { TsbApiVerification } from "./tsbApiVerification";
import type { KubeAccessInput } from "./clusterAccess";

export interface PromotionArgs {
  plan: SetPlan;
  cfg: SetConfig;
  access: (site: string) => KubeAccessInput;
  rootCaPem: pulumi.Input<string>;
  adminPassword: pulumi.Input<string>;
  /** The fence of the old active: the replication gate reads its final WAL position after it. */
  fence: pulumi.Resource[];
}

export class Promotion extends pulumi.ComponentResource {
  /** What the active's release must wait for: the replication gate and the baseline (a failover only). */
  public readonly beforeRelease: pulumi.Resource[];
  public readonly replication?: ReplicationGate;
  private readonly args: PromotionArgs;

  constructor(name: string, args: PromotionArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan } = args;
    const identity = { site: plan.active.name, promotion: plan.active.promotion ?? "install" };
    super(COMPONENT_TYPE.promotion, name, identity, opts);
    this.args = args;
    const site = plan.active.name;
    const promotion = identity.promotion;
    const [from] = promotion.split("->");
    this.beforeRelease = [];
    if (from !== undefined && promotion !== "install") {
      const fromSite = plan.sites.find((s) => s.name === from);
      // Lost (or gone from config): nothing on it is read; the staleness rule decides.
      const mode: "fenced" | "lost" = fromSite?.role === "fenced" && fromSite.reachable ? "fenced" : "lost";
      const others = plan.sites.filter((s) => s.role === "standby").map((s) => s.name);
      const history = plan.history.sites[from];
      const accessed = [site, ...(mode === "fenced" ? [from] : []), ...others];
      const accept = args.cfg.replication.acceptDataLoss === promotion;
      this.replication = new ReplicationGate(replicationGateName(site), {
        promotion, site, from, mode,
        access: pulumi.output(Object.fromEntries(accessed.map((s) => [s, args.access(s)]))),
        otherStandbys: others,
        ...(history?.timeline !== undefined ? { activeTimeline: history.timeline } : {}),
        limits: {
          catchUpTimeoutSeconds: args.cfg.replication.catchUpTimeoutSeconds,
          maxLostContactSeconds: args.cfg.replication.maxLostContactSeconds,
          acceptDataLoss: accept,
          // The clean stop of the old primary's database is a call to the fenced site: bounded like the fence.
          stopTimeoutSeconds: args.cfg.tsb.fenceTimeoutSeconds,
        },
      }, {
        parent: this,
        dependsOn: args.fence,
        // After the failover only the promotion key matters: a later change of credentials, limits or
        // the old active's state (fenced -> lost) must not run the gate again against a new primary.
        ignoreChanges: ["access", "otherStandbys", "limits", "mode", "postgres", "activeTimeline"],
      });
      const baseline = new TsbBaseline({ site, promotion, access: args.access(site) }, {
        parent: this, dependsOn: [this.replication], ignoreChanges: ["kubeconfig", "context"],
      });
      this.beforeRelease.push(this.replication, baseline);
      this.baseline = baseline;
    }
    this.registerOutputs(identity);
  }

  private baseline?: TsbBaseline;

  /**
   * A failover only: `standby` (re-pointed by its `release`) proven to stream from the new active, on
   * its timeline, past the switch point (components/standbyFollow.ts). Keyed by the promotion.
   */
  public follow(standby: SitePlan, release: pulumi.Resource): StandbyFollow | undefined {
    const { plan, cfg } = this.args;
    const promotion = plan.active.promotion;
    if (!this.replication || promotion === undefined) return undefined;
    return new StandbyFollow(standbyFollowName(standby.name), {
      promotion, site: standby.name, newActive: plan.active.name, upstreamHost: standby.syncHost ?? plan.active.fqdn,
      access: pulumi.output({ site: this.args.access(standby.name), newActive: this.args.access(plan.active.name) }),
      rebuild: standby.rebuild,
      timeoutSeconds: cfg.replication.followTimeoutSeconds,
    }, { parent: this, dependsOn: [release], ignoreChanges: ["access", "rebuild", "timeoutSeconds", "pollIntervalMs", "postgres"] });
  }

  /** The ready gate and the API check, after the release; resolves into what "the active serves" means. */
  public serving(release: pulumi.Resource, address?: pulumi.Input<string>): { gate: TsbReadyGate; verification?: TsbApiVerification; serving: pulumi.Resource } {
    const { plan, cfg } = this.args;
    const site = plan.active.name;
    const promotion = plan.active.promotion ?? "install";
    const gate = new TsbReadyGate({
      site, promotion, access: this.args.access(site),
      baseline: this.baseline?.observed ?? { exists: false },
      timeoutSeconds: cfg.tsb.readyTimeoutSeconds,
    }, { parent: this, dependsOn: [release], ignoreChanges: ["kubeconfig", "context", "timeoutSeconds", "pollSeconds", "requestTimeoutSeconds"] });
    if (!cfg.tsb.verifyApi) return { gate, serving: gate };
    const verification = new TsbApiVerification(verificationName(site), {
      site, fqdn: plan.active.fqdn, port: cfg.tsb.frontEnvoyPort, organization: cfg.tsb.organization,
      rootCaPem: this.args.rootCaPem, adminPassword: this.args.adminPassword, promotion,
      timeoutSeconds: cfg.tsb.apiTimeoutSeconds,
      ...(address ? { address } : {}),
    }, { parent: this, dependsOn: [gate] });
    return { gate, verification, serving: verification };
  }
}
