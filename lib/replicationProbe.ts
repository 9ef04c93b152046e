// The probe: the SQL that reads one site's replication state and its translation into a
// ReplicationProbe. The SAME code runs in production (through `kubectl exec`-like pod exec, see
// lib/podExec.ts) and in the real-Postgres tests (a direct connection); only the transport differs.
// Every column is cast to text so both transports return the same strings (psql prints booleans as
// t/f, node-postgres as true/false: ::text gives "true"/"false" in both).
import { followCheck, parseLsn, parseTimelineHistory, type FollowDecision, type LsnText, type ReplicationProbe } from "./replication";

/** Runs one SQL string; rows as column -> text (NULL as null). */
export interface SqlTransport {
  query(sql: string): Promise<Record<string, string | null>[]>;
}

const epoch = (expr: string): string => `extract(epoch FROM ${expr})::text`;

/**
 * One statement, one row. Timeline: on a primary from its current WAL file name (immediate after a
 * promotion); on a standby from the last checkpoint (lags ~1 s; informational only).
 * Rights: superuser, or pg_monitor (pg_ls_waldir, pg_stat_wal_receiver in full) plus pg_control_checkpoint.
 */
export const PROBE_SQL = [
  "SELECT pg_is_in_recovery()::text AS in_recovery,",
  " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,",
  " pg_last_wal_receive_lsn()::text AS receive_lsn,",
  " pg_last_wal_replay_lsn()::text AS replay_lsn,",
  " CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END AS replay_pause_state,",
  " w.status AS wal_receiver_status,",
  ` ${epoch("w.last_msg_receipt_time")} AS last_msg_receipt_time,`,
  " CASE WHEN w.sender_host IS NULL THEN NULL ELSE w.sender_host || ':' || w.sender_port END AS upstream,",
  ` ${epoch("pg_last_xact_replay_timestamp()")} AS last_xact_replay_time,`,
  ` (SELECT ${epoch("max(modification)")} FROM pg_ls_waldir()) AS newest_wal_file_time,`,
  " (CASE WHEN pg_is_in_recovery() THEN (pg_control_checkpoint()).timeline_id",
  "  ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END)::text AS timeline,",
  ` ${epoch("clock_timestamp()")} AS now`,
  " FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS w ON true",
].join("\n");

/** Postgres epoch seconds ("1764589212.123456") -> ISO string. */
export function epochToIso(text: string): string {
  const ms = Number(text) * 1000;
  if (!Number.isFinite(ms)) throw new Error(`"${text}" is not an epoch time`);
  return new Date(ms).toISOString();
}

function only(rows: Record<string, string | null>[], what: string): Record<string, string | null> {
  if (rows.length !== 1 || !rows[0]) throw new Error(`${what}: expected one row, got ${rows.length}`);
  return rows[0];
}

function text(row: Record<string, string | null>, col: string): string | undefined {
  const v = row[col];
  return v === null || v === undefined || v === "" ? undefined : v;
}

/** Turns the probe row into a ReplicationProbe; throws on a malformed answer (never guesses). */
export function parseProbeRow(row: Record<string, string | null>): ReplicationProbe {
  const rec = text(row, "in_recovery");
  if (rec !== "true" && rec !== "false") throw new Error(`probe: in_recovery is ${JSON.stringify(row["in_recovery"])}, expected "true" or "false"`);
  const now = text(row, "now");
  if (!now) throw new Error("probe: no server time in the answer");
  const lsn = (col: string): LsnText | undefined => {
    const v = text(row, col);
    if (v !== undefined) parseLsn(v);
    return v;
  };
  const time = (col: string): string | undefined => {
    const v = text(row, col);
    return v === undefined ? undefined : epochToIso(v);
  };
  const p: ReplicationProbe = { role: rec === "true" ? "standby" : "primary", now: epochToIso(now) };
  const set = <K extends keyof ReplicationProbe>(k: K, v: ReplicationProbe[K] | undefined): void => {
    if (v !== undefined) p[k] = v;
  };
  set("currentLsn", lsn("current_lsn"));
  set("receiveLsn", lsn("receive_lsn"));
  set("replayLsn", lsn("replay_lsn"));
  set("replayPauseState", text(row, "replay_pause_state"));
  set("walReceiverStatus", text(row, "wal_receiver_status"));
  set("lastMsgReceiptTime", time("last_msg_receipt_time"));
  set("upstream", text(row, "upstream"));
  set("lastXactReplayTime", time("last_xact_replay_time"));
  set("newestWalFileTime", time("newest_wal_file_time"));
  const tli = text(row, "timeline");
  if (tli !== undefined) set("timeline", Number(tli));
  return p;
}

