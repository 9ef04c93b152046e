// After a promotion: can a standby follow the new active, and does it? Plain functions of what the
// probes measured. Postgres' own rule (xlogrecovery.c, "new timeline N forked off current database
// system timeline M before current recovery point"): a standby on timeline M follows timeline N only
// if M is N or one of N's ancestors, and it holds no WAL of M past the point where M ended.
// Facts: /work/shared/reference/postgres-replication-facts.md ("Re-pointing another standby", "Added 2026-12").
import { compareLsn, isStreaming, lsnDiff, parseLsn, RUNBOOK, siteTimeline, standbyPosition, type Decision, type LsnText, type ReplicationProbe } from "./replication";

/** Where a primary's timeline came from: for each ancestor timeline, the position where it ended (a `.history` file). */
export interface TimelineHistory {
  /** The current timeline; undefined for a predicted one (before the promotion chose its number). */
  timeline?: number;
  forks: { timeline: number; at: LsnText }[];
}

/** Parses a timeline history file (`<parent tli>\t<switch LSN>\t<reason>` per line); the last line is the switch to the current timeline. */
export function parseTimelineHistory(text: string): { parentTimeline: number; switchPoint: LsnText }[] {
  const out: { parentTimeline: number; switchPoint: LsnText }[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const [tli = "", lsn] = t.split(/\s+/);
    if (lsn === undefined || !/^\d+$/.test(tli)) throw new Error(`timeline history line "${t}" is not "<timeline> <LSN> <reason>"`);
    parseLsn(lsn);
    out.push({ parentTimeline: Number(tli), switchPoint: lsn.toUpperCase() });
  }
  return out;
}

/** A history file's lines as the forks of `timeline`. */
export function timelineHistory(timeline: number, historyFile: string | undefined): TimelineHistory {
  return { timeline, forks: historyFile === undefined ? [] : parseTimelineHistory(historyFile).map((l) => ({ timeline: l.parentTimeline, at: l.switchPoint })) };
}

/** The candidate's history once promoted at `switchPoint`: its current timeline then ends there. */
export function afterPromotion(candidate: TimelineHistory, switchPoint: LsnText): TimelineHistory {
  return { forks: [...candidate.forks, ...(candidate.timeline === undefined ? [] : [{ timeline: candidate.timeline, at: switchPoint }])] };
}

const describeHistory = (h: TimelineHistory): string =>
  [...h.forks.map((f) => `timeline ${f.timeline} ended at ${f.at}`), h.timeline === undefined ? "then the new timeline" : `then timeline ${h.timeline}`].join(", ");

export interface FollowDecision extends Decision {
  action: "repoint" | "rebuild";
}

/**
 * d) Can `standby` follow the new active whose history is `history`? On the new timeline: yes. On an
 * ancestor timeline: only if it holds nothing past where that timeline ended (received, not
 * replayed, decides). On any other timeline: never. Checked before re-pointing: afterwards a standby
 * that cannot follow sits `waiting` on its dead branch or crash-loops.
 */
export function followCheck(standby: string, newActive: string, probe: ReplicationProbe, history: TimelineHistory): FollowDecision {
  const rebuild = (reason: string): FollowDecision => ({
    verdict: "refuse",
    action: "rebuild",
    reason: `${reason}: it cannot follow ${newActive}'s new timeline and needs a rebuild (pg_rewind or a fresh base backup; ${RUNBOOK}, "Standby cannot follow"). Not re-pointed.`,
  });
  if (probe.role !== "standby") {
    return { verdict: "refuse", action: "rebuild", reason: `${standby}'s Postgres is a primary, not a standby: it cannot follow ${newActive}. Fix: rebuild ${standby} (${RUNBOOK}, "Standby cannot follow").` };
  }
  const at = standbyPosition(probe);
  const tl = siteTimeline(probe);
  if (tl !== undefined && tl === history.timeline) {
    return { verdict: "pass", action: "repoint", reason: `${standby} is on ${newActive}'s timeline ${tl} (at ${at ?? "nothing"})` };
  }
  const fork = tl === undefined ? history.forks.at(-1) : history.forks.find((f) => f.timeline === tl);
  if (!fork) return rebuild(`${standby} holds WAL of timeline ${tl ?? "?"} (up to ${at ?? "nothing"}), which is not in ${newActive}'s history (${describeHistory(history)})`);
  if (at !== undefined && compareLsn(at, fork.at) > 0) {
    return rebuild(`${standby} received WAL up to ${at} on timeline ${tl ?? fork.timeline}, ${lsnDiff(at, fork.at)} bytes past ${newActive}'s switch point ${fork.at}`);
  }
  return { verdict: "pass", action: "repoint", reason: `${standby} holds WAL up to ${at ?? "nothing"} on timeline ${tl ?? "?"}, not past ${newActive}'s switch point ${fork.at}: it can follow ${newActive}` };
}

