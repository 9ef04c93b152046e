// tsb-ha: read config -> plan the set -> compose components in the failover order -> export outputs.
// Failover order (design.md): preflight -> fence old active -> replication gate -> promote -> ready
// gate -> API verification -> floating CNAME -> one TTL -> cut old envoy; other standbys re-point
// once the new active serves.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { loadConfig, toRunError } from "./lib/config/loadConfig";
import { parseHistory, planSet, withActiveTimeline, type AdoptedSans, type SetHistory, type SetPlan } from "./lib/plan/topology";
import { planAdoption, type AdoptionPlan } from "./lib/adoption/plan";
import { describeAdoption } from "./lib/adoption/describe";
import { trustBundleDelta } from "./lib/adoption/decide";
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
import { ManagementPlane } from "./components/managementPlane";
import { SiteFence } from "./components/siteFence";
import { FloatingDns } from "./components/floatingDns";
import { Promotion } from "./components/promotion";
import type { StandbyFollow } from "./components/standbyFollow";
import { FrontEnvoyAddress } from "./components/frontEnvoyAddress";
import { StandbyServiceAccount } from "./components/standbyServiceAccount";
import { failoverPreflight, kubeAccessOf, readSecretData, siteProvider } from "./components/clusterAccess";
import { OperatorSecretWait } from "./components/operatorSecretWait";
import { logStep } from "./components/progress";
import { runAdoptionPreflight } from "./components/adoptionPreflight";

