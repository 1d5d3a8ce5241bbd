// Private copies of the platform's servers for fault tests: a redis-server and a
// nats-server (JetStream, file store) on free loopback ports that a test may stop and
// start again, and a TCP proxy that can cut a service off (an unreachable Postgres).
// Each test file stops what it started; nothing here touches the machine's own services.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ManagedServer {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGTERM and wait (a clean stop); `kill` = SIGKILL. */
  stop(kill?: boolean): Promise<void>;
  dispose(): Promise<void>;
}

function managed(
  command: string,
  args: (port: number, dir: string) => string[],
  scheme: string,
): Promise<ManagedServer> {
  return (async () => {
    const port = await freePort();
    const dir = await mkdtemp(path.join(os.tmpdir(), `mosaic-${path.basename(command)}-`));
    let child: ChildProcess | undefined;
    const server: ManagedServer = {
      port,
      url: `${scheme}://127.0.0.1:${port}`,
      async start() {
        child = spawn(command, args(port, dir), { stdio: 'ignore' });
        await waitForPort(port);
      },
      async stop(kill = false) {
        const c = child;
        child = undefined;
        if (!c || c.exitCode !== null) return;
        c.kill(kill ? 'SIGKILL' : 'SIGTERM');
        await once(c, 'exit');
      },
      async dispose() {
        await server.stop(true);
        await rm(dir, { recursive: true, force: true });
      },
    };
    await server.start();
    return server;
  })();
}

export const startRedis = (): Promise<ManagedServer> =>
  managed(
    'redis-server',
    (port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    'redis',
  );

export const startNats = (): Promise<ManagedServer> =>
  managed(
    'nats-server',
    (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    'nats',
  );

export interface Proxy {
  port: number;
  /** Drops every connection and refuses new ones (the target looks unreachable). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP proxy to 127.0.0.1:targetPort that a test can cut. */
export async function startProxy(targetPort: number): Promise<Proxy> {
  let open = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1' });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    async close() {
      open = false;
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close').catch(() => {});
    },
  };
}
