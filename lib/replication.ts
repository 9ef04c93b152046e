// The replication gate's decisions, as plain functions of what the probe measured (no I/O).
// What Postgres can tell in each case, and why each rule reads the facts it reads:
// /work/shared/reference/postgres-replication-facts.md (measured on PostgreSQL 15).
// Models: CloudNativePG's switchover (demote, then wait until the target replayed the old primary's
// last LSN) and Patroni's `maximum_lag_on_failover`.

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
  timeline?: number;
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

/**
 * How far a standby got: GREATEST(receive, replay). Receive decides what it holds (a paused standby
 * replays all received WAL when promoted; facts: "Replay paused, promotion").
 */
export function standbyPosition(p: ReplicationProbe): LsnText | undefined {
  if (p.role === "primary") return p.currentLsn;
  const have = [p.receiveLsn, p.replayLsn].filter((x): x is string => x !== undefined);
  if (have.length === 0) return undefined;
  return have.reduce((a, b) => (compareLsn(a, b) >= 0 ? a : b));
}

/**
 * a) Old active fenced and reachable: the new active must have REPLAYED the old active's final WAL
 * position (read after the fence, in its own statement). Until then: wait; the caller bounds the
 * wait and calls `catchUpTimedOut`.
 */
export function fencedCatchUp(site: string, from: string, probe: ReplicationProbe, oldFinalLsn: LsnText): Decision {
  if (probe.role === "primary") {
    return {
      verdict: "refuse",
      reason:
        `${site}'s Postgres is already a primary (timeline ${probe.timeline ?? "?"}, at ${probe.currentLsn ?? "?"}), not a standby of ${from}: ` +
        `the gate cannot prove it holds ${from}'s writes up to ${oldFinalLsn}. ` +
        `Fix: check both sites' databases by hand (${RUNBOOK}, "Already a primary") before promoting.`,
    };
  }
  if (probe.replayLsn === undefined) {
    return { verdict: "wait", reason: `${site} has not replayed any WAL yet (${from} ended at ${oldFinalLsn})` };
  }
  const behind = lsnDiff(oldFinalLsn, probe.replayLsn);
  if (behind <= 0n) {
    return { verdict: "pass", reason: `${site} replayed ${probe.replayLsn}, at or past ${from}'s final position ${oldFinalLsn}: no data loss` };
  }
  const paused = probe.replayPauseState && probe.replayPauseState !== "not paused" ? `; replay is ${probe.replayPauseState}` : "";
  return {
    verdict: "wait",
    reason:
      `${site} replayed ${probe.replayLsn} (received ${probe.receiveLsn ?? "none"}), ${behind} bytes behind ${from}'s final position ${oldFinalLsn}` +
      `${paused}; walreceiver ${probe.walReceiverStatus ?? "not running"}`,
  };
}

