// tsb-ha: one `pulumi up` runs the set's phases in the failover order (design.md, "Failover"):
//   plan -> PKI -> 0. preflight -> 1. fence the old active -> 1b-3b. promote the new active and prove
//   it serves (replication gate, release, ready gate, API verification) -> standbys re-point once it
//   serves and are proven to follow it -> 4. the floating CNAME moves, 5. one TTL later the old front
//   envoys are cut -> outputs (the history the next run trusts resolves last).
// main() names the phases; each is one function below it, in the same order. An adopted MP changes a
// phase only through the adoption overlay (lib/adoption/overlay.ts), computed once in the plan.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type * as k8s from "@pulumi/kubernetes";
import type { SetConfig } from "./lib/config/config";
import { loadConfig, toRunError } from "./lib/config/loadConfig";
import { parseHistory, planSet, withActiveTimeline, type AdoptedSans, type SetHistory, type SetPlan, type SitePlan } from "./lib/plan/topology";
import { planAdoption, type AdoptionPlan } from "./lib/adoption/plan";
import { describeAdoption } from "./lib/adoption/describe";
import { adoptionOverlay, type AdoptionOverlay } from "./lib/adoption/overlay";
import { controlPlaneValues } from "./lib/plan/values";
import { activeTelemetryStore } from "./lib/config/chartValues";
import { discoveredSiteRecords, floatingRecord, siteRecords } from "./lib/plan/dnsPlan";
import { describePlan, failoverSteps } from "./lib/plan/failoverSteps";
import { oldActiveLimits } from "./lib/plan/oldActiveLimits";
import { MIN_PULUMI_CLI, SIGNING_KEY_SECRET } from "./lib/config/names";
import {
  ADMIN_PASSWORD_NAME, FLOATING_DNS_NAME, HISTORY_REFERENCE_NAME, PKI_NAME, STANDBY_ACCOUNT_RESOURCE, promotionName,
} from "./lib/plan/resourceNames";
import { Pki } from "./components/pki";
import { ManagementPlane, type ManagementPlaneArgs } from "./components/managementPlane";
import { SiteFence } from "./components/siteFence";
import { FloatingDns } from "./components/floatingDns";
import { Promotion } from "./components/promotion";
import type { StandbyFollow } from "./components/standbyFollow";
import { FrontEnvoyAddress } from "./components/frontEnvoyAddress";
import { StandbyServiceAccount } from "./components/standbyServiceAccount";
import { failoverPreflight, kubeAccessOf, readSecretData, siteProvider, type KubeAccessInput, type SecretData } from "./components/clusterAccess";
import { OperatorSecretWait } from "./components/operatorSecretWait";
import { logStep } from "./components/progress";
import { runAdoptionPreflight } from "./components/adoptionPreflight";

async function main() {
  await requireCli();
  // Plan: the config, the set against the last good history, the adoption's preflight and overlay.
  const set = await planTheSet(loadConfig());
  // PKI: the set's root (or the adopted CA), every site's leaves, the admin password.
  const trust = issuePki(set);
  // 0. Preflight, through a provider per reachable site (nothing is registered or read on a lost one).
  const clusters = reachSites(set);
  const checked = preflightFailover(set, clusters);
  // 1. Fence the old active.
  const fence = fenceOldActive(set, clusters, checked);
  // 1b-3b. Replication gate, promotion, ready gate, API verification; then the account and key standbys need.
  const addresses = frontAddresses(set, clusters);
  const active = promoteAndProve(set, { trust, clusters, checked, fence, addresses });
  // Standbys attach or re-point once the active serves, and are proven to follow it.
  const standbys = attachStandbys(set, { trust, clusters, checked, fence, addresses, active });
  // 4-5. The floating name moves; one TTL later the old front envoys are cut.
  const cut = moveNameAndCut(set, { fence, addresses, active });
  if (set.plan.failover) logProgress(set, { fence, active, standbys, cut });
  // Outputs: those that say who serves, and the history, resolve only once every step has.
  return outputs(set, { trust, checked, active, standbys, cut });
}

// ---------------------------------------------------------------------------------------------------
// Plan

/** What this update does: the config, the plan of the set, and the adoption's overlay on every phase. */
interface SetUpdate { cfg: SetConfig; plan: SetPlan; overlay: AdoptionOverlay }

