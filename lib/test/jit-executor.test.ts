// The subgraphs execute with graphql-jit (lib/http/jit-executor.ts): every answer, errors
// included, must be what graphql-js gives through the same Apollo Server settings.
import { ApolloServer, type GraphQLResponse } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskError } from '../errors.js';
import { jitExecutor } from '../http/jit-executor.js';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Photo @key(fields: "id") { id: ID! title: String! tags: [String!]! owner: Owner! }
  type Owner @key(fields: "id") { id: ID! }
  type Query { photo(id: ID!): Photo broken: String down: String! count(n: Int!): Int! }
`);

const photos = new Map([
  ['1', { id: '1', title: 'one', tags: ['a', 'b'], ownerId: '7' }],
  ['2', { id: '2', title: 'two', tags: [], ownerId: '8' }],
]);
const unreachable = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
  code: 'ECONNREFUSED',
});

const resolvers = {
  Query: {
    photo: (_: unknown, { id }: { id: string }) => {
      if (!/^\d+$/.test(id)) {
        throw new GraphQLError('Not an id', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      return photos.get(id) ?? null;
    },
    broken: () => {
      throw new Error('a bug with a secret in it');
    },
    down: async () => {
      throw unreachable;
    },
    count: (_: unknown, { n }: { n: number }) => n,
  },
  Photo: {
    __resolveReference: (ref: { id: string }) => photos.get(ref.id) ?? null,
    owner: (p: { ownerId: string }) => ({ id: p.ownerId }),
  },
};

function server(jit: boolean): ApolloServer {
  const schema = buildSubgraphSchema({ typeDefs, resolvers });
  return new ApolloServer({
    ...(jit ? { gateway: jitExecutor(schema) } : { schema }),
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => maskError(formatted, error, () => {}),
  });
}

const operations: [string, string, Record<string, unknown>?][] = [
  ['a field with arguments', '{ photo(id: "1") { id title tags owner { __typename id } } }'],
  ['null for a missing row', '{ photo(id: "9") { id } }'],
  [
    'entities through __resolveReference',
    'query($r: [_Any!]!) { _entities(representations: $r) { ... on Photo { id title } } }',
    {
      r: [
        { __typename: 'Photo', id: '2' },
        { __typename: 'Photo', id: '9' },
      ],
    },
  ],
  ['the SDL for composition', '{ _service { sdl } }'],
  ['a coded error from a resolver', '{ photo(id: "x") { id } }'],
  ['an unexpected error, masked', '{ broken }'],
  ['an unreachable database on a non-null field', '{ down }'],
  ['a bad variable value', 'query($n: Int!) { count(n: $n) }', { n: 'many' }],
  ['a missing variable', 'query($n: Int!) { count(n: $n) }'],
  ['a validation error', '{ nope }'],
  [
    'a chosen operation among several',
    'query A { count(n: 1) } query B { count(n: 2) }',
    undefined,
  ],
];

describe('graphql-jit executor', () => {
  const interpreted = server(false);
  const compiled = server(true);
  beforeAll(async () => {
    await Promise.all([interpreted.start(), compiled.start()]);
  });

  const run = async (s: ApolloServer, query: string, variables?: Record<string, unknown>) => {
    const operationName = query.startsWith('query A') ? 'B' : undefined;
    const r: GraphQLResponse = await s.executeOperation({ query, variables, operationName });
    if (r.body.kind !== 'single') throw new Error('incremental result');
    // The one wording that differs: graphql-jit names the expected type of a bad variable.
    const body = JSON.parse(
      JSON.stringify(r.body.singleResult).replace(/; Expected type [_A-Za-z]+;/g, ';'),
    ) as typeof r.body.singleResult;
    return { status: r.http.status ?? 200, body };
  };

  it.each(operations)('answers %s as graphql-js does', async (_name, query, variables) => {
    const expected = await run(interpreted, query, variables);
    // Twice: the first call compiles, the second runs the cached compiled query.
    expect(await run(compiled, query, variables)).toEqual(expected);
    expect(await run(compiled, query, variables)).toEqual(expected);
  });

  it('keeps the codes clients and the gateway rely on', async () => {
    const codes = async (query: string, variables?: Record<string, unknown>) =>
      (await run(compiled, query, variables)).body.errors?.map((e) => e.extensions?.code);
    expect(await codes('{ photo(id: "x") { id } }')).toEqual(['BAD_USER_INPUT']);
    expect(await codes('{ broken }')).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(await codes('{ down }')).toEqual(['SERVICE_UNAVAILABLE']);
    expect(await codes('query($n: Int!) { count(n: $n) }', { n: 'x' })).toEqual(['BAD_USER_INPUT']);
    const masked = await run(compiled, '{ broken }');
    expect(JSON.stringify(masked)).not.toContain('secret');
  });
});
