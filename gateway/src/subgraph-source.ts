// How the gateway calls a subgraph: the GraphQLDataSource contract of @apollo/gateway,
// answered with what Mosaic's subgraphs need and nothing else. RemoteGraphQLDataSource
// builds node-fetch Headers and a node-fetch Request (URL parsing included) for every
// call, only to hand plain values to the fetcher; on a feed page that is three times per
// request. Kept from it: JSON body of the operation, and a non-object body is an error.
// Not kept: it put a failed call's URL, status and body in the client's error
// (`extensions.response`). Here a subgraph that cannot be reached, times out or answers
// 5xx/429 is SERVICE_UNAVAILABLE, any other non-2xx (a 401 means the gateway's signature
// was refused: a configuration fault, not the client's) INTERNAL_SERVER_ERROR, and the
// details go to the log only. Each call may take SUBGRAPH timeouts in subgraph-fetch.ts
// (30 s for the headers, 30 s between body chunks).
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../lib/contracts/errors.js';
import type { Logger } from '../../lib/platform/logger.js';
import {
  VIEWER_CONTEXT_HEADER,
  signViewerContext,
  type Viewer,
} from '../../lib/auth/viewer-context.js';
import { injectHeaders } from '../../lib/platform/tracing.js';
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

  private readonly logger: Logger | undefined;

  constructor(url: string, signingSecret: string, logger?: Logger) {
    this.url = url;
    this.signingSecret = signingSecret;
    this.client = createSubgraphClient(url);
    this.logger = logger;
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
    let res: SubgraphResponse;
    try {
      res = await this.client.post(headers, JSON.stringify(operation));
    } catch (err) {
      // Refused, reset, timed out or over the size limit.
      this.logger?.warn({ err, subgraph: this.url }, 'subgraph call failed');
      throw unavailable(err);
    }
    if (res.status < 200 || res.status >= 300) {
      // A variable the subgraph's own scalar refused (e.g. a malformed DateTime: the
      // supergraph's scalars take any value, the subgraph's parse it) is the client's error.
      const refused = res.status === 400 ? refusedInput(res) : null;
      if (refused) return refused;
      const detail = { subgraph: this.url, status: res.status, body: res.text.slice(0, 500) };
      if (isTransient(res.status)) {
        this.logger?.warn(detail, 'subgraph unavailable');
        throw unavailable();
      }
      // Logged by the gateway's formatError (masked there as INTERNAL_SERVER_ERROR).
      throw new GraphQLError(`Subgraph ${this.url} answered ${res.status} ${res.statusText}`, {
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      });
    }
    let body: unknown;
    try {
      body = parseBody(res);
    } catch {
      body = undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new GraphQLError(`Subgraph ${this.url} answered something other than a JSON object`, {
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      });
    }
    return body;
  }
}

/** Statuses that say "not now" (overloaded, restarting, timed out) rather than "wrong". */
const isTransient = (status: number) => status >= 500 || status === 429 || status === 408;

const unavailable = (cause?: unknown) =>
  new GraphQLError('Service temporarily unavailable', {
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
    ...(cause instanceof Error ? { originalError: cause } : {}),
  });

/**
 * A 400 whose errors are all BAD_USER_INPUT (graphql-over-http's answer to variables that do
 * not coerce) as a response the gateway passes on: message, code and `field` only, nothing
 * else of the subgraph's body. Null for any other 400 (a malformed operation is the gateway's
 * fault: INTERNAL_SERVER_ERROR).
 */
function refusedInput(res: SubgraphResponse): GatewayResponse | null {
  let body: unknown;
  try {
    body = parseBody(res);
  } catch {
    return null;
  }
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0 || errors.length > 20) return null;
  const out: GraphQLFormattedError[] = [];
  for (const e of errors as { message?: unknown; extensions?: Record<string, unknown> }[]) {
    if (e?.extensions?.code !== ErrorCode.BAD_USER_INPUT || typeof e.message !== 'string')
      return null;
    const field = e.extensions.field;
    out.push({
      message: e.message.slice(0, 500),
      extensions: {
        code: ErrorCode.BAD_USER_INPUT,
        ...(typeof field === 'string' ? { field } : {}),
      },
    });
  }
  return { errors: out };
}

/** JSON bodies parsed (a malformed one throws), anything else as text. */
function parseBody(res: SubgraphResponse): unknown {
  const type = res.contentType;
  return type &&
    (type.startsWith('application/json') || type.startsWith('application/graphql-response+json'))
    ? (JSON.parse(res.text) as unknown)
    : res.text;
}