async function main() {
  await requireCli();
  const cfg = loadConfig();
  const { plan, adoption } = await planWithHistory(cfg);
  // Adopting a hand-installed MP: the read-only preflight runs before anything is registered (also in
  // preview), and the SANs of its live leaves are recorded for every later update (docs/adopting.md).
  const kept = adoption ? await adoptionSans(cfg, plan, adoption) : undefined;
  for (const line of describePlan(plan, cfg)) void pulumi.log.info(line);
  if (adoption) for (const line of describeAdoption(adoption, cfg)) void pulumi.log.info(line);

  const adoptedCa = cfg.adoption?.ca;
  const pki = new Pki(PKI_NAME, {
    sites: Object.fromEntries(cfg.sites.map((s) => [s.name, s.fqdn])),
    floatingFqdn: cfg.floatingFqdn,
    organization: cfg.tsb.organization,
    // Route A: the CA the control planes already trust signs every leaf, and no root is made.
    ...(adoptedCa?.keyPem ? { ca: { certPem: adoptedCa.certPem, keyPem: pulumi.secret(adoptedCa.keyPem) } } : {}),
    ...(adoption && !adoption.decision.issueLeaves ? { skip: [adoption.site] } : {}),
    ...(adoption && kept ? { kept: { [adoption.site]: kept } } : {}),
  });
  // An adopted MP keeps its admin password (TSB's login); a new set gets one of its own.
  const adminPassword = cfg.adoption
    ? { result: pulumi.secret(cfg.adoption.adminPassword) }
    : new random.RandomPassword(ADMIN_PASSWORD_NAME, { length: 32, special: false });

  // Only reachable sites get a provider: nothing is registered or read on a lost site. A fenced site's
  // calls are bounded: a sick old active must not hold the failover.
  const limits = oldActiveLimits(cfg.tsb.fenceTimeoutSeconds);
  const reachable = plan.sites.filter((s) => s.reachable);
  const providers = Object.fromEntries(reachable.map((s) => [s.name, siteProvider(s.config, s.fenced ? limits.requestTimeoutSeconds : undefined)]));
  const provider = (site: string) => providers[site]!;
  const access = (site: string) => kubeAccessOf(plan.sites.find((s) => s.name === site)!.config);

  // 0. Preflight: the active's own key, read as it stands when it holds a copy or is being promoted;
  // otherwise once its release exists (a first install: the chart makes it).
  const activeKey = plan.active.copies || plan.failover
    ? readSecretData(plan.active.name, SIGNING_KEY_SECRET, provider(plan.active.name))
    : undefined;
  const preflight = failoverPreflight(plan, activeKey, provider, access);

  // 1. Fence every fenced site that is reachable.
  const fences = plan.sites
    .filter((s) => s.fenced)
    .map((s) => new SiteFence(s.name, { site: s.name, provider: provider(s.name), preflight, customTimeouts: limits.customTimeouts }));
  const fencePatches = fences.flatMap((f) => f.patches);

  // 1b-2. The replication gate and the baseline of `tsb`, then the promotion (the active's release).
  const promotion = new Promotion(promotionName(plan.active.name), {
    plan, cfg, access, rootCaPem: pki.rootCaCertPem, adminPassword: adminPassword.result, fence: fencePatches,
  });
  // Adoption step import: the adopted MP is imported and left exactly as it runs.
  const importing = adoption?.importIds;
  const installed = cfg.adoption && adoption ? { installed: { values: cfg.adoption.values, adoptedSite: adoption.site } } : {};
  const common = { tsb: cfg.tsb, rootCaCertPem: pki.rootCaCertPem, adminPassword: adminPassword.result, preflight, chartValues: cfg.chartValues, ...installed };
  const adoptedRelease = (site: string) => adoption?.site === site ? {
    adopted: {
      release: adoption.release, namespace: adoption.namespace, verbatim: importing !== undefined,
      ...(importing ? { importIds: { namespace: importing.namespace, release: importing.release } } : {}),
    },
  } : {};
  const certsOf = (site: string) => (pki.sites[site] ? { certs: pki.sites[site] } : {});
  const active = new ManagementPlane(plan.active.name, {
    ...common,
    site: plan.active,
    provider: provider(plan.active.name),
    ...certsOf(plan.active.name),
    ...adoptedRelease(plan.active.name),
    ...(activeKey ? { signingKey: activeKey } : {}),
    releaseDependsOn: [...fencePatches, ...promotion.beforeRelease],
  });
  // With dns.siteRecords: managed, each site's permanent record points at its front envoy's address
  // (found once its release exists, or `sites.<s>.address`), and the API is reached there before the
  // record resolves. With external records the permanent FQDN already resolves: nothing is waited for.
  const found = new Map<string, FrontEnvoyAddress>();
  const addressOf = (site: string, after: pulumi.Resource): pulumi.Input<string> | undefined => {
    const configured = plan.sites.find((s) => s.name === site)?.config.address?.value;
    if (configured || cfg.dns.siteRecords !== "managed") return configured;
    const f = new FrontEnvoyAddress({ site, access: access(site), timeoutSeconds: cfg.tsb.addressTimeoutSeconds }, { dependsOn: [after], ignoreChanges: ["kubeconfig", "context"] });
    found.set(site, f);
    return f.address;
  };
  const activeAddress = addressOf(plan.active.name, active.release);

  // 3-3b. The active serves: ready gate, then its API answers with the organisation. An adopted MP in
  // step import is left exactly as it runs: nothing to prove, and its leaves do not name its new FQDN yet.
  const { gate, verification, serving } = importing ? { gate: active.release, verification: undefined, serving: active.release } : promotion.serving(active.release, activeAddress);
  const activeServes = [serving];
  if (adoption?.preflight && active.changedPaths) {
    void active.changedPaths.apply((p) => p.length > 0 && pulumi.log.info(`${plan.active.name}: values differ from the installed ones at ${p.join(", ")} (every other installed value stays)`));
  }

  // The standby service account: from config, or made through the active's API once it serves. Kept
  // while the set has more than one site, so its key stays in state for the next standby (a rebuild).
  const account = !cfg.standbyServiceAccountJwk && plan.sites.length > 1
    ? new StandbyServiceAccount(STANDBY_ACCOUNT_RESOURCE, {
      site: plan.active.name, fqdn: plan.active.fqdn, port: cfg.tsb.frontEnvoyPort, organization: cfg.tsb.organization,
      rootCaPem: pki.rootCaCertPem, adminPassword: adminPassword.result, role: cfg.tsb.standbyRole,
      timeoutSeconds: cfg.tsb.apiTimeoutSeconds, ...(activeAddress ? { address: activeAddress } : {}),
    }, { dependsOn: activeServes, retainOnDelete: true })
    : undefined;
  if (account) void account.note.apply((n) => n && pulumi.log.info(`standby service account: ${n}`));
  const jwk = cfg.standbyServiceAccountJwk ? pulumi.secret(cfg.standbyServiceAccountJwk) : account?.privateKeyJwk;

  // Read only when another site holds a copy. The active's own key is made by TSB's operator after helm
  // returned (a first install has none yet): it is read once the active serves and a bounded wait has
  // seen it. Copies wait for the preflight too: a refused failover must not rewrite mp3's key.
  const copyHolders = plan.sites.filter((s) => s.managed && s.copies && s.role !== "active");
  const keyMade = () => new OperatorSecretWait({
    site: plan.active.name, secret: SIGNING_KEY_SECRET, promotion: plan.active.promotion ?? "install",
    access: access(plan.active.name), timeoutSeconds: cfg.tsb.readyTimeoutSeconds,
  }, { dependsOn: activeServes });
  const sourceKey = copyHolders.length === 0 ? undefined
    : activeKey ?? readSecretData(plan.active.name, SIGNING_KEY_SECRET, provider(plan.active.name), keyMade());
  const signingKey = sourceKey && pulumi.all([sourceKey, preflight]).apply(([key]) => key);

  // Standbys attach (or re-point) once the active serves; a standby the replication gate found ahead
  // of the new timeline is stopped with the rebuild it needs. Fenced sites' releases stay unchanged,
  // and whatever else the program still does there comes after their fence.
  const followers = promotion.replication?.standbys;
  const others = new Map(plan.sites.filter((s) => s.managed && s.role !== "active").map((site) => {
    const fence = fences.find((f) => f.site === site.name);
    const mp = new ManagementPlane(site.name, {
      ...common,
      site,
      provider: provider(site.name),
      ...certsOf(site.name),
      ...adoptedRelease(site.name),
      ...(site.copies && signingKey ? { signingKey } : {}),
      ...(jwk && site.role === "standby" ? { standbyJwk: jwk } : {}),
      releaseDependsOn: site.role === "standby" ? activeServes : [],
      after: fence ? fence.patches : [],
      ...(followers && site.role === "standby" ? { canFollow: followers.apply((r) => {
        const report = r?.[site.name];
        if (report?.follow === "rebuild") throw new pulumi.RunError(`${site.name} cannot follow ${plan.active.name}: ${report.reason} Rebuild it (docs/failover.md, "Rebuild").`);
        return "ok";
      }) } : {}),
    });
    return [site.name, mp] as const;
  }));
  // A failover: every other standby proven to stream from the new active (or the update stops with its rebuild).
  const follows = plan.sites.filter((s) => s.managed && s.role === "standby").flatMap((s) => promotion.follow(s, others.get(s.name)!.release) ?? []);
  // Standbys, and fenced sites whose record the set keeps (their address watch changes nothing: no call).
  for (const s of plan.sites.filter((x) => x.managed && (x.role === "standby" || x.role === "fenced"))) void addressOf(s.name, others.get(s.name)!.release);

  // 4. Move the floating name after the active serves; 5. cut the old front proxies one TTL after it moved.
  const dns = new FloatingDns(FLOATING_DNS_NAME, {
    provider: cfg.dns.provider,
    zoneId: cfg.dns.zoneId,
    ttl: cfg.dns.ttl,
    floating: floatingRecord(plan),
    siteRecords: [
      ...siteRecords(plan),
      ...discoveredSiteRecords(plan, cfg.dns).flatMap((r) => {
        const f = found.get(r.site);
        return f ? [{ resourceName: r.resourceName, fqdn: r.fqdn, type: f.recordType, target: f.address }] : [];
      }),
    ],
    after: activeServes,
    ...(importing ? { keepLiveRecord: importing.floatingRecord } : {}),
  });
  const cuts = fences.flatMap((fence) => fence.cutFrontProxy([dns.propagated]));

  if (plan.failover) logProgress(plan, cfg, { fencePatches, promotion, release: active.release, gate, verification, dns, cuts, follows, standbyReleases: [...others.values()].map((mp) => mp.release) });

  // The guards of the next run trust `history`; it resolves only once every step above has, so a
  // failed update (which still saves the outputs it resolved) keeps the last good history.
  const done = [dns.floatingRecord, ...cuts, serving, ...follows, ...[active, ...others.values()].map((mp) => mp.release)].map((r) => r.urn);
  const afterEveryStep = <T>(value: T): pulumi.Output<T> => pulumi.all([...done, preflight]).apply(() => value);
  // Trust-bundle route (adopted CA without its key): control planes must trust the old CA and the new root.
  const bundled = adoptedCa && !adoptedCa.keyPem;
  const trustedByControlPlanes = bundled ? pki.rootCaCertPem.apply((root) => `${adoptedCa.certPem.trim()}\n${root.trim()}\n`) : pki.rootCaCertPem;
  const adoptionOutputs = adoption ? {
    adoption: { site: adoption.site, step: adoption.decision.step, changedValuePaths: active.changedPaths ?? [] },
    ...(bundled ? { adoptionTrustBundle: pki.rootCaCertPem.apply((root) => trustBundleDelta(adoptedCa.certPem, root)) } : {}),
  } : {};
  return {
    // Outputs that say who serves resolve only once every failover step has: after a refused or failed
    // update they keep the last good values (the engine keeps outputs that did not resolve: pulumi/pulumi#15754).
    activeSite: afterEveryStep(plan.activeSite),
    floatingFqdn: plan.floatingFqdn,
    sites: afterEveryStep(Object.fromEntries(plan.sites.map((s) => [s.name, { role: s.role, fqdn: s.fqdn, syncHost: s.syncHost ?? null }]))),
    rootCaCertPem: pki.rootCaCertPem,
    controlPlaneValues: trustedByControlPlanes.apply((ca) => controlPlaneValues(plan.floatingFqdn, cfg.tsb.frontEnvoyPort, ca, activeTelemetryStore(cfg))),
    ...adoptionOutputs,
    adminPassword: pulumi.secret(adminPassword.result),
    /**
     * Read back by the next run's guards (lib/plan/topology.ts). Never secret: its content is not, and the
     * preflight it waits for is built from secret reads, whose secretness would otherwise spread to it.
     */
    history: pulumi.unsecret(pulumi.all([afterEveryStep(plan.history), pulumi.all(follows.map((f) => f.timeline))])
      .apply(([h, timelines]) => withActiveTimeline(h, timelines.find((t) => typeof t === "number")))),
  };
}

