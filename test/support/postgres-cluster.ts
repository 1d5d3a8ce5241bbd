// A private Postgres 15 HA cluster on loopback for fault tests (issue #20): three nodes under
// Patroni with a three-member etcd as its store, synchronous replication, and HAProxy in
// front as the one stable entry. Nothing here touches the machine's own Postgres (5432):
// every port is free-chosen, every data directory lives under one temp dir, and dispose()
// kills what it started and removes that dir.
//
// Why HAProxy and not a multi-host URL: node-postgres (pg 8.x) takes one host per
// connection string and has no target_session_attrs, so it cannot find the primary itself.
// HAProxy asks each node's Patroni REST API (GET /primary answers 200 on the leader only,
// /replica on a streaming standby) once a second and sends new connections to the node that
// says yes; Mosaic keeps one plain DATABASE_URL and no code that knows which node leads.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePorts } from './processes.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * Patroni's timing (its DCS settings): a leader whose key is not renewed for TTL seconds
 * loses it and the synchronous standby takes over; loop_wait + 2 * retry_timeout must stay
 * below TTL. Defaults are 30/10/10 (up to ~40 s of failover); these give < 15 s while still
 * tolerating a loop delayed by a few seconds on a busy machine.
 */
export const PATRONI_TIMING = { ttl: 8, loop_wait: 1, retry_timeout: 3 } as const;

export interface PgNode {
  name: string;
  /** Postgres port of this node (direct, bypassing HAProxy). */
  port: number;
  /** Patroni REST API port. */
  restPort: number;
  /** Starts this node's Patroni again (after kill); it rejoins as a standby. */
  start(): Promise<void>;
  /**
   * SIGKILL of Patroni and of Postgres (postmaster and every child): a crashed machine.
   * Resolves, once all are gone, with the time the signals were sent.
   */
  kill(): Promise<number>;
  running(): boolean;
}

export interface PostgresCluster {
  nodes: PgNode[];
  /** HAProxy port that reaches the current primary (read-write). */
  primaryPort: number;
  /** HAProxy port that reaches a streaming standby (read-only). */
  replicaPort: number;
  /** postgresql:// URL of `database` through the read-write entry. */
  url(database?: string): string;
  /** The node whose Patroni says it leads (GET /primary = 200), or undefined. */
  leader(): Promise<PgNode | undefined>;
  /** Waits until a leader answers and `standbys` nodes stream from it (pg_stat_replication). */
  waitHealthy(standbys?: number, timeoutMs?: number): Promise<PgNode>;
  /** Patroni's view: GET /cluster of any live node. */
  members(): Promise<{ name: string; role: string; state: string; lag?: unknown }[]>;
  /** Where every process's log goes (kept until dispose). */
  dir: string;
  /**
   * The WAL archive: every node's archive_command copies completed WAL segments here (a
   * shared directory stands in for object storage), so a base backup plus these segments
   * restores to any point in time since the backup.
   */
  walArchive: string;
  /** The postgres OS user's ids when running as root (own what a restored server reads). */
  owner?: { uid: number; gid: number };
  dispose(): Promise<void>;
}

interface Proc {
  child: ChildProcess;
}

/** Postgres refuses to run as root: Patroni (and so Postgres) runs as the postgres user then. */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

function startProcess(
  command: string,
  args: string[],
  logFile: string,
  opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
): Proc {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
    env: opts.env ?? process.env,
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('exit', () => log.end());
  return { child };
}

async function stopProcess(p: Proc | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = once(p.child, 'exit');
  p.child.kill(signal);
  await exited;
}

