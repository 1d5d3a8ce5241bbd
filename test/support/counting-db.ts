// A pg pool on a test file's database behind a Queryable that counts the statements it
// runs: entity-loader tests assert how many queries a batch of lookups costs.
import type pg from 'pg';
import { createPool, type Queryable } from '../../lib/platform/db.js';

export interface CountingDb {
  db: Queryable;
  pool: pg.Pool;
  /** Statements run through `db` so far. */
  queries(): number;
  end(): Promise<void>;
}

export function countingDb(databaseUrl: string): CountingDb {
  const pool = createPool({ DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: 2 });
  let queries = 0;
  return {
    db: {
      query: (config) => {
        queries++;
        return pool.query(config);
      },
    },
    pool,
    queries: () => queries,
    end: () => pool.end(),
  };
}
