// The replication gate's decisions, as plain functions of what the probes measured (no I/O). The
// gate, `readiness` and `status` judge every replication fact with these functions.
// What Postgres can tell in each case, and why each rule reads the facts it reads:
// /work/shared/reference/postgres-replication-facts.md (measured on PostgreSQL 15).
// Models: CloudNativePG's and Patroni's switchover (stop the old primary cleanly, then promote only a
// standby that received its last record) and Patroni's `maximum_lag_on_failover`.
//
// One position everywhere: what a site HOLDS, GREATEST(received, replayed). A promotion replays
// every received record before it ends recovery (facts: "Replay paused, promotion": 510/510 rows), so
// received WAL is never lost by promoting; a paused or slow replay only delays the promotion and is
// reported, not refused. Timelines decide whether positions are comparable at all: WAL past the point
// where a timeline forked is on a dead branch (facts, "Added 2026-12").

/** A WAL position, "16/B374D848" in Postgres' text form. */
export type LsnText = string;

export const RUNBOOK = "docs/replication.md";

/** "16/B374D848" -> 0x16_B374D848 (the high and low 32-bit halves, in hex). */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a WAL position (expected hex "X/Y", e.g. "16/B374D848")`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Negative when a < b, as Postgres' pg_wal_lsn_diff. */
export function compareLsn(a: LsnText, b: LsnText): number {
  const d = parseLsn(a) - parseLsn(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** Bytes of WAL from b to a (pg_wal_lsn_diff(a, b)). */
export function lsnDiff(a: LsnText, b: LsnText): bigint {
  return parseLsn(a) - parseLsn(b);
}

/** What one probe of a site's Postgres returned. Times are ISO strings (server clocks), absent when Postgres has no answer. */
export interface ReplicationProbe {
  role: "primary" | "standby";
  /** Primary only: pg_current_wal_lsn(). */
  currentLsn?: LsnText;
  /** Standby: pg_last_wal_receive_lsn() (absent before streaming first started). */
  receiveLsn?: LsnText;
  /** Standby: pg_last_wal_replay_lsn(). */
  replayLsn?: LsnText;
  /** pg_stat_wal_receiver.status; absent when no walreceiver process exists (primary gone, or not a standby). */
  walReceiverStatus?: string;
  /** pg_stat_wal_receiver.last_msg_receipt_time (only while the row exists). */
  lastMsgReceiptTime?: string;
  /** pg_stat_wal_receiver sender_host:sender_port: whom the standby follows. */
  upstream?: string;
  /** pg_last_xact_replay_timestamp(): the primary's clock at the last replayed commit. */
  lastXactReplayTime?: string;
  /** max(modification) of pg_ls_waldir(): newest WAL file write (1 s resolution). */
  newestWalFileTime?: string;
  /** pg_get_wal_replay_pause_state() on a standby. */
  replayPauseState?: string;
  /** Primary: the timeline of its current WAL file (exact). Standby: of its last restartpoint (lags ~1 checkpoint; informational). */
  timeline?: number;
  /** pg_stat_wal_receiver.received_tli: the timeline the receiver streams (only while its row exists). */
  receivedTimeline?: number;
  /** Timeline of the newest WAL segment file in pg_wal: the newest timeline the site holds WAL of. */
  walTimeline?: number;
  /** Timeline of the newest `.history` file in pg_wal: the newest timeline the site has heard of (its receiver fetches it before following). */
  knownTimeline?: number;
  /** The server's clock when it answered. */
  now: string;
}

export type Verdict = "pass" | "wait" | "refuse";
export interface Decision {
  verdict: Verdict;
  reason: string;
  /** Set when a refusal was turned into a pass by an explicit switch. */
  warning?: string;
}

/** The position a site holds (the one position the gate, readiness and status compare): a primary's current one; a standby's GREATEST(receive, replay). */
export function standbyPosition(p: ReplicationProbe): LsnText | undefined {
  if (p.role === "primary") return p.currentLsn;
  const have = [p.receiveLsn, p.replayLsn].filter((x): x is string => x !== undefined);
  if (have.length === 0) return undefined;
  return have.reduce((a, b) => (compareLsn(a, b) >= 0 ? a : b));
}

/**
 * The timeline of the WAL a site holds: a primary's current one; a standby's newest of its receiver's
 * and its newest WAL file's (a standby that cannot follow a new timeline never writes a file of it),
 * else its last restartpoint's.
 */
export function siteTimeline(p: ReplicationProbe): number | undefined {
  if (p.role === "primary") return p.timeline;
  const have = [p.receivedTimeline, p.walTimeline].filter((x): x is number => x !== undefined);
  return have.length > 0 ? Math.max(...have) : p.timeline;
}

/** A walreceiver counts as connected only while it streams (`waiting`, `starting`, `stopping` carry no WAL). */
export function isStreaming(p: ReplicationProbe): boolean {
  return p.role === "standby" && p.walReceiverStatus === "streaming";
}

/** "; replay paused: a promotion replays the N bytes received first" (empty when replay is current and not paused). */
export function replayNote(p: ReplicationProbe): string {
  const pending = p.receiveLsn !== undefined && p.replayLsn !== undefined ? lsnDiff(p.receiveLsn, p.replayLsn) : 0n;
  const paused = p.replayPauseState !== undefined && p.replayPauseState !== "not paused";
  if (!paused && pending <= 0n) return "";
  return `; replay ${paused ? p.replayPauseState : "behind"}${pending > 0n ? ` by ${pending} bytes` : ""}: a promotion replays all received WAL first`;
}

const receiverText = (p: ReplicationProbe): string =>
  `walreceiver ${p.walReceiverStatus ?? "not running"}${p.upstream ? ` from ${p.upstream}` : ""}${p.receivedTimeline !== undefined ? ` on timeline ${p.receivedTimeline}` : ""}`;

function alreadyPrimary(site: string, from: string, p: ReplicationProbe): Decision {
  return {
    verdict: "refuse",
    reason:
      `${site}'s Postgres is already a primary (timeline ${p.timeline ?? "?"}, at ${p.currentLsn ?? "?"}), not a standby of ${from}: ` +
      `nothing proves it holds ${from}'s writes. Fix: check both sites' databases by hand (${RUNBOOK}, "Already a primary") before promoting.`,
  };
}

