// npm run bench live — Server-Sent Events at scale on ONE gateway process over loopback:
//   1. the gateway's feed-page throughput (autocannon, own process) with no stream open;
//   2. N concurrent GET /v1/live?ticket= streams (default 10,000; BENCH_LIVE_CONNECTIONS), one
//      user each, held by a client process of its own; the gateway's RSS before and after
//      (per connection);
//   3. the same feed-page throughput with the N streams open (heartbeats flowing);
//   4. one `feed` hint published to each of the N users (createLivePublisher.publishMany in
//      batches of 1,000, as the materializer does): delivery latency from publish, p50/p99.
// The gateway and the client process are started through `sh -c 'ulimit -n …; exec node …'`,
// so the benchmark raises their file-descriptor limits itself (to the hard limit at most).
// Goals (issue #16): p99 < 1 s, < 20 KB per connection.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Redis } from 'ioredis';
import { parseConfig } from '../lib/config.js';
import { signLiveTicket } from '../lib/auth/live-ticket.js';
import { connectNats } from '../lib/platform/nats.js';
import { createLivePublisher } from '../lib/platform/live-publish.js';
import type { SubgraphName } from '../lib/registry.js';
import { benchEnv, localServiceEnv, rssBytes, summarize, writeResults } from './support.js';

const CONNECTIONS = Number(process.env.BENCH_LIVE_CONNECTIONS ?? 10_000);
const CONNECT_CONCURRENCY = Number(process.env.BENCH_LIVE_CONNECT_CONCURRENCY ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 14_300);
const PUBLISH_BATCH = 1000;
/** File descriptors asked for (the hard limit caps it). */
const FD_LIMIT = 65_536;

const FEED_QUERY = `{ feed(first: 20) { nodes { id caption createdAt author { id username displayName } media { type url width height } } pageInfo { endCursor hasNextPage } } }`;

const now = () => performance.timeOrigin + performance.now();

