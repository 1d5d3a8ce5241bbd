// Every registry row (lib/registry.ts) can be started (scripts/services.ts) and is deployed:
// docker-compose.yml runs each subgraph and worker with its port, URL and database role,
// the gateway waits for every subgraph, and Prometheus scrapes them all. Compose files are
// written by hand, so this test is what keeps them in step with the registry. Only the
// gateway is behind nginx (deploy/nginx), which therefore knows no subgraph.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  SUBGRAPH_NAMES,
  SUBGRAPH_REGISTRY,
  WORKER_NAMES,
  WORKER_PORT_OFFSET,
} from '../../lib/registry.js';
import { SERVICES, SUBGRAPHS, WORKERS } from '../services.js';

interface ComposeService {
  command?: string[];
  environment?: Record<string, unknown>;
  expose?: string[];
  depends_on?: Record<string, { condition?: string }>;
}
interface Compose {
  'x-mosaic-env': Record<string, unknown>;
  'x-database-urls': Record<string, string>;
  services: Record<string, ComposeService>;
}

// Merge keys (`<<: *mosaic-env`) resolved, as compose does.
const compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true }) as Compose;
const envExample = await readFile('.env.example', 'utf8');
const prometheus = parse(await readFile('deploy/prometheus/prometheus.yml', 'utf8')) as {
  scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
};

const startCommand = (name: string) => ['node', 'dist/scripts/start.js', name, '--no-migrate'];
const env = (service: string) => compose.services[service]?.environment ?? {};

describe('services', () => {
  it('start every subgraph and worker of the registry, in its order, and the gateway', () => {
    expect(Object.keys(SUBGRAPHS)).toEqual(SUBGRAPH_NAMES);
    expect(Object.keys(WORKERS)).toEqual(WORKER_NAMES);
    expect(Object.keys(SERVICES)).toEqual([...SUBGRAPH_NAMES, ...WORKER_NAMES, 'gateway']);
  });
});

describe('docker-compose.yml', () => {
  it('runs each subgraph on its port, with its own database role', () => {
    const shared = compose['x-mosaic-env'];
    const migrate = env('migrate');
    for (const s of SUBGRAPH_REGISTRY) {
      const service = compose.services[s.name];
      expect(service, `services.${s.name}`).toBeDefined();
      expect(service!.command).toEqual(startCommand(s.name));
      expect(service!.expose).toEqual([String(s.port)]);
      expect(env(s.name).HEALTHCHECK_PORT).toBe(s.port);
      // Every container finds it by its compose name.
      expect(shared[s.urlEnv]).toBe(`http://${s.name}:${s.port}/graphql`);
      expect(shared[s.portEnv]).toBe(s.port);
      // Its role: the migrate job creates it, the service connects with it.
      const dbUrl = compose['x-database-urls'][s.name];
      expect(dbUrl, `x-database-urls.${s.name}`).toMatch(/^postgresql:\/\//);
      expect(env(s.name).DATABASE_URL).toBe(dbUrl);
      expect(migrate[s.databaseUrlEnv]).toBe(dbUrl);
      expect(compose.services.gateway!.depends_on?.[s.name]).toEqual({
        condition: 'service_healthy',
      });
    }
  });

  it('runs each worker apart, on its subgraph port + 100, with its subgraph database role', () => {
    for (const s of SUBGRAPH_REGISTRY) {
      for (const worker of s.workers) {
        const service = compose.services[worker];
        expect(service, `services.${worker}`).toBeDefined();
        expect(service!.command).toEqual(startCommand(worker));
        expect(env(worker).HEALTHCHECK_PORT).toBe(s.port + WORKER_PORT_OFFSET);
        expect(env(worker).DATABASE_URL).toBe(compose['x-database-urls'][s.name]);
      }
    }
  });

  it('starts no service the registry does not know', () => {
    const started = Object.values(compose.services)
      .map((s) => s.command)
      .filter((c) => c?.[1] === 'dist/scripts/start.js')
      .map((c) => c![2]!);
    expect(started.sort()).toEqual([...SUBGRAPH_NAMES, ...WORKER_NAMES, 'gateway'].sort());
  });

  it('takes every database password from a variable that .env.example sets', () => {
    for (const [name, url] of Object.entries(compose['x-database-urls'])) {
      const variables = [...url.matchAll(/\$\{(\w+)/g)].map((m) => m[1]!);
      expect(variables, `x-database-urls.${name}`).not.toEqual([]);
      for (const v of variables) expect(envExample).toMatch(new RegExp(`^${v}=`, 'm'));
    }
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  it('scrapes every subgraph and worker on its port', () => {
    const jobs = Object.fromEntries(
      prometheus.scrape_configs.map((j) => [j.job_name, j.dns_sd_configs[0]]),
    );
    for (const s of SUBGRAPH_REGISTRY) {
      expect(jobs[s.name]).toMatchObject({ names: [s.name], port: s.port });
      for (const w of s.workers)
        expect(jobs[w]).toMatchObject({ names: [w], port: s.port + WORKER_PORT_OFFSET });
    }
  });
});
