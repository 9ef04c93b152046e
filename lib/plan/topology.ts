// lib/plan/ decides what this update does: who is active, each site's role and values, the DNS
// records, the failover's steps and their words, and the names of resources (after the site, never
// the role). Pure; it builds on lib/config/ only.
//
// Pure planning: who is active, what each site gets, and which role changes are refused.
// A Pulumi program does not see the config of its last run, so the program exports a small
// `history` output and reads it back (a self stack reference) on the next run; the guards compare it
// with the new config. Without history (first run) nothing is refused that config validation allows.
import { ConfigError, HistoryError, NAMESPACE, describe } from "../config/errors";
import type { SetConfig, SiteConfig } from "../config/config";
import type { AdoptStep } from "../config/adoption";
import type { SanSet } from "./certs";

/** SANs kept from an adopted site's live certificates, per leaf. */
export interface AdoptedSans { tsb: SanSet; xcp: SanSet }

export type Role = "active" | "standby" | "fenced" | "lost";
export type HaMode = "active" | "standby";

export interface SiteHistory {
  role: Role;
  rebuild: number;
  /** Which block the site's release carried: a fenced or lost site keeps it. */
  haMode: HaMode;
  /** The site holds the program-made copies a standby needs (`iam-signing-key`, `tsb-standby-sa`). */
  copies: boolean;
  /** The site's release and namespace left this stack's state (it was lost); only a rebuild brings them back. */
  detached: boolean;
  /** The site carries the ready gate (it was promoted by a failover and is still active). */
  gated: boolean;
  /** Active only: the promotion that made it active ("mp1->mp2", or "install"); keys its gates. */
  promotion?: string;
  /**
   * The active (kept once it is fenced or lost): the Postgres timeline it writes, as the last
   * failover's follow proof read it; unknown before the first failover with another standby. The
   * replication gate refuses a lost active's standby that holds WAL of another timeline.
   */
  timeline?: number;
  /** Adopted site: the last adoption step that succeeded (lib/adoption/plan.ts). */
  adoptStep?: AdoptStep;
  /** Adopted site: SANs of the live leaves it had when it was adopted; its new leaves keep them. */
  adoptSans?: AdoptedSans;
}

export interface SetHistory {
  activeSite: string;
  sites: Record<string, SiteHistory>;
}

export interface SitePlan {
  name: string;
  fqdn: string;
  role: Role;
  /** false for a lost site: nothing on its cluster is created, changed, deleted or read. */
  reachable: boolean;
  /** The stack owns the site's namespace, release and secrets (false when lost or detached). */
  managed: boolean;
  haMode: HaMode;
  /** Standby only: the permanent FQDN it synchronises from (the active's). */
  syncHost?: string;
  /**
   * Register `${site}-iam-signing-key` (a copy of the active's key) and `${site}-sa-jwk` (Secret
   * `tsb-standby-sa`). A standby gets them; a promoted or fenced site keeps them: a failover never
   * deletes a copied secret.
   */
  copies: boolean;
  /**
   * Active only: register the ready gate (wait for deployment `tsb` Available). Created by the
   * promotion, kept while the site stays active. A first install has none: deployment `tsb` does not
   * exist before the operator makes it, and a patch of a missing object fails even in preview.
   */
  readyGate: boolean;
  /** Fenced: operator, `tsb` and `iam` at 0 replicas; `envoy` at 0 once DNS has moved. */
  fenced: boolean;
  /**
   * Active only: which promotion made it active ("mp1->mp2"; "install" for the first active). The
   * gates of a promotion carry it, so they run once per promotion and a rerun changes nothing.
   */
  promotion?: string;
  rebuild: number;
  config: SiteConfig;
}

export interface Failover {
  from: string;
  to: string;
  /** The old active can still be read (it is fenced, not lost): the preflight compares keys with it. */
  fromReachable: boolean;
}

export interface SetPlan {
  activeSite: string;
  active: SitePlan;
  floatingFqdn: string;
  sites: SitePlan[];
  /** Present when the active site differs from the last run's. */
  failover?: Failover;
  /** What the next run will read back. */
  history: SetHistory;
}