/**
 * A standby that does not stream and holds WAL of another timeline than the one it should follow
 * (`want`, when known), or of an older one than a `.history` file it fetched: it saw a fork it could
 * not follow (Postgres: "new timeline N forked off current database system timeline M before current
 * recovery point"), and it can never catch up. A streaming one may be crossing the fork: not refused.
 */
export function timelineProblem(site: string, from: string, p: ReplicationProbe, want?: number): Decision | undefined {
  const have = siteTimeline(p);
  if (have === undefined || isStreaming(p)) return undefined;
  const newer = want !== undefined && want !== have ? want : (p.knownTimeline ?? 0) > have ? p.knownTimeline : undefined;
  if (newer === undefined) return undefined;
  return {
    verdict: "refuse",
    reason:
      `Replication gate: ${site} holds WAL of timeline ${have} (up to ${standbyPosition(p) ?? "nothing"}), but ${from} ${want === newer ? "was on" : "has moved to"} timeline ${newer}: ` +
      `${site} did not follow it and lacks what was written on timeline ${newer}; ${receiverText(p)}. Fix: rebuild ${site} (${RUNBOOK}, "Standby on another timeline").`,
  };
}

/**
 * a) Old active fenced and still running: has the new active received its WAL up to `oldLsn` (read
 * after the fence)? Until then: wait; the caller bounds the wait. This brings the new active close
 * enough for the clean stop, whose shutdown record the old primary then sends to every connected standby.
 */
export function fencedCatchUp(site: string, from: string, probe: ReplicationProbe, oldLsn: LsnText, oldTimeline?: number): Decision {
  if (probe.role === "primary") return alreadyPrimary(site, from, probe);
  const stranded = timelineProblem(site, from, probe, oldTimeline);
  if (stranded) return stranded;
  const at = standbyPosition(probe);
  if (at === undefined) return { verdict: "wait", reason: `${site} has received no WAL yet (${from} is at ${oldLsn}); ${receiverText(probe)}` };
  const behind = lsnDiff(oldLsn, at);
  if (behind <= 0n) return { verdict: "pass", reason: `${site} holds WAL up to ${at}, at or past ${from}'s position ${oldLsn}${replayNote(probe)}` };
  return { verdict: "wait", reason: `${site} holds WAL up to ${at}, ${behind} bytes behind ${from} (at ${oldLsn}); ${receiverText(probe)}${replayNote(probe)}` };
}

