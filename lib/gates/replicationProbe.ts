// The probe: the SQL that reads one site's replication state and its translation into a
// ReplicationProbe. The SAME code runs in production (through `kubectl exec`-like pod exec, see
// lib/clients/podExec.ts) and in the real-Postgres tests (a direct connection); only the transport differs.
// Every column is cast to text so both transports return the same strings (psql prints booleans as
// t/f, node-postgres as true/false: ::text gives "true"/"false" in both).
import { formatLsn, parseLsn, siteTimeline, standbyPosition, type LsnText, type ReplicationProbe, type WalTail } from "./replication";
import { timelineHistory, type TimelineHistory } from "./replicationFollow";
import type { SiteDb, SqlTransport } from "../clients/sqlTransport";

const epoch = (expr: string): string => `extract(epoch FROM ${expr})::text`;

/**
 * One statement, one row. Timeline: on a primary from its current WAL file name (immediate after a
 * promotion); on a standby from the last checkpoint (lags a checkpoint; informational only), with the
 * receiver's received_tli and the timeline of the newest WAL segment file beside it (lib/gates/replication.ts siteTimeline).
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
  " w.received_tli::text AS received_tli,",
  " (SELECT ('x' || substr(max(name), 1, 8))::bit(32)::int FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$')::text AS wal_timeline,",
  " (SELECT ('x' || substr(max(name), 1, 8))::bit(32)::int FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{8}[.]history$')::text AS known_timeline,",
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

function timelineOf(row: Record<string, string | null>, col: string): number | undefined {
  const v = text(row, col);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`probe: ${col} is ${JSON.stringify(v)}, expected a timeline number`);
  return Number(v);
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
  set("timeline", timelineOf(row, "timeline"));
  set("receivedTimeline", timelineOf(row, "received_tli"));
  set("walTimeline", timelineOf(row, "wal_timeline"));
  set("knownTimeline", timelineOf(row, "known_timeline"));
  return p;
}

export async function probeReplication(transport: SqlTransport): Promise<ReplicationProbe> {
  return parseProbeRow(only(await transport.query(PROBE_SQL), "replication probe"));
}

/** A running primary's position and timeline, in its OWN statement (inside a transaction the insert position is ahead of the last commit). */
export const PRIMARY_POSITION_SQL =
  "SELECT pg_is_in_recovery()::text AS in_recovery, CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn, " +
  "CASE WHEN pg_is_in_recovery() THEN NULL ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int::text END AS timeline";

export async function primaryPosition(db: SqlTransport, site: string): Promise<{ lsn: LsnText; timeline: number }> {
  const row = only(await db.query(PRIMARY_POSITION_SQL), `${site} WAL position`);
  const lsn = text(row, "lsn");
  const timeline = timelineOf(row, "timeline");
  if (row["in_recovery"] !== "false" || lsn === undefined || timeline === undefined) {
    throw new Error(`${site}'s Postgres is not a primary (in recovery): it has no WAL position of its own to wait for`);
  }
  parseLsn(lsn);
  return { lsn, timeline };
}

/** A timeline's history file from pg_wal (superuser: pg_read_file; missing_ok), absent for timeline 1. */
export const historyFileSql = (timeline: number): string =>
  `SELECT pg_read_file('pg_wal/' || lpad(upper(to_hex(${Math.trunc(timeline)})), 8, '0') || '.history', 0, 1048576, true) AS history`;

/** The history of `timeline` as `site` holds it (a primary's current one, or a standby's). */
export async function readTimelineHistory(db: SqlTransport, site: string, timeline: number): Promise<TimelineHistory> {
  if (timeline <= 1) return timelineHistory(timeline, undefined);
  const row = only(await db.query(historyFileSql(timeline)), `${site} timeline ${timeline} history`);
  const file = text(row, "history");
  if (file === undefined) throw new Error(`${site} has no history file for its timeline ${timeline} (pg_wal/${timeline.toString(16).toUpperCase().padStart(8, "0")}.history)`);
  return timelineHistory(timeline, file);
}

/** A promoted site's history: its current timeline (from its WAL file name) and the forks before it. */
export async function primaryHistory(db: SqlTransport, site: string): Promise<TimelineHistory & { timeline: number }> {
  const { timeline } = await primaryPosition(db, site);
  const h = await readTimelineHistory(db, site, timeline);
  if (h.forks.length === 0) throw new Error(`${site} is on timeline ${timeline} with no switch in its history: it was never promoted from a standby`);
  return { ...h, timeline };
}