/** What a standby must show once it follows the new active. */
export interface FollowTarget {
  /** Host its receiver must stream from (the new active's synchronization endpoint). */
  upstreamHost: string;
  /** The new active's history: its current timeline and where the old one ended. */
  history: TimelineHistory & { timeline: number };
}

/** The host part of the probe's "sender_host:sender_port" (an IPv6 sender_host keeps its colons, without brackets). */
export function upstreamHostOf(upstream: string | undefined): string | undefined {
  if (upstream === undefined) return undefined;
  const i = upstream.lastIndexOf(":");
  return (i < 0 ? upstream : upstream.slice(0, i)).toLowerCase();
}

/**
 * The follow proof (after the new active serves): `standby` streams from the new active's endpoint,
 * on its timeline, past the switch point. `refuse` only when it can never get there (followCheck);
 * otherwise `wait` names what is still missing, and the caller bounds the wait.
 */
export function followProof(standby: string, newActive: string, probe: ReplicationProbe, target: FollowTarget): FollowDecision {
  const can = followCheck(standby, newActive, probe, target.history);
  if (can.verdict === "refuse") return can;
  const switchPoint = target.history.forks.at(-1)?.at;
  const at = standbyPosition(probe);
  const missing: string[] = [];
  if (!isStreaming(probe)) missing.push(`walreceiver ${probe.walReceiverStatus ?? "not running"}`);
  const host = upstreamHostOf(probe.upstream);
  if (host !== target.upstreamHost.toLowerCase()) missing.push(`streams from ${probe.upstream ?? "nobody"}, not ${target.upstreamHost}`);
  if (probe.receivedTimeline !== target.history.timeline) missing.push(`receives timeline ${probe.receivedTimeline ?? "none"}, not ${target.history.timeline}`);
  if (switchPoint !== undefined && (at === undefined || compareLsn(at, switchPoint) <= 0)) missing.push(`holds WAL up to ${at ?? "nothing"}, not past the switch point ${switchPoint}`);
  if (missing.length === 0) {
    return { verdict: "pass", action: "repoint", reason: `${standby} streams from ${target.upstreamHost} on timeline ${target.history.timeline}, at ${at ?? "nothing"}${switchPoint === undefined ? "" : ` past the switch point ${switchPoint}`}` };
  }
  return { verdict: "wait", action: "repoint", reason: `${standby} does not follow ${newActive} yet: ${missing.join("; ")}` };
}

/** The command that raises a site's rebuild generation (docs/failover.md, "9. Rebuild, then fail back"). */
export function rebuildCommand(site: string, generation: number): string {
  return `pulumi config set --path 'tsb-ha:sites.${site}.rebuild' ${generation + 1}`;
}

/** One pod's last state in the follow proof: what it held and how it streamed, or why it could not be read. */
export type FollowState = { probe: ReplicationProbe; decision: FollowDecision } | { error: string };

const stateText = (where: string, s: FollowState): string => {
  if ("error" in s) return `${where}: not read (${s.error})`;
  const p = s.probe;
  return `${where}: holds ${standbyPosition(p) ?? "nothing"} on timeline ${siteTimeline(p) ?? "?"}, walreceiver ${p.walReceiverStatus ?? "not running"}` +
    `${p.upstream ? ` from ${p.upstream}` : ""}${p.receivedTimeline !== undefined ? ` (timeline ${p.receivedTimeline})` : ""}`;
};

/** The follow proof stops the update: a pod of `site` can never follow (it holds WAL the new active lacks). */
export function followRefused(site: string, newActive: string, where: string, decision: FollowDecision, generation: number): string {
  return `${site} cannot follow the new active ${newActive} (${where}): ${decision.reason} ` +
    `Rebuild ${site} as a fresh standby: ${rebuildCommand(site, generation)}, then pulumi up (docs/failover.md, "9. Rebuild, then fail back").`;
}

/** The follow proof stops the update: within the bound, not every pod of `site` came to stream from the new active. */
export function followTimedOut(site: string, newActive: string, target: FollowTarget, states: Record<string, FollowState>, seconds: number, generation: number): string {
  const switchPoint = target.history.forks.at(-1)?.at ?? "?";
  const pods = Object.entries(states).map(([w, s]) => stateText(w, s));
  return `${site} does not follow the new active ${newActive} after ${seconds} s: expected its walreceiver streaming from ${target.upstreamHost}, ` +
    `on timeline ${target.history.timeline}, past the switch point ${switchPoint}; ${pods.join("; ") || "no ready Postgres pod"}. ` +
    `${newActive} serves; ${site} is a standby that is not synchronised. Fix: see why (${RUNBOOK}, "Standby does not follow"), ` +
    `or rebuild it: ${rebuildCommand(site, generation)}, then pulumi up.`;
}