/** a) The bounded wait ended without catching up: refuse with both positions (the caller names a standby ahead first). */
export function catchUpTimedOut(site: string, from: string, last: ReplicationProbe, oldLsn: LsnText, waitedSeconds: number, oldTimeline?: number): Decision {
  const waiting = fencedCatchUp(site, from, last, oldLsn, oldTimeline);
  if (waiting.verdict !== "wait") return waiting;
  return {
    verdict: "refuse",
    reason:
      `Replication gate: ${site} did not receive ${from}'s WAL up to ${oldLsn} within ${waitedSeconds} s ` +
      `(${site} holds ${standbyPosition(last) ?? "nothing"}, replayed ${last.replayLsn ?? "nothing"}; ${receiverText(last)}). ` +
      `${from}'s database was not stopped: nothing is lost yet. Fix: see why ${site} does not receive (${RUNBOOK}, "Standby did not catch up"), ` +
      `then run pulumi up again, or raise tsb-ha:replication.catchUpTimeoutSeconds.`,
  };
}

/** The last valid WAL record a standby holds (pg_waldump of its pg_wal from its last restartpoint). */
export interface WalTail {
  timeline: number;
  /** Where the last valid record starts. */
  lastLsn: LsnText;
  /** Where it ends (the first invalid position pg_waldump reports), when known. */
  endLsn?: LsnText;
  /** pg_waldump's description of it, e.g. "CHECKPOINT_SHUTDOWN redo 0/817B70; ...". */
  description: string;
  /** The record is a shutdown checkpoint: its writer stopped cleanly right after it. */
  shutdown: boolean;
}

/** "COMMIT at 0/817B48 on timeline 1": the kind of record (pg_waldump's first word), where, which timeline. */
const tailText = (t: WalTail): string => `${t.description.replace(/[ ;].*$/s, "")} at ${t.lastLsn} on timeline ${t.timeline}`;

/**
 * a) After the clean stop of the fenced old primary: its shutdown checkpoint is the last record it
 * ever wrote (postgres-replication-facts.md, "Which LSN"). The new active passes when that record is
 * the last one it holds; every other standby then holds at most that position and can follow.
 */
export function oldPrimaryFinal(site: string, from: string, target: WalTail | { error: string }, others: Record<string, WalTail | { error: string }>): Decision {
  const isTail = (t: WalTail | { error: string }): t is WalTail => !("error" in t);
  if (isTail(target) && target.shutdown) {
    return { verdict: "pass", reason: `${site} holds ${from}'s shutdown checkpoint at ${target.lastLsn} (timeline ${target.timeline}), the last record ${from} wrote: no data loss` };
  }
  const mine = isTail(target) ? `${site}'s last record is a ${tailText(target)}` : `${site}'s WAL could not be read (${target.error})`;
  const holder = Object.entries(others).find(([, t]) => isTail(t) && t.shutdown);
  if (holder) {
    const [other, t] = holder as [string, WalTail];
    return {
      verdict: "refuse",
      reason:
        `Replication gate: ${from} stopped cleanly, but its last record (shutdown checkpoint at ${t.lastLsn}) reached standby ${other}, not ${site} (${mine}): ` +
        `promoting ${site} would lose ${from}'s last writes and ${other} could not follow it. ` +
        `Fix: promote ${other} instead (pulumi config set tsb-ha:activeSite ${other}) (${RUNBOOK}, "Another standby is ahead").`,
    };
  }
  const rest = Object.entries(others).map(([o, t]) => (isTail(t) ? `${o}: ${tailText(t)}` : `${o}: not read (${t.error})`));
  return {
    verdict: "refuse",
    reason:
      `Replication gate: no standby holds ${from}'s shutdown checkpoint (${[mine, ...rest].join("; ")}): ${from}'s last WAL is only on its own disk ` +
      `(its standbys were not connected when it stopped, or it was killed before its shutdown finished). ` +
      `Fix: start ${from}'s database again so they receive it (${RUNBOOK}, "Shutdown record on no standby"), then run pulumi up again.`,
  };
}

export type ContactFact = "walreceiver last_msg_receipt_time" | "newest WAL file write" | "last replayed transaction";

export interface LostContact extends Decision {
  /** Which fact gave the time of last contact. */
  fact?: ContactFact;
  ageSeconds?: number;
}

function ageSeconds(now: string, then: string): number {
  return Math.max(0, (Date.parse(now) - Date.parse(then)) / 1000);
}