const WAL_PAGE = 8192n;

/**
 * Where to start reading a standby's last records: one WAL page before the page that holds its last
 * byte, so the last record (a shutdown checkpoint is 114 bytes: at most two pages) starts inside the
 * range; pg_waldump finds the first record from any position (XLogFindNextRecord).
 */
export function tailScanStart(end: LsnText): LsnText {
  const last = parseLsn(end) - 1n;
  const page = (last < 0n ? 0n : last) / WAL_PAGE * WAL_PAGE;
  return formatLsn(page >= WAL_PAGE ? page - WAL_PAGE : 0n);
}

/** pg_waldump's last lines -> the last valid record; throws when there is none (its output holds no secret). */
export function parseWalTail(output: string, timeline: number): WalTail {
  const records = [...output.matchAll(/^rmgr: .*?lsn: ([0-9A-Fa-f]+\/[0-9A-Fa-f]+), prev [^,]*, desc: (.*)$/gm)];
  const last = records.at(-1);
  if (!last) throw new Error(`pg_waldump found no WAL record: ${output.trim().split("\n").slice(-3).join(" | ") || "no output"}`);
  const end = /invalid record length at ([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(output.slice(last.index));
  const description = (last[2] ?? "").trim();
  return {
    timeline,
    lastLsn: formatLsn(parseLsn(last[1] ?? "")),
    ...(end?.[1] ? { endLsn: formatLsn(parseLsn(end[1])) } : {}),
    description,
    shutdown: description.startsWith("CHECKPOINT_SHUTDOWN"),
  };
}

/** Prints a standby's last WAL records: pg_waldump of the server's own binaries (on PATH in the official postgres image; [guess] for TSB's). */
export function walTailScript(timeline: number, start: LsnText): string {
  parseLsn(start);
  return `pg_waldump --path="$PGDATA/pg_wal" --timeline=${Math.trunc(timeline)} --start=${start} 2>&1 | tail -n 6`;
}

/** The last valid WAL record `site` holds, read from its own pg_wal (after its primary stopped). */
export async function walTail(db: SiteDb, site: string, probe: ReplicationProbe): Promise<WalTail> {
  const end = standbyPosition(probe);
  const timeline = siteTimeline(probe);
  if (end === undefined || timeline === undefined) throw new Error(`${site} holds no WAL (no received or replayed position)`);
  const r = await db.shell(walTailScript(timeline, tailScanStart(end)));
  if (r.exitCode !== 0) throw new Error(`${site}: pg_waldump in ${db.where} exited ${r.exitCode ?? "without a status"}: ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" | ")}`);
  try {
    return parseWalTail(r.stdout, timeline);
  } catch (e) {
    throw new Error(`${site} (${db.where}): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Re-points a standby to `host`, keeping every other part of its primary_conninfo (user, password,
 * port, TLS): kubegres wrote it once, at the first base backup (copy_primary_data_to_replica.sh), and
 * never again; PG 15 applies it on reload, and recovery_target_timeline = latest then follows the new
 * timeline. One psql script inside the pod: the conninfo holds the replication password, so it is
 * read and written there (\gset) and never printed, and the statement is kept out of the server log.
 */
export function repointScript(psql: string, host: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new Error(`"${host}" is not a host name or address`);
  return [
    `${psql} -v host=${host} <<'TSBHA_SQL'`,
    "SET log_statement = 'none';",
    String.raw`SELECT regexp_replace(current_setting('primary_conninfo'), '(^|\s)host=(''([^'']|'''')*''|\S*)', '', 'g') || ' host=' || :'host' AS conninfo \gset`,
    "ALTER SYSTEM SET primary_conninfo = :'conninfo';",
    "SELECT pg_reload_conf();",
    "TSBHA_SQL",
  ].join("\n");
}

export async function repointStandby(db: SiteDb, site: string, host: string): Promise<void> {
  const r = await db.shell(repointScript(db.psql, host));
  if (r.exitCode !== 0) throw new Error(`${site}: re-pointing ${db.where} to ${host} failed (exit ${r.exitCode ?? "?"}): ${r.stderr.trim().split("\n").slice(0, 2).join(" | ") || "no message"}`);
}
