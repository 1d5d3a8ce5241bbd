// The peer gateway of bench/feed-read.bench.ts: Hive Gateway (gateway runtime) with the
// Rust query planner (@graphql-hive/router-runtime) on Mosaic's own supergraph file, run as
// a process of its own. It does the same per-request duties as Mosaic's gateway: verify the
// access token, check that its session is not revoked (one Redis EXISTS), and send the
// signed viewer context to every subgraph. In-flight de-duplication is off, inbound and
// outbound, so every request really runs.
//   node dist/bench/hive-gateway.js   (port HIVE_GATEWAY_PORT; SUBGRAPH_<NAME>_URL overrides)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { Redis } from 'ioredis';
import { parseConfig, subgraphUrlOverrides } from '../lib/config.js';
import { revokedSessionKey, verifyAccessToken } from '../lib/auth/tokens.js';
import {
  VIEWER_CONTEXT_HEADER,
  signViewerContext,
  type Viewer,
} from '../lib/auth/viewer-context.js';

// Imported by a computed name: their typings reference the DOM lib (via @whatwg-node/fetch),
// which would retype the global fetch for the whole project's typecheck.
interface HiveRuntime {
  (req: IncomingMessage, res: ServerResponse): void;
  dispose(): Promise<void> | void;
}
interface ViewerContext {
  mosaicViewer?: Viewer;
  req?: IncomingMessage;
  request: Request;
}
interface HivePlugin {
  onContextBuilding(p: {
    context: ViewerContext;
    extendContext: (c: Partial<ViewerContext>) => void;
  }): Promise<void>;
  onFetch(p: {
    context: unknown;
    options: { headers?: unknown };
    setOptions: (o: { headers?: unknown }) => void;
  }): void;
}
const pkg = (name: string) => import(name) as Promise<Record<string, unknown>>;
const { createGatewayRuntime } = (await pkg('@graphql-hive/gateway-runtime')) as {
  createGatewayRuntime: (opts: Record<string, unknown>) => HiveRuntime;
};
const { unifiedGraphHandler } = await pkg('@graphql-hive/router-runtime');

const cfg = parseConfig();
const redis = new Redis(cfg.REDIS_URL);
const port = Number(process.env.HIVE_GATEWAY_PORT ?? 4010);
const overrides = subgraphUrlOverrides(cfg);

const unauthenticated = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

let requestSeq = 0;

/** Who is asking, verified once per request, like gateway/src/context.ts. */
async function viewerOf(authorization: string | null, ip: string): Promise<Viewer> {
  const base: Viewer = { userId: null, sessionId: null, ip, requestId: `req-${++requestSeq}` };
  if (!authorization) return base;
  const m = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!m) throw unauthenticated('Authorization header must be "Bearer <accessToken>"');
  const result = await verifyAccessToken(cfg, m[1]!);
  if (!result.ok) throw unauthenticated('Invalid access token');
  const revoked = await redis
    .exists(revokedSessionKey(cfg.REDIS_KEY_PREFIX, result.claims.sessionId))
    .catch(() => 0);
  if (revoked) throw unauthenticated('This session has ended; sign in again');
  return { ...base, userId: result.claims.userId, sessionId: result.claims.sessionId };
}

const viewerContextPlugin: HivePlugin = {
  async onContextBuilding({ context, extendContext }) {
    const ip = context.req?.socket.remoteAddress ?? '';
    extendContext({
      mosaicViewer: await viewerOf(context.request.headers.get('authorization'), ip),
    });
  },
  onFetch({ context, options, setOptions }) {
    const viewer = (context as ViewerContext).mosaicViewer;
    if (!viewer) return;
    setOptions({
      ...options,
      headers: {
        ...(options.headers as Record<string, string>),
        [VIEWER_CONTEXT_HEADER]: signViewerContext(cfg.INTERNAL_SIGNING_SECRET, viewer),
        'x-request-id': viewer.requestId,
      },
    });
  },
};

const transportEntries: Record<string, { location?: string; options?: Record<string, unknown> }> = {
  '*': { options: { deduplicateInflightRequests: false } },
};
for (const [name, url] of Object.entries(overrides))
  if (url) transportEntries[name] = { location: url };

const gateway = createGatewayRuntime({
  supergraph: cfg.SUPERGRAPH_PATH,
  unifiedGraphHandler,
  transportEntries,
  inboundInflightRequestDeduplication: false,
  logging: false,
  plugins: () => [viewerContextPlugin],
});

const server = createServer(gateway);
server.listen(port, '127.0.0.1', () => process.send?.('ready'));
const stop = () => {
  server.close();
  redis.disconnect();
  void Promise.resolve(gateway.dispose()).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
