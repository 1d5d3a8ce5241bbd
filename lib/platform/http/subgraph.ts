// Serves one federated subgraph: its SDL file plus resolvers, on the shared HTTP shell.
// Every request must carry the gateway's signed viewer context (lib/auth/viewer-context.ts).
import { readFileSync } from 'node:fs';
import { ApolloServer, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse } from 'graphql';
import type { FastifyInstance } from 'fastify';
import { GraphQLError } from 'graphql';
import {
  VIEWER_CONTEXT_HEADER,
  verifyViewerContext,
  type Viewer,
} from '../../auth/viewer-context.js';
import { ErrorCode, maskError } from '../../contracts/errors.js';
import type { Logger } from '../logger.js';
import { graphqlMetricsPlugin, serviceOf } from '../metrics.js';
import { jitExecutor } from './jit-executor.js';

export type Resolvers<TContext> = GraphQLResolverMap<TContext>;

export function loadTypeDefs(schemaFile: URL): ReturnType<typeof parse> {
  return parse(readFileSync(schemaFile, 'utf8'));
}

export interface SubgraphOptions<TContext extends BaseContext> {
  app: FastifyInstance;
  logger: Logger;
  schemaFile: URL;
  resolvers: Resolvers<TContext>;
  signingSecret: string;
  /** Builds the per-request context (loaders etc.) once the viewer is known. */
  context: (viewer: Viewer) => TContext | Promise<TContext>;
}

export async function mountSubgraph<TContext extends BaseContext>(
  opts: SubgraphOptions<TContext>,
): Promise<ApolloServer<TContext>> {
  const schema = buildSubgraphSchema({
    typeDefs: loadTypeDefs(opts.schemaFile),
    resolvers: opts.resolvers as GraphQLResolverMap<unknown>,
  });
  const server = new ApolloServer<TContext>({
    // graphql-jit in place of graphql-js's interpreter (lib/platform/http/jit-executor.ts).
    gateway: jitExecutor(schema),
    includeStacktraceInErrorResponses: false,
    // Our closeOnSignals drains and exits; Apollo's own handler would re-raise the signal.
    stopOnTerminationSignals: false,
    introspection: true,
    plugins: [
      fastifyApolloDrainPlugin(opts.app),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // Installed by default, it wraps every field resolver to compute @cacheControl hints,
      // which no subgraph declares and the gateway does not read: a large share of the CPU
      // of resolving 20 posts with their media.
      ApolloServerPluginCacheControlDisabled(),
      graphqlMetricsPlugin<TContext>(serviceOf(opts.logger, 'subgraph')),
    ],
    formatError: (formatted, error) =>
      maskError(formatted, error, (err) => opts.logger.error({ err }, 'unexpected resolver error')),
  });
  await server.start();
  await opts.app.register(fastifyApollo(server), {
    path: '/graphql',
    context: async (req) => {
      const header = req.headers[VIEWER_CONTEXT_HEADER];
      const viewer = verifyViewerContext(
        opts.signingSecret,
        typeof header === 'string' ? header : undefined,
      );
      if (!viewer) {
        throw new GraphQLError('Requests must come through the gateway', {
          extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
        });
      }
      return opts.context(viewer);
    },
  });
  return server;
}
