// Starts Mosaic in-process for a test file: every existing subgraph plus the gateway, on
// ephemeral ports, against this file's own database, Redis prefix and NATS prefix.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { parseConfig, type Config } from '../../lib/config.js';
import { startGateway } from '../../gateway/src/server.js';
import type { RunningService } from '../../lib/platform/http/server.js';
import { SUBGRAPHS } from '../../scripts/services.js';
import { SUBGRAPH_NAMES, subgraphOf } from '../../lib/registry.js';
import { connectNats, deleteStreams } from '../../lib/platform/nats.js';
import { isolate, type Isolation } from './isolation.js';

export interface Stack {
  iso: Isolation;
  cfg: Config;
  gatewayUrl: string;
  subgraphUrls: Record<string, string>;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    opts?: { token?: string; headers?: Record<string, string> },
  ): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export interface GqlResult<T> {
  status: number;
  data?: T | null;
  errors?: {
    message: string;
    extensions?: { code?: string; [k: string]: unknown };
    path?: unknown[];
  }[];
}

export async function postGraphql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GqlResult<T>, 'status'>;
  return { status: res.status, ...body };
}

export interface StackOptions {
  /** Environment overrides (limits etc.), or a function of this file's isolation. */
  env?: Record<string, string> | ((iso: Isolation) => Record<string, string>);
  /** Subgraphs to start, in this order (default: all in lib/registry.ts). */
  subgraphs?: string[];
  /**
   * A migrated database to run on instead of this file's clone of the template (a private
   * Postgres cluster in fault tests); left in place on close.
   */
  databaseUrl?: string;
}

/** `n` distinct ports nobody listens on right now (held together, then handed back). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((srv) => (srv.address() as AddressInfo).port);
  await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
  return ports;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const { env = {}, subgraphs = SUBGRAPH_NAMES } = opts;
  const iso = await isolate(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {});
  let cfg = parseConfig({ ...iso.env, ...(typeof env === 'function' ? env(iso) : env) });
  const running: RunningService[] = [];
  const subgraphUrls: Record<string, string> = {};
  // Free ports first, so that every service knows every other one's URL (subgraphUrl()),
  // including those that start after it (user asks graph for visibility, graph asks user).
  const ports = await freePorts(subgraphs.length);
  for (const [i, name] of subgraphs.entries()) {
    const row = subgraphOf(name);
    if (!SUBGRAPHS[name] || !row) throw new Error(`unknown subgraph ${name}`);
    cfg = { ...cfg, [row.urlEnv]: `http://127.0.0.1:${ports[i]}/graphql` };
  }
  for (const [i, name] of subgraphs.entries()) {
    const service = await SUBGRAPHS[name]!(cfg, ports[i]);
    running.push(service);
    subgraphUrls[name] = service.url;
  }
  const gateway = await startGateway(cfg, { port: 0, subgraphUrls });
  const gatewayUrl = gateway.url;
  return {
    iso,
    cfg,
    gatewayUrl,
    subgraphUrls,
    gql: (query, variables, opts = {}) =>
      postGraphql(`${gatewayUrl}/graphql`, query, variables, {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...opts.headers,
      }),
    async close() {
      await gateway.close();
      for (const service of running.reverse()) await service.close();
      // Best effort: a test may have left its broker degraded (a killed cluster node, a
      // stopped server); its streams go with its data directory then, and cleanup must not
      // turn a passing file into a failing one.
      try {
        const nc = await connectNats(cfg, 'test-cleanup');
        await deleteStreams(nc, cfg.NATS_PREFIX).finally(() => nc.close());
      } catch {
        // nothing to clean up, or nothing reachable to clean
      }
      await iso.drop();
    },
  };
}
