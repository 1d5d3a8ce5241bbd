// Abuse limits at the edge: request rate per IP and per user (Redis), a stricter budget
// for the credential mutations, an upload budget per user (POST /v1/media and
// createUpload), and static query limits (depth, aliases, cost, tokens).
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  Kind,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  OperationTypeNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { RedisClient as Redis } from '../../lib/platform/redis.js';
import type { Config } from '../../lib/config.js';
import { createLimiter, type Limiter } from '../../lib/platform/rate-limit.js';
import { rateLimitedHttp, type GatewayContext } from './context.js';

/** Mutations that try credentials or create accounts: budgeted per IP. */
const AUTH_MUTATIONS = ['signUp', 'logIn'];
/** Refreshes spend a budget of their own: many users behind one NAT refresh all day. */
const REFRESH_MUTATION = 'refreshSession';
/** Direct uploads: budgeted per user, with POST /v1/media. */
const UPLOAD_MUTATION = 'createUpload';
/** The per-IP refresh budget, as a multiple of RATE_LIMIT_AUTH_PER_MINUTE. */
export const REFRESH_BUDGET_FACTOR = 10;

export interface EdgeLimiters {
  perIp: Limiter;
  perUser: Limiter;
  auth: Limiter;
  refresh: Limiter;
}

export function createEdgeLimiters(cfg: Config, redis: Redis): EdgeLimiters {
  const p = cfg.REDIS_KEY_PREFIX;
  return {
    perIp: createLimiter(redis, {
      keyPrefix: `${p}rl:ip`,
      points: cfg.RATE_LIMIT_IP_PER_MINUTE,
      durationSeconds: 60,
    }),
    perUser: createLimiter(redis, {
      keyPrefix: `${p}rl:user`,
      points: cfg.RATE_LIMIT_USER_PER_MINUTE,
      durationSeconds: 60,
    }),
    auth: createLimiter(redis, {
      keyPrefix: `${p}rl:auth`,
      points: cfg.RATE_LIMIT_AUTH_PER_MINUTE,
      durationSeconds: 60,
    }),
    refresh: createLimiter(redis, {
      keyPrefix: `${p}rl:refresh`,
      // 0 (auth limit off) stays 0: off.
      points: cfg.RATE_LIMIT_AUTH_PER_MINUTE * REFRESH_BUDGET_FACTOR,
      durationSeconds: 60,
    }),
  };
}

/** Uploads (POST /v1/media and createUpload) per user per minute. */
export function createUploadLimiter(cfg: Config, redis: Redis): Limiter {
  return createLimiter(redis, {
    keyPrefix: `${cfg.REDIS_KEY_PREFIX}rl:upload`,
    points: cfg.RATE_LIMIT_UPLOADS_PER_MINUTE,
    durationSeconds: 60,
  });
}

type Vars = Readonly<Record<string, unknown>> | undefined;

function skipped(directives: readonly DirectiveNode[] | undefined, vars: Vars): boolean {
  for (const d of directives ?? []) {
    const name = d.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const arg = d.arguments?.find((a) => a.name.value === 'if')?.value;
    let value: unknown;
    if (arg?.kind === Kind.BOOLEAN) value = arg.value;
    else if (arg?.kind === Kind.VARIABLE) value = vars?.[arg.name.value];
    // Unknown (a defaulted variable, say): counted, since it may well run.
    if (typeof value !== 'boolean') continue;
    if (name === 'skip' ? value : !value) return true;
  }
  return false;
}

/**
 * How many times each root field of an operation will run: one per distinct response key
 * (alias or name), through inline fragments and fragment spreads at any depth, as
 * graphql-js collects them (a fragment spread twice runs once; @skip/@include with a
 * literal or a given variable are honoured, anything else is counted). Budgets built on
 * top-level fields only were bypassed by wrapping the fields in a fragment.
 */
