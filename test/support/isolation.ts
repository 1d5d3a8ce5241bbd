// Per-test-file isolation: its own database (cloned from the migrated template), its own
// Redis key prefix and its own NATS subject/stream prefix, so files run in parallel.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { adminUrl, baseUrl, natsUrl, redisUrl, templateDb } from './env.js';

export interface Isolation {
  id: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  natsUrl: string;
  natsPrefix: string;
  /** Environment for parseConfig(): everything pointed at this file's own resources. */
  env: Record<string, string>;
  /** Runs SQL against this file's database (for assertions on what was written). */
  query<R extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/**
 * `databaseUrl`: use this (already migrated) database instead of a clone of the template,
 * e.g. one on a private Postgres cluster; the caller creates and removes it.
 */
export async function isolate(opts: { databaseUrl?: string } = {}): Promise<Isolation> {
  const id = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `mosaic_test_${id}`;
  if (!opts.databaseUrl) {
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${database} TEMPLATE ${templateDb()}`);
    } finally {
      await admin.end();
    }
  }
  const databaseUrl = opts.databaseUrl ?? baseUrl(database);
  const iso: Isolation = {
    id,
    databaseUrl,
    redisUrl: redisUrl(),
    redisPrefix: `test:${id}:`,
    natsUrl: natsUrl(),
    natsPrefix: id,
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '5',
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: `test:${id}:`,
      NATS_URL: natsUrl(),
      NATS_PREFIX: id,
      ARGON2_MEMORY_KIB: '4096',
      ARGON2_TIME_COST: '1',
    },
    async query<R extends Record<string, unknown>>(sql: string, params: unknown[] = []) {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        return (await c.query<R>(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    async drop() {
      if (opts.databaseUrl) return;
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
  return iso;
}
