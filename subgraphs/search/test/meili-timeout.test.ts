// A Meilisearch that accepts connections and never answers must not hold a search (or an
// indexer event) forever: every request of the client has a deadline.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMeiliBackend } from '../src/meili-backend.js';

const sockets = new Set<net.Socket>();
const silent = net.createServer((s) => {
  sockets.add(s);
  s.on('error', () => {});
});
beforeAll(async () => {
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  silent.close();
  await once(silent, 'close');
});

it('gives up on a request after timeoutMs', async () => {
  const { port } = silent.address() as net.AddressInfo;
  const backend = createMeiliBackend({
    url: `http://127.0.0.1:${port}`,
    apiKey: 'k',
    index: 'posts',
    usersIndex: 'users',
    timeoutMs: 300,
  });
  const started = Date.now();
  const err = await backend.searchText(['hello'], null, 20).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  expect(String((err as Error).cause)).toMatch(/timed? ?out|timeout/i);
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  expect(Date.now() - started).toBeLessThan(3000);
  await backend.close();
});
