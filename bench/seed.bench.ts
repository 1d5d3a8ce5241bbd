// npm run bench seed — a newcomer's first hour, measured: `npm run seed -- --users 20000
// --posts-per-user 5` into a fresh database (time per phase), then the services started
// as `npm start` runs them (each its own process) and timed until the feed materializer
// and the search indexer have consumed every post.created event (seed --wait), then the
// demo login's home feed through the gateway: one client reading pages back to back (the
// answer time a person sees) and a light load of 4 connections (autocannon, own process).
//   BENCH_SEED_USERS, BENCH_SEED_POSTS_PER_USER  data set (default 20000, 5)
//   BENCH_SEED_ANALYZE=0  the seed as it was: no VACUUM (ANALYZE) of the seeded tables and
//                         no ANALYZE of the projections, for comparison
// Results: bench/results/seed.json, one entry per mode (`current`, `withoutAnalyze`).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../lib/config.js';
import {
  DEMO_PASSWORD,
  DEMO_USERNAME,
  remaining,
  seed,
  waitForDrain,
  type DrainState,
} from '../scripts/seed.js';
import { benchEnv, freePort, startChild, summarize, writeResults } from './support.js';

const USERS = Number(process.env.BENCH_SEED_USERS ?? 20_000);
const POSTS_PER_USER = Number(process.env.BENCH_SEED_POSTS_PER_USER ?? 5);
const ANALYZE = process.env.BENCH_SEED_ANALYZE !== '0';
const SEQUENTIAL = 300;
const LOAD_CONNECTIONS = 4;
const LOAD_SECONDS = 10;

const FEED_QUERY = `{ feed(first: 20) { nodes { id caption createdAt author { id username displayName } media { type url width height blurhash variants { width url } } } pageInfo { endCursor hasNextPage } } }`;

const autocannonBin = () =>
  path.join(path.dirname(createRequire(import.meta.url).resolve('autocannon')), 'autocannon.js');

function autocannon(url: string, token: string, body: string) {
  const args = [autocannonBin(), '-c', String(LOAD_CONNECTIONS), '-d', String(LOAD_SECONDS)];
  args.push('-m', 'POST', '-H', 'content-type=application/json');
  args.push('-H', `authorization=Bearer ${token}`, '-b', body, '--json', url);
  return new Promise<{ pagesPerSecond: number; p50: number; p99: number; errors: number }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
        const r = JSON.parse(out) as {
          requests: { average: number };
          latency: { p50: number; p99: number };
          errors: number;
          timeouts: number;
          non2xx: number;
        };
        resolve({
          pagesPerSecond: Math.round(r.requests.average),
          p50: r.latency.p50,
          p99: r.latency.p99,
          errors: r.errors + r.timeouts + r.non2xx,
        });
      });
    },
  );
}

async function gql<T>(url: string, query: string, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  const json = (await res.json()) as { data?: T; errors?: unknown[] };
  if (!res.ok || json.errors || !json.data) {
    throw new Error(`${url}: ${JSON.stringify(json).slice(0, 400)}`);
  }
  return json.data;
}

