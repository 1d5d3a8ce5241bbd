// The gateway's REST routes (docs/architecture.md, "REST routes"), one file per concern:
// uploads streamed to the post service (upload-proxy.ts: POST /v1/media,
// PUT /v1/uploads/:token), media files with filesystem storage (media-proxy.ts:
// GET|HEAD /media/*), and GraphQL-backed reads (read-routes.ts: GET /v1/posts/:id,
// GET /v1/feed). Errors are { error, code, requestId } (replies.ts).
import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../lib/config.js';
import type { Limiter } from '../../../lib/platform/rate-limit.js';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import type { GatewayContext } from '../context.js';
import { registerMediaProxy } from './media-proxy.js';
import { postService, type ProxyTimeouts } from './proxy.js';
import { registerReadRoutes } from './read-routes.js';
import { registerUploadProxy } from './upload-proxy.js';

export interface RestOptions {
  cfg: Config;
  redis: Redis;
  apollo: ApolloServer<GatewayContext>;
  /** The post subgraph's GraphQL URL; its other routes live beside it. */
  postSubgraphUrl: string;
  /** Uploads per user (gateway/src/limits.ts createUploadLimiter). */
  uploadLimiter: Limiter;
  /** Overrides of PROXY_TIMEOUTS (tests). */
  timeouts?: Partial<ProxyTimeouts>;
}

export function registerRestRoutes(http: FastifyInstance, opts: RestOptions): void {
  const post = postService(opts.postSubgraphUrl, opts.timeouts);
  registerUploadProxy(http, { ...opts, post });
  registerMediaProxy(http, post);
  registerReadRoutes(http, opts);
}
