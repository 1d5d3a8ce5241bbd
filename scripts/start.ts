// npm start — applies migrations, then runs the gateway and every subgraph, each in its
// own child process (one crash does not take the others down; a crashed one restarts).
//   node dist/scripts/start.js                  everything
//   node dist/scripts/start.js user gateway     only these (docker compose runs one each)
//   node dist/scripts/start.js feed-worker      the feed materializer alone (scale it apart)
//   --no-migrate                                skip migrations (compose has a migrate job)
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../lib/platform/logger.js';
import { closeOnSignals } from '../lib/platform/http/server.js';
import { migrate } from '../lib/platform/migrate.js';
import {
  ensureServiceRoles,
  SERVICE_DATABASE_URL_KEYS,
  serviceDatabaseUrl,
  serviceRoles,
} from '../lib/platform/db-roles.js';
import { preflight } from '../lib/platform/preflight.js';
import { launcherConfig } from './launcher-env.js';
import { SERVICES, WORKERS } from './services.js';

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !(n in SERVICES));

// `npm start` is the local launcher; children inherit the NODE_ENV it settles on.
const cfg = launcherConfig();
if (unknown.length) {
  console.error(
    `unknown service(s): ${unknown.join(', ')}; known: ${Object.keys(SERVICES).join(', ')}`,
  );
  process.exit(1);
}
const logger = createLogger(process.env.MOSAIC_CHILD ? `start:${names[0]}` : 'start', cfg);

const problems = await preflight(cfg);
if (problems.length) {
  for (const line of problems) console.error(line);
  process.exit(1);
}

if (process.env.MOSAIC_CHILD || names.length === 1) {
  // Run one service in this process.
  const name = names[0] ?? 'gateway';
  // Its own Postgres role when DATABASE_URL_<NAME> is set (lib/platform/db-roles.ts).
  const running = await SERVICES[name]!({ ...cfg, DATABASE_URL: serviceDatabaseUrl(cfg, name) });
  closeOnSignals(logger, () => running.close());
} else {
  if (!args.includes('--no-migrate')) {
    const result = await migrate(cfg.DATABASE_URL, 'prisma/migrations', (line) =>
      logger.info(line),
    );
    logger.info({ applied: result.applied.length }, 'migrations up to date');
    await ensureServiceRoles(cfg.DATABASE_URL, serviceRoles(cfg), (line) => logger.info(line));
  }
  // By default every subgraph (each with its workers in-process) and the gateway.
  const wanted = names.length ? names : Object.keys(SERVICES).filter((n) => !(n in WORKERS));
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const spawn = (name: string) => {
    // Each child gets its own database URL only: neither the migration user's nor another
    // service's role (the same as one container per service in compose).
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MOSAIC_CHILD: '1',
      DATABASE_URL: serviceDatabaseUrl(cfg, name),
    };
    for (const key of SERVICE_DATABASE_URL_KEYS) delete env[key];
    const child = fork(fileURLToPath(import.meta.url), [name], { env });
    children.set(name, child);
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (stopping) {
        logger.info({ service: name, code, signal }, 'service stopped');
        return;
      }
      logger.error({ service: name, code, signal }, 'service exited; restarting in 1 s');
      setTimeout(() => spawn(name), 1000).unref();
    });
  };
  for (const name of wanted) spawn(name);
  closeOnSignals(logger, async () => {
    stopping = true;
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  });
}
