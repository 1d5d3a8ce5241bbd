// The subgraph registry (lib/registry.ts) is the only list of subgraphs: config, database
// roles and composition derive theirs from it under the setting names operators already
// use, and every subgraph folder has a row (and every row a folder).
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfig, subgraphUrl, subgraphUrlOverrides } from '../config.js';
import {
  SERVICE_DATABASE_URL_KEYS,
  SERVICE_SCHEMAS,
  databaseService,
  serviceDatabaseUrl,
  serviceRoles,
} from '../platform/db-roles.js';
import {
  SUBGRAPH_NAMES,
  SUBGRAPH_REGISTRY,
  WORKER_NAMES,
  WORKER_PORT_OFFSET,
  localSubgraphUrl,
  subgraphOf,
} from '../registry.js';
import { DEFAULT_SUBGRAPH_URLS } from '../schema/compose.js';

const dev = { NODE_ENV: 'test' };

describe('subgraph registry', () => {
  it('keeps names, ports, settings and schemas apart, under the usual setting names', () => {
    const all = <T>(pick: (s: (typeof SUBGRAPH_REGISTRY)[number]) => T) =>
      SUBGRAPH_REGISTRY.map(pick);
    const unique = (xs: readonly unknown[]) => expect(new Set(xs).size).toBe(xs.length);
    unique([...SUBGRAPH_NAMES, ...WORKER_NAMES, 'gateway']);
    unique([4000, ...all((s) => s.port), ...all((s) => s.port + WORKER_PORT_OFFSET)]);
    unique(all((s) => s.schemas).flat());
    for (const s of SUBGRAPH_REGISTRY) {
      const NAME = s.name.toUpperCase();
      expect(s.name).toMatch(/^[a-z][a-z0-9]*$/);
      expect([s.portEnv, s.urlEnv, s.databaseUrlEnv]).toEqual([
        `${NAME}_PORT`,
        `SUBGRAPH_${NAME}_URL`,
        `DATABASE_URL_${NAME}`,
      ]);
      for (const w of s.workers) expect(subgraphOf(w)).toBe(s);
    }
  });

  it('has a row for every subgraph folder with a schema, and a folder for every row', async () => {
    const folders = await readdir('subgraphs', { withFileTypes: true });
    const withSchema: string[] = [];
    for (const f of folders) {
      if (!f.isDirectory()) continue;
      const sdl = await readFile(`subgraphs/${f.name}/schema.graphql`, 'utf8').catch(() => null);
      if (sdl !== null) withSchema.push(f.name);
    }
    expect(withSchema.sort()).toEqual([...SUBGRAPH_NAMES].sort());
  });

  it('gives config a port, a URL override and a database URL per row', () => {
    const defaults = parseConfig(dev);
    const env: Record<string, string> = { ...dev };
    for (const [i, s] of SUBGRAPH_REGISTRY.entries()) {
      expect(defaults[s.portEnv]).toBe(s.port);
      expect(subgraphUrl(defaults, s.name)).toBe(`http://127.0.0.1:${s.port}/graphql`);
      env[s.portEnv] = String(5000 + i);
    }
    expect(subgraphUrlOverrides(defaults)).toEqual({});

    // A port setting moves the local URL; a URL setting wins over it.
    const moved = parseConfig({ ...env, SUBGRAPH_POST_URL: 'http://post:4002/graphql' });
    for (const [i, s] of SUBGRAPH_REGISTRY.entries()) {
      expect(moved[s.portEnv]).toBe(5000 + i);
      expect(subgraphUrl(moved, s.name)).toBe(
        s.name === 'post' ? 'http://post:4002/graphql' : localSubgraphUrl(5000 + i),
      );
    }
    expect(subgraphUrlOverrides(moved)).toEqual({ post: 'http://post:4002/graphql' });

    for (const s of SUBGRAPH_REGISTRY) {
      expect(() => parseConfig({ ...dev, [s.urlEnv]: 'not a url' })).toThrow(s.urlEnv);
      expect(() => parseConfig({ ...dev, [s.portEnv]: 'abc' })).toThrow(s.portEnv);
      expect(() => parseConfig({ ...dev, [s.databaseUrlEnv]: 'nope' })).toThrow(s.databaseUrlEnv);
    }
  });

  it('gives each subgraph and its workers their own database role, the gateway one with no schema', () => {
    expect([...SERVICE_DATABASE_URL_KEYS].sort()).toEqual(
      [...SUBGRAPH_REGISTRY.map((s) => s.databaseUrlEnv), 'DATABASE_URL_GATEWAY'].sort(),
    );
    expect(SERVICE_SCHEMAS).toEqual({
      ...Object.fromEntries(SUBGRAPH_REGISTRY.map((s) => [s.name, s.schemas])),
      gateway: [],
    });
    const env: Record<string, string> = { ...dev };
    for (const s of SUBGRAPH_REGISTRY)
      env[s.databaseUrlEnv] = `postgresql://mosaic_${s.name}:pw@127.0.0.1:5432/mosaic`;
    const cfg = parseConfig(env);
    for (const s of SUBGRAPH_REGISTRY) {
      for (const name of [s.name, ...s.workers]) {
        expect(databaseService(name)).toBe(s.name);
        expect(serviceDatabaseUrl(cfg, name)).toBe(env[s.databaseUrlEnv]);
      }
    }
    expect(databaseService('gateway')).toBe('gateway');
    expect(serviceDatabaseUrl(cfg, 'gateway')).toBe(cfg.DATABASE_URL);
    expect(databaseService('nobody')).toBeUndefined();
    expect(serviceRoles(cfg).map((r) => [r.service, r.role, r.schemas])).toEqual(
      SUBGRAPH_REGISTRY.map((s) => [s.name, `mosaic_${s.name}`, s.schemas]),
    );
  });

  it('composes each subgraph at its default local URL', () => {
    expect(DEFAULT_SUBGRAPH_URLS).toEqual(
      Object.fromEntries(SUBGRAPH_REGISTRY.map((s) => [s.name, localSubgraphUrl(s.port)])),
    );
  });

  it("has Prisma's datasource list every subgraph's schema", async () => {
    const prisma = await readFile('prisma/schema.prisma', 'utf8');
    const listed = /^\s*schemas\s*=\s*\[([^\]]*)\]/m.exec(prisma)?.[1] ?? '';
    const schemas = [...listed.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    for (const s of SUBGRAPH_REGISTRY)
      expect(schemas).toEqual(expect.arrayContaining([...s.schemas]));
  });
});
