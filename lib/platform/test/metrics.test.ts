// /metrics through a real stack (gateway + user, graph, feed): counters move by exactly the
// requests made, error codes appear, the feed's fan-out, lag, pending and rebuild series
// fill in, the outbox backlog gauge drops to 0 once the relay publishes, and the gateway's
// /metrics is closed to non-private callers without the token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, mintId, publishEvent } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';
import { createPool } from '../db.js';
import { isPrivateAddress, hasMetricsToken, limiterName, operationLabel } from '../metrics.js';

const TOKEN = 'metrics-test-token-0123456789';
let stack: Stack;
let ipSeq = 0;
// Every caller gets its own documentation-range address (TRUST_PROXY is on), so the auth
// limiter below counts only the attempts of the test that means to trip it.
const publicIp = () => `203.0.113.${++ipSeq}`;

async function scrape(base: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${base}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

/** Sum of the samples of `name` whose labels include all of `labels` (undefined: none). */
function sample(text: string, name: string, labels: Record<string, string> = {}) {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string | undefined> = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) {
      total = (total ?? 0) + Number(m[3]);
    }
  }
  return total;
}

const gatewayMetrics = () => scrape(stack.gatewayUrl);

async function signUp(name: string) {
  const username = `m_${name}_${Date.now().toString(36)}`;
  const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
    `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
    { input: { username, email: `${username}@example.com`, password: 'long enough pw' } },
    { headers: { 'x-forwarded-for': publicIp() } },
  );
  expect(r.errors).toBeUndefined();
  return { id: r.data!.signUp.user.id, token: r.data!.signUp.accessToken };
}

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'graph', 'feed'],
    env: {
      TRUST_PROXY: 'true',
      METRICS_TOKEN: TOKEN,
      RATE_LIMIT_AUTH_PER_MINUTE: '3',
      OUTBOX_POLL_MS: '100',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe('GET /metrics', () => {
  it('counts each GraphQL request once, by route, status and operation name', async () => {
    const before = await gatewayMetrics();
    const http = { service: 'gateway', method: 'POST', route: '/graphql', status: '200' };
    const op = { service: 'gateway', operation: 'MetricsProbe' };
    for (let i = 0; i < 3; i++) {
      const r = await stack.gql('query MetricsProbe { __typename }');
      expect(r.data).toEqual({ __typename: 'Query' });
    }
    const after = await gatewayMetrics();
    const delta = (name: string, labels: Record<string, string>) =>
      (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(delta('mosaic_http_request_duration_seconds_count', http)).toBe(3);
    expect(delta('mosaic_graphql_operations_total', { ...op, outcome: 'success' })).toBe(3);
    expect(delta('mosaic_graphql_operation_duration_seconds_count', op)).toBe(3);
    expect(sample(after, 'mosaic_graphql_operation_duration_seconds_sum', op)).toBeGreaterThan(0);
    // Default process metrics carry the process's service label.
    expect(after).toMatch(/^process_cpu_user_seconds_total\{service="\w+"\} /m);
  });

  it('counts errors by their extensions.code', async () => {
    const code = (c: string) => ({ service: 'gateway', code: c });
    const before = await gatewayMetrics();
    const bad = await stack.gql('query Broken { noSuchField }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const anon = await stack.gql('mutation Unfollow { unfollow(userId: "1") { user { id } } }');
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const after = await gatewayMetrics();
    const delta = (c: string) =>
      (sample(after, 'mosaic_graphql_errors_total', code(c)) ?? 0) -
      (sample(before, 'mosaic_graphql_errors_total', code(c)) ?? 0);
    expect(delta('GRAPHQL_VALIDATION_FAILED')).toBe(1);
    expect(delta('UNAUTHENTICATED')).toBe(1);
    expect(
      sample(after, 'mosaic_graphql_operations_total', {
        service: 'gateway',
        operation: 'Unfollow',
        outcome: 'error',
      }),
    ).toBe(1);
  });

  it('counts rate-limit rejections by limiter', async () => {
    const ip = publicIp();
    const before = sample(await gatewayMetrics(), 'mosaic_rate_limit_rejections_total', {
      limiter: 'auth',
    });
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await stack.gql(
        `mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }`,
        { input: { login: 'nobody_here', password: 'wrong password' } },
        { headers: { 'x-forwarded-for': ip } },
      );
      codes.push(r.errors?.[0]?.extensions?.code);
    }
    expect(codes.at(-1)).toBe('RATE_LIMITED');
    const after = await gatewayMetrics();
    expect(sample(after, 'mosaic_rate_limit_rejections_total', { limiter: 'auth' })).toBe(
      (before ?? 0) + 1,
    );
    expect(sample(after, 'mosaic_graphql_errors_total', { code: 'RATE_LIMITED' })).toBeGreaterThan(
      0,
    );
  });

  it('shows fan-out, event lag, consumer pending and timeline rebuilds of the feed', async () => {
    const [author, reader] = [await signUp('author'), await signUp('reader')];
    const followed = await stack.gql(
      `mutation($id: ID!) { follow(userId: $id) { user { id } } }`,
      { id: author.id },
      { token: reader.token, headers: { 'x-forwarded-for': publicIp() } },
    );
    expect(followed.errors).toBeUndefined();
    const feed = await stack.gql(
      `{ feed(first: 5) { pageInfo { hasNextPage } } }`,
      {},
      { token: reader.token, headers: { 'x-forwarded-for': publicIp() } },
    );
    expect(feed.errors).toBeUndefined();
    const rebuilds = sample(await gatewayMetrics(), 'mosaic_feed_timeline_rebuilds_total');
    expect(rebuilds).toBeGreaterThanOrEqual(1);

    const deliveriesBefore = sample(await gatewayMetrics(), 'mosaic_feed_fanout_deliveries_total');
    const { connectNats } = await import('../nats.js');
    const nc = await connectNats(stack.cfg, 'metrics-test');
    try {
      await publishEvent(nc, stack.cfg.NATS_PREFIX, 'post.created', {
        v: 1,
        postId: mintId().toString(),
        authorId: author.id,
        createdAt: new Date().toISOString(),
        caption: 'metrics',
        hashtags: [],
        media: [],
      });
    } finally {
      await nc.close();
    }
    const fanned = await eventually(gatewayMetrics, (t) =>
      Boolean(
        (sample(t, 'mosaic_feed_fanout_deliveries_total') ?? 0) > (deliveriesBefore ?? 0) &&
        sample(t, 'mosaic_jetstream_consumer_pending', {
          durable: 'feed-materializer-posts',
        }) === 0,
      ),
    );
    expect(sample(fanned, 'mosaic_feed_fanout_deliveries_total')).toBe((deliveriesBefore ?? 0) + 1);
    expect(sample(fanned, 'mosaic_feed_fanout_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    const lag = { durable: 'feed-materializer-posts' };
    expect(sample(fanned, 'mosaic_event_lag_seconds_count', lag)).toBeGreaterThanOrEqual(1);
    const lagSum = sample(fanned, 'mosaic_event_lag_seconds_sum', lag)!;
    expect(lagSum).toBeGreaterThanOrEqual(0);
    expect(lagSum).toBeLessThan(60);
    expect(
      sample(fanned, 'mosaic_jetstream_consumer_pending', { durable: 'feed-materializer-graph' }),
    ).toBeDefined();
  });

  it('reports the outbox backlog per schema, dropping to 0 once the relay publishes', async () => {
    const { id } = await signUp('outbox');
    const pool = createPool({ ...stack.cfg, DATABASE_POOL_SIZE: 1 });
    try {
      // A due-later copy of the user's own event: held back until it becomes due.
      await pool.query(
        `INSERT INTO users.outbox (subject, payload, next_attempt_at)
           SELECT subject, payload, now() + interval '1 hour' FROM users.outbox
            WHERE payload->>'userId' = $1 LIMIT 1`,
        [id],
      );
      const held = await eventually(
        gatewayMetrics,
        (t) => sample(t, 'mosaic_outbox_backlog', { schema: 'users' }) === 1,
      );
      expect(sample(held, 'mosaic_outbox_backlog', { schema: 'users' })).toBe(1);
      expect(sample(held, 'mosaic_outbox_backlog', { schema: 'graph' })).toBeDefined();
      await pool.query(
        `UPDATE users.outbox SET next_attempt_at = now() WHERE published_at IS NULL`,
      );
      const drained = await eventually(
        gatewayMetrics,
        (t) => sample(t, 'mosaic_outbox_backlog', { schema: 'users' }) === 0,
      );
      expect(sample(drained, 'mosaic_outbox_backlog', { schema: 'users' })).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('serves subgraph metrics to any caller (internal network)', async () => {
    const base = stack.subgraphUrls.user!.replace(/\/graphql$/, '');
    const text = await scrape(base, { 'x-forwarded-for': publicIp() });
    expect(sample(text, 'mosaic_graphql_operations_total', { service: 'user' })).toBeGreaterThan(0);
  });

  it('refuses the gateway’s metrics to a public caller without the token', async () => {
    const get = (headers: Record<string, string>) =>
      fetch(`${stack.gatewayUrl}/metrics`, { headers });
    const refused = await get({ 'x-forwarded-for': '198.51.100.7' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'FORBIDDEN' });
    const wrong = await get({ 'x-forwarded-for': '198.51.100.7', authorization: 'Bearer nope' });
    expect(wrong.status).toBe(403);
    const withToken = await get({
      'x-forwarded-for': '198.51.100.7',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toContain('mosaic_http_request_duration_seconds');
    // A forged private hop does not hide the public client a load balancer appended.
    const forged = await get({ 'x-forwarded-for': '10.0.0.1, 198.51.100.7' });
    expect(forged.status).toBe(403);
    const privateCaller = await get({ 'x-forwarded-for': '10.1.2.3' });
    expect(privateCaller.status).toBe(200);
  });
});

describe('metrics helpers', () => {
  it('caps client-chosen operation names', () => {
    const seen = new Set<string>();
    expect(operationLabel(seen, null)).toBe('anonymous');
    expect(operationLabel(seen, 'bad name!')).toBe('other');
    for (let i = 0; i < 200; i++) expect(operationLabel(seen, `Op${i}`)).toBe(`Op${i}`);
    expect(operationLabel(seen, 'OneTooMany')).toBe('other');
    expect(operationLabel(seen, 'Op7')).toBe('Op7');
  });

  it('tells private addresses and tokens apart', () => {
    for (const ip of [
      '127.0.0.1',
      '::1',
      '10.0.0.5',
      '172.20.1.1',
      '192.168.1.1',
      '::ffff:10.0.0.1',
      'fd00::1',
    ])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['203.0.113.1', '172.32.0.1', '8.8.8.8', '2001:db8::1', 'not-an-ip', ''])
      expect(isPrivateAddress(ip), ip).toBe(false);
    expect(hasMetricsToken(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(hasMetricsToken(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(hasMetricsToken(`Bearer ${TOKEN}`, undefined)).toBe(false);
    expect(hasMetricsToken(undefined, TOKEN)).toBe(false);
    expect(limiterName('mosaic:test_abc:rl:login-ip')).toBe('login-ip');
  });
});
