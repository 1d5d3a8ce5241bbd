// npm run db:migrate — applies prisma/migrations to DATABASE_URL (see lib/platform/migrate.ts).
import { ConfigError, parseConfig } from '../lib/config.js';
import { MigrationError, migrate } from '../lib/platform/migrate.js';
import { ensureServiceRoles, serviceRoles } from '../lib/platform/db-roles.js';
import { preflight } from '../lib/platform/preflight.js';
import { developmentWhenRunByNpm } from './launcher-env.js';

developmentWhenRunByNpm();
try {
  const cfg = parseConfig();
  const missing = (await preflight(cfg)).filter((l) => l.startsWith('PostgreSQL'));
  if (missing.length) {
    console.error(missing.join('\n'));
    process.exit(1);
  }
  const result = await migrate(cfg.DATABASE_URL, 'prisma/migrations', (line) => console.log(line));
  console.log(
    `migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied`,
  );
  // Each service's own Postgres role, for the DATABASE_URL_<NAME> variables that are set.
  await ensureServiceRoles(cfg.DATABASE_URL, serviceRoles(cfg), (line) => console.log(line));
} catch (err) {
  if (err instanceof ConfigError || err instanceof MigrationError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
