// Typed configuration, read once from the environment and validated at startup.
// Every service gets the same object; each reads only what it needs. Settings of one
// subgraph alone sit with that subgraph (subgraphs/{feed,post,search}/src/settings.ts), declared
// with defineSettings and parsed from the same environment (cfg.env) with the same rules.
import { z } from 'zod';
import { acceptPreviousKey } from './auth/key-ring.js';
import {
  localSubgraphUrl,
  SUBGRAPH_REGISTRY,
  subgraphOf,
  type Subgraph,
  type SubgraphName,
} from './registry.js';

export const int = (def: number) => z.coerce.number().int().nonnegative().default(def);
export const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const url = (def: string) => z.string().url().default(def);
export const optionalUrl = z.string().url().optional();

// Each subgraph's settings, named in its registry row (USER_PORT, SUBGRAPH_USER_URL,
// DATABASE_URL_USER, ...): its port, the URL that overrides the one composed into the
// supergraph (docker compose, tests), and its own Postgres role (see DATABASE_URL_GATEWAY).
type SubgraphSettings = { [S in Subgraph as S['portEnv']]: ReturnType<typeof int> } & {
  [S in Subgraph as S['urlEnv'] | S['databaseUrlEnv']]: typeof optionalUrl;
};
const subgraphSettings = Object.fromEntries(
  SUBGRAPH_REGISTRY.flatMap((s) => [
    [s.portEnv, int(s.port)],
    [s.urlEnv, optionalUrl],
    [s.databaseUrlEnv, optionalUrl],
  ]),
) as SubgraphSettings;

// Development-only secrets, used only with NODE_ENV=development or test on loopback (see
// parseConfig). They, minioadmin and anything saying "change-me" (the .env.example
// placeholders) count as no secret at all.
const DEV_JWT_SECRET = 'mosaic-dev-jwt-secret-change-me-0123456789abcdef';
const DEV_INTERNAL_SECRET = 'mosaic-dev-internal-secret-change-me-0123456789';
const DEV_MINIO_CREDENTIAL = 'minioadmin';
const isDevSecret = (v: string) =>
  v === DEV_JWT_SECRET ||
  v === DEV_INTERNAL_SECRET ||
  v === DEV_MINIO_CREDENTIAL ||
  /change-?me/i.test(v);
/** Listeners on these addresses are reachable from this machine only. */
const isLoopback = (host: string) =>
  /^(localhost|::1|\[::1\]|127(\.\d{1,3}){3})$/i.test(host.trim());

