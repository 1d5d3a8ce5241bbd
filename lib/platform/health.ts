// Readiness probes for the services a process depends on. Each probe has its own short
// timeout so one hung dependency cannot hang /ready.
import type pg from 'pg';
import type { RedisClient as Redis } from './redis.js';
import type { NatsConnection } from '@nats-io/transport-node';

export type Probe = () => Promise<void>;
export interface ReadyReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string; ms: number }>;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export const postgresProbe =
  (pool: pg.Pool): Probe =>
  async () => {
    await pool.query('SELECT 1');
  };

export const redisProbe =
  (redis: Redis): Probe =>
  async () => {
    await redis.ping();
  };

export const natsProbe =
  (nc: NatsConnection): Probe =>
  async () => {
    if (nc.isClosed()) throw new Error('connection closed');
    await nc.flush();
  };

export async function checkReady(
  probes: Record<string, Probe>,
  timeoutMs = 1500,
): Promise<ReadyReport> {
  type Check = ReadyReport['checks'][string];
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]): Promise<[string, Check]> => {
      const start = performance.now();
      try {
        await withTimeout(probe(), timeoutMs);
        return [name, { ok: true, ms: Math.round(performance.now() - start) }];
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        return [name, { ok: false, error, ms: Math.round(performance.now() - start) }];
      }
    }),
  );
  const checks: ReadyReport['checks'] = Object.fromEntries(entries);
  return { ready: entries.every(([, c]) => c.ok), checks };
}
