// The migration runner against a real, empty database: it must record migrations exactly
// as `prisma migrate deploy` does, skip applied ones, and leave nothing behind on failure.
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrationError, migrate } from '../migrate.js';
import { createPool } from '../db.js';
import { ensureServiceRoles, SERVICE_SCHEMAS, type ServiceRole } from '../db-roles.js';
import { adminUrl, baseUrl } from '../../../test/support/env.js';

const database = `mosaic_test_migrate_${process.pid}_${Date.now().toString(36)}`;
const url = baseUrl(database);

async function query<R extends Record<string, unknown>>(sql: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql)).rows;
  } finally {
    await c.end();
  }
}

// Roles are server-wide: named per run, dropped with the database.
const roleSuffix = `${process.pid}_${Date.now().toString(36)}`;
const role = (service: ServiceRole['service']): ServiceRole => ({
  service,
  role: `mosaic_${service}_${roleSuffix}`,
  password: `pw-${roleSuffix}-${service}`,
  schemas: SERVICE_SCHEMAS[service],
});
const roles = [role('post'), role('user'), role('search'), role('gateway')];

/** This file's database, as one of the service roles. */
function urlAs(r: ServiceRole): string {
  const u = new URL(url);
  u.username = r.role;
  u.password = r.password ?? '';
  return u.toString();
}

