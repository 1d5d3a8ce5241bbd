// Private copies of the platform's servers for fault tests: a redis-server and a
// nats-server (JetStream, file store) on free loopback ports that a test may stop and
// start again, and a TCP proxy that can cut a service off (an unreachable Postgres).
// Each test file stops what it started; nothing here touches the machine's own services.
// Also small clusters of both (scale-out tests): a Redis Cluster of masters and a NATS
// JetStream cluster, each node a ManagedServer that can be killed and started again.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

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
  fixedPort?: number,
): Promise<ManagedServer> {
  return (async () => {
    const port = fixedPort ?? (await freePort());
    const dir = await mkdtemp(path.join(os.tmpdir(), `mosaic-${path.basename(command)}-`));
    let child: ChildProcess | undefined;
    const server: ManagedServer = {
      port,
      url: `${scheme}://127.0.0.1:${port}`,
      async start() {
        // Already running: a second process would fail to bind and orphan this one.
        if (child && child.exitCode === null && child.signalCode === null) return;
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

/** A private redis-server on loopback that keeps nothing on disk. */
const redisArgs = (port: number, dir: string): string[] => [
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
];

export const startRedis = (): Promise<ManagedServer> => managed('redis-server', redisArgs, 'redis');

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

/** n distinct free ports (all held open while choosing, so none repeats). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1');
      await once(srv, 'listening');
      return srv;
    }),
  );
  const ports = servers.map((srv) => (srv.address() as net.AddressInfo).port);
  await Promise.all(servers.map((srv) => (srv.close(), once(srv, 'close'))));
  return ports;
}

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ManagedCluster {
  nodes: ManagedServer[];
  /** Redis: REDIS_CLUSTER_NODES ("127.0.0.1:p1,…"); NATS: NATS_URL ("nats://…,nats://…"). */
  seeds: string;
  dispose(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters and no replicas (redis-server --cluster-enabled,
 * joined by redis-cli --cluster create), returned once every node says cluster_state:ok.
 */
export async function startRedisCluster(masters = 3): Promise<ManagedCluster> {
  const nodes: ManagedServer[] = [];
  const dispose = async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await managed(
          'redis-server',
          (port, dir) => [
            ...redisArgs(port, dir),
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '2000',
          ],
          'redis',
        ),
      );
    }
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...addrs,
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + 20_000;
    for (const n of nodes) {
      for (;;) {
        const { stdout } = await run('redis-cli', ['-p', String(n.port), 'cluster', 'info']);
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`redis cluster node ${n.port} not ok`);
        await sleep(100);
      }
    }
    return { nodes, seeds: addrs.join(','), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * A NATS cluster of `size` JetStream nodes routed to each other, returned once JetStream
 * can place a stream with `size` replicas (a meta leader is elected and sees every peer).
 */
export async function startNatsCluster(size = 3): Promise<ManagedCluster> {
  // Client and route ports chosen together, so that no node takes another's port.
  const ports = await freePorts(size * 2);
  const routes = ports.slice(size);
  const nodes: ManagedServer[] = [];
  const dispose = async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await managed(
          'nats-server',
          (port, dir) => [
            '-a',
            '127.0.0.1',
            '-p',
            String(port),
            '-n',
            `mosaic-${i}`,
            '-js',
            '-sd',
            dir,
            '--cluster_name',
            'mosaic',
            '--cluster',
            `nats://127.0.0.1:${routes[i]}`,
            '--routes',
            routes
              .filter((_, j) => j !== i)
              .map((r) => `nats://127.0.0.1:${r}`)
              .join(','),
          ],
          'nats',
          ports[i],
        ),
      );
    }
    const seeds = nodes.map((n) => n.url).join(',');
    const nc = await connect({ servers: nodes.map((n) => n.url), timeout: 5000 });
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const jsm = await jetstreamManager(nc);
          const name = `PROBE_${Date.now()}`;
          await jsm.streams.add({ name, subjects: [`probe.${name}`], num_replicas: size });
          await jsm.streams.delete(name);
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(250);
        }
      }
    } finally {
      await nc.close();
    }
    return { nodes, seeds, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