export async function run(): Promise<void> {
  const env = await benchEnv('seed');
  const storage = await mkdtemp(path.join(os.tmpdir(), 'mosaic-bench-seed-'));
  const names = ['user', 'post', 'graph', 'feed', 'search', 'gateway'] as const;
  const ports: Record<string, number> = {};
  for (const n of names) ports[n] = await freePort();
  const shared: Record<string, string> = {
    ...env.env,
    STORAGE_DIR: storage,
    ...Object.fromEntries(names.map((n) => [`${n.toUpperCase()}_PORT`, String(ports[n])])),
    // The gateway reaches each subgraph at the URL in the supergraph unless told otherwise.
    ...Object.fromEntries(
      names
        .filter((n) => n !== 'gateway')
        .map((n) => [`SUBGRAPH_${n.toUpperCase()}_URL`, `http://127.0.0.1:${ports[n]}/graphql`]),
    ),
  };
  const cfg = parseConfig({ ...process.env, ...shared });
  const children: Awaited<ReturnType<typeof startChild>>[] = [];
  const mode = ANALYZE ? 'current' : 'withoutAnalyze';
  try {
    const load1 = os.loadavg()[0]!;
    const seeded = await seed(cfg, {
      users: USERS,
      postsPerUser: POSTS_PER_USER,
      analyze: ANALYZE,
      progress: true,
    });
    console.log(`seeded in ${seeded.totalMs} ms`, seeded.phasesMs);

    // The services, as `npm start` runs them (one process each); their relays and consumers
    // take the seed's events from here.
    const started = Date.now();
    for (const n of names) children.push(await startChild(n, shared));
    const states: { s: number; left: number }[] = [];
    let lastPrint = 0;
    const onState = (s: DrainState, ms: number) => {
      states.push({ s: Math.round(ms / 1000), left: remaining(s) });
      if (ms - lastPrint > 10_000) {
        lastPrint = ms;
        console.log(`drain: ${remaining(s)} events left after ${Math.round(ms / 1000)} s`);
      }
    };
    // seed --wait; without its ANALYZE of the projections in the comparison mode.
    await waitForDrain(cfg, { onState, analyze: ANALYZE });
    const drainMs = Date.now() - started;
    const loadDuringDrain = Math.round(os.loadavg()[1]! * 100) / 100; // 5-minute average
    console.log(`drained ${drainMs} ms after the services started`);

    // The demo login and its home feed through the gateway.
    const gateway = `http://127.0.0.1:${ports.gateway}/graphql`;
    const { logIn } = await gql<{ logIn: { accessToken: string } }>(
      gateway,
      `mutation { logIn(input: { login: "${DEMO_USERNAME}", password: "${DEMO_PASSWORD}" }) { accessToken } }`,
    );
    const token = logIn.accessToken;
    const page = await gql<{ feed: { nodes: unknown[] } }>(gateway, FEED_QUERY, token);
    if (page.feed.nodes.length !== 20) throw new Error(`feed page of ${page.feed.nodes.length}`);
    for (let i = 0; i < 30; i++) await gql(gateway, FEED_QUERY, token); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t = performance.now();
      await gql(gateway, FEED_QUERY, token);
      samples.push(performance.now() - t);
    }
    const oneClient = summarize(samples);
    const light = await autocannon(gateway, token, JSON.stringify({ query: FEED_QUERY }));
    console.log('feed page, one client:', oneClient, `light load (${LOAD_CONNECTIONS}):`, light);

    const previous = await readFile(path.resolve('bench/results/seed.json'), 'utf8')
      .then((t) => (JSON.parse(t) as { results: Record<string, unknown> }).results)
      .catch(() => ({}));
    const file = await writeResults('seed', {
      ...previous,
      [mode]: {
        date: new Date().toISOString(),
        loadAverageBefore: Math.round(load1 * 100) / 100,
        command: `npm run seed -- --users ${USERS} --posts-per-user ${POSTS_PER_USER}`,
        analyze: ANALYZE,
        seed: {
          seconds: Math.round(seeded.totalMs / 100) / 10,
          phasesSeconds: Object.fromEntries(
            Object.entries(seeded.phasesMs).map(([k, v]) => [k, Math.round(v / 100) / 10]),
          ),
          users: seeded.users,
          follows: seeded.follows,
          posts: seeded.posts,
          media: seeded.media,
          celebrities: seeded.celebrities,
          demoFollows: seeded.demo.following,
        },
        drain: {
          what: 'services started after the seed; until every outbox row is published and every durable consumer (feed materializer posts/graph, search indexer) has acknowledged all',
          seconds: Math.round(drainMs / 100) / 10,
          postsPerSecond: Math.round(seeded.posts / (drainMs / 1000)),
          loadAverage5min: loadDuringDrain,
          eventsLeftEvery10s: states.filter((_, i) => i % 10 === 0).map((x) => x.left),
        },
        feedPage: {
          query: FEED_QUERY,
          reader: `${DEMO_USERNAME} (follows ${seeded.demo.following})`,
          oneClientMs: { n: oneClient.n, p50: oneClient.p50, p99: oneClient.p99 },
          lightLoad: { connections: LOAD_CONNECTIONS, seconds: LOAD_SECONDS, ...light },
          setup:
            'gateway and every subgraph each its own process (node dist/scripts/start.js <name>), NODE_ENV=test, rate limits off; same machine as Postgres, Redis, NATS',
        },
      },
    });
    console.log(`results in ${file}`);
  } finally {
    for (const c of children.reverse()) await c.close();
    await env.drop();
    await rm(storage, { recursive: true, force: true });
  }
}
