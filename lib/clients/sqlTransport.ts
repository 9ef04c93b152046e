// How the program talks to a site's Postgres: SQL, and a shell in its container. Production runs them
// through pod exec (podExec.ts); the real-Postgres tests through a direct connection.
/** Runs one SQL string; rows as column -> text (NULL as null). */
export interface SqlTransport {
  query(sql: string): Promise<Record<string, string | null>[]>;
}

/** What a shell command in the database's container returned. */
export interface ShellResult {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

/** One site's database: SQL through psql, and a shell in its container (PGDATA and the server's binaries at hand). */
export interface SiteDb extends SqlTransport {
  shell(script: string): Promise<ShellResult>;
  /** How psql is invoked inside the container (user, database, password from the container's env), for scripts. */
  psql: string;
  /** Which pod answers (for messages). */
  where: string;
}