async function restGet(port: number, route: string, timeoutMs = 1000): Promise<Response | null> {
  try {
    return await fetch(`http://127.0.0.1:${port}${route}`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    return null;
  }
}

/** PIDs of a process's direct children (Linux /proc). */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function etcdArgs(i: number, dir: string, client: number[], peer: number[], token: string) {
  return [
    '--name',
    `etcd${i}`,
    '--data-dir',
    path.join(dir, `etcd${i}`),
    '--listen-client-urls',
    `http://127.0.0.1:${client[i]}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${client[i]}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peer[i]}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peer[i]}`,
    '--initial-cluster',
    peer.map((p, j) => `etcd${j}=http://127.0.0.1:${p}`).join(','),
    '--initial-cluster-state',
    'new',
    '--initial-cluster-token',
    token,
    // Loopback: short heartbeats keep the store's own elections quick.
    '--heartbeat-interval',
    '100',
    '--election-timeout',
    '1000',
  ];
}

function patroniYaml(o: {
  scope: string;
  name: string;
  dir: string;
  port: number;
  restPort: number;
  etcdHosts: string;
  walArchive: string;
}): string {
  const hba = [
    'local all all trust',
    'host all all 127.0.0.1/32 trust',
    'host replication all 127.0.0.1/32 trust',
  ];
  // JSON is YAML: no hand-quoting of paths.
  return JSON.stringify(
    {
      scope: o.scope,
      name: o.name,
      namespace: '/mosaic-test/',
      log: { level: 'INFO' },
      restapi: {
        listen: `127.0.0.1:${o.restPort}`,
        connect_address: `127.0.0.1:${o.restPort}`,
      },
      etcd3: { hosts: o.etcdHosts },
      bootstrap: {
        dcs: {
          ...PATRONI_TIMING,
          maximum_lag_on_failover: 1048576,
          // A commit returns only once a standby has flushed it, and only that standby may be
          // promoted: an acknowledged write survives the loss of the primary.
          synchronous_mode: true,
          // Not strict: when no standby is attached (two nodes down, or the seconds after a
          // failover until the other standby follows the new primary) commits go on
          // unreplicated instead of waiting. Patroni still never promotes a node that was not
          // synchronous, so no acknowledged write is lost silently; only a second failure in
          // that window would need the dead node's disk back. Strict would close that window
          // at the price of writes stopping meanwhile: measured here, 13.5 s of
          // unavailability after a primary loss instead of 8.7 s.
          synchronous_mode_strict: false,
          postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: {
              wal_level: 'replica',
              hot_standby: 'on',
              wal_log_hints: 'on',
              max_wal_senders: 10,
              max_replication_slots: 10,
              max_connections: 200,
              wal_keep_size: '128MB',
              // Continuous archiving for point-in-time recovery: only the primary archives
              // (archive_mode on); an existing file is never overwritten.
              archive_mode: 'on',
              archive_command: `test ! -f ${o.walArchive}/%f && cp %p ${o.walArchive}/%f`,
              archive_timeout: 60,
            },
          },
        },
        initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, 'data-checksums'],
        pg_hba: hba,
      },
      postgresql: {
        listen: `127.0.0.1:${o.port}`,
        connect_address: `127.0.0.1:${o.port}`,
        data_dir: path.join(o.dir, `${o.name}-data`),
        bin_dir: PG_BIN,
        pgpass: path.join(o.dir, `${o.name}.pgpass`),
        authentication: {
          superuser: { username: 'postgres' },
          replication: { username: 'postgres' },
          rewind: { username: 'postgres' },
        },
        parameters: { unix_socket_directories: o.dir },
        pg_hba: hba,
      },
    },
    null,
    2,
  );
}

function haproxyCfg(o: { primary: number; replica: number; nodes: PgNode[] }): string {
  const servers = o.nodes
    .map((n) => `  server ${n.name} 127.0.0.1:${n.port} maxconn 200 check port ${n.restPort}`)
    .join('\n');
  return `global
  maxconn 1000

defaults
  mode tcp
  retries 2
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s

# Read-write: the node whose Patroni answers 200 on /primary. A node that stops saying so
# (crashed, demoted) is marked down after two failed checks and its sessions are cut, so no
# client keeps talking to an old primary.
listen primary
  bind 127.0.0.1:${o.primary}
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
${servers}

listen replicas
  bind 127.0.0.1:${o.replica}
  balance roundrobin
  option httpchk GET /replica
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
${servers}
`;
}

/**
 * Starts etcd (three members), three Patroni-managed Postgres 15 nodes and HAProxy; returns
 * once one node leads and both others stream from it synchronously-eligible.
 */
