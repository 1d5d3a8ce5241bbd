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
import {
  createSubgraphClient,
  type SubgraphClient,
  type SubgraphResponse,
} from './subgraph-fetch.js';

type GatewayResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

/** A signed context is good for 60 s; one request's subgraph calls reuse it for half that. */
const REUSE_SIGNED_MS = 30_000;

// One signature per client request, shared by its calls to every subgraph (HMAC is CPU).
const signed = new WeakMap<Viewer, { header: string; at: number }>();

function viewerHeader(secret: string, viewer: Viewer): string {
  const now = Date.now();
  const hit = signed.get(viewer);
  if (hit && now - hit.at < REUSE_SIGNED_MS) return hit.header;
  const header = signViewerContext(secret, viewer, now);
  signed.set(viewer, { header, at: now });
  return header;
}

export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  readonly url: string;
  private readonly signingSecret: string;
  private readonly client: SubgraphClient;

  constructor(url: string, signingSecret: string) {
    this.url = url;
    this.signingSecret = signingSecret;
    this.client = createSubgraphClient(url);
  }

  /** Closes the kept-alive connections (gateway shutdown). */
  close(): Promise<void> {
    return this.client.close();
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
      headers[VIEWER_CONTEXT_HEADER] = viewerHeader(this.signingSecret, viewer);
      headers['x-request-id'] = viewer.requestId;
    }
    if (!request.query) throw new Error('Missing query');
    const { http: _http, ...operation } = request;
    const res = await this.client.post(headers, JSON.stringify(operation));
    if (res.status < 200 || res.status >= 300) throw errorFromResponse(res);
    const body = parseBody(res);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Error(`Expected JSON response body, but received: ${String(body)}`);
    }
    return body;
  }
}

/** JSON bodies parsed (a malformed one throws), anything else as text. */
function parseBody(res: SubgraphResponse): unknown {
  const type = res.contentType;
  return type &&
    (type.startsWith('application/json') || type.startsWith('application/graphql-response+json'))
    ? (JSON.parse(res.text) as unknown)
    : res.text;
}

function errorFromResponse(res: SubgraphResponse): GraphQLError {
  let body: unknown;
  try {
    body = parseBody(res);
  } catch {
    body = undefined;
  }
  const code =
    res.status === 401 ? 'UNAUTHENTICATED' : res.status === 403 ? 'FORBIDDEN' : undefined;
  return new GraphQLError(`${res.status}: ${res.statusText}`, {
    extensions: {
      response: { url: res.url, status: res.status, statusText: res.statusText, body },
      ...(code ? { code } : {}),
    },
  });
}
