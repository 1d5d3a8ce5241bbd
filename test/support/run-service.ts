// Runs one Mosaic service in this process, from TypeScript sources (tsx), for tests that
// need a real separate process to kill: `node --import tsx test/support/run-service.ts feed-worker`.
// The configuration comes from the environment, exactly as in production.
import { parseConfig } from '../../lib/config.js';
import { SERVICES } from '../../scripts/services.js';

const name = process.argv[2] ?? '';
const start = SERVICES[name];
if (!start) {
  console.error(`unknown service ${name}`);
  process.exit(2);
}
const running = await start(parseConfig(), 0);
console.log(`ready ${running.url}`);
process.once('SIGTERM', () => {
  void running.close().then(() => process.exit(0));
});
