// Read routes: GET /v1/posts/:id and GET /v1/feed run the same GraphQL operations a client
// would send, through this gateway's Apollo Server, and answer REST-shaped JSON.
import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../lib/config.js';
import { ErrorCode } from '../../../lib/contracts/errors.js';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import type { GatewayContext } from '../context.js';
import { codeOf, sendError, viewerOf } from './replies.js';

export interface ReadRoutesOptions {
  cfg: Config;
  redis: Redis;
  apollo: ApolloServer<GatewayContext>;
}

// The Post fields every REST route returns (GraphQL field names, api.graphql).
const POST_FIELDS = /* GraphQL */ `
  fragment RestPostFields on Post {
    id
    caption
    hashtags
    createdAt
    editedAt
    author {
      id
      username
      displayName
    }
    media {
      id
      type
      mimeType
      url
      width
      height
      durationSeconds
      posterUrl
      altText
      blurhash
      variants {
        width
        height
        mimeType
        url
      }
    }
  }
`;

const POST_QUERY = /* GraphQL */ `
  query RestPost($id: ID!) {
    post(id: $id) {
      ...RestPostFields
    }
  }
  ${POST_FIELDS}
`;

const FEED_QUERY = /* GraphQL */ `
  query RestFeed($first: Int, $after: String) {
    feed(first: $first, after: $after) {
      nodes {
        ...RestPostFields
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
  ${POST_FIELDS}
`;

export function registerReadRoutes(http: FastifyInstance, opts: ReadRoutesOptions): void {
  // anyone; signed-in viewers see their own `isViewer` etc. | 200 Post, 404, 400 (bad id), 401
  http.get('/v1/posts/:id', async (req, reply) => {
    const viewer = await viewerOf(opts, req, reply);
    if (!viewer) return reply;
    const { id } = req.params as { id: string };
    const response = await opts.apollo.executeOperation(
      { query: POST_QUERY, variables: { id } },
      { contextValue: { viewer } },
    );
    if (response.body.kind !== 'single')
      return sendError(reply, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    const { data, errors } = response.body.singleResult as {
      data?: { post: unknown } | null;
      errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
    };
    if (data?.post) return reply.code(200).send(data.post);
    const first = errors?.[0];
    if (first) return sendError(reply, codeOf(first), first.message);
    return sendError(reply, ErrorCode.NOT_FOUND, 'Post not found');
  });
  // signed-in user | 200 { items, nextCursor }, 400 (bad limit or cursor), 401
  http.get('/v1/feed', async (req, reply) => {
    const viewer = await viewerOf(opts, req, reply);
    if (!viewer) return reply;
    if (!viewer.userId) return sendError(reply, ErrorCode.UNAUTHENTICATED, 'You must be signed in');
    const { limit, cursor } = req.query as { limit?: string; cursor?: string };
    const first = limit === undefined ? 20 : Number(limit);
    if (!Number.isInteger(first))
      return sendError(reply, ErrorCode.BAD_USER_INPUT, 'limit must be a whole number');
    const response = await opts.apollo.executeOperation(
      { query: FEED_QUERY, variables: { first, after: cursor ?? null } },
      { contextValue: { viewer } },
    );
    if (response.body.kind !== 'single')
      return sendError(reply, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    const { data, errors } = response.body.singleResult as {
      data?: {
        feed: { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
      } | null;
      errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
    };
    const firstError = errors?.[0];
    if (firstError || !data) {
      return firstError
        ? sendError(reply, codeOf(firstError), firstError.message)
        : sendError(reply, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    }
    return reply.send({
      items: data.feed.nodes,
      nextCursor: data.feed.pageInfo.hasNextPage ? data.feed.pageInfo.endCursor : null,
    });
  });
}