const schema = z.object({
  /** Unset means production: development conveniences must be asked for (npm start does). */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),

  DATABASE_URL: url('postgresql://postgres@127.0.0.1:5432/mosaic'),
  DATABASE_POOL_SIZE: int(10),
  /** Per-connection limits of the services' pools (0 = none); migrations and bulk jobs use none. */
  DATABASE_STATEMENT_TIMEOUT_MS: int(15_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(60_000),
  DATABASE_CONNECT_TIMEOUT_MS: int(3000),
  /**
   * Per-service Postgres roles (lib/platform/db-roles.ts): a service connects with its URL instead of
   * DATABASE_URL, and the migration step creates the role named in it with rights on that
   * service's schema only. Unset: every service uses DATABASE_URL. The subgraphs' come
   * from lib/registry.ts (subgraphSettings).
   */
  DATABASE_URL_GATEWAY: optionalUrl,
  REDIS_URL: url('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default('mosaic:'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** Prepended to every subject and stream name (tests isolate themselves with it). */
  NATS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .default(''),

  JWT_SECRET: z.string().min(32).default(DEV_JWT_SECRET),
  INTERNAL_SIGNING_SECRET: z.string().min(32).default(DEV_INTERNAL_SECRET),
  /** During a key rotation, still accepted for verification; signing uses the current key. */
  JWT_SECRET_PREVIOUS: z.string().min(32).optional(),
  INTERNAL_SIGNING_SECRET_PREVIOUS: z.string().min(32).optional(),
  ACCESS_TOKEN_TTL_SECONDS: int(900),
  REFRESH_TOKEN_TTL_DAYS: int(30),
  /** Absolute lifetime of a session (refresh family) from its sign-in; 0 turns it off. */
  SESSION_MAX_AGE_DAYS: int(60),
  /** Argon2id cost (OWASP 2024: m=19 MiB, t=2, p=1). */
  ARGON2_MEMORY_KIB: int(19456),
  ARGON2_TIME_COST: int(2),

  GATEWAY_PORT: int(4000),
  /** <NAME>_PORT, SUBGRAPH_<NAME>_URL and DATABASE_URL_<NAME> of every subgraph. */
  ...subgraphSettings,
  SUPERGRAPH_PATH: z.string().default('schema/supergraph.graphql'),

  /** Comma-separated allowed origins; `*` = any (the default outside production; refused in it). */
  CORS_ORIGINS: z.string().optional(),
  /** Trust X-Forwarded-For from a load balancer in front of the gateway. */
  TRUST_PROXY: bool(false),

  RATE_LIMIT_IP_PER_MINUTE: int(1200),
  RATE_LIMIT_USER_PER_MINUTE: int(600),
  /** logIn / signUp / refreshSession attempts per IP per minute. */
  RATE_LIMIT_AUTH_PER_MINUTE: int(20),
  /** Failed logIns per account (24 h memory) before further attempts are delayed. */
  RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: int(10),
  /** Past that budget, attempts from unknown addresses wait base·2^k seconds, up to the max. */
  LOGIN_BACKOFF_BASE_SECONDS: int(2),
  LOGIN_BACKOFF_MAX_SECONDS: int(900),
  /** How long an address that signed in to an account skips that account's login delay. */
  LOGIN_KNOWN_IP_DAYS: int(30),
  /** refreshSession calls per session (refresh family) per minute. */
  RATE_LIMIT_REFRESH_PER_SESSION_PER_MINUTE: int(10),

  MAX_QUERY_DEPTH: int(12),
  MAX_QUERY_ALIASES: int(30),
  // Counted with real page sizes (gateway/src/query-cost.ts): a 20-post feed page with authors,
  // avatars, media, counts and two comments each costs ~6,200; 100 x 100 nested lists ~245,000.
  MAX_QUERY_COST: int(20_000),
  MAX_QUERY_TOKENS: int(2000),

  /** Authors with at least this many followers are not fanned out; readers pull their posts. */
  CELEBRITY_FOLLOWER_THRESHOLD: int(10_000),

  // Home feed (FEED_*): subgraphs/feed/src/settings.ts.

  OUTBOX_POLL_MS: int(1000),
  OUTBOX_BATCH_SIZE: int(200),
  OUTBOX_RETENTION_DAYS: int(7),

  APOLLO_TELEMETRY_DISABLED: bool(true),

  // ---- media storage (post subgraph) ----
  // The post subgraph's own (STORAGE_DIR, MINIO_BUCKET/REGION/PUBLIC_BASE_URL,
  // MEDIA_MAX_PIXELS, MEDIA_ORPHAN_GRACE_HOURS, MEDIA_JANITOR_INTERVAL_SECONDS, UPLOAD_*):
  // subgraphs/post/src/settings.ts. Here: what the gateway or the secret check reads too,
  // and the gateway's public address.
  /** The gateway's public base URL: fs media and fs-presigned upload URLs point at it. */
  PUBLIC_URL: url('http://127.0.0.1:4000'),
  /** S3-compatible storage (MinIO); when set, media go there instead of STORAGE_DIR. */
  MINIO_ENDPOINT: optionalUrl,
  MINIO_ACCESS_KEY: z.string().default(DEV_MINIO_CREDENTIAL),
  MINIO_SECRET_KEY: z.string().default(DEV_MINIO_CREDENTIAL),
  MEDIA_MAX_IMAGE_BYTES: int(30 * 1024 * 1024),
  MEDIA_MAX_VIDEO_BYTES: int(1024 * 1024 * 1024),
  /** Uploads (POST /v1/media, createUpload) per user per minute at the gateway. */
  RATE_LIMIT_UPLOADS_PER_MINUTE: int(30),

  // ---- search (search subgraph) ----
  // MEILI_INDEX and SEARCH_*: subgraphs/search/src/settings.ts. Here: what the secret check reads.
  /** Meilisearch; when set, search queries and indexing go there instead of Postgres full-text. */
  MEILI_URL: optionalUrl,
  MEILI_MASTER_KEY: z.string().optional(),

  // ---- scale-out (clusters) ----
  /** Comma-separated host:port seeds of a Redis Cluster; when set, used instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^\s*[^\s,:]+:\d+\s*(,\s*[^\s,:]+:\d+\s*)*$/, 'expected host:port,host:port,…')
    .optional(),
  /** Replicas of each JetStream stream (3 on a 3-node NATS cluster); consumers inherit it. */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),

  // ---- metrics (lib/platform/metrics.ts) ----
  /** Lets non-private callers read the gateway's /metrics with `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(16).optional(),

  // ---- tracing (lib/platform/tracing.ts) ----
  /** Record OpenTelemetry spans; also on whenever OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  TRACING: bool(false),
  /** OTLP/HTTP collector base URL (traces go to <url>/v1/traces); default http://localhost:4318. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  /** Resource service.name; default mosaic-<service> of the first service in the process. */
  OTEL_SERVICE_NAME: z.string().optional(),
});

type Env = Readonly<Record<string, string | undefined>>;

export type Config = z.infer<typeof schema> & {
  isProduction: boolean;
  corsOrigins: string[] | '*';
  /** The environment this was parsed from (empty values dropped): subgraph settings read it. */
  env: Env;
};

export class ConfigError extends Error {}