export function rootFieldCounts(
  op: OperationDefinitionNode,
  document?: DocumentNode,
  variables?: Vars,
): Map<string, number> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document?.definitions ?? []) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const keys = new Map<string, Set<string>>();
  const visited = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      if (skipped(s.directives, variables)) continue;
      if (s.kind === Kind.FIELD) {
        const name = s.name.value;
        let seen = keys.get(name);
        if (!seen) keys.set(name, (seen = new Set()));
        seen.add(s.alias?.value ?? name);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        walk(s.selectionSet);
      } else {
        const name = s.name.value;
        if (visited.has(name)) continue; // also ends a (invalid) fragment cycle
        visited.add(name);
        const fragment = fragments.get(name);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(op.selectionSet);
  return new Map([...keys].map(([name, seen]) => [name, seen.size]));
}

/** How many root fields named in `names` the operation runs. */
export function countRootFields(counts: Map<string, number>, names: readonly string[]): number {
  return names.reduce((n, name) => n + (counts.get(name) ?? 0), 0);
}

/**
 * Spends the per-IP credential budgets (signUp/logIn; refreshSession apart) and the per-user
 * upload budget for every such root field a mutation will run. One walk of the operation
 * serves all three; queries (the hot path) are not walked at all.
 */
export function mutationBudgetsPlugin(
  limiters: EdgeLimiters,
  uploadLimiter: Limiter,
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, contextValue }) {
          if (operation?.operation !== OperationTypeNode.MUTATION) return;
          const counts = rootFieldCounts(operation, document, request.variables);
          const { ip, userId } = contextValue.viewer;
          const auth = countRootFields(counts, AUTH_MUTATIONS);
          const refresh = countRootFields(counts, [REFRESH_MUTATION]);
          const waits = await Promise.all([
            auth > 0 ? limiters.auth.consume(ip, auth) : null,
            refresh > 0 ? limiters.refresh.consume(ip, refresh) : null,
          ]);
          const wait = Math.max(...waits.map((w) => w ?? 0));
          if (wait > 0) throw rateLimitedHttp(wait);
          // Fragments and aliases included: each createUpload that will run spends one.
          const uploads = countRootFields(counts, [UPLOAD_MUTATION]);
          if (uploads === 0 || !userId) return;
          const uploadWait = await uploadLimiter.consume(userId, uploads);
          if (uploadWait !== null) throw rateLimitedHttp(uploadWait);
        },
      };
    },
  };
}

export function queryLimits(cfg: Config) {
  // 0 switches a limit off, like the rate limits.
  const on = (n: number) => n > 0;
  return new ApolloArmor({
    maxDepth: {
      enabled: on(cfg.MAX_QUERY_DEPTH),
      n: cfg.MAX_QUERY_DEPTH,
      ignoreIntrospection: true,
    },
    maxAliases: { enabled: on(cfg.MAX_QUERY_ALIASES), n: cfg.MAX_QUERY_ALIASES },
    // Off here: armor's rule cannot see variables (`first: $n` counted as 1) and charged
    // fragments an extra level; gateway/src/query-cost.ts checks MAX_QUERY_COST once the
    // variables are known.
    costLimit: { enabled: false },
    // Armor's token plugin throws from parsingDidStart, which Apollo answers with a 500;
    // graphql-js' own maxTokens (queryParseOptions) fails the parse instead: a 400.
    maxTokens: { enabled: false },
    maxDirectives: { n: 50 },
    // Field suggestions ("did you mean …") help developers but map the schema for attackers.
    blockFieldSuggestion: { enabled: cfg.isProduction },
  }).protect();
}

/** Parser options: the token limit, checked while parsing (GRAPHQL_PARSE_FAILED, 400). */
export function queryParseOptions(cfg: Config): { maxTokens?: number } {
  return cfg.MAX_QUERY_TOKENS > 0 ? { maxTokens: cfg.MAX_QUERY_TOKENS } : {};
}
