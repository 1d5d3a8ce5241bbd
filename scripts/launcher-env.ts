// npm's scripts (npm start, npm run db:migrate, seed, search:reindex) are the launchers of a
// development checkout (README): everything binds loopback there, so with NODE_ENV unset they
// say development explicitly and the built-in development secrets apply. lib/config.ts treats
// an unset NODE_ENV as production, which is what `node dist/scripts/...` gets anywhere else
// (the image and docker compose also set NODE_ENV=production).
import { ConfigError, parseConfig, type Config } from '../lib/config.js';

export function developmentWhenRunByNpm(env: NodeJS.ProcessEnv = process.env): void {
  if (env.npm_lifecycle_event && !env.NODE_ENV) env.NODE_ENV = 'development';
}

/** The launcher's configuration: development when run by npm, one line and exit 1 if invalid. */
export function launcherConfig(): Config {
  developmentWhenRunByNpm();
  try {
    return parseConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
