// A real PostgreSQL primary with streaming standbys, on loopback, in a temporary folder: what the
// replication tests run against (Debian's `postgresql` package; server binaries from `pg_config --bindir`).
// Facts this relies on: /work/shared/reference/postgres-replication-facts.md, "Pitfalls".
// Nodes share one port and differ by loopback address (see addressBlock), as a kubegres standby's
// endpoints differ only by host.
import { execFile, execFileSync, spawn } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { SqlTransport } from "../../lib/clients/sqlTransport";
import { directTransport } from "./pgDirect";

export { directTransport };

function run(cmd: string, args: string[], opts: { asPostgres: boolean; timeoutMs?: number }): Promise<string> {
  // initdb and postgres refuse to run as root: run them as `postgres` when we are root (CI).
  const [file, argv] = opts.asPostgres && process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, LC_ALL: "C.UTF-8" } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function bindir(): string {
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("PostgreSQL is not installed (no pg_config). Install it: apt-get install -y postgresql (docs/replication.md, Tests)");
  }
}

async function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port below Linux's ephemeral range (32768-60999), away from 5432, free on every one of `hosts`. */
async function freePort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 21000 + Math.floor(Math.random() * 10000);
    const free = await Promise.all(hosts.map((h) => portFree(port, h)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no port in 21000-31000 free on ${hosts.join(", ")}`);
}

// Each cluster gets its own 127.a.b.0/24 block (all of 127/8 is loopback on Linux): node i listens on
// 127.a.b.(10+i), every node on the cluster's one port, so two clusters in a process never clash and a
// standby's primary_conninfo differs between upstreams only by host, as production endpoints do.
const usedBlocks = new Set<string>();
function addressBlock(): string {
  for (;;) {
    const block = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}`;
    if (!usedBlocks.has(block)) {
      usedBlocks.add(block);
      return block;
    }
  }
}

export interface PgNode {
  name: string;
  /** The node's loopback address; every node of a cluster listens on the cluster's one port. */
  host: string;
  port: number;
  dir: string;
}

export type StopMode = "fast" | "immediate";

export class PgCluster {
  readonly root: string;
  readonly nodes: Record<string, PgNode> = {};
  readonly bin = bindir();
  private readonly block = addressBlock();
  private portNumber = 0;

  constructor() {
    this.root = mkdtempSync(path.join(tmpdir(), "tsbha-pg-"));
    if (process.getuid?.() === 0) {
      const id = (flag: string): number => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
      chownSync(this.root, id("-u"), id("-g"));
    }
  }

  /** The port every node of this cluster listens on (set by start). */
  get port(): number {
    return this.portNumber;
  }

