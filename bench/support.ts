// Shared benchmark plumbing: a fresh, migrated database per benchmark, isolated Redis and
// NATS prefixes, percentiles, and results written to bench/results/<name>.json.
// Benchmarks report ratios measured in the same run: machines differ, and so does this one
// from minute to minute.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { parseConfig } from '../lib/config.js';
import { migrate } from '../lib/platform/migrate.js';
import { connectNats, deleteStreams } from '../lib/platform/nats.js';
import { localSubgraphUrl, subgraphOf, type Subgraph } from '../lib/registry.js';

export interface BenchEnv {
  /** Environment for parseConfig(). */
  env: Record<string, string>;
  databaseUrl: string;
  drop(): Promise<void>;
}

const adminUrl = () =>
  process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function benchEnv(name: string): Promise<BenchEnv> {
  const database = `mosaic_bench_${name.replace(/[^a-z0-9_]/gi, '_')}`;
  const u = new URL(adminUrl());
  const admin = new pg.Client({ connectionString: u.toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  u.pathname = `/${database}`;
  const databaseUrl = u.toString();
  await migrate(databaseUrl, path.resolve('prisma/migrations'));
  const prefix = `bench_${name}`;
  return {
    databaseUrl,
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: databaseUrl,
      REDIS_KEY_PREFIX: `${prefix}:`,
      NATS_PREFIX: prefix,
      RATE_LIMIT_IP_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
    },
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await c.end();
      // The benchmark's streams and Redis keys go too (they carry its prefix).
      const cfg = parseConfig({ ...process.env, NODE_ENV: 'test', NATS_PREFIX: prefix });
      const nc = await connectNats(cfg, 'bench-cleanup').catch(() => null);
      if (nc) await deleteStreams(nc, prefix).finally(() => nc.close());
      const redis = new Redis(cfg.REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samplesMs: number[]): {
  n: number;
  p50: number;
  p99: number;
  max: number;
} {
  const s = [...samplesMs].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: s.length,
    p50: r(percentile(s, 50)),
    p99: r(percentile(s, 99)),
    max: r(s.at(-1) ?? NaN),
  };
}

export async function writeResults(
  name: string,
  results: Record<string, unknown>,
): Promise<string> {
  const dir = path.resolve('bench/results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const body = {
    benchmark: name,
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    results,
  };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  srv.close();
  return port;
}

/** A subgraph's registry row (a worker's name or a typo throws). */
function subgraphRow(name: string): Subgraph {
  const row = subgraphOf(name);
  if (row?.name !== name) throw new Error(`${name} is neither the gateway nor a subgraph`);
  return row;
}

/** The setting of a service's port: GATEWAY_PORT, or its registry row's (USER_PORT, ...). */
const portEnvOf = (name: string) =>
  name === 'gateway' ? 'GATEWAY_PORT' : subgraphRow(name).portEnv;

/**
 * The environment of services on this machine at these ports (name → port): each one's
 * port setting, and each subgraph's SUBGRAPH_<NAME>_URL so that the others find it.
 */
export function localServiceEnv(ports: Readonly<Record<string, number>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, port] of Object.entries(ports)) {
    env[portEnvOf(name)] = String(port);
    if (name !== 'gateway') env[subgraphRow(name).urlEnv] = localSubgraphUrl(port);
  }
  return env;
}

/**
 * Runs one service as its own process (`node dist/scripts/start.js <name>`), as deployed;
 * the environment must name its port (e.g. GRAPH_PORT). Resolves once /health answers.
 */
export async function startChild(
  name: string,
  env: Record<string, string>,
): Promise<{ url: string; port: number; pid: number; close(): Promise<void> }> {
  const portVar = portEnvOf(name);
  const port = env[portVar];
  if (!port) throw new Error(`startChild(${name}) needs ${portVar}`);
  const child = spawn(process.execPath, ['dist/scripts/start.js', name, '--no-migrate'], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 200 || child.exitCode !== null) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port: Number(port),
    pid: child.pid!,
    async close() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** A process's resident memory in bytes (Linux /proc), NaN once it has gone. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}