/**
 * When the standby last heard from its primary. While its walreceiver STREAMS, the receiver's
 * last_msg_receipt_time (it includes the primary's keepalives, so a healthy idle standby is at most
 * ~wal_receiver_timeout/2 = 30 s old); a receiver that is `waiting`, `starting` or `stopping` carries
 * no WAL, and its time is no evidence of contact (facts, "Added 2026-12"). Otherwise the newest of:
 * the newest WAL file write (what the walreceiver last wrote) and the last replayed commit (primary's
 * clock). Both age on an idle primary, so an idle-then-lost primary reads as stale: the rule errs
 * towards refusing (facts: "A standby whose primary is gone").
 */
export function lastContact(p: ReplicationProbe): { fact: ContactFact; at: string } | undefined {
  if (isStreaming(p) && p.lastMsgReceiptTime !== undefined) {
    return { fact: "walreceiver last_msg_receipt_time", at: p.lastMsgReceiptTime };
  }
  const candidates: { fact: ContactFact; at: string }[] = [];
  if (p.newestWalFileTime !== undefined) candidates.push({ fact: "newest WAL file write", at: p.newestWalFileTime });
  if (p.lastXactReplayTime !== undefined) candidates.push({ fact: "last replayed transaction", at: p.lastXactReplayTime });
  return candidates.reduce<{ fact: ContactFact; at: string } | undefined>((best, c) => (!best || Date.parse(c.at) > Date.parse(best.at) ? c : best), undefined);
}

/**
 * b) Old active lost: refuse when the new active's last contact with it is older than the limit, or
 * when the new active holds WAL of another timeline than the one the lost active wrote
 * (`activeTimeline`, from the last good history; unknown: not checked): then it never followed it.
 * `acceptDataLoss` (an explicit config switch for one update) turns either refusal into a pass with a warning.
 */
export function lostStaleness(site: string, from: string, p: ReplicationProbe, maxLostContactSeconds: number, acceptDataLoss: boolean, activeTimeline?: number): LostContact {
  const override = (refusal: LostContact): LostContact =>
    acceptDataLoss
      ? { ...refusal, verdict: "pass", warning: `tsb-ha:replication.acceptDataLoss is true: promoting anyway. ${refusal.reason}` }
      : refusal;
  if (p.role === "primary") {
    return {
      verdict: "refuse",
      reason:
        `${site}'s Postgres is already a primary (timeline ${p.timeline ?? "?"}), not a standby of ${from}: nothing tells how much of ${from}'s data it holds. ` +
        `Fix: check ${site}'s database by hand (${RUNBOOK}, "Already a primary").`,
    };
  }
  const at = standbyPosition(p) ?? "nothing";
  const stranded = timelineProblem(site, from, p, activeTimeline);
  if (stranded) return override({ verdict: "refuse", reason: stranded.reason });
  const contact = lastContact(p);
  if (!contact) {
    return override({
      verdict: "refuse",
      reason:
        `${site} has no record of its last contact with ${from} (no streaming walreceiver, no WAL file time, no replayed transaction); it holds WAL up to ${at}. ` +
        `Fix: ${RUNBOOK}, "Lost site: last contact too old".`,
    });
  }
  const age = ageSeconds(p.now, contact.at);
  const measured = `${site}'s last contact with ${from} was ${Math.round(age)} s ago (${contact.fact}: ${contact.at}), WAL up to ${at}`;
  if (age <= maxLostContactSeconds) {
    return { verdict: "pass", reason: `${measured}; limit ${maxLostContactSeconds} s`, fact: contact.fact, ageSeconds: age };
  }
  return override({
    verdict: "refuse",
    reason:
      `Replication gate: ${measured}, older than tsb-ha:replication.maxLostContactSeconds = ${maxLostContactSeconds} s: ` +
      `writes made on ${from} after that may be missing on ${site}. ` +
      `Fix: bring ${from} back and fail over with it fenced, or accept the loss for this update: ` +
      `pulumi config set --path tsb-ha:replication.acceptDataLoss true (${RUNBOOK}, "Lost site: last contact too old").`,
    fact: contact.fact,
    ageSeconds: age,
  });
}

/**
 * c) Refuse promoting a standby that is behind another standby; names the most advanced one with
 * both positions. Only WAL of one timeline compares: a standby on a newer timeline than the
 * candidate holds a history the candidate lacks; one on an older timeline is on a dead branch (the
 * follow check names it for a rebuild) and is not "ahead", whatever its position.
 */
