// What the gateway's logs may hold: request paths, never query strings (a password sent
// by GET) or capability tokens (`/v1/uploads/<token>`), in request lines and error lines
// alike. The HTTP shell and the REST routes are built on a logger writing to memory.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { createHttpServer } from '../../lib/platform/http/server.js';
import { createRedis, type RedisClient } from '../../lib/platform/redis.js';
import { redisUrl } from '../../test/support/env.js';
import { createUploadLimiter } from '../src/limits.js';
import { registerRestRoutes } from '../src/rest/routes.js';

const TOKEN = 'eyJrIjoibS94LmpwZyJ9.c2VjcmV0LWNhcGFiaWxpdHktc2lnbmF0dXJl';
const PASSWORD = 'hunter2-by-get';

let lines: string[] = [];
let app: FastifyInstance;
let redis: RedisClient;
let post: Server;

beforeAll(async () => {
  // The post service: refuses every upload, names nothing.
  post = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"error":"Invalid upload URL","code":"FORBIDDEN"}');
    });
  });
  post.listen(0, '127.0.0.1');
  await once(post, 'listening');
  const cfg = parseConfig({
    NODE_ENV: 'test',
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: `test:logs:${Date.now()}:`,
  });
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'info', base: { service: 'gateway' } }, stream);
  redis = createRedis(cfg, 'request-logs-test', logger);
  app = createHttpServer({ logger, probes: {} });
  registerRestRoutes(app, {
    cfg,
    redis,
    apollo: undefined as never, // the GraphQL-backed routes are not called here
    uploadLimiter: createUploadLimiter(cfg, redis),
    postSubgraphUrl: `http://127.0.0.1:${(post.address() as AddressInfo).port}/graphql`,
  });
  app.get('/graphql', async (_req, reply) => reply.code(400).send({ error: 'no' }));
  app.get('/boom', async (req) => {
    throw new Error(`could not handle ${req.url}`);
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  post?.closeAllConnections();
  post?.close();
});

const logged = () => lines.join('');

describe('request and error logs', () => {
  it('log the path without the query string or capability token', async () => {
    lines = [];
    const put = await app.inject({
      method: 'PUT',
      url: `/v1/uploads/${TOKEN}`,
      headers: { 'content-type': 'image/jpeg' },
      payload: 'bytes',
    });
    expect(put.statusCode).toBe(403);
    // Method not allowed there: an unmatched route, the token still in its path.
    const get = await app.inject({ method: 'GET', url: `/v1/uploads/${TOKEN}?x=1` });
    expect(get.statusCode).toBe(404);
    const q = await app.inject({
      method: 'GET',
      url: `/graphql?query=mutation&variables=${encodeURIComponent(`{"password":"${PASSWORD}"}`)}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(q.statusCode).toBe(400);
    const text = logged();
    const requests = lines
      .map((l) => JSON.parse(l) as { msg: string; url?: string })
      .filter((l) => l.msg === 'request');
    expect(requests.map((r) => r.url)).toEqual([
      '/v1/uploads/[redacted]',
      '/v1/uploads/[redacted]',
      '/graphql',
    ]);
    expect(text).not.toContain(TOKEN.split('.')[1]);
    expect(text).not.toContain(PASSWORD);
  });

  it('keep the query string and tokens out of error lines', async () => {
    lines = [];
    const r = await app.inject({
      method: 'GET',
      url: `/boom?password=${PASSWORD}&next=/v1/uploads/${TOKEN}`,
    });
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain(PASSWORD);
    const text = logged();
    expect(text).toMatch(/unhandled error/);
    expect(text).toMatch(/could not handle \/boom\?\[redacted\]/);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(TOKEN.split('.')[1]);
  });
});