/** `node <args>` through a shell that first raises the open-files limit. */
function spawnWithFds(args: string[], env: Record<string, string>, ipc = false): ChildProcess {
  const quoted = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`);
  const script = `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${quoted.join(' ')}`;
  return spawn('sh', ['-c', script], {
    env,
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit'],
  });
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited (${child.exitCode})`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become healthy`);
}

interface LoadResult {
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}

function autocannon(url: string, token: string, seconds: number): Promise<LoadResult> {
  const bin = path.join(
    path.dirname(createRequire(import.meta.url).resolve('autocannon')),
    'autocannon.js',
  );
  const args = [bin, '-c', String(CONCURRENCY), '-d', String(seconds), '-m', 'POST'];
  args.push('-H', 'content-type=application/json', '-H', `authorization=Bearer ${token}`);
  args.push('-b', JSON.stringify({ query: FEED_QUERY }), '--json', url);
  return new Promise((resolve, reject) => {
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
        requestsPerSecond: Math.round(r.requests.average),
        latencyMs: { p50: r.latency.p50, p99: r.latency.p99 },
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
      });
    });
  });
}

/** The client process: one message out, the next message back. */
function clientChannel(child: ChildProcess) {
  const queue: unknown[] = [];
  const waiting: ((m: unknown) => void)[] = [];
  child.on('message', (m) => {
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const next = <T>(): Promise<T> =>
    new Promise((resolve, reject) => {
      if (queue.length) return resolve(queue.shift() as T);
      waiting.push((m) => resolve(m as T));
      child.once('exit', (code) => reject(new Error(`live clients exited (${code})`)));
    });
  return { send: (m: unknown) => child.send(m as never), next };
}

async function gql<T>(url: string, query: string, variables: object, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(`${query.slice(0, 40)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** A reader following 10 authors with 3 posts each, through the gateway. */
async function seedFeed(gatewayUrl: string, pool: pg.Pool): Promise<string> {
  const signUp = async (name: string) => {
    const username = `${name}_${randomBytes(4).toString('hex')}`;
    const d = await gql<{ signUp: { accessToken: string; user: { id: string } } }>(
      gatewayUrl,
      `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id } } }`,
      { i: { username, email: `${username}@example.com`, password: 'long enough pw' } },
    );
    return { id: d.signUp.user.id, token: d.signUp.accessToken };
  };
  const reader = await signUp('reader');
  for (let a = 0; a < 10; a++) {
    const author = await signUp(`author${a}`);
    await gql(
      gatewayUrl,
      `mutation($id: ID!) { follow(userId: $id) { user { id } } }`,
      { id: author.id },
      reader.token,
    );
    for (let p = 0; p < 3; p++) {
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO posts.media (owner_id, type, status, mime_type, bytes, width, height, storage_key, variants, object_keys)
         VALUES ($1, 'IMAGE', 'READY', 'image/jpeg', 1000, 640, 480, 'm/x/1080.jpg',
           '[{"width":640,"height":480,"mimeType":"image/jpeg","key":"m/x/640.jpg","bytes":900}]', '{}')
         RETURNING id::text`,
        [author.id],
      );
      await gql(
        gatewayUrl,
        `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
        { i: { caption: `post ${p}`, mediaIds: [rows[0]!.id] } },
        author.token,
      );
    }
  }
  // The materializer fans out asynchronously: wait for a full page.
  for (let i = 0; i < 100; i++) {
    const d = await gql<{ feed: { nodes: unknown[] } }>(gatewayUrl, FEED_QUERY, {}, reader.token);
    if (d.feed.nodes.length >= 20) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return reader.token;
}

export async function run(): Promise<void> {
  const env = await benchEnv('live');
  const production = {
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(32).toString('hex'),
    INTERNAL_SIGNING_SECRET: randomBytes(32).toString('hex'),
    // One client address holds every stream here; one stream per user.
    LIVE_MAX_STREAMS_PER_IP: String(CONNECTIONS + 100),
  };
  const cfg = parseConfig({ ...process.env, ...env.env, ...production });
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  const redis = new Redis(cfg.REDIS_URL);
  const nc = await connectNats(cfg, 'bench-live');
  const live = createLivePublisher({
    nc,
    redis,
    natsPrefix: cfg.NATS_PREFIX,
    redisKeyPrefix: cfg.REDIS_KEY_PREFIX,
  });
  const children: ChildProcess[] = [];
  try {
    const names: readonly SubgraphName[] = ['user', 'post', 'graph', 'feed'];
    const port = (n: string) => PORT_BASE + ['gateway', ...names].indexOf(n);
    const childEnv: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...env.env,
      ...production,
      ...localServiceEnv(Object.fromEntries(['gateway', ...names].map((n) => [n, port(n)]))),
    };
    const startJs = path.resolve('dist/scripts/start.js');
    for (const n of [...names, 'gateway']) {
      const child = spawnWithFds([startJs, n, '--no-migrate'], childEnv);
      children.push(child);
      await waitHealthy(`http://127.0.0.1:${port(n)}/health`, child);
    }
    const gatewayPid = children.at(-1)!.pid!;
    const gatewayUrl = `http://127.0.0.1:${port('gateway')}`;
    const readerToken = await seedFeed(`${gatewayUrl}/graphql`, pool);

    await autocannon(`${gatewayUrl}/graphql`, readerToken, WARMUP_S);
    const feedNoStreams = await autocannon(`${gatewayUrl}/graphql`, readerToken, DURATION_S);
    console.log('feed page, no streams', feedNoStreams);

    // Users that exist only in their tickets (what createLiveTicket signs; a browser opens
    // its stream with one), dated a minute ahead so that none expires while all connect.
    const userIds = Array.from({ length: CONNECTIONS }, (_, i) =>
      ((BigInt(86_400_000 + i) << 23n) | (2n << 10n)).toString(),
    );
    const issuedAt = Date.now() + 60_000;
    const urls = userIds.map((userId, i) => {
      const viewer = { userId, sessionId: String(i + 1) };
      const { ticket } = signLiveTicket(cfg.INTERNAL_SIGNING_SECRET, viewer, issuedAt);
      return `${gatewayUrl}/v1/live?ticket=${ticket}`;
    });

    const clients = spawnWithFds([path.resolve('dist/bench/live-clients.js')], childEnv, true);
    children.push(clients);
    const channel = clientChannel(clients);
    await channel.next();
    // Settled (idle GC) before each reading.
    await new Promise((r) => setTimeout(r, 5000));
    const rssBefore = await rssBytes(gatewayPid);
    channel.send({ cmd: 'connect', urls, concurrency: CONNECT_CONCURRENCY });
    const connect = await channel.next<{ connected: number; failed: number; ms: number }>();
    console.log('streams', connect);
    await new Promise((r) => setTimeout(r, 5000));
    const rssAfter = await rssBytes(gatewayPid);
    const perConnectionBytes = Math.round((rssAfter - rssBefore) / Math.max(1, connect.connected));
    console.log('rss', { rssBefore, rssAfter, perConnectionBytes });

    const feedWithStreams = await autocannon(`${gatewayUrl}/graphql`, readerToken, DURATION_S);
    console.log('feed page, streams open', feedWithStreams);

    channel.send({ cmd: 'expect', count: connect.connected, timeoutMs: 30_000 });
    await channel.next(); // armed
    const t0 = now();
    for (let i = 0; i < userIds.length; i += PUBLISH_BATCH) {
      const sentAt = now();
      await live.publishMany(userIds.slice(i, i + PUBLISH_BATCH), {
        type: 'feed',
        newPosts: 1,
        postIds: [sentAt.toFixed(3)],
      });
    }
    const publishMs = now() - t0;
    const { latencies } = await channel.next<{ latencies: number[] }>();
    const delivery = summarize(latencies);
    console.log('delivery', delivery);
    const rssEnd = await rssBytes(gatewayPid);

    channel.send({ cmd: 'close' });
    await channel.next();

    const ratio = feedWithStreams.requestsPerSecond / Math.max(1, feedNoStreams.requestsPerSecond);
    await writeResults('live', {
      setup: {
        connections: CONNECTIONS,
        gateway: 'one process (node dist/scripts/start.js gateway), NODE_ENV=production',
        clients:
          'one process of their own, node:http, one stream per user (?ticket=, as a browser)',
        fdLimit: `ulimit -n ${FD_LIMIT} (or the hard limit) in each child's shell`,
        publish: `createLivePublisher.publishMany, ${PUBLISH_BATCH} users per call, from a third process`,
        feedLoad: `autocannon, ${CONCURRENCY} connections, ${DURATION_S} s, query ${FEED_QUERY}`,
        heartbeatSeconds: Number(process.env.LIVE_HEARTBEAT_SECONDS ?? 15),
      },
      streams: { ...connect },
      memory: {
        gatewayRssBeforeBytes: rssBefore,
        gatewayRssWithStreamsBytes: rssAfter,
        gatewayRssAfterDeliveryBytes: rssEnd,
        perConnectionBytes,
        goalBytes: 20_480,
        met: perConnectionBytes < 20_480,
      },
      delivery: {
        ...delivery,
        delivered: latencies.length,
        of: connect.connected,
        publishAllMs: Math.round(publishMs),
        goalP99Ms: 1000,
        met: delivery.p99 < 1000 && latencies.length === connect.connected,
      },
      feedPage: {
        noStreams: feedNoStreams,
        withStreams: feedWithStreams,
        ratio: Math.round(ratio * 1000) / 1000,
      },
    });
  } finally {
    for (const c of children.reverse()) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    }
    await nc.drain().catch(() => {});
    redis.disconnect();
    await pool.end();
    await env.drop();
  }
}