export async function startPostgresCluster(size = 3): Promise<PostgresCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-patroni-'));
  const owner = await runAs();
  const walArchive = path.join(dir, 'wal-archive');
  await mkdir(walArchive);
  if (owner) await Promise.all([dir, walArchive].map((d) => chown(d, owner.uid, owner.gid)));
  const ports = await freePorts(size * 4 + 2);
  const [pgPorts, restPorts, etcdClient, etcdPeer] = [0, 1, 2, 3].map((k) =>
    ports.slice(k * size, (k + 1) * size),
  ) as [number[], number[], number[], number[]];
  const [primaryPort, replicaPort] = ports.slice(size * 4) as [number, number];
  const scope = `mosaic-${path.basename(dir).slice(-6).toLowerCase()}`;
  const etcds: Proc[] = [];
  const patronis: (Proc | undefined)[] = [];
  let haproxy: Proc | undefined;
  const nodes: PgNode[] = [];

  const postmasterPid = async (name: string): Promise<number | undefined> => {
    try {
      const text = await readFile(path.join(dir, `${name}-data`, 'postmaster.pid'), 'utf8');
      const pid = Number(text.split('\n')[0]);
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };

  const dispose = async () => {
    await stopProcess(haproxy, 'SIGKILL');
    await Promise.all(nodes.map((n) => n.kill().catch(() => {})));
    await Promise.all(etcds.map((p) => stopProcess(p, 'SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const token = scope;
    for (let i = 0; i < size; i++) {
      await mkdir(path.join(dir, `etcd${i}`), { recursive: true });
      etcds.push(
        startProcess(
          'etcd',
          etcdArgs(i, dir, etcdClient, etcdPeer, token),
          path.join(dir, `etcd${i}.log`),
        ),
      );
    }
    await waitFor(
      async () => {
        const r = await restGet(etcdClient[0]!, '/health');
        return r?.ok ? ((await r.json()) as { health?: string }).health === 'true' : false;
      },
      30_000,
      'etcd cluster healthy',
    );

    const etcdHosts = etcdClient.map((p) => `127.0.0.1:${p}`).join(',');
    for (let i = 0; i < size; i++) {
      const name = `pg${i}`;
      const config = path.join(dir, `${name}.yml`);
      await writeFile(
        config,
        patroniYaml({
          scope,
          name,
          dir,
          port: pgPorts[i]!,
          restPort: restPorts[i]!,
          etcdHosts,
          walArchive,
        }),
      );
      if (owner) await chown(config, owner.uid, owner.gid);
      const node: PgNode = {
        name,
        port: pgPorts[i]!,
        restPort: restPorts[i]!,
        running: () => {
          const p = patronis[i];
          return !!p && p.child.exitCode === null && p.child.signalCode === null;
        },
        async start() {
          if (node.running()) return;
          patronis[i] = startProcess('patroni', [config], path.join(dir, `${name}.log`), {
            ...(owner ?? {}),
            env: { ...process.env, HOME: dir, PATH: `${PG_BIN}:${process.env.PATH ?? ''}` },
          });
          await waitFor(
            async () => !!(await restGet(restPorts[i]!, '/health')),
            30_000,
            `${name} REST`,
          );
        },
        async kill() {
          const pid = await postmasterPid(name);
          const children = pid ? await childrenOf(pid) : [];
          const at = Date.now();
          const stopped = stopProcess(patronis[i], 'SIGKILL');
          patronis[i] = undefined;
          for (const p of [pid, ...children]) {
            if (p && alive(p)) {
              try {
                process.kill(p, 'SIGKILL');
              } catch {
                // exited meanwhile
              }
            }
          }
          await stopped;
          await waitFor(async () => !(pid && alive(pid)), 10_000, `${name} postmaster gone`);
          return at;
        },
      };
      nodes.push(node);
    }
    // The first node bootstraps (initdb) alone; the others then clone it (pg_basebackup).
    await nodes[0]!.start();
    await waitFor(
      async () => (await restGet(restPorts[0]!, '/primary'))?.status === 200,
      60_000,
      'pg0 leads',
    );
    await Promise.all(nodes.slice(1).map((n) => n.start()));

    const cfgFile = path.join(dir, 'haproxy.cfg');
    await writeFile(cfgFile, haproxyCfg({ primary: primaryPort, replica: replicaPort, nodes }));
    haproxy = startProcess('haproxy', ['-db', '-f', cfgFile], path.join(dir, 'haproxy.log'));

    const cluster: PostgresCluster = {
      nodes,
      primaryPort,
      replicaPort,
      dir,
      walArchive,
      ...(owner ? { owner } : {}),
      url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${primaryPort}/${database}`,
      async leader() {
        const answers = await Promise.all(
          nodes.map(async (n) =>
            (await restGet(n.restPort, '/primary'))?.status === 200 ? n : undefined,
          ),
        );
        return answers.find(Boolean);
      },
      async members() {
        for (const n of nodes) {
          const r = await restGet(n.restPort, '/cluster');
          if (r?.ok) return ((await r.json()) as { members: never[] }).members;
        }
        return [];
      },
      async waitHealthy(standbys = size - 1, timeoutMs = 90_000) {
        let lead: PgNode | undefined;
        await waitFor(
          async () => {
            lead = await cluster.leader();
            if (!lead) return false;
            const c = new pg.Client({
              connectionString: cluster.url(),
              connectionTimeoutMillis: 2000,
            });
            try {
              await c.connect();
              const { rows } = await c.query<{ n: number; sync: number }>(
                `SELECT count(*)::int AS n, count(*) FILTER (WHERE sync_state = 'sync')::int AS sync
                   FROM pg_stat_replication WHERE state = 'streaming'`,
              );
              return rows[0]!.n >= standbys && (standbys === 0 || rows[0]!.sync >= 1);
            } catch {
              return false;
            } finally {
              await c.end().catch(() => {});
            }
          },
          timeoutMs,
          `a leader with ${standbys} streaming standbys`,
        );
        return lead!;
      },
      dispose,
    };
    await cluster.waitHealthy();
    return cluster;
  } catch (err) {
    const logs = await Promise.all(
      ['pg0.log', 'pg1.log', 'pg2.log', 'etcd0.log', 'haproxy.log'].map((f) =>
        readFile(path.join(dir, f), 'utf8').then(
          (t) => `--- ${f}\n${t.split('\n').slice(-30).join('\n')}`,
          () => '',
        ),
      ),
    );
    await dispose();
    throw new Error(`${(err as Error).message}\n${logs.join('\n')}`, { cause: err });
  }
}

/** Polls `check` until it is true; throws after `timeoutMs` naming what it waited for. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
