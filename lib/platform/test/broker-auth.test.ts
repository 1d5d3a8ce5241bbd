// NATS and Redis with authentication on, as docker compose runs them: the credentials
// travel in NATS_URL / REDIS_URL. The NATS client ignores credentials inside server URLs,
// so lib/platform/nats.ts turns them into connect options; ioredis reads them from the URL itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, NatsUnavailableError, natsServers } from '../nats.js';
import { createRedis } from '../redis.js';
import { freePort } from '../../../test/support/processes.js';

const PASSWORD = 'p@ss:w/rd-for-tests'; // URL-encoded in the URLs below
const encoded = encodeURIComponent(PASSWORD);

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

const children: ChildProcess[] = [];
async function server(command: string, args: (port: number) => string[]): Promise<number> {
  const port = await freePort();
  const child = spawn(command, args(port), { stdio: 'ignore' });
  children.push(child);
  await listening(port);
  return port;
}

let natsPort = 0;
let redisPort = 0;
beforeAll(async () => {
  [natsPort, redisPort] = await Promise.all([
    server('nats-server', (p) => [
      '-a',
      '127.0.0.1',
      '-p',
      String(p),
      '--user',
      'mosaic',
      '--pass',
      PASSWORD,
    ]),
    server('redis-server', (p) => [
      '--port',
      String(p),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      PASSWORD,
    ]),
  ]);
});

afterAll(async () => {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null) return;
      c.kill('SIGKILL');
      await once(c, 'exit');
    }),
  );
});

describe('NATS_URL credentials', () => {
  it('moves user:pass (or a token) out of the server URLs into connect options', () => {
    expect(natsServers('nats://mosaic:s%40cret@a:4222, nats://mosaic:s%40cret@b:4222')).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222'],
      auth: { user: 'mosaic', pass: 's@cret' },
    });
    expect(natsServers('nats://t0ken@a:4222,b:4222')).toEqual({
      servers: ['nats://a:4222', 'b:4222'],
      auth: { token: 't0ken' },
    });
    expect(natsServers('nats://127.0.0.1:4222')).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      auth: {},
    });
    expect(() => natsServers('nats://a:x@a:4222,nats://b:y@b:4222')).toThrow(/same credentials/);
  });

  it('connects to a server that requires them, and not without them', async () => {
    const nc = await connectNats(
      { NATS_URL: `nats://mosaic:${encoded}@127.0.0.1:${natsPort}` },
      'broker-auth-test',
    );
    try {
      const sub = nc.subscribe('auth.test', { max: 1 });
      nc.publish('auth.test', 'hello');
      for await (const m of sub) expect(m.string()).toBe('hello');
    } finally {
      await nc.close();
    }
    for (const url of [
      `nats://127.0.0.1:${natsPort}`,
      `nats://mosaic:wrong@127.0.0.1:${natsPort}`,
    ]) {
      const err = await connectNats({ NATS_URL: url }, 'broker-auth-test').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NatsUnavailableError);
      // The error names the server, never the password.
      expect((err as Error).message).not.toContain('wrong');
    }
  });
});

describe('REDIS_URL credentials', () => {
  it('authenticates with the password in the URL, and fails without it', async () => {
    const redis = createRedis({ REDIS_URL: `redis://:${encoded}@127.0.0.1:${redisPort}` }, 't');
    try {
      await once(redis, 'ready');
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
    const anonymous = createRedis({ REDIS_URL: `redis://127.0.0.1:${redisPort}` }, 't');
    try {
      await new Promise((r) => setTimeout(r, 300));
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH|Stream isn't writeable/);
    } finally {
      anonymous.disconnect();
    }
  });
});