export function planSet(cfg: SetConfig, previous?: SetHistory): SetPlan {
  const activeConfig = cfg.sites.find((s) => s.name === cfg.activeSite);
  if (!activeConfig) throw new ConfigError("activeSite", cfg.activeSite, "is not one of the sites");
  if (previous && previous.activeSite !== cfg.activeSite && !previous.sites[cfg.activeSite]) {
    throw new ConfigError("activeSite", cfg.activeSite,
      `names a site this stack has never run; promoting it would start the set from an empty database. ` +
      `Allowed: a site that ran as a standby in the last update. Add ${cfg.activeSite} as a standby first, let it synchronise, then fail over`);
  }
  const sites = cfg.sites.map((s) => planSite(s, cfg, activeConfig.fqdn, previous?.sites[s.name], previous?.activeSite));
  const active = sites.find((s) => s.role === "active") as SitePlan;

  let failover: Failover | undefined;
  if (previous && previous.activeSite !== cfg.activeSite) {
    const from = sites.find((s) => s.name === previous.activeSite);
    failover = { from: previous.activeSite, to: cfg.activeSite, fromReachable: from?.role === "fenced" && from.managed };
  }

  const history: SetHistory = { activeSite: cfg.activeSite, sites: {} };
  for (const s of sites) {
    history.sites[s.name] = {
      role: s.role,
      rebuild: s.rebuild,
      haMode: s.haMode,
      copies: s.copies,
      detached: !s.managed,
      gated: s.readyGate,
      ...(s.promotion ? { promotion: s.promotion } : {}),
      ...timelineFact(previous?.sites[s.name], s),
      ...adoptionFacts(previous?.sites[s.name]),
    };
  }
  const plan: SetPlan = { activeSite: cfg.activeSite, active, floatingFqdn: cfg.floatingFqdn, sites, history };
  if (failover) plan.failover = failover;
  return plan;
}

function planSite(site: SiteConfig, cfg: SetConfig, activeFqdn: string, prev: SiteHistory | undefined, previousActive: string | undefined): SitePlan {
  const role: Role = site.name === cfg.activeSite ? "active" : site.state;
  const stateKey = `sites.${site.name}.state`;
  const rebuildKey = `sites.${site.name}.rebuild`;
  if (prev && site.rebuild < prev.rebuild) {
    throw new ConfigError(rebuildKey, site.rebuild, `is lower than the last update's ${prev.rebuild}. Allowed: ${prev.rebuild} or, to rebuild the site, ${prev.rebuild + 1}`);
  }
  const rebuilt = prev !== undefined && site.rebuild > prev.rebuild;

  // Rebuilding and promoting in one update: name the rebuild, which is the part to undo.
  if (role === "active" && rebuilt) {
    throw new ConfigError(rebuildKey, site.rebuild,
      `rebuilds ${site.name} in the update that makes it the active (activeSite = ${site.name}). A rebuilt site starts from an empty database. ` +
      `Allowed: rebuild ${site.name} as a standby now (keep activeSite ${previousActive ?? "as it was"}), let it synchronise, then promote it in a later update`);
  }
  if (role === "fenced" && prev?.role === "standby") {
    const failingOver = previousActive !== undefined && previousActive !== cfg.activeSite;
    throw new ConfigError(stateKey, site.state,
      `fences ${site.name}, which was a ${prev.role} in the last update${failingOver ? ` (the failover is from ${previousActive}, so only ${previousActive} may be fenced)` : " and no failover is under way"}. ` +
      `Only the old active is fenced, in the update that fails over away from it. ` +
      `Allowed: remove the state (pulumi config rm --path '${NAMESPACE}:${stateKey}') to keep ${site.name} a standby, or set it to lost if its cluster is gone`);
  }
  if (role === "active" && prev && (prev.role === "fenced" || prev.role === "lost")) {
    throw new ConfigError("activeSite", site.name,
      `names a site that was ${prev.role} in the last update; its database has diverged and it is never promoted. ` +
      `Allowed: a site that is a standby now. To reuse ${site.name}: rebuild it as a standby (docs/failover.md, "Rebuild"), let it synchronise, then fail over to it`);
  }
  if (role === "standby" && prev && prev.role !== "standby" && !rebuilt) {
    const how = prev.role === "active"
      ? `If ${site.name} was the active and you are failing over away from it, set ${stateKey} to fenced (cluster reachable) or lost (cluster gone)`
      : `A ${prev.role} site becomes a standby again only by a rebuild: clean the site (docs/failover.md, "Rebuild"), then set ${rebuildKey} to ${prev.rebuild + 1}`;
    throw new ConfigError(stateKey, site.state, `makes ${site.name} a standby, but it was ${prev.role} in the last update. ${how}`);
  }

  const detachedBefore = prev?.detached === true && !rebuilt;
  if (detachedBefore && (role === "active" || role === "standby")) {
    throw new ConfigError(stateKey, site.state,
      `asks the program to manage ${site.name} again, but its resources left this stack when it was lost. Set ${rebuildKey} to ${(prev?.rebuild ?? 0) + 1} to reinstall it as a standby`);
  }
  // A fenced site the stack never managed (or lost before) is only fenced: its release is not ours.
  const managed = role !== "lost" && !detachedBefore && !(role === "fenced" && prev === undefined);

  const haMode: HaMode = role === "active" ? "active" : role === "standby" ? "standby" : prev?.haMode ?? "active";
  // Once a site holds the copies it keeps them (a promoted standby keeps its key); a rebuild makes new ones.
  const copies = managed && (role === "standby" || (prev?.copies === true && !rebuilt));

  const plan: SitePlan = {
    name: site.name,
    fqdn: site.fqdn,
    role,
    reachable: role !== "lost",
    managed,
    haMode,
    copies,
    readyGate: role === "active" && prev !== undefined && (previousActive !== site.name || prev.gated),
    fenced: role === "fenced",
    rebuild: site.rebuild,
    config: site,
  };
  if (role === "standby") plan.syncHost = activeFqdn;
  if (role === "active") {
    plan.promotion = previousActive !== undefined && previousActive !== site.name ? `${previousActive}->${site.name}` : prev?.promotion ?? "install";
  }
  return plan;
}

