// Before starting, check that Postgres, Redis and NATS answer, and say in one line per
// missing service how to start it, instead of a stack trace from deep inside a client.
import net from 'node:net';
import type { Config } from '../config.js';

const HOW_TO_START: Record<string, string> = {
  postgres:
    'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   (or: docker compose up -d postgres)',
  redis:
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no   (or: docker compose up -d redis)',
  nats: 'nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server &   (or: docker compose up -d nats)',
};

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const first = url.split(',')[0]!.trim();
  const u = new URL(first.includes('://') ? first : `nats://${first}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(u.port) || defaultPort,
  };
}

function canConnect(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Lines describing each unreachable dependency; empty when all answer. */
export async function preflight(cfg: Config): Promise<string[]> {
  const targets = {
    postgres: {
      url: cfg.DATABASE_URL,
      ...hostPort(cfg.DATABASE_URL, 5432),
      name: 'PostgreSQL',
      env: 'DATABASE_URL',
    },
    redis: {
      url: cfg.REDIS_URL,
      ...hostPort(cfg.REDIS_URL, 6379),
      name: 'Redis',
      env: 'REDIS_URL',
    },
    nats: {
      url: cfg.NATS_URL,
      ...hostPort(cfg.NATS_URL, 4222),
      name: 'NATS (JetStream)',
      env: 'NATS_URL',
    },
  };
  const results = await Promise.all(
    Object.entries(targets).map(async ([key, t]) =>
      (await canConnect(t.host, t.port)) ? null : { key, ...t },
    ),
  );
  return results
    .filter((r) => r !== null)
    .map(
      (r) =>
        `${r.name} is not reachable at ${r.host}:${r.port} (${r.env}). Start it with: ${HOW_TO_START[r.key]}`,
    );
}