export async function probeReplication(transport: SqlTransport): Promise<ReplicationProbe> {
  return parseProbeRow(only(await transport.query(PROBE_SQL), "replication probe"));
}

/**
 * The fenced old primary's final WAL position: pg_current_wal_lsn() in its OWN statement, after the
 * fence stopped the writers (inside a transaction the insert position is ahead of the last commit).
 */
export const FINAL_LSN_SQL = "SELECT pg_is_in_recovery()::text AS in_recovery, CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn";

export async function finalWalPosition(transport: SqlTransport, site: string): Promise<LsnText> {
  const row = only(await transport.query(FINAL_LSN_SQL), `${site} final WAL position`);
  const lsn = text(row, "lsn");
  if (row["in_recovery"] !== "false" || lsn === undefined) {
    throw new Error(`${site}'s Postgres is not a primary (in recovery): it has no final WAL position of its own to wait for`);
  }
  parseLsn(lsn);
  return lsn;
}

/** A promoted site's switch point: the last line of its current timeline's history file (superuser: pg_read_file). */
export const SWITCH_POINT_SQL = [
  "SELECT t.tli::text AS timeline, CASE WHEN t.tli > 1 THEN pg_read_file('pg_wal/' || lpad(upper(to_hex(t.tli)), 8, '0') || '.history') END AS history",
  "FROM (SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS tli) AS t",
].join("\n");

export async function switchPoint(transport: SqlTransport, site: string): Promise<{ timeline: number; switchPoint: LsnText }> {
  const row = only(await transport.query(SWITCH_POINT_SQL), `${site} switch point`);
  const timeline = Number(text(row, "timeline"));
  const history = text(row, "history");
  const last = history === undefined ? undefined : parseTimelineHistory(history).at(-1);
  if (!last) throw new Error(`${site} is on timeline ${timeline} with no switch in its history: it was never promoted from a standby`);
  return { timeline, switchPoint: last.switchPoint };
}

/** Single-quoted SQL literal. */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Re-points a plain Postgres standby (PG 15: reload is enough, recovery_target_timeline defaults to
 * latest). Two statements: ALTER SYSTEM cannot run inside the implicit transaction of a multi-statement query.
 * For TSB sites the operator owns primary_conninfo (the standby's synchronization endpoint); this is
 * what tests and manual repair use.
 */
export async function repointStandby(transport: SqlTransport, primaryConninfo: string): Promise<void> {
  await transport.query(`ALTER SYSTEM SET primary_conninfo = ${sqlLiteral(primaryConninfo)}`);
  await transport.query("SELECT pg_reload_conf()::text AS reloaded");
}

/**
 * d) Re-points `standby` to the promoted `newActive` only if it can follow its timeline (checked
 * BEFORE re-pointing: afterwards a standby that went past the switch point crash-loops).
 */
export async function followNewPrimary(
  standbyDb: SqlTransport,
  standby: string,
  newActive: string,
  switchPointLsn: LsnText,
  primaryConninfo: string,
): Promise<FollowDecision & { probe: ReplicationProbe }> {
  const probe = await probeReplication(standbyDb);
  const decision = followCheck(standby, newActive, probe, switchPointLsn);
  if (decision.action === "repoint") await repointStandby(standbyDb, primaryConninfo);
  return { ...decision, probe };
}