/** Logs each failover step as it starts and ends (lib/plan/failoverSteps.ts names them). */
function logProgress(plan: SetPlan, cfg: ReturnType<typeof loadConfig>, r: {
  fencePatches: pulumi.CustomResource[]; promotion: Promotion; release: pulumi.CustomResource; gate: pulumi.CustomResource;
  verification: pulumi.CustomResource | undefined; dns: FloatingDns; cuts: pulumi.CustomResource[];
  follows: StandbyFollow[]; standbyReleases: pulumi.CustomResource[];
}): void {
  const names = failoverSteps(plan, cfg).map((s) => s.name);
  const named = (prefix: string) => names.find((n) => n.startsWith(prefix)) ?? prefix;
  const lastFence = r.fencePatches[r.fencePatches.length - 1];
  if (lastFence) logStep(named("fence"), [], lastFence);
  if (r.promotion.replication) logStep(named("replication gate"), r.fencePatches, r.promotion.replication, r.promotion.replication.message);
  logStep(named("promote"), r.promotion.beforeRelease, r.release);
  logStep(named("ready gate"), [r.release], r.gate);
  if (r.verification) logStep(named("verify"), [r.gate], r.verification, (r.verification as unknown as { summary: pulumi.Output<string> }).summary);
  logStep(named("move floating name"), [r.verification ?? r.gate], r.dns.floatingRecord);
  for (const cut of r.cuts) logStep(named("cut"), [r.dns.propagated], cut);
  for (const f of r.follows) logStep(named("re-point"), r.standbyReleases, f, f.pods.apply((p) => Object.values(p).join("; ")));
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

/** The adopted site's SANs (recorded, or read by the preflight), and its step in the next run's history. */
async function adoptionSans(cfg: ReturnType<typeof loadConfig>, plan: SetPlan, adoption: AdoptionPlan): Promise<AdoptedSans | undefined> {
  const read = adoption.preflight ? await runAdoptionPreflight(cfg, adoption) : undefined;
  const kept = adoption.recordedSans ?? read;
  const entry = plan.history.sites[adoption.site];
  if (entry) {
    entry.adoptStep = adoption.decision.historyStep;
    if (kept) entry.adoptSans = kept;
  }
  return kept;
}

/** Plans the set against the last successful run's `history` output (a reference to this same stack). */
async function planWithHistory(cfg: ReturnType<typeof loadConfig>): Promise<{ plan: SetPlan; adoption?: AdoptionPlan }> {
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

export = main();
