// How the gateway calls a subgraph: the GraphQLDataSource contract of @apollo/gateway,
// answered with what Mosaic's subgraphs need and nothing else. RemoteGraphQLDataSource
// builds node-fetch Headers and a node-fetch Request (URL parsing included) for every
// call, only to hand plain values to the fetcher; on a feed page that is three times per
// request. Behaviour kept from it: JSON body of the operation, non-2xx answers become a
// GraphQLError with the response in `extensions.response` (401 → UNAUTHENTICATED,
// 403 → FORBIDDEN), and a non-object body is an error.
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import {
  VIEWER_CONTEXT_HEADER,
  signViewerContext,
  type Viewer,
} from '../../lib/auth/viewer-context.js';
import { injectHeaders } from '../../lib/tracing.js';
import type { GatewayContext } from './context.js';
import { subgraphFetch, type SubgraphResponse } from './subgraph-fetch.js';

type GatewayResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

/** A signed context is good for 60 s; one request's subgraph calls reuse it for half that. */
const REUSE_SIGNED_MS = 30_000;

export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  // One signature per client request, not per subgraph call (HMAC is per-call CPU).
  private readonly signed = new WeakMap<Viewer, { header: string; at: number }>();

  readonly url: string;
  private readonly signingSecret: string;

  constructor(url: string, signingSecret: string) {
    this.url = url;
    this.signingSecret = signingSecret;
  }

  private viewerHeader(viewer: Viewer): string {
    const now = Date.now();
    const hit = this.signed.get(viewer);
    if (hit && now - hit.at < REUSE_SIGNED_MS) return hit.header;
    const header = signViewerContext(this.signingSecret, viewer, now);
    this.signed.set(viewer, { header, at: now });
    return header;
  }

  async process(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
  ): Promise<GatewayResponse> {
    const { request, context } = options;
    // W3C trace context of the active span (Apollo's gateway.fetch, else the request's).
    const headers = injectHeaders<Record<string, string>>({ 'content-type': 'application/json' });
    for (const [k, v] of request.http?.headers ?? []) headers[k] = v;
    // Health checks and schema loading carry no viewer; client operations always do.
    const viewer = (context as Partial<GatewayContext>).viewer;
    if (viewer) {
      headers[VIEWER_CONTEXT_HEADER] = this.viewerHeader(viewer);
      headers['x-request-id'] = viewer.requestId;
    }
    if (!request.query) throw new Error('Missing query');
    const { http: _http, ...operation } = request;
    const res = await subgraphFetch(this.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(operation),
    });
    if (!res.ok) throw await errorFromResponse(res);
    const body = await parseBody(res);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Error(`Expected JSON response body, but received: ${String(body)}`);
    }
    return body;
  }
}

function parseBody(res: SubgraphResponse): Promise<unknown> {
  const type = res.headers.get('content-type');
  return type &&
    (type.startsWith('application/json') || type.startsWith('application/graphql-response+json'))
    ? res.json()
    : res.text();
}

async function errorFromResponse(res: SubgraphResponse): Promise<GraphQLError> {
  const body = await parseBody(res).catch(() => undefined);
  const code =
    res.status === 401 ? 'UNAUTHENTICATED' : res.status === 403 ? 'FORBIDDEN' : undefined;
  return new GraphQLError(`${res.status}: ${res.statusText}`, {
    extensions: {
      response: { url: res.url, status: res.status, statusText: res.statusText, body },
      ...(code ? { code } : {}),
    },
  });
}