/** a) The bounded wait ended without catching up: refuse with both positions. */
export function catchUpTimedOut(site: string, from: string, last: ReplicationProbe, oldFinalLsn: LsnText, waitedSeconds: number): Decision {
  const waiting = fencedCatchUp(site, from, last, oldFinalLsn);
  if (waiting.verdict !== "wait") return waiting;
  return {
    verdict: "refuse",
    reason:
      `Replication gate: ${site} did not replay ${from}'s final WAL position ${oldFinalLsn} within ${waitedSeconds} s ` +
      `(${site} replayed ${last.replayLsn ?? "nothing"}, received ${last.receiveLsn ?? "nothing"}; walreceiver ${last.walReceiverStatus ?? "not running"}` +
      `${last.replayPauseState && last.replayPauseState !== "not paused" ? `, replay ${last.replayPauseState}` : ""}). ` +
      `Promoting now would lose ${from}'s last writes. Fix: see why ${site} lags (${RUNBOOK}, "Standby did not catch up"), ` +
      `then run pulumi up again, or raise tsb-ha:replication.catchUpTimeoutSeconds.`,
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
 * When the standby last heard from its primary. While a walreceiver row exists, its
 * last_msg_receipt_time (includes the primary's keepalives, so a healthy idle standby is at most
 * ~wal_receiver_timeout/2 = 30 s old). Once the primary is gone the row vanishes within ~60 ms; then
 * the newest of: the newest WAL file write (what the walreceiver last wrote) and the last replayed
 * commit (primary's clock). Both age on an idle primary, so an idle-then-lost primary reads as stale:
 * the rule errs towards refusing (facts: "A standby whose primary is gone").
 */
export function lastContact(p: ReplicationProbe): { fact: ContactFact; at: string } | undefined {
  if (p.walReceiverStatus !== undefined && p.lastMsgReceiptTime !== undefined) {
    return { fact: "walreceiver last_msg_receipt_time", at: p.lastMsgReceiptTime };
  }
  const candidates: { fact: ContactFact; at: string }[] = [];
  if (p.newestWalFileTime !== undefined) candidates.push({ fact: "newest WAL file write", at: p.newestWalFileTime });
  if (p.lastXactReplayTime !== undefined) candidates.push({ fact: "last replayed transaction", at: p.lastXactReplayTime });
  return candidates.reduce<{ fact: ContactFact; at: string } | undefined>((best, c) => (!best || Date.parse(c.at) > Date.parse(best.at) ? c : best), undefined);
}

/**
 * b) Old active lost: refuse when the new active's last contact with it is older than the limit.
 * `acceptDataLoss` (an explicit config switch for one update) turns the refusal into a pass with a warning.
 */
export function lostStaleness(site: string, from: string, p: ReplicationProbe, maxLostContactSeconds: number, acceptDataLoss: boolean): LostContact {
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
  const contact = lastContact(p);
  const at = standbyPosition(p) ?? "nothing";
  if (!contact) {
    return override({
      verdict: "refuse",
      reason:
        `${site} has no record of its last contact with ${from} (no walreceiver row, no WAL file time, no replayed transaction); it holds WAL up to ${at}. ` +
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

/** c) Refuse promoting a standby that is behind another standby; names the most advanced one. */
export function mostAdvancedCheck(site: string, probe: ReplicationProbe, others: Record<string, ReplicationProbe>): Decision {
  const mine = standbyPosition(probe);
  let best: { site: string; at: string } | undefined;
  for (const [other, p] of Object.entries(others)) {
    if (p.role !== "standby") continue;
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

export interface FollowDecision extends Decision {
  action: "repoint" | "rebuild";
}

/**
 * d) After a promotion, a standby follows the new timeline only if it has not received WAL beyond
 * the switch point (receive, not replay, decides). Otherwise re-pointing would leave it on the old
 * timeline or crash-looping ("requested timeline N is not a child of this server's history").
 */
export function followCheck(standby: string, newActive: string, probe: ReplicationProbe, switchPoint: LsnText): FollowDecision {
  if (probe.role !== "standby") {
    return { verdict: "refuse", action: "rebuild", reason: `${standby}'s Postgres is a primary, not a standby: it cannot follow ${newActive}. Fix: rebuild ${standby} (${RUNBOOK}, "Standby cannot follow").` };
  }
  const at = standbyPosition(probe);
  if (at === undefined || compareLsn(at, switchPoint) <= 0) {
    return { verdict: "pass", action: "repoint", reason: `${standby} holds WAL up to ${at ?? "nothing"}, not past ${newActive}'s switch point ${switchPoint}: it can follow ${newActive}` };
  }
  return {
    verdict: "refuse",
    action: "rebuild",
    reason:
      `${standby} received WAL up to ${at}, ${lsnDiff(at, switchPoint)} bytes past ${newActive}'s switch point ${switchPoint}: ` +
      `it cannot follow ${newActive}'s new timeline and needs a rebuild (pg_rewind or a fresh base backup; ${RUNBOOK}, "Standby cannot follow"). Not re-pointed.`,
  };
}

/** Parses a timeline history file (`<parent tli>\t<switch LSN>\t<reason>` per line); the last line is the switch to the current timeline. */
export function parseTimelineHistory(text: string): { parentTimeline: number; switchPoint: LsnText }[] {
  const out: { parentTimeline: number; switchPoint: LsnText }[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const [tli, lsn] = t.split(/\s+/);
    if (tli === undefined || lsn === undefined || !/^\d+$/.test(tli)) throw new Error(`timeline history line "${t}" is not "<timeline> <LSN> <reason>"`);
    parseLsn(lsn);
    out.push({ parentTimeline: Number(tli), switchPoint: lsn.toUpperCase() });
  }
  return out;
}
