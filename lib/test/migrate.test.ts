// The migration runner against a real, empty database: it must record migrations exactly
// as `prisma migrate deploy` does, skip applied ones, and leave nothing behind on failure.
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrationError, migrate } from '../migrate.js';
import { adminUrl, baseUrl } from '../../test/support/env.js';

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

afterAll(async () => {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
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
