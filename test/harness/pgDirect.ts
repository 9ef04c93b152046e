// The tests' SqlTransport: a direct node-postgres connection. Its own small module because the
// dynamic-provider tests serialize it into the provider process (a big module would be serialized along).
import type * as pgTypes from "pg";
import type { SqlTransport } from "../../lib/clients/sqlTransport";

/**
 * The tests' transport: a fresh connection per query (as production execs a fresh psql per probe),
 * so a stopped server only fails the query at hand. Values come back as text, as psql gives them.
 * `pg` is required inside, so this function also works inside a serialized dynamic provider.
 */
export function directTransport(access: { host: string; port: number; user: string; database: string; password?: string }): SqlTransport {
  return {
    async query(sql: string): Promise<Record<string, string | null>[]> {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pg = require("pg") as typeof pgTypes;
      const client = new pg.Client({ ...access, connectionTimeoutMillis: 5000, statement_timeout: 10_000 });
      client.on("error", () => undefined);
      await client.connect();
      try {
        const r = await client.query<Record<string, unknown>>(sql);
        return r.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null || v === undefined ? null : textOf(v)])));
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

/** Values as psql prints them: our SQL casts to text, so this only guards against other types. */
function textOf(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return v instanceof Date ? v.toISOString() : JSON.stringify(v);
}