function validate<S extends z.ZodType>(s: S, env: Env): z.infer<S> {
  const parsed = s.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" so that `FOO=` in a compose file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const c = validate(schema, cleaned);
  const isProduction = c.NODE_ENV === 'production';
  refuseDevSecrets(c, cleaned);
  const origins = c.CORS_ORIGINS ?? (isProduction ? '' : '*');
  if (isProduction && origins.trim() === '*') {
    throw new ConfigError(
      'CORS_ORIGINS=* is not allowed with NODE_ENV=production: list the allowed origins',
    );
  }
  const corsOrigins =
    origins.trim() === '*'
      ? ('*' as const)
      : origins
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);
  acceptPreviousKey(c.INTERNAL_SIGNING_SECRET, c.INTERNAL_SIGNING_SECRET_PREVIOUS);
  return { ...c, isProduction, corsOrigins, env: Object.freeze(cleaned) };
}

/**
 * Settings of one subgraph, declared beside it: the returned function reads them from a
 * Config's environment (cfg.env) with the same rules as the Config itself (empty values
 * unset, ConfigError naming the variable), once per environment. Copies of a Config
 * (`{ ...cfg, X: y }`) share its environment and so its settings.
 */
export function defineSettings<S extends z.ZodRawShape>(
  shape: S,
): (cfg: Pick<Config, 'env'>) => z.infer<z.ZodObject<S>> {
  const settings = z.object(shape);
  const parsed = new WeakMap<Env, z.infer<z.ZodObject<S>>>();
  return (cfg) => {
    let value = parsed.get(cfg.env);
    if (!value) {
      value = validate(settings, cfg.env);
      parsed.set(cfg.env, value);
    }
    return value;
  };
}

/**
 * The built-in development secrets (and placeholders) are accepted only where nobody else
 * can reach the process: NODE_ENV=development or test, said explicitly, and HOST on
 * loopback. Anywhere else a token signed with the secrets in this repository would be
 * accepted, so the process refuses to start, naming the variable.
 */
function refuseDevSecrets(
  c: z.infer<typeof schema>,
  given: Record<string, string | undefined>,
): void {
  if ((c.NODE_ENV === 'development' || c.NODE_ENV === 'test') && isLoopback(c.HOST)) return;
  const where = `NODE_ENV=${given.NODE_ENV ?? 'unset (production)'}, HOST=${c.HOST}`;
  const password = (u: string | undefined) => {
    try {
      return u ? decodeURIComponent(new URL(u).password) : '';
    } catch {
      return '';
    }
  };
  const secrets: [string, string | undefined][] = [
    ['JWT_SECRET', c.JWT_SECRET],
    ['INTERNAL_SIGNING_SECRET', c.INTERNAL_SIGNING_SECRET],
    ['JWT_SECRET_PREVIOUS', c.JWT_SECRET_PREVIOUS],
    ['INTERNAL_SIGNING_SECRET_PREVIOUS', c.INTERNAL_SIGNING_SECRET_PREVIOUS],
    // Only in use with an endpoint: without one media go to the filesystem.
    ...(c.MINIO_ENDPOINT
      ? ([
          ['MINIO_ACCESS_KEY', c.MINIO_ACCESS_KEY],
          ['MINIO_SECRET_KEY', c.MINIO_SECRET_KEY],
        ] as [string, string][])
      : []),
    ['MEILI_MASTER_KEY', c.MEILI_URL ? c.MEILI_MASTER_KEY : undefined],
    ...(
      [
        'DATABASE_URL',
        ...SUBGRAPH_REGISTRY.map((s) => s.databaseUrlEnv),
        'DATABASE_URL_GATEWAY',
        'REDIS_URL',
      ] as const
    ).map((k): [string, string] => [`the password in ${k}`, password(c[k])]),
    ...c.NATS_URL.split(',').map((u): [string, string] => [
      'the password in NATS_URL',
      password(u.trim()),
    ]),
  ];
  for (const [name, value] of secrets) {
    if (value === undefined || !isDevSecret(value)) continue;
    const unset = !name.startsWith('the ') && given[name] === undefined;
    throw new ConfigError(
      unset
        ? `${name} must be set: the built-in development value is used only with NODE_ENV=development or test and HOST on loopback (here ${where})`
        : `${name} is a development value or placeholder: set a real secret (those are allowed only with NODE_ENV=development or test and HOST on loopback; here ${where})`,
    );
  }
}

/** Where a subgraph service listens: SUBGRAPH_<NAME>_URL, else <NAME>_PORT on this machine. */
export function subgraphUrl(cfg: Config, name: SubgraphName): string {
  const s = subgraphOf(name)!;
  return cfg[s.urlEnv] ?? localSubgraphUrl(cfg[s.portEnv]);
}

/** The SUBGRAPH_<NAME>_URL settings that are set, by subgraph name. */
export function subgraphUrlOverrides(cfg: Config): Partial<Record<SubgraphName, string>> {
  return Object.fromEntries(
    SUBGRAPH_REGISTRY.flatMap((s) => {
      const url = cfg[s.urlEnv];
      return url === undefined ? [] : [[s.name, url]];
    }),
  );
}

let cached: Config | undefined;
/** The process-wide configuration, parsed on first use. */
export function config(): Config {
  cached ??= parseConfig();
  return cached;
}