afterAll(async () => {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r.role)}`);
  await c.end();
});

describe('migrate', () => {
  it('creates the database, applies every migration and records it like prisma', async () => {
    const result = await migrate(url, path.resolve('prisma/migrations'));
    expect(result.applied.length).toBeGreaterThan(0);
    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
      id: string;
    }>(
      'SELECT id, migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(result.applied);
    for (const r of rows) {
      const sql = await readFile(
        path.resolve('prisma/migrations', r.migration_name, 'migration.sql'),
      );
      expect(r.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(r.finished_at).not.toBeNull();
      expect(r.applied_steps_count).toBe(1);
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    const tables = await query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'users' ORDER BY 1`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(['outbox', 'refresh_tokens', 'users']);
  });

  it('is idempotent', async () => {
    const again = await migrate(url, path.resolve('prisma/migrations'));
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied.length).toBeGreaterThan(0);
  });

  it('rolls back a failing migration, records it as rolled back, and retries it next time', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mosaic-migrations-'));
    try {
      await mkdir(path.join(dir, '20990101000000_bad'));
      await writeFile(
        path.join(dir, '20990101000000_bad', 'migration.sql'),
        'CREATE TABLE users.half_done (id int); SELECT * FROM no_such_table;',
      );
      await expect(migrate(url, dir)).rejects.toThrow(MigrationError);
      const leftover = await query(`SELECT to_regclass('users.half_done') AS t`);
      expect(leftover[0]?.t).toBeNull();
      const rec = await query<{ rolled_back_at: Date | null; logs: string }>(
        `SELECT rolled_back_at, logs FROM "_prisma_migrations" WHERE migration_name = '20990101000000_bad'`,
      );
      expect(rec[0]?.rolled_back_at).not.toBeNull();
      expect(rec[0]?.logs).toMatch(/no_such_table/);

      await writeFile(
        path.join(dir, '20990101000000_bad', 'migration.sql'),
        'CREATE TABLE users.half_done (id int);',
      );
      const fixed = await migrate(url, dir);
      expect(fixed.applied).toEqual(['20990101000000_bad']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('service roles', () => {
  const [post, user, search, gateway] = roles as [
    ServiceRole,
    ServiceRole,
    ServiceRole,
    ServiceRole,
  ];

  async function as<T>(r: ServiceRole, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: urlAs(r) });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  it('lets a role use its own schema: tables, id function, outbox and its NOTIFY', async () => {
    await migrate(url, path.resolve('prisma/migrations'));
    await ensureServiceRoles(url, roles);
    await ensureServiceRoles(url, roles); // idempotent
    await as(post, async (c) => {
      // The relay's LISTEN, on a connection of its own.
      const listener = new pg.Client({ connectionString: urlAs(post) });
      await listener.connect();
      try {
        await listener.query('LISTEN mosaic_outbox');
        const woken = new Promise((resolve) => listener.once('notification', resolve));
        await c.query('BEGIN');
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO posts.posts (author_id, caption) VALUES (1, 'hello') RETURNING id::text AS id`,
        );
        await c.query(
          `INSERT INTO posts.outbox (subject, payload) VALUES ('post.created', $1::jsonb)`,
          [JSON.stringify({ postId: rows[0]!.id })],
        );
        await c.query('COMMIT');
        expect(await woken).toMatchObject({ channel: 'mosaic_outbox', payload: 'posts' });
      } finally {
        await listener.end();
      }
      await c.query(`UPDATE posts.outbox SET published_at = now() WHERE published_at IS NULL`);
      await c.query(`DELETE FROM posts.outbox WHERE published_at IS NOT NULL`);
      const { rows } = await c.query<{ id: string }>('SELECT posts.next_id()::text AS id');
      expect(BigInt(rows[0]!.id)).toBeGreaterThan(0n);
    });
    await as(user, (c) => c.query('SELECT count(*) FROM users.refresh_tokens'));
    // pg_trgm (installed in public by the search migration) stays usable.
    await as(search, (c) =>
      c.query(`SELECT name FROM search.hashtags WHERE similarity(name, 'cafe') > 0.3`),
    );
  });

  it("denies every other subgraph's schema, DDL and, to the gateway, all data", async () => {
    const denied = /permission denied/;
    await as(post, async (c) => {
      await expect(c.query('SELECT * FROM users.users')).rejects.toThrow(denied);
      await expect(c.query('SELECT users.next_id()')).rejects.toThrow(denied);
      await expect(c.query('DELETE FROM graph.follows')).rejects.toThrow(denied);
      await expect(c.query('SELECT * FROM search.posts')).rejects.toThrow(denied);
      await expect(c.query('CREATE TABLE posts.extra (id int)')).rejects.toThrow(denied);
      await expect(c.query('CREATE TABLE public.extra (id int)')).rejects.toThrow(denied);
      await expect(c.query('DROP TABLE posts.posts')).rejects.toThrow(/must be owner/);
    });
    await as(user, (c) => expect(c.query('SELECT * FROM posts.posts')).rejects.toThrow(denied));
    await as(gateway, async (c) => {
      expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]); // readiness
      await expect(c.query('SELECT * FROM users.users')).rejects.toThrow(denied);
    });
  });

  it('takes a schema away when a role moves to another service', async () => {
    const moved: ServiceRole = { ...post, service: 'feed', schemas: SERVICE_SCHEMAS.feed };
    await ensureServiceRoles(url, [moved]);
    await as(post, async (c) => {
      await expect(c.query('SELECT * FROM posts.posts')).rejects.toThrow(/permission denied/);
      await c.query('SELECT count(*) FROM feed.posts');
    });
    await ensureServiceRoles(url, [post]);
    await as(post, (c) => c.query('SELECT count(*) FROM posts.posts'));
  });
});

describe('pool limits', () => {
  it('cancels statements over DATABASE_STATEMENT_TIMEOUT_MS; 0 means none', async () => {
    const pool = createPool({
      DATABASE_URL: url,
      DATABASE_POOL_SIZE: 1,
      DATABASE_STATEMENT_TIMEOUT_MS: 200,
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 5000,
    });
    try {
      await expect(pool.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
      const { rows } = await pool.query<{ s: string; i: string }>(
        `SELECT current_setting('statement_timeout') AS s,
                current_setting('idle_in_transaction_session_timeout') AS i`,
      );
      expect(rows[0]).toEqual({ s: '200ms', i: '5s' });
    } finally {
      await pool.end();
    }
    const defaults = createPool({ DATABASE_URL: url, DATABASE_POOL_SIZE: 1 });
    const unlimited = createPool({
      DATABASE_URL: url,
      DATABASE_POOL_SIZE: 1,
      DATABASE_STATEMENT_TIMEOUT_MS: 0,
    });
    try {
      const setting = async (p: pg.Pool) =>
        (await p.query<{ s: string }>(`SELECT current_setting('statement_timeout') AS s`)).rows[0]
          ?.s;
      expect(await setting(defaults)).toBe('15s');
      expect(await setting(unlimited)).toBe('0');
    } finally {
      await Promise.all([defaults.end(), unlimited.end()]);
    }
  });

  it('ends a transaction left idle past DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', async () => {
    const pool = createPool({
      DATABASE_URL: url,
      DATABASE_POOL_SIZE: 1,
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 200,
    });
    try {
      const client = await pool.connect();
      await client.query('BEGIN');
      await new Promise((r) => setTimeout(r, 600));
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await pool.end();
    }
  });
});
