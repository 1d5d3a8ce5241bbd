// pino logs, one logger per service, with the service name on every line. JSON lines (what
// log collectors read) unless a person is watching: in development with stdout a terminal
// the lines are pretty-printed by pino-pretty. That is a devDependency, absent from the
// production image, so when it cannot be loaded the lines stay JSON.
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { Config } from '../config.js';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * Pretty only for a person at a terminal in development: stdout a TTY, NODE_ENV said to be
 * `development` (npm start sets it when unset) and something to print. Production, tests,
 * pipes, files and containers' log drivers get JSON.
 */
export function logFormat(opts: {
  isTTY: boolean | undefined;
  nodeEnv: string | undefined;
  level: string;
}): LogFormat {
  return opts.isTTY === true && opts.nodeEnv === 'development' && opts.level !== 'silent'
    ? 'pretty'
    : 'json';
}

const requireHere = createRequire(import.meta.url);

/**
 * A pino-pretty stream, written synchronously (a line logged just before the process exits
 * is not lost) to `destination` (stdout by default); null when pino-pretty cannot be loaded.
 */
export function openPrettyStream(
  destination?: NodeJS.WritableStream,
  load: () => typeof PinoPretty = () => requireHere('pino-pretty') as typeof PinoPretty,
): DestinationStream | null {
  let build: typeof PinoPretty;
  try {
    build = load();
  } catch {
    return null;
  }
  return build({
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // `name` already shows the service; pid and host say nothing on one machine.
    ignore: 'pid,hostname,service',
    ...(destination ? { destination } : {}),
  });
}

export function createLogger(
  service: string,
  cfg: Pick<Config, 'LOG_LEVEL'> & Partial<Pick<Config, 'NODE_ENV'>>,
): Logger {
  const options = {
    name: service,
    level: cfg.LOG_LEVEL,
    base: { service },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-mosaic-context"]',
        'req.headers["x-mosaic-service"]',
        '*.password',
        '*.refreshToken',
      ],
      censor: '[redacted]',
    },
  };
  const format = logFormat({
    isTTY: process.stdout.isTTY,
    nodeEnv: cfg.NODE_ENV,
    level: cfg.LOG_LEVEL,
  });
  const pretty = format === 'pretty' ? openPrettyStream() : null;
  return pretty ? pino(options, pretty) : pino(options);
}
