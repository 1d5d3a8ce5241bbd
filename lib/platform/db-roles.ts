// Least privilege in Postgres: each subgraph can connect as a role of its own with rights on
// its own schemas only (its row in lib/registry.ts: user → users, post → posts, graph →
// graph, feed → feed, search → search; workers share their subgraph's), and the gateway, which only checks readiness,
// as a role with no schema at all. A role is configured by its URL, DATABASE_URL_<NAME>:
// the migration step (scripts/db-migrate.ts, npm start) creates the role named in it with
// the password in it, or updates that password, and grants; the service connects with it.
// Migrations themselves run as DATABASE_URL's user, which owns every object; default
// privileges extend the grants to what later migrations create.
import pg from 'pg';
import type { Config } from '../config.js';
import { bySubgraph, subgraphOf, type Subgraph, type SubgraphName } from '../registry.js';

export type DatabaseService = SubgraphName | 'gateway';

/**
 * The schemas each service reads and writes (outbox, sequences and id functions included):
 * a subgraph's from its registry row; the gateway's none.
 */
export const SERVICE_SCHEMAS: Readonly<Record<DatabaseService, readonly string[]>> = {
  ...bySubgraph((s) => s.schemas),
  gateway: [],
};

const URL_KEYS: Readonly<
  Record<DatabaseService, Subgraph['databaseUrlEnv'] | 'DATABASE_URL_GATEWAY'>
> = { ...bySubgraph((s) => s.databaseUrlEnv), gateway: 'DATABASE_URL_GATEWAY' };

/** The database identity of a service or worker name (`feed-worker` → `feed`). */
export function databaseService(name: string): DatabaseService | undefined {
  return name === 'gateway' ? name : subgraphOf(name)?.name;
}

/** The URL a service connects with: DATABASE_URL_<NAME> when set, else DATABASE_URL. */
export function serviceDatabaseUrl(cfg: Config, name: string): string {
  const service = databaseService(name);
  return (service && cfg[URL_KEYS[service]]) ?? cfg.DATABASE_URL;
}

/** Every DATABASE_URL_<NAME> variable (start.ts hands each child its own only). */
export const SERVICE_DATABASE_URL_KEYS: readonly string[] = Object.values(URL_KEYS);

export interface ServiceRole {
  service: DatabaseService;
  role: string;
  /** null: leave the role's password as it is (e.g. trust or peer authentication). */
  password: string | null;
  schemas: readonly string[];
}

/** The roles configured with DATABASE_URL_<NAME> (none by default). */
export function serviceRoles(cfg: Config): ServiceRole[] {
  return (Object.keys(URL_KEYS) as DatabaseService[]).flatMap((service) => {
    const url = cfg[URL_KEYS[service]];
    if (!url) return [];
    const u = new URL(url);
    const role = decodeURIComponent(u.username);
    if (!role) throw new Error(`${URL_KEYS[service]} names no user`);
    const password = u.password ? decodeURIComponent(u.password) : null;
    return [{ service, role, password, schemas: SERVICE_SCHEMAS[service] }];
  });
}

const ALL_SCHEMAS: readonly string[] = [...new Set(Object.values(SERVICE_SCHEMAS).flat())];
const ROLES_LOCK = 72707370; // next to the migrations' advisory lock key

/**
 * Creates or updates each role and sets its grants: USAGE on its schemas; SELECT, INSERT,
 * UPDATE, DELETE on their tables; USAGE, SELECT, UPDATE on their sequences (next_id());
 * EXECUTE on their functions; the same for objects created later (default privileges);
 * and nothing on the other services' schemas (revoked, in case a role moved). No role
 * may create objects. Idempotent; safe to run from several migration jobs at once.
 */
export async function ensureServiceRoles(
  databaseUrl: string,
  roles: readonly ServiceRole[],
  log: (line: string) => void = () => {},
): Promise<void> {
  if (roles.length === 0) return;
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ me: string; db: string }>(
      'SELECT current_user AS me, current_database() AS db',
    );
    const { me, db } = rows[0]!;
    const id = pg.escapeIdentifier;
    const { rows: present } = await client.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])',
      [ALL_SCHEMAS],
    );
    const schemas = present.map((r) => r.nspname);
    for (const r of roles) {
      if (r.role === me) {
        log(`database role ${r.role} (${r.service}) is the migration user; left as it is`);
        continue;
      }
      const { rows: existing } = await client.query<{ rolsuper: boolean }>(
        'SELECT rolsuper FROM pg_roles WHERE rolname = $1',
        [r.role],
      );
      if (existing[0]?.rolsuper)
        throw new Error(`database role ${r.role} (${r.service}) is a superuser; use another role`);
      const attrs = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS${
        r.password === null ? '' : ` PASSWORD ${pg.escapeLiteral(r.password)}`
      }`;
      if (!existing[0]) {
        await client.query(`CREATE ROLE ${id(r.role)} ${attrs}`).catch(async (err: unknown) => {
          // Another migration job (of another database on this server) created it first.
          if ((err as { code?: string }).code !== '42710') throw err;
          await client.query(`ALTER ROLE ${id(r.role)} ${attrs}`);
        });
      } else {
        await client.query(`ALTER ROLE ${id(r.role)} ${attrs}`);
      }
    }
    await client.query('BEGIN');
    try {
      // Concurrent GRANTs on one object fail with "tuple concurrently updated".
      await client.query('SELECT pg_advisory_xact_lock($1)', [ROLES_LOCK]);
      for (const r of roles) {
        if (r.role === me) continue;
        const role = id(r.role);
        await client.query(`GRANT CONNECT ON DATABASE ${id(db)} TO ${role}`);
        for (const s of schemas) {
          const schema = id(s);
          if (r.schemas.includes(s)) {
            await client.query(`
              GRANT USAGE ON SCHEMA ${schema} TO ${role};
              REVOKE CREATE ON SCHEMA ${schema} FROM ${role};
              GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role};
              GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role};
              GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${schema} TO ${role};
              ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema}
                GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role};
              ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema}
                GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${role};
              ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT EXECUTE ON FUNCTIONS TO ${role};`);
          } else {
            await client.query(`
              REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role};
              REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role};
              REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${schema} FROM ${role};
              REVOKE ALL ON SCHEMA ${schema} FROM ${role};
              ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON TABLES FROM ${role};
              ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON SEQUENCES FROM ${role};
              ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON FUNCTIONS FROM ${role};`);
          }
        }
        log(`database role ${r.role}: ${r.service}, schema ${r.schemas.join(', ') || '(none)'}`);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    await client.end();
  }
}
