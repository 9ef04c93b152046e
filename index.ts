// tsb-ha: read config -> plan the set -> compose components in the failover order -> export outputs.
// Failover order (design.md): fence old active -> promote -> ready gate -> floating CNAME -> cut old envoy.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { loadConfig, toRunError } from "./lib/loadConfig";
import { parseHistory, planSet, type SetPlan } from "./lib/topology";
import { controlPlaneValues } from "./lib/values";
import { floatingRecord, siteRecords } from "./lib/dnsPlan";
import { Pki } from "./components/pki";
import { ManagementPlane } from "./components/managementPlane";
import { SiteFence } from "./components/siteFence";
import { FloatingDns } from "./components/floatingDns";
import { siteProvider, readSecretData, failoverPreflight } from "./components/clusterAccess";
import { SIGNING_KEY_SECRET } from "./lib/names";

async function main() {
  const cfg = loadConfig();
  const plan = await planWithHistory(cfg);

  const pki = new Pki("set", {
    sites: Object.fromEntries(cfg.sites.map((s) => [s.name, s.fqdn])),
    floatingFqdn: cfg.floatingFqdn,
    organization: cfg.tsb.organization,
  });
  const adminPassword = new random.RandomPassword("admin-password", { length: 32, special: false });
  const jwk = cfg.standbyServiceAccountJwk ? pulumi.secret(cfg.standbyServiceAccountJwk) : undefined;

  // Only reachable sites get a provider: nothing is registered or read on a lost site.
  const reachable = plan.sites.filter((s) => s.reachable);
  const providers = Object.fromEntries(reachable.map((s) => [s.name, siteProvider(s.config)]));
  const provider = (site: string) => providers[site]!;

  // The active's own key: read as it stands when it holds a copy or is being promoted (then it
  // exists already); otherwise once its release exists (a first install: the chart makes it).
  const activeKey = plan.active.copies || plan.failover
    ? readSecretData(plan.active.name, SIGNING_KEY_SECRET, provider(plan.active.name))
    : undefined;
  const preflight = failoverPreflight(plan, activeKey, provider);
  // 1. Fence every fenced site that is reachable.
  const fences = plan.sites
    .filter((s) => s.fenced)
    .map((s) => new SiteFence(s.name, { site: s.name, provider: provider(s.name), preflight }));

  // 2-3. Promote (after the fences) and wait until the active serves.
  const common = { tsb: cfg.tsb, rootCaCertPem: pki.rootCaCertPem, adminPassword: adminPassword.result, preflight };
  const active = new ManagementPlane(plan.active.name, {
    ...common,
    site: plan.active,
    provider: provider(plan.active.name),
    certs: pki.sites[plan.active.name]!,
    ...(activeKey ? { signingKey: activeKey } : {}),
    ...(jwk ? { standbyJwk: jwk } : {}),
    releaseDependsOn: fences.flatMap((f) => f.patches),
  });
  // Read only when another site holds a copy (a first install reads after the release, whose chart
  // makes the key). Copies wait for the preflight too: a refused failover must not rewrite mp3's key.
  const copyHolders = plan.sites.filter((s) => s.managed && s.copies && s.role !== "active");
  const sourceKey = copyHolders.length === 0 ? undefined
    : activeKey ?? readSecretData(plan.active.name, SIGNING_KEY_SECRET, provider(plan.active.name), active.release);
  const signingKey = sourceKey && pulumi.all([sourceKey, preflight]).apply(([key]) => key);

  // After a promotion, what comes next waits for the gate; on a first install, for the release.
  const activeServes = [active.readyGate ?? active.release!];

  // Standbys (and fenced sites' releases, unchanged) attach only once the active serves.
  const others = plan.sites.filter((s) => s.managed && s.role !== "active").map((site) =>
    new ManagementPlane(site.name, {
      ...common,
      site,
      provider: provider(site.name),
      certs: pki.sites[site.name]!,
      ...(site.copies && signingKey ? { signingKey } : {}),
      ...(jwk ? { standbyJwk: jwk } : {}),
      releaseDependsOn: site.role === "standby" ? activeServes : [],
    }));

  // 4. Move the floating name after the gate; 5. cut the old front proxies one TTL after it moved.
  const dns = new FloatingDns("dns", {
    provider: cfg.dns.provider,
    zoneId: cfg.dns.zoneId,
    ttl: cfg.dns.ttl,
    floating: floatingRecord(plan),
    siteRecords: siteRecords(plan),
    after: activeServes,
  });
  const cuts = fences.flatMap((fence) => fence.cutFrontProxy([dns.propagated]));

  // The guards of the next run trust `history`; it resolves only once every step above has, so a
  // failed update (which still saves the outputs it resolved) keeps the last good history.
  const done = [dns.floatingRecord, ...cuts, ...[active, ...others].flatMap((mp) => [mp.release, mp.readyGate])]
    .filter((r): r is pulumi.CustomResource => r !== undefined)
    .map((r) => r.urn);

  // Outputs that say who serves resolve only once every failover step has: after a refused or failed
  // update they keep the last good values (the engine keeps outputs that did not resolve: pulumi/pulumi#15754).
  const afterEveryStep = <T>(value: T): pulumi.Output<T> => pulumi.all([...done, preflight]).apply(() => value);
  return {
    activeSite: afterEveryStep(plan.activeSite),
    floatingFqdn: plan.floatingFqdn,
    sites: afterEveryStep(Object.fromEntries(plan.sites.map((s) => [s.name, { role: s.role, fqdn: s.fqdn, syncHost: s.syncHost ?? null }]))),
    rootCaCertPem: pki.rootCaCertPem,
    controlPlaneValues: pki.rootCaCertPem.apply((ca) => controlPlaneValues(plan.floatingFqdn, cfg.tsb.frontEnvoyPort, ca)),
    adminPassword: pulumi.secret(adminPassword.result),
    /**
     * Read back by the next run's guards (lib/topology.ts). Never secret: its content is not, and the
     * preflight it waits for is built from secret reads, whose secretness would otherwise spread to it.
     */
    history: pulumi.unsecret(afterEveryStep(plan.history)),
  };
}

/** Plans the set against the last successful run's `history` output (a reference to this same stack). */
async function planWithHistory(cfg: ReturnType<typeof loadConfig>): Promise<SetPlan> {
  const self = new pulumi.StackReference("previous-update", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  try {
    // getOutputDetails, not getOutputValue: a history an older version saved as a secret must still be
    // readable (getOutputValue throws for a secret output; @pulumi/pulumi stackReference.ts).
    const details = await self.getOutputDetails("history");
    const previous = parseHistory(details.value ?? details.secretValue);
    return planSet(cfg, previous);
  } catch (e) {
    throw toRunError(e);
  }
}

export = main();