export function mostAdvancedCheck(site: string, probe: ReplicationProbe, others: Record<string, ReplicationProbe>): Decision {
  const mine = standbyPosition(probe);
  const myTl = siteTimeline(probe);
  let best: { site: string; at: string; tl?: number } | undefined;
  for (const [other, p] of Object.entries(others)) {
    if (p.role !== "standby") continue;
    const tl = siteTimeline(p);
    if (myTl !== undefined && tl !== undefined) {
      if (tl > myTl) {
        return {
          verdict: "refuse",
          reason:
            `Replication gate: ${site} holds WAL of timeline ${myTl} (up to ${mine ?? "nothing"}), but standby ${other} holds timeline ${tl} (up to ${standbyPosition(p) ?? "nothing"}): ` +
            `${site} did not follow the latest primary. Fix: promote ${other} instead (pulumi config set tsb-ha:activeSite ${other}), ` +
            `and rebuild ${site} (${RUNBOOK}, "Standby on another timeline").`,
        };
      }
      if (tl < myTl) continue;
    }
    const at = standbyPosition(p);
    if (at === undefined) continue;
    if (mine === undefined || compareLsn(at, mine) > 0) {
      if (!best || compareLsn(at, best.at) > 0) best = { site: other, at };
    }
  }
  if (!best) {
    return { verdict: "pass", reason: `${site} (at ${mine ?? "nothing"}) is at least as far as every other standby (${Object.keys(others).join(", ") || "none"})` };
  }
  return {
    verdict: "refuse",
    reason:
      `Replication gate: ${site} holds WAL up to ${mine ?? "nothing"}, but standby ${best.site} holds more (up to ${best.at}, ` +
      `${mine === undefined ? "?" : lsnDiff(best.at, mine)} bytes ahead): promoting ${site} would lose those writes and ${best.site} could not follow it. ` +
      `Fix: promote ${best.site} instead (pulumi config set tsb-ha:activeSite ${best.site}) (${RUNBOOK}, "Another standby is ahead").`,
  };
}

/**
 * c) Decided before any wait: a candidate whose receiver does not stream cannot close a gap on its
 * own, so when another standby is ahead of it, waiting could only time out: name that standby now.
 * A streaming candidate behind a streaming standby is ordinary lag: the wait closes it.
 */
export function aheadBeforeWaiting(site: string, probe: ReplicationProbe, others: Record<string, ReplicationProbe>): Decision {
  if (isStreaming(probe)) return { verdict: "pass", reason: `${site} streams: the wait can close any gap` };
  return mostAdvancedCheck(site, probe, others);
}

/** How a standby stands against the active now, by the gate's own rules (what `readiness` and `status` report). */
export interface StandbyStanding {
  /** Its walreceiver streams, and holds WAL of the active's timeline (refuse: it would not catch up). */
  streaming: Decision;
  /** The fenced-mode catch-up against the active's current position ("wait": ordinary lag the gate waits for). */
  catchUp?: Decision;
  /** The lost-mode rule: would the gate promote it if the active died now? */
  lostRule: LostContact;
}

export function standbyStanding(site: string, active: string, probe: ReplicationProbe, activeProbe: ReplicationProbe | undefined, maxLostContactSeconds: number): StandbyStanding {
  const activeTl = activeProbe?.role === "primary" ? activeProbe.timeline : undefined;
  const at = standbyPosition(probe) ?? "nothing";
  const streaming: Decision = probe.role === "primary" ? alreadyPrimary(site, active, probe)
    : timelineProblem(site, active, probe, activeTl)
      ?? (isStreaming(probe) ? { verdict: "pass", reason: `${receiverText(probe)}, holds WAL up to ${at}${replayNote(probe)}` }
        : { verdict: "refuse", reason: `${site} is not streaming from ${active}: ${receiverText(probe)}, holds WAL up to ${at}; a failover to it would wait for a catch-up that cannot come` });
  const current = activeProbe?.role === "primary" ? activeProbe.currentLsn : undefined;
  return {
    streaming,
    ...(current !== undefined ? { catchUp: fencedCatchUp(site, active, probe, current, activeTl) } : {}),
    lostRule: lostStaleness(site, active, probe, maxLostContactSeconds, false, activeTl),
  };
}