const ROLES: readonly Role[] = ["active", "standby", "fenced", "lost"];

/**
 * Reads back the `history` output of the last run. Absent (a new stack, or one that never finished an
 * update) is no history; anything else that is not a history is an error, never "first run", which
 * would switch every guard off.
 */
export function parseHistory(value: unknown): SetHistory | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw new HistoryError(value, "is not an object");
  const v = value as Record<string, unknown>;
  if (typeof v["activeSite"] !== "string") throw new HistoryError(value, "has no activeSite");
  if (typeof v["sites"] !== "object" || v["sites"] === null || Array.isArray(v["sites"])) throw new HistoryError(value, "has no sites");
  const sites: Record<string, SiteHistory> = {};
  for (const [name, raw] of Object.entries(v["sites"] as Record<string, unknown>)) {
    if (typeof raw !== "object" || raw === null) throw new HistoryError(value, `has no entry for site ${name}`);
    const r = raw as Record<string, unknown>;
    if (!ROLES.includes(r["role"] as Role)) throw new HistoryError(value, `gives site ${name} the role ${describe(r["role"])}`);
    if (typeof r["rebuild"] !== "number") throw new HistoryError(value, `gives site ${name} no rebuild number`);
    sites[name] = {
      role: r["role"] as Role,
      rebuild: r["rebuild"],
      haMode: r["haMode"] === "standby" ? "standby" : "active",
      copies: r["copies"] === true,
      detached: r["detached"] === true,
      gated: r["gated"] === true,
      ...(typeof r["promotion"] === "string" ? { promotion: r["promotion"] } : {}),
      ...parseTimeline(r, name, value),
      ...parseAdoptionFacts(r, name, value),
    };
  }
  if (!sites[v["activeSite"]]) throw new HistoryError(value, `names activeSite ${v["activeSite"]}, which has no site entry`);
  return { activeSite: v["activeSite"], sites };
}

/** The timeline an active wrote stays with it while it stays active, and once it is fenced or lost (never through a rebuild). */
function timelineFact(prev: SiteHistory | undefined, s: SitePlan): Pick<SiteHistory, "timeline"> {
  const kept = prev?.timeline !== undefined && prev.role !== "standby" && s.role !== "standby" && s.rebuild === prev.rebuild;
  return kept ? { timeline: prev.timeline } : {};
}

/** The history with the timeline a failover's follow proof read for the new active. */
export function withActiveTimeline(history: SetHistory, timeline: number | undefined): SetHistory {
  if (timeline === undefined) return history;
  const active = history.sites[history.activeSite];
  return active ? { ...history, sites: { ...history.sites, [history.activeSite]: { ...active, timeline } } } : history;
}

/** What an adopted site's history carries forward: the step it reached and the SANs it kept. */
function adoptionFacts(prev: SiteHistory | undefined): Pick<SiteHistory, "adoptStep" | "adoptSans"> {
  return { ...(prev?.adoptStep ? { adoptStep: prev.adoptStep } : {}), ...(prev?.adoptSans ? { adoptSans: prev.adoptSans } : {}) };
}

function parseTimeline(r: Record<string, unknown>, name: string, whole: unknown): Pick<SiteHistory, "timeline"> {
  const t = r["timeline"];
  if (t === undefined) return {};
  if (typeof t !== "number" || !Number.isInteger(t) || t < 1) throw new HistoryError(whole, `gives site ${name} the timeline ${describe(t)}`);
  return { timeline: t };
}

function parseAdoptionFacts(r: Record<string, unknown>, name: string, whole: unknown): Pick<SiteHistory, "adoptStep" | "adoptSans"> {
  const out: Pick<SiteHistory, "adoptStep" | "adoptSans"> = {};
  const step = r["adoptStep"];
  if (step !== undefined) {
    if (step !== "import" && step !== "activate") throw new HistoryError(whole, `gives site ${name} the adoption step ${describe(step)}`);
    out.adoptStep = step;
  }
  const sans = r["adoptSans"];
  if (sans !== undefined) {
    const isList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
    const field = (v: unknown, k: string): unknown => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined);
    const isSet = (v: unknown): v is SanSet => isList(field(v, "dnsNames")) && isList(field(v, "ipAddresses")) && isList(field(v, "uris"));
    const tsb = field(sans, "tsb");
    const xcp = field(sans, "xcp");
    if (!isSet(tsb) || !isSet(xcp)) throw new HistoryError(whole, `gives site ${name} SANs that are not {tsb, xcp} name lists`);
    out.adoptSans = { tsb, xcp };
  }
  return out;
}
