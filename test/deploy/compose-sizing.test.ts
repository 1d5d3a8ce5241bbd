// docker-compose.yml's capacity and durability settings, recomputed from the files
// themselves: Postgres connections (every pool × replicas, plus the outbox relays' LISTEN
// sessions) against max_connections, Redis persistence and eviction for the revoked-session
// markers, and images pinned to exact versions.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandOption, loadCompose, postgresSetting } from './compose-config.js';

const compose = loadCompose();
const services = compose.services;
const docs = readFileSync('docs/deploy.md', 'utf8');

/** Postgres keeps these for superusers (its default superuser_reserved_connections). */
const SUPERUSER_RESERVED = 3;
/** Left over for the migrate job, psql, pg_dump and monitoring sessions. */
const OPERATOR_RESERVE = 20;

/** The subgraph whose code a compose service runs (`start.js <name>`). */
const startedAs = (name: string) => services[name]!.command?.[2];

/** Does this service's process run an outbox relay (a LISTEN session outside its pool)? */
function runsRelay(name: string): boolean {
  const started = startedAs(name)!;
  if (started === 'gateway' || started.endsWith('-worker')) {
    // Workers and the gateway start no relay: checked in the code they run.
    return false;
  }
  return readFileSync(`subgraphs/${started}/src/service.ts`, 'utf8').includes(
    'startConfiguredRelay(',
  );
}

/** The gateway's pool size, fixed in its code whatever DATABASE_POOL_SIZE says. */
function gatewayPool(): number {
  const m = /createPool\(\{ \.\.\.cfg, DATABASE_POOL_SIZE: (\d+) \}\)/.exec(
    readFileSync('gateway/src/server.ts', 'utf8'),
  );
  if (!m) throw new Error('gateway/src/server.ts: the gateway pool size is no longer fixed');
  return Number(m[1]);
}

describe('Postgres connections', () => {
  const pooled = Object.keys(services).filter(
    (name) => name !== 'migrate' && services[name]!.environment?.DATABASE_URL,
  );
  const rows = pooled.map((name) => {
    const env = services[name]!.environment!;
    const replicas = Number(services[name]!.deploy?.replicas ?? 1);
    const pool = name === 'gateway' ? gatewayPool() : Number(env.DATABASE_POOL_SIZE);
    const perReplica = pool + (runsRelay(name) ? 1 : 0);
    return { name, replicas, pool, perReplica, total: perReplica * replicas };
  });
  const total = rows.reduce((n, r) => n + r.total, 0);
  const max = Number(postgresSetting(services.postgres!.command, 'max_connections'));

  it('every pooled service sets its pool size (no implicit default of 10)', () => {
    expect(pooled.sort()).toEqual(
      [
        'engagement',
        'feed',
        'feed-worker',
        'gateway',
        'graph',
        'notification',
        'notification-worker',
        'post',
        'search',
        'search-worker',
        'user',
      ].sort(),
    );
    for (const r of rows) {
      expect(Number.isInteger(r.pool) && r.pool > 0, r.name).toBe(true);
      expect(r.replicas, r.name).toBeGreaterThan(0);
    }
    // The subgraphs with an outbox hold one more session each, for LISTEN.
    expect(
      rows
        .filter((r) => r.perReplica > r.pool)
        .map((r) => r.name)
        .sort(),
    ).toEqual(['engagement', 'graph', 'post', 'user']);
  });

  it('their sum stays under max_connections minus the reserves', () => {
    expect(max).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(max - SUPERUSER_RESERVED - OPERATOR_RESERVE);
  });

  it('docs/deploy.md states the same arithmetic', () => {
    expect(docs).toContain(`max_connections=${max}`);
    expect(docs).toContain(`**${total}**`);
    for (const r of rows) {
      const cells = [`\`${r.name}\``, r.pool, r.perReplica - r.pool, r.replicas, r.total];
      expect(docs, r.name).toMatch(new RegExp(`^\\|\\s*${cells.join('\\s*\\|\\s*')}\\s*\\|$`, 'm'));
    }
  });
});

describe('Redis keeps revoked-session markers through a restart', () => {
  const cmd = services.redis!.command;

  it('writes every change to its append-only file before answering, on a volume', () => {
    expect(commandOption(cmd, '--appendonly')).toBe('yes');
    expect(commandOption(cmd, '--appendfsync')).toBe('always');
    expect(services.redis!.volumes).toContain('redis-data:/data');
    expect(compose.volumes).toHaveProperty('redis-data');
  });

  it('caps memory and evicts least recently used keys with a TTL', () => {
    expect(commandOption(cmd, '--maxmemory')).toMatch(/^\d+(mb|gb)$/);
    expect(commandOption(cmd, '--maxmemory-policy')).toBe('volatile-lru');
  });
});

describe('images', () => {
  const exact = /:(v?\d+\.\d+\.\d+(-[a-z0-9.-]+)?|RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)$/;

  it('are pinned to exact versions (or built here from pinned sources)', () => {
    for (const [name, s] of Object.entries(services)) {
      // Mosaic's own image (Dockerfile, below) is tagged by MOSAIC_TAG.
      if (s.build === '.') continue;
      // Postgres numbers its releases major.minor (15.19 is one exact release).
      expect(s.image, name).toMatch(name === 'postgres' ? /^postgres:\d+\.\d+-bookworm$/ : exact);
    }
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const node = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)![1]!;
    expect(node).toMatch(exact);
    // The image runs the Node release CI tests with (the `node` devDependency).
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    expect(node).toBe(`node:${pkg.devDependencies.node}-bookworm-slim`);
    const minio = readFileSync('deploy/minio/Dockerfile', 'utf8');
    for (const arg of ['GO_IMAGE', 'RUNTIME_IMAGE']) {
      expect(new RegExp(`^ARG ${arg}=(\\S+)$`, 'm').exec(minio)![1], arg).toMatch(
        /:\d+\.\d+(\.\d+)?-(bookworm|slim)$/,
      );
    }
  });

  it('MinIO is a release from after the October 2025 advisory (CVE-2025-62506)', () => {
    const minio = readFileSync('deploy/minio/Dockerfile', 'utf8');
    const tag = /^ARG MINIO_TAG=RELEASE\.(\S+)$/m.exec(minio)![1]!;
    expect(tag >= '2025-10-15T17-29-55Z').toBe(true);
    expect(services.minio!.image).toBe(`mosaic-minio:RELEASE.${tag}`);
    expect(services['minio-init']!.image).toBe(services.minio!.image);
  });

  it('NATS is 2.10 or later, as nats.conf needs for sync_interval', () => {
    expect(readFileSync('deploy/nats/nats.conf', 'utf8')).toMatch(/^\s*sync_interval:/m);
    const [major, minor] = /^nats:(\d+)\.(\d+)\./.exec(services.nats!.image!)!.slice(1).map(Number);
    expect(major! > 2 || (major === 2 && minor! >= 10)).toBe(true);
  });
});
