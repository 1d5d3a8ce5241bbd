// Database loss: Postgres becomes unreachable (every connection cut, new ones refused, as
// in a network partition or a failover). Clients get clean SERVICE_UNAVAILABLE errors,
// /ready turns false, nothing crashes, and service resumes when Postgres is reachable
// again, without restarting Mosaic.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUp } from '../support/content.js';
import { eventually } from '../support/events.js';
import { startProxy, type Proxy } from '../support/processes.js';
import { startStack, type Stack } from '../support/stack.js';

let proxy: Proxy;
let stack: Stack;

beforeAll(async () => {
  const target = new URL(
    process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  );
  proxy = await startProxy(Number(target.port || 5432));
  stack = await startStack({
    subgraphs: ['user', 'graph'],
    env: (iso) => {
      const viaProxy = new URL(iso.databaseUrl);
      viaProxy.port = String(proxy.port);
      return { DATABASE_URL: viaProxy.toString(), RATE_LIMIT_AUTH_PER_MINUTE: '0' };
    },
  });
}, 60_000);

afterAll(async () => {
  proxy?.restore();
  await stack?.close();
  await proxy?.close();
});

const ME = `{ me { id username followerCount } }`;

it('answers SERVICE_UNAVAILABLE and reports not ready while Postgres is unreachable, then recovers', async () => {
  const ada = await signUp(stack, 'ada');
  expect((await stack.gql(ME, {}, { token: ada.token })).errors).toBeUndefined();

  proxy.cut();
  for (const [query, vars] of [
    [ME, {}],
    [
      `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`,
      {
        input: {
          username: `down_${Date.now()}`,
          email: `down${Date.now()}@example.com`,
          password: 'long enough pw',
        },
      },
    ],
    [`mutation($id: ID!) { follow(userId: $id) { user { id } } }`, { id: '123456789' }],
  ] as const) {
    const r = await stack.gql(query, vars, { token: ada.token });
    expect(r.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(JSON.stringify(r)).not.toMatch(/ECONN|stack|at .*\.ts/);
  }
  const ready = await fetch(`${stack.gatewayUrl}/ready`);
  expect(ready.status).toBe(503);
  const body = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
  expect(body.checks.postgres?.ok).toBe(false);
  expect(body.checks.redis?.ok).toBe(true);
  expect((await fetch(`${stack.gatewayUrl}/health`)).status).toBe(200); // alive, just not ready

  proxy.restore();
  const back = await eventually(
    () => stack.gql(ME, {}, { token: ada.token }),
    (r) => !r.errors,
    15_000,
  );
  expect(back.errors).toBeUndefined();
  expect((await fetch(`${stack.gatewayUrl}/ready`)).status).toBe(200);
  const bob = await signUp(stack, 'bob'); // writes work again too
  expect(bob.id).toMatch(/^\d+$/);
}, 60_000);