  private pg(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
    return run(path.join(this.bin, cmd), args, { asPostgres: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  }

  /** Starts `primary` and one standby per name in `standbys`, all streaming from the primary. */
  async start(primary: string, standbys: string[]): Promise<void> {
    const names = [primary, ...standbys];
    const hosts = names.map((_, i) => `${this.block}.${10 + i}`);
    this.portNumber = await freePort(hosts);
    names.forEach((name, i) => {
      this.nodes[name] = { name, host: hosts[i]!, port: this.portNumber, dir: path.join(this.root, name) };
    });
    const p = this.node(primary);
    await this.pg("initdb", ["-D", p.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions", "--no-sync", "--wal-segsize=1"]);
    this.configure(p, [
      "wal_level = replica",
      "max_wal_senders = 10",
      "hot_standby = on",
      "fsync = off",
      // 1 MB segments (initdb --wal-segsize=1) recycle fast: keep enough for base backups and lagging standbys.
      "wal_keep_size = '128MB'",
      // Standbys retry a lost or re-pointed primary every 5 s by default.
      "wal_retrieve_retry_interval = '200ms'",
    ]);
    await this.startNode(primary);
    await Promise.all(standbys.map((s) => this.addStandby(s, primary)));
    await Promise.all(standbys.map((s) => this.waitStreaming(s)));
  }

  private configure(n: PgNode, lines: string[]): void {
    // pg_basebackup copies the source's postgresql.conf (listen address included); later lines win.
    // No Unix socket: nodes share the port, so their `.s.PGSQL.<port>` would clash in one folder;
    // every client connects over TCP to the node's address.
    appendFileSync(path.join(n.dir, "postgresql.conf"), ["", `listen_addresses = '${n.host}'`, `port = ${n.port}`, "unix_socket_directories = ''", ...lines, ""].join("\n"));
  }

  private async addStandby(name: string, from: string): Promise<void> {
    const n = this.node(name);
    await this.pg("pg_basebackup", ["-h", this.node(from).host, "-p", String(this.port), "-U", "postgres", "-D", n.dir, "-R", "-X", "stream", "-c", "fast"]);
    this.configure(n, []);
    await this.startNode(name);
  }

  node(name: string): PgNode {
    const n = this.nodes[name];
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** The node's address (its `host` in conninfo strings). */
  host(name: string): string {
    return this.node(name).host;
  }

  /** An address of this cluster's block on which nothing listens. */
  get nowhere(): string {
    return `${this.block}.250`;
  }

  /** Starts a stopped node with its data directory as it is (primary_conninfo from postgresql.auto.conf). */
  async startNode(name: string): Promise<void> {
    const n = this.node(name);
    await this.pg("pg_ctl", ["-D", n.dir, "-l", path.join(this.root, `${name}.log`), "-w", "-t", "30", "start"]);
  }

  /**
   * Stops a node (`pg_ctl -m fast|immediate`) and waits up to `waitSeconds` for the postmaster to exit;
   * rejects if it is still running then (the caller decides: the pod simulation kills it).
   */
  async stopNode(name: string, mode: StopMode = "fast", waitSeconds = 30): Promise<void> {
    const n = this.node(name);
    const pid = this.postmasterPid(n);
    if (pid === undefined || !isRunning(pid)) return;
    await this.pg("pg_ctl", ["-D", n.dir, "-m", mode, "-w", "-t", String(waitSeconds), "stop"], (waitSeconds + 5) * 1000);
    await this.waitExited(pid);
  }

  /**
   * SIGKILL to the postmaster and every child, as when a container's processes are killed: no shutdown at all.
   * The lock file stays; in a container the next postmaster is PID 1 of a new PID namespace and ignores it,
   * here the killed one lingers as a zombie (its adoptive parent may not reap) that Postgres would take for
   * a live server ("lock file postmaster.pid already exists"): so the lock file goes with it.
   */
  async killNode(name: string): Promise<void> {
    const pid = this.postmaster(name);
    if (pid === undefined) return;
    const children = childrenOf(pid);
    for (const p of [pid, ...children]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Promise.all([pid, ...children].map((p) => this.waitExited(p)));
    rmSync(path.join(this.node(name).dir, "postmaster.pid"), { force: true });
  }

  async restartNode(name: string): Promise<void> {
    await this.stopNode(name, "fast");
    await this.startNode(name);
  }

  /** Promotes a standby and waits for it (kubegres' trigger-file promotion ends in the same promotion). */
  async promote(name: string): Promise<void> {
    const rows = await this.sql(name, "SELECT pg_promote(true, 60)::text AS promoted");
    if (rows[0]?.["promoted"] !== "true") throw new Error(`${name} did not promote within 60 s`);
  }

  /** Points a standby at `upstream` (a node name) or, with null, at an address where nothing listens. */
  async setUpstream(name: string, upstream: string | null): Promise<void> {
    const host = upstream === null ? this.nowhere : this.host(upstream);
    await this.sql(name, `ALTER SYSTEM SET primary_conninfo = 'host=${host} port=${this.port} user=postgres'`);
    await this.sql(name, "SELECT pg_reload_conf()");
  }

  /** The running postmaster's pid, if any. */
  postmaster(name: string): number | undefined {
    const pid = this.postmasterPid(this.node(name));
    return pid !== undefined && isRunning(pid) ? pid : undefined;
  }

  private postmasterPid(n: PgNode): number | undefined {
    const f = path.join(n.dir, "postmaster.pid");
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** An exited postmaster can linger as a zombie: test its state, not the existence of its pid. */
  private async waitExited(pid: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (!isRunning(pid)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`postmaster ${pid} still running after stop`);
  }

  /** Every postmaster of this cluster is gone (none running, none left behind). */
  runningPostmasters(): number[] {
    return Object.keys(this.nodes)
      .map((n) => this.postmaster(n))
      .filter((pid): pid is number => pid !== undefined);
  }

  /** `pg_controldata` of the node's data directory, as field -> value. */
  async controlData(name: string): Promise<Record<string, string>> {
    const out = await this.pg("pg_controldata", ["-D", this.node(name).dir]);
    return Object.fromEntries(out.split("\n").filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")).trim(), l.slice(l.indexOf(":") + 1).trim()]));
  }

  access(name: string): { host: string; port: number; user: string; database: string } {
    return { host: this.host(name), port: this.port, user: "postgres", database: "postgres" };
  }

  conninfo(name: string): string {
    return `host=${this.host(name)} port=${this.port} user=postgres application_name=tsbha`;
  }

  transport(name: string): SqlTransport {
    return directTransport(this.access(name));
  }

  async sql(name: string, text: string): Promise<Record<string, string | null>[]> {
    return this.transport(name).query(text);
  }

  async waitStreaming(name: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.sql(name, "SELECT status FROM pg_stat_wal_receiver").catch(() => []);
      if (rows[0]?.["status"] === "streaming") return;
      if (Date.now() > deadline) throw new Error(`${name} not streaming after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(Object.keys(this.nodes).map((n) => this.stopNode(n, "immediate").catch(() => undefined)));
    const left = this.runningPostmasters();
    if (left.length > 0) throw new Error(`postmasters still running: ${left.join(", ")} (data in ${this.root})`);
    usedBlocks.delete(this.block);
    // Deleting freshly written data files waits for their writeback (measured: ~4 s for 3 nodes on
    // this VM's ext4): let a detached `rm` finish it after the tests.
    spawn("rm", ["-rf", this.root], { detached: true, stdio: "ignore" }).unref();
  }
}

/** Polls `f` (its failures count as "not yet") until it gives a value. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Pids whose parent is `pid` (from /proc/<pid>/stat, field 4). */
function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 3 (after "pid (comm)") is the state; Z = zombie, X = dead.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
