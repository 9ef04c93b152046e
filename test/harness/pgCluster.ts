// A real PostgreSQL primary with streaming standbys, on loopback, in a temporary folder: what the
// replication tests run against (Debian's `postgresql` package; server binaries from `pg_config --bindir`).
// Facts this relies on: /work/shared/reference/postgres-replication-facts.md, "Pitfalls".
import { execFile, execFileSync, spawn } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { SqlTransport } from "../../lib/replicationProbe";
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

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** Loopback ports below Linux's ephemeral range (32768-60999) and away from 5432. */
async function freePorts(n: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 21000 + Math.floor(Math.random() * 10000);
    const ports = Array.from({ length: n }, (_, i) => base + i);
    const free = await Promise.all(ports.map(portFree));
    if (free.every(Boolean)) return ports;
  }
  throw new Error("no free loopback ports found in 21000-31000");
}

export interface PgNode {
  name: string;
  port: number;
  dir: string;
}

export class PgCluster {
  readonly root: string;
  readonly nodes: Record<string, PgNode> = {};
  private readonly bin = bindir();

  constructor() {
    this.root = mkdtempSync(path.join(tmpdir(), "tsbha-pg-"));
    if (process.getuid?.() === 0) {
      const id = (flag: string): number => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
      chownSync(this.root, id("-u"), id("-g"));
    }
  }

  private pg(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
    return run(path.join(this.bin, cmd), args, { asPostgres: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  }

  /** Starts `primary` and one standby per name in `standbys`, all streaming from the primary. */
  async start(primary: string, standbys: string[]): Promise<void> {
    const ports = await freePorts(1 + standbys.length);
    const p: PgNode = { name: primary, port: ports[0]!, dir: path.join(this.root, primary) };
    this.nodes[primary] = p;
    await this.pg("initdb", ["-D", p.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions", "--no-sync", "--wal-segsize=1"]);
    this.configure(p, [
      "listen_addresses = '127.0.0.1'",
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
    await Promise.all(standbys.map((s, i) => this.addStandby(s, ports[i + 1]!, primary)));
    await Promise.all(standbys.map((s) => this.waitStreaming(s)));
  }

  private configure(n: PgNode, lines: string[]): void {
    // pg_basebackup copies the source's postgresql.conf (port included); later lines win.
    appendFileSync(path.join(n.dir, "postgresql.conf"), ["", `port = ${n.port}`, `unix_socket_directories = '${this.root}'`, ...lines, ""].join("\n"));
  }

  private async addStandby(name: string, port: number, from: string): Promise<void> {
    const n: PgNode = { name, port, dir: path.join(this.root, name) };
    this.nodes[name] = n;
    await this.pg("pg_basebackup", ["-h", "127.0.0.1", "-p", String(this.node(from).port), "-U", "postgres", "-D", n.dir, "-R", "-X", "stream", "-c", "fast"]);
    this.configure(n, []);
    await this.startNode(name);
  }

  node(name: string): PgNode {
    const n = this.nodes[name];
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  async startNode(name: string): Promise<void> {
    const n = this.node(name);
    await this.pg("pg_ctl", ["-D", n.dir, "-l", path.join(this.root, `${name}.log`), "-w", "-t", "30", "start"]);
  }

  async stopNode(name: string, mode: "fast" | "immediate" = "fast"): Promise<void> {
    const n = this.node(name);
    const pid = this.postmasterPid(n);
    if (pid === undefined) return;
    await this.pg("pg_ctl", ["-D", n.dir, "-m", mode, "-w", "-t", "30", "stop"]);
    await this.waitExited(pid);
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
    return Object.values(this.nodes)
      .map((n) => this.postmasterPid(n))
      .filter((pid): pid is number => pid !== undefined && isRunning(pid));
  }

  access(name: string): { host: string; port: number; user: string; database: string } {
    return { host: "127.0.0.1", port: this.node(name).port, user: "postgres", database: "postgres" };
  }

  conninfo(name: string): string {
    return `host=127.0.0.1 port=${this.node(name).port} user=postgres application_name=tsbha`;
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
    // Deleting freshly written data files waits for their writeback (measured: ~4 s for 3 nodes on
    // this VM's ext4): let a detached `rm` finish it after the tests.
    spawn("rm", ["-rf", this.root], { detached: true, stdio: "ignore" }).unref();
  }
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