/**
 * Plans the set against the last good `history`. Adopting a hand-installed MP: the read-only preflight
 * runs before anything is registered (also in preview), and the SANs of its live leaves are recorded
 * for every later update (docs/adopting.md).
 */
async function planTheSet(cfg: SetConfig): Promise<SetUpdate> {
  const { plan, adoption } = await planWithHistory(cfg);
  const kept = adoption ? await adoptionSans(cfg, plan, adoption) : undefined;
  for (const line of describePlan(plan, cfg)) void pulumi.log.info(line);
  if (adoption) for (const line of describeAdoption(adoption, cfg)) void pulumi.log.info(line);
  return { cfg, plan, overlay: adoptionOverlay(cfg, adoption, kept) };
}

/** Plans the set against the last successful run's `history` output (a reference to this same stack). */
async function planWithHistory(cfg: SetConfig): Promise<{ plan: SetPlan; adoption?: AdoptionPlan }> {
  const self = new pulumi.StackReference(HISTORY_REFERENCE_NAME, {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  try {
    // getOutputDetails, not getOutputValue: a history an older version saved as a secret must still be
    // readable (getOutputValue throws for a secret output; @pulumi/pulumi stackReference.ts).
    const details = await self.getOutputDetails("history");
    const history: SetHistory | undefined = parseHistory(details.value ?? details.secretValue);
    const adoption = planAdoption(cfg, history);
    return { plan: planSet(cfg, history), ...(adoption ? { adoption } : {}) };
  } catch (e) {
    throw toRunError(e);
  }
}

/** The adopted site's SANs (recorded, or read by the preflight), and its step in the next run's history. */
async function adoptionSans(cfg: SetConfig, plan: SetPlan, adoption: AdoptionPlan): Promise<AdoptedSans | undefined> {
  const read = adoption.preflight ? await runAdoptionPreflight(cfg, adoption) : undefined;
  const kept = adoption.recordedSans ?? read;
  const entry = plan.history.sites[adoption.site];
  if (entry) {
    entry.adoptStep = adoption.decision.historyStep;
    if (kept) entry.adoptSans = kept;
  }
  return kept;
}

// ---------------------------------------------------------------------------------------------------
// PKI

interface Trust { pki: Pki; adminPassword: pulumi.Output<string> }

/** The set's root (or the adopted CA) and every site's leaves; the admin password TSB's login uses. */
function issuePki({ cfg, overlay }: SetUpdate): Trust {
  const { ca, ...adopted } = overlay.pki;
  const pki = new Pki(PKI_NAME, {
    sites: Object.fromEntries(cfg.sites.map((s) => [s.name, s.fqdn])),
    floatingFqdn: cfg.floatingFqdn,
    organization: cfg.tsb.organization,
    ...(ca ? { ca: { certPem: ca.certPem, keyPem: pulumi.secret(ca.keyPem) } } : {}),
    ...adopted,
  });
  // An adopted MP keeps its admin password; a new set gets one of its own.
  const adminPassword = overlay.keptAdminPassword !== undefined
    ? pulumi.secret(overlay.keptAdminPassword)
    : new random.RandomPassword(ADMIN_PASSWORD_NAME, { length: 32, special: false }).result;
  return { pki, adminPassword };
}

// ---------------------------------------------------------------------------------------------------
// 0. Preflight

interface Clusters {
  provider: (site: string) => k8s.Provider;
  access: (site: string) => KubeAccessInput;
  limits: ReturnType<typeof oldActiveLimits>;
}

/**
 * Only reachable sites get a provider: nothing is registered or read on a lost site. A fenced site's
 * calls are bounded: a sick old active must not hold the failover.
 */
function reachSites({ cfg, plan }: SetUpdate): Clusters {
  const limits = oldActiveLimits(cfg.tsb.fenceTimeoutSeconds);
  const reachable = plan.sites.filter((s) => s.reachable);
  const providers = Object.fromEntries(reachable.map((s) => [s.name, siteProvider(s.config, s.fenced ? limits.requestTimeoutSeconds : undefined)]));
  return {
    provider: (site) => providers[site]!,
    access: (site) => kubeAccessOf(plan.sites.find((s) => s.name === site)!.config),
    limits,
  };
}

interface Checked { activeKey?: pulumi.Output<SecretData>; preflight: pulumi.Output<string> }

/**
 * The active's own key, read as it stands when it holds a copy or is being promoted; otherwise once its
 * release exists (a first install: the chart makes it). Everything that moves carries the preflight.
 */
function preflightFailover({ plan }: SetUpdate, clusters: Clusters): Checked {
  const activeKey = plan.active.copies || plan.failover
    ? readSecretData(plan.active.name, SIGNING_KEY_SECRET, clusters.provider(plan.active.name))
    : undefined;
  return { ...(activeKey ? { activeKey } : {}), preflight: failoverPreflight(plan, activeKey, clusters.provider, clusters.access) };
}

// ---------------------------------------------------------------------------------------------------
// 1. Fence

interface Fence { fences: SiteFence[]; patches: pulumi.CustomResource[] }

/** Every fenced site that is reachable: its operator, `tsb` and `iam` to 0 (its envoy is cut after DNS). */
function fenceOldActive({ plan }: SetUpdate, clusters: Clusters, { preflight }: Checked): Fence {
  const fences = plan.sites
    .filter((s) => s.fenced)
    .map((s) => new SiteFence(s.name, { site: s.name, provider: clusters.provider(s.name), preflight, customTimeouts: clusters.limits.customTimeouts }));
  return { fences, patches: fences.flatMap((f) => f.patches) };
}

// ---------------------------------------------------------------------------------------------------
// Site addresses (the active's, the standbys', then their records in DNS)

interface Addresses {
  /** Where a site's front envoy answers, found once `after` (its release) exists; undefined: its FQDN resolves. */
  of(site: string, after: pulumi.Resource): pulumi.Input<string> | undefined;
  found: Map<string, FrontEnvoyAddress>;
}

/**
 * With dns.siteRecords: managed, each site's permanent record points at its front envoy's address
 * (found once its release exists, or `sites.<s>.address`), and the API is reached there before the
 * record resolves. With external records the permanent FQDN already resolves: nothing is waited for.
 */
function frontAddresses({ cfg, plan }: SetUpdate, clusters: Clusters): Addresses {
  const found = new Map<string, FrontEnvoyAddress>();
  const of = (site: string, after: pulumi.Resource): pulumi.Input<string> | undefined => {
    const configured = plan.sites.find((s) => s.name === site)?.config.address?.value;
    if (configured || cfg.dns.siteRecords !== "managed") return configured;
    const f = new FrontEnvoyAddress({ site, access: clusters.access(site), timeoutSeconds: cfg.tsb.addressTimeoutSeconds }, { dependsOn: [after], ignoreChanges: ["kubeconfig", "context"] });
    found.set(site, f);
    return f.address;
  };
  return { of, found };
}

/** What every site's release gets: the set's trust and values, its leaves, and what the adoption keeps. */
function releaseArgs({ cfg, overlay }: SetUpdate, trust: Trust, { preflight }: Checked, site: string) {
  return {
    tsb: cfg.tsb, rootCaCertPem: trust.pki.rootCaCertPem, adminPassword: trust.adminPassword, preflight, chartValues: cfg.chartValues,
    ...(trust.pki.sites[site] ? { certs: trust.pki.sites[site] } : {}),
    ...overlay.release(site),
  } satisfies Partial<ManagementPlaneArgs>;
}

// ---------------------------------------------------------------------------------------------------
// 1b-3b. Promote and prove

interface Active {
  promotion: Promotion;
  mp: ManagementPlane;
  gate: pulumi.CustomResource;
  verification?: pulumi.CustomResource;
  /** Done once the active serves: what standbys, the standby account and the floating name wait for. */
  serving: pulumi.Resource;
  jwk?: pulumi.Output<string>;
  signingKey?: pulumi.Output<SecretData>;
}

/**
 * The replication gate and the baseline of `tsb`, then the promotion (the active's release); the ready
 * gate, then its API answers with the organisation. Then what standbys need from it: the standby service
 * account and the signing key they copy.
 */
function promoteAndProve(set: SetUpdate, r: { trust: Trust; clusters: Clusters; checked: Checked; fence: Fence; addresses: Addresses }): Active {
  const { cfg, plan, overlay } = set;
  const promotion = new Promotion(promotionName(plan.active.name), {
    plan, cfg, access: r.clusters.access, rootCaPem: r.trust.pki.rootCaCertPem, adminPassword: r.trust.adminPassword, fence: r.fence.patches,
  });
  const mp = new ManagementPlane(plan.active.name, {
    ...releaseArgs(set, r.trust, r.checked, plan.active.name),
    site: plan.active,
    provider: r.clusters.provider(plan.active.name),
    ...(r.checked.activeKey ? { signingKey: r.checked.activeKey } : {}),
    releaseDependsOn: [...r.fence.patches, ...promotion.beforeRelease],
  });
  const address = r.addresses.of(plan.active.name, mp.release);
  // An adopted MP in step import is left exactly as it runs (lib/adoption/overlay.ts): nothing to prove.
  const { gate, verification, serving } = overlay.proveActiveServes
    ? promotion.serving(mp.release, address)
    : { gate: mp.release, verification: undefined, serving: mp.release };
  if (overlay.reportChangedValues && mp.changedPaths) {
    void mp.changedPaths.apply((p) => p.length > 0 && pulumi.log.info(`${plan.active.name}: values differ from the installed ones at ${p.join(", ")} (every other installed value stays)`));
  }
  const jwk = standbyAccount(set, r.trust, address, serving);
  const signingKey = signingKeyCopy(set, r.clusters, r.checked, serving);
  return { promotion, mp, gate, ...(verification ? { verification } : {}), serving, ...(jwk ? { jwk } : {}), ...(signingKey ? { signingKey } : {}) };
}

/**
 * The standby service account's key: from config, or made through the active's API once it serves.
 * Kept while the set has more than one site, so its key stays in state for the next standby (a rebuild).
 */
function standbyAccount({ cfg, plan }: SetUpdate, trust: Trust, address: pulumi.Input<string> | undefined, serving: pulumi.Resource): pulumi.Output<string> | undefined {
  const account = !cfg.standbyServiceAccountJwk && plan.sites.length > 1
    ? new StandbyServiceAccount(STANDBY_ACCOUNT_RESOURCE, {
      site: plan.active.name, fqdn: plan.active.fqdn, port: cfg.tsb.frontEnvoyPort, organization: cfg.tsb.organization,
      rootCaPem: trust.pki.rootCaCertPem, adminPassword: trust.adminPassword, role: cfg.tsb.standbyRole,
      timeoutSeconds: cfg.tsb.apiTimeoutSeconds, ...(address ? { address } : {}),
    }, { dependsOn: [serving], retainOnDelete: true })
    : undefined;
  if (account) void account.note.apply((n) => n && pulumi.log.info(`standby service account: ${n}`));
  return cfg.standbyServiceAccountJwk ? pulumi.secret(cfg.standbyServiceAccountJwk) : account?.privateKeyJwk;
}

/**
 * Read only when another site holds a copy. The active's own key is made by TSB's operator after helm
 * returned (a first install has none yet): it is read once the active serves and a bounded wait has
 * seen it. Copies wait for the preflight too: a refused failover must not rewrite mp3's key.
 */
function signingKeyCopy({ cfg, plan }: SetUpdate, clusters: Clusters, { activeKey, preflight }: Checked, serving: pulumi.Resource): pulumi.Output<SecretData> | undefined {
  const copyHolders = plan.sites.filter((s) => s.managed && s.copies && s.role !== "active");
  const keyMade = () => new OperatorSecretWait({
    site: plan.active.name, secret: SIGNING_KEY_SECRET, promotion: plan.active.promotion ?? "install",
    access: clusters.access(plan.active.name), timeoutSeconds: cfg.tsb.readyTimeoutSeconds,
  }, { dependsOn: [serving] });
  const sourceKey = copyHolders.length === 0 ? undefined
    : activeKey ?? readSecretData(plan.active.name, SIGNING_KEY_SECRET, clusters.provider(plan.active.name), keyMade());
  return sourceKey && pulumi.all([sourceKey, preflight]).apply(([key]) => key);
}

// ---------------------------------------------------------------------------------------------------
// Standbys

interface Standbys { releases: Map<string, ManagementPlane>; follows: StandbyFollow[] }

/**
 * Standbys attach (or re-point) once the active serves; a standby the replication gate found ahead of
 * the new timeline is stopped with the rebuild it needs. Fenced sites' releases stay unchanged, and
 * whatever else the program still does there comes after their fence. A failover: every other standby
 * proven to stream from the new active (or the update stops with its rebuild).
 */
function attachStandbys(set: SetUpdate, r: { trust: Trust; clusters: Clusters; checked: Checked; fence: Fence; addresses: Addresses; active: Active }): Standbys {
  const { plan } = set;
  const { jwk, signingKey, promotion } = r.active;
  const followers = promotion.replication?.standbys;
  const releases = new Map(plan.sites.filter((s) => s.managed && s.role !== "active").map((site) => {
    const fence = r.fence.fences.find((f) => f.site === site.name);
    const mp = new ManagementPlane(site.name, {
      ...releaseArgs(set, r.trust, r.checked, site.name),
      site,
      provider: r.clusters.provider(site.name),
      ...(site.copies && signingKey ? { signingKey } : {}),
      ...(jwk && site.role === "standby" ? { standbyJwk: jwk } : {}),
      releaseDependsOn: site.role === "standby" ? [r.active.serving] : [],
      after: fence ? fence.patches : [],
      ...(followers && site.role === "standby" ? { canFollow: canFollow(plan, site, followers) } : {}),
    });
    return [site.name, mp] as const;
  }));
  const follows = plan.sites.filter((s) => s.managed && s.role === "standby").flatMap((s) => promotion.follow(s, releases.get(s.name)!.release) ?? []);
  // Standbys, and fenced sites whose record the set keeps (their address watch changes nothing: no call).
  for (const s of plan.sites.filter((x) => x.managed && (x.role === "standby" || x.role === "fenced"))) void r.addresses.of(s.name, releases.get(s.name)!.release);
  return { releases, follows };
}

/** Rejects, with the rebuild it needs, when the replication gate found this standby ahead of the new timeline. */
function canFollow(plan: SetPlan, site: SitePlan, followers: NonNullable<Promotion["replication"]>["standbys"]): pulumi.Output<string> {
  return followers.apply((r) => {
    const report = r?.[site.name];
    if (report?.follow === "rebuild") throw new pulumi.RunError(`${site.name} cannot follow ${plan.active.name}: ${report.reason} Rebuild it (docs/failover.md, "Rebuild").`);
    return "ok";
  });
}

// ---------------------------------------------------------------------------------------------------
// 4-5. DNS and cut

interface Cut { dns: FloatingDns; cuts: pulumi.CustomResource[] }

/** 4. Move the floating name after the active serves; 5. cut the old front proxies one TTL after it moved. */
function moveNameAndCut({ cfg, plan, overlay }: SetUpdate, r: { fence: Fence; addresses: Addresses; active: Active }): Cut {
  const dns = new FloatingDns(FLOATING_DNS_NAME, {
    provider: cfg.dns.provider,
    zoneId: cfg.dns.zoneId,
    ttl: cfg.dns.ttl,
    floating: floatingRecord(plan),
    siteRecords: [
      ...siteRecords(plan),
      ...discoveredSiteRecords(plan, cfg.dns).flatMap((d) => {
        const f = r.addresses.found.get(d.site);
        return f ? [{ resourceName: d.resourceName, fqdn: d.fqdn, type: f.recordType, target: f.address }] : [];
      }),
    ],
    after: [r.active.serving],
    ...(overlay.keepLiveRecord ? { keepLiveRecord: overlay.keepLiveRecord } : {}),
  });
  return { dns, cuts: r.fence.fences.flatMap((fence) => fence.cutFrontProxy([dns.propagated])) };
}

/** Logs each failover step as it starts and ends (lib/plan/failoverSteps.ts names them). */
function logProgress({ cfg, plan }: SetUpdate, r: { fence: Fence; active: Active; standbys: Standbys; cut: Cut }): void {
  const names = failoverSteps(plan, cfg).map((s) => s.name);
  const named = (prefix: string) => names.find((n) => n.startsWith(prefix)) ?? prefix;
  const { promotion, mp, gate, verification } = r.active;
  const fencePatches = r.fence.patches;
  const lastFence = fencePatches[fencePatches.length - 1];
  if (lastFence) logStep(named("fence"), [], lastFence);
  if (promotion.replication) logStep(named("replication gate"), fencePatches, promotion.replication, promotion.replication.message);
  logStep(named("promote"), promotion.beforeRelease, mp.release);
  logStep(named("ready gate"), [mp.release], gate);
  if (verification) logStep(named("verify"), [gate], verification, (verification as unknown as { summary: pulumi.Output<string> }).summary);
  logStep(named("move floating name"), [verification ?? gate], r.cut.dns.floatingRecord);
  for (const cut of r.cut.cuts) logStep(named("cut"), [r.cut.dns.propagated], cut);
  const standbyReleases = [...r.standbys.releases.values()].map((s) => s.release);
  for (const f of r.standbys.follows) logStep(named("re-point"), standbyReleases, f, f.pods.apply((p) => Object.values(p).join("; ")));
}

// ---------------------------------------------------------------------------------------------------
// Outputs

/**
 * The guards of the next run trust `history`; it resolves only once every step above has, so a failed
 * update (which still saves the outputs it resolved) keeps the last good history.
 */
function outputs({ cfg, plan, overlay }: SetUpdate, r: { trust: Trust; checked: Checked; active: Active; standbys: Standbys; cut: Cut }) {
  const { pki, adminPassword } = r.trust;
  const { follows } = r.standbys;
  const releases = [r.active.mp, ...r.standbys.releases.values()].map((mp) => mp.release);
  const done = [r.cut.dns.floatingRecord, ...r.cut.cuts, r.active.serving, ...follows, ...releases].map((x) => x.urn);
  const afterEveryStep = <T>(value: T): pulumi.Output<T> => pulumi.all([...done, r.checked.preflight]).apply(() => value);
  const trustedByControlPlanes = overlay.controlPlaneCa ? pki.rootCaCertPem.apply(overlay.controlPlaneCa) : pki.rootCaCertPem;
  const { adoption, trustBundle } = overlay;
  return {
    // Outputs that say who serves resolve only once every failover step has: after a refused or failed
    // update they keep the last good values (the engine keeps outputs that did not resolve: pulumi/pulumi#15754).
    activeSite: afterEveryStep(plan.activeSite),
    floatingFqdn: plan.floatingFqdn,
    sites: afterEveryStep(Object.fromEntries(plan.sites.map((s) => [s.name, { role: s.role, fqdn: s.fqdn, syncHost: s.syncHost ?? null }]))),
    rootCaCertPem: pki.rootCaCertPem,
    controlPlaneValues: trustedByControlPlanes.apply((ca) => controlPlaneValues(plan.floatingFqdn, cfg.tsb.frontEnvoyPort, ca, activeTelemetryStore(cfg))),
    ...(adoption ? { adoption: { ...adoption, changedValuePaths: r.active.mp.changedPaths ?? [] } } : {}),
    ...(trustBundle ? { adoptionTrustBundle: pki.rootCaCertPem.apply(trustBundle) } : {}),
    adminPassword: pulumi.secret(adminPassword),
    /**
     * Read back by the next run's guards (lib/plan/topology.ts). Never secret: its content is not, and the
     * preflight it waits for is built from secret reads, whose secretness would otherwise spread to it.
     */
    history: pulumi.unsecret(pulumi.all([afterEveryStep(plan.history), pulumi.all(follows.map((f) => f.timeline))])
      .apply(([h, timelines]) => withActiveTimeline(h, timelines.find((t) => typeof t === "number")))),
  };
}

/** Stops at once, with the fix, when the CLI is older than the program needs (the engine answers the check). */
async function requireCli(): Promise<void> {
  try {
    await pulumi.runtime.requirePulumiVersion(`>=${MIN_PULUMI_CLI}`);
  } catch (e) {
    throw new pulumi.RunError(`This program needs Pulumi CLI ${MIN_PULUMI_CLI} or newer (${e instanceof Error ? e.message : String(e)}). ` +
      `Fix: upgrade the CLI (https://www.pulumi.com/docs/install/), then check with pulumi version`);
  }
}

export = main();
