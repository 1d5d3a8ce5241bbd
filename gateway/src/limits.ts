// Abuse limits at the edge: request rate per IP and per user (Redis), a stricter budget
// for the credential mutations, and static query limits (depth, aliases, cost, tokens).
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { Kind, OperationTypeNode, type OperationDefinitionNode } from 'graphql';
import type { RedisClient as Redis } from '../../lib/redis.js';
import type { Config } from '../../lib/config.js';
import { createLimiter, type Limiter } from '../../lib/rate-limit.js';
import { rateLimitedHttp, type GatewayContext } from './context.js';

/** Mutations that try credentials or create accounts: budgeted per IP. */
const AUTH_MUTATIONS = new Set(['signUp', 'logIn', 'refreshSession']);

export interface EdgeLimiters {
  perIp: Limiter;
  perUser: Limiter;
  auth: Limiter;
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
  };
}

/** Counts credential mutations in an operation, aliases included (one request, many tries). */
export function countAuthMutations(op: OperationDefinitionNode): number {
  if (op.operation !== OperationTypeNode.MUTATION) return 0;
  return op.selectionSet.selections.filter(
    (s) => s.kind === Kind.FIELD && AUTH_MUTATIONS.has(s.name.value),
  ).length;
}

export function authRateLimitPlugin(limiters: EdgeLimiters): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (!operation) return;
          const n = countAuthMutations(operation);
          if (n === 0) return;
          const wait = await limiters.auth.consume(contextValue.viewer.ip, n);
          if (wait !== null) throw rateLimitedHttp(wait);
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
    costLimit: {
      enabled: on(cfg.MAX_QUERY_COST),
      maxCost: cfg.MAX_QUERY_COST,
      ignoreIntrospection: true,
    },
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
