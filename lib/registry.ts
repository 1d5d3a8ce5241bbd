// The subgraph registry: one row per subgraph, in start order. Config (ports, URL overrides,
// database roles), composition, the gateway, npm start (with the starters in
// scripts/services.ts), the test stack and the benchmarks read this table, and a test holds
// docker-compose.yml and Prometheus to it. A new subgraph is its folder, one row here, its
// starter (the type checker asks for it) and its migration: docs/architecture.md.
// Data only: lib/config.ts imports it, so it imports nothing.

export interface SubgraphEntry {
  /** Its folder under subgraphs/, its name in the supergraph and in `start.js <name>`. */
  readonly name: string;
  /** Where it listens unless its port setting says otherwise. */
  readonly port: number;
  /** The setting of its port, e.g. USER_PORT. */
  readonly portEnv: string;
  /** The setting that overrides its URL, e.g. SUBGRAPH_USER_URL (compose, tests). */
  readonly urlEnv: string;
  /** The setting of its own Postgres role, e.g. DATABASE_URL_USER (lib/platform/db-roles.ts). */
  readonly databaseUrlEnv: string;
  /** The Postgres schemas it (and its workers) read and write. */
  readonly schemas: readonly string[];
  /**
   * Background workers that can run as processes of their own (`start.js <worker>`); by
   * default they run inside the subgraph's process. Each serves /health and /metrics on
   * the subgraph's port + WORKER_PORT_OFFSET.
   */
  readonly workers: readonly string[];
}

export const SUBGRAPH_REGISTRY = [
  {
    name: 'user',
    port: 4001,
    portEnv: 'USER_PORT',
    urlEnv: 'SUBGRAPH_USER_URL',
    databaseUrlEnv: 'DATABASE_URL_USER',
    schemas: ['users'],
    workers: [],
  },
  {
    name: 'post',
    port: 4002,
    portEnv: 'POST_PORT',
    urlEnv: 'SUBGRAPH_POST_URL',
    databaseUrlEnv: 'DATABASE_URL_POST',
    schemas: ['posts'],
    workers: [],
  },
  {
    name: 'graph',
    port: 4003,
    portEnv: 'GRAPH_PORT',
    urlEnv: 'SUBGRAPH_GRAPH_URL',
    databaseUrlEnv: 'DATABASE_URL_GRAPH',
    schemas: ['graph'],
    workers: [],
  },
  {
    name: 'feed',
    port: 4004,
    portEnv: 'FEED_PORT',
    urlEnv: 'SUBGRAPH_FEED_URL',
    databaseUrlEnv: 'DATABASE_URL_FEED',
    schemas: ['feed'],
    workers: ['feed-worker'],
  },
  {
    name: 'search',
    port: 4005,
    portEnv: 'SEARCH_PORT',
    urlEnv: 'SUBGRAPH_SEARCH_URL',
    databaseUrlEnv: 'DATABASE_URL_SEARCH',
    schemas: ['search'],
    workers: ['search-worker'],
  },
  {
    name: 'engagement',
    port: 4006,
    portEnv: 'ENGAGEMENT_PORT',
    urlEnv: 'SUBGRAPH_ENGAGEMENT_URL',
    databaseUrlEnv: 'DATABASE_URL_ENGAGEMENT',
    schemas: ['engagement'],
    workers: [],
  },
  {
    name: 'notification',
    port: 4007,
    portEnv: 'NOTIFICATION_PORT',
    urlEnv: 'SUBGRAPH_NOTIFICATION_URL',
    databaseUrlEnv: 'DATABASE_URL_NOTIFICATION',
    schemas: ['notification'],
    workers: ['notification-worker'],
  },
] as const satisfies readonly SubgraphEntry[];

export type Subgraph = (typeof SUBGRAPH_REGISTRY)[number];
export type SubgraphName = Subgraph['name'];
export type WorkerName = Subgraph['workers'][number];

/** Every subgraph's name, in start order. */
export const SUBGRAPH_NAMES: readonly SubgraphName[] = SUBGRAPH_REGISTRY.map((s) => s.name);

/** Every worker's name, in the order of their subgraphs. */
export const WORKER_NAMES: readonly WorkerName[] = SUBGRAPH_REGISTRY.flatMap((s) => s.workers);

/** A worker listens on its subgraph's port plus this (feed-worker: 4104). */
export const WORKER_PORT_OFFSET = 100;

/** A subgraph's GraphQL URL when it listens on this machine. */
export const localSubgraphUrl = (port: number): string => `http://127.0.0.1:${port}/graphql`;

/** A value for every subgraph, keyed by name. */
export function bySubgraph<T>(pick: (s: Subgraph) => T): Record<SubgraphName, T> {
  return Object.fromEntries(SUBGRAPH_REGISTRY.map((s) => [s.name, pick(s)])) as Record<
    SubgraphName,
    T
  >;
}

export function isSubgraphName(name: string): name is SubgraphName {
  return SUBGRAPH_REGISTRY.some((s) => s.name === name);
}

/** The registry row of a subgraph, or of the subgraph a worker belongs to. */
export function subgraphOf(name: string): Subgraph | undefined {
  return SUBGRAPH_REGISTRY.find(
    (s) => s.name === name || (s.workers as readonly string[]).includes(name),
  );
}
