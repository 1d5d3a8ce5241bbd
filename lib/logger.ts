// pino JSON logs, one logger per service, with the service name on every line.
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

export function createLogger(service: string, cfg: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino({
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
  });
}
