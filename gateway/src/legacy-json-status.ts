// GraphQL over HTTP for clients that accept only application/json. For them the spec says a
// well-formed request is answered 200 even when its document does not parse, does not
// validate or its variables do not coerce: such clients treat any other status as a
// transport failure and never read `errors`. Apollo Server answers those with 400 whatever
// the Accept header; this plugin turns that 400 into 200 for exactly those clients. Clients
// that accept application/graphql-response+json, send `*/*` or no Accept keep the 400
// (docs/graphql-over-http.md). Malformed HTTP requests (a body that is not JSON, a query
// that is not a string) never reach the plugins and stay 400 for everyone.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

/** The codes of a request that failed before execution: parse, validation, variables. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
]);

/** The media types an Accept header lists with a q above 0, lower-cased, without parameters. */
export function acceptedMediaTypes(accept: string | undefined): Set<string> {
  const types = new Set<string>();
  for (const range of (accept ?? '').split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (type && !(q && Number(q.slice(2)) === 0)) types.add(type);
  }
  return types;
}

/** True for a client that names application/json but not application/graphql-response+json. */
export function acceptsOnlyLegacyJson(accept: string | undefined): boolean {
  const types = acceptedMediaTypes(accept);
  return types.has('application/json') && !types.has('application/graphql-response+json');
}

export function legacyJsonStatusPlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response }) {
          if (response.http.status !== 400 || response.body.kind !== 'single') return;
          if (!acceptsOnlyLegacyJson(request.http?.headers.get('accept'))) return;
          const { data, errors } = response.body.singleResult;
          // Execution never started: no data entry at all, and only request errors.
          if (data !== undefined || !errors?.length) return;
          const code = (e: (typeof errors)[number]) => e.extensions?.['code'];
          if (errors.every((e) => REQUEST_ERROR_CODES.has(String(code(e)))))
            response.http.status = 200;
        },
      };
    },
  };
}
