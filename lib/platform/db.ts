// PostgreSQL: one pg Pool per process, shared by Prisma (through @prisma/adapter-pg) and by
// the raw-SQL kernels (outbox relay, migrations, health checks).
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';

export { PrismaClient };
export type { Prisma } from '../generated/prisma/client.js';

/**
 * What a hot read path needs of a database: pg's `query` with a query config (the pool, or
 * a counting wrapper in tests). Entity loaders use it instead of Prisma: through Prisma's
 * client-side query compiler the same small batched selects cost several times the CPU.
 * They also name their statements (see `statement`).
 */
export interface Queryable {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/**
 * A named (prepared) statement: each pooled connection parses and plans it once, then only
 * binds and executes, which takes Postgres' parse/plan work off every feed page. Names are
 * per connection, so each must stay bound to one text.
 */
export function statement(name: string, text: string) {
  return (values: unknown[]): pg.QueryConfig => ({ name, text, values });
}

export type PoolConfig = Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE'> &
  Partial<
    Pick<
      Config,
      | 'DATABASE_STATEMENT_TIMEOUT_MS'
      | 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS'
      | 'DATABASE_CONNECT_TIMEOUT_MS'
    >
  >;

// bigint columns come back as JS strings by default; ids are decimal strings in GraphQL anyway.
export function createPool(cfg: PoolConfig): pg.Pool {
  const pool = new pg.Pool({
    connectionString: cfg.DATABASE_URL,
    max: cfg.DATABASE_POOL_SIZE,
    connectionTimeoutMillis: cfg.DATABASE_CONNECT_TIMEOUT_MS ?? 3000,
    idleTimeoutMillis: 30_000,
    // Sent as session settings when each connection starts, so they hold for Prisma's
    // queries (same pool) and the outbox listener (pool.options) too: a runaway query is
    // cancelled, and a transaction its client forgot no longer holds locks and a connection.
    // 0 leaves the server's setting (none by default); bulk scripts pass 0.
    statement_timeout: cfg.DATABASE_STATEMENT_TIMEOUT_MS ?? 15_000,
    idle_in_transaction_session_timeout: cfg.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS ?? 60_000,
  });
  // A client losing its connection must not crash the process: idle ones report through
  // the pool, checked-out ones (transactions) emit on themselves, and an 'error' event
  // without a listener is fatal in Node. The query in flight still rejects.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * Runs `fn` in a transaction on one pooled connection: COMMIT when it returns, ROLLBACK when
 * it throws (the error goes on), the connection released either way.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export function createPrisma(pool: pg.Pool): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}

/** Database name and a URL to the maintenance database on the same server. */
export function splitDatabaseUrl(databaseUrl: string): { database: string; adminUrl: string } {
  const u = new URL(databaseUrl);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  u.pathname = '/postgres';
  return { database, adminUrl: u.toString() };
}

/** Creates the database named in the URL when the server does not have it yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const { database, adminUrl } = splitDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (!rowCount) {
      await client
        .query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`)
        .catch((err: unknown) => {
          // Another process created it between our check and our CREATE.
          if ((err as { code?: string }).code !== '42P04') throw err;
        });
    }
  } finally {
    await client.end();
  }
}
