// The subgraphs execute with graphql-jit (lib/platform/http/jit-executor.ts): every answer, errors
// included, must be what graphql-js gives through the same Apollo Server settings.
import { ApolloServer, type GraphQLResponse } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, GraphQLScalarType, parse, type ExecutionResult } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskError } from '../../contracts/errors.js';
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

// graphql-jit's variable errors, word for word (graphql-jit 0.8.9): each coercion path it
// generates code for. normalizeErrors (lib/platform/http/jit-executor.ts) reads the variable's name
// from the start of the message (`Variable "$v"`, its VARIABLE_NAME) and attaches that
// variable's definition, and only because the result has no `data`; Apollo Server then
// answers BAD_USER_INPUT with HTTP 400 only if the message goes on with "got invalid value ",
// "of required type " or "of non-null type " (isBadUserInputGraphQLError in
// @apollo/server's requestPipeline). A graphql-jit release that rewords any of these fails
// here, naming the case, before bad input becomes an internal error.
describe('graphql-jit variable errors', () => {
  const schema = buildSubgraphSchema({
    typeDefs: parse(`
      scalar Cursor
      enum Kind { IMAGE VIDEO }
      input Filter { kind: Kind! after: Cursor tags: [String!] }
      type Query {
        probe(s: String, i: ID, b: Boolean, n: Int, f: Float, k: Kind, c: Cursor, l: [Int!], o: Filter): Int
      }
    `),
    resolvers: {
      Cursor: new GraphQLScalarType({
        name: 'Cursor',
        parseValue: (v) => {
          if (typeof v !== 'string') throw new TypeError('not a cursor');
          return v;
        },
      }),
      Query: { probe: () => 1 },
    },
  });
  const apollo = new ApolloServer({ gateway: jitExecutor(schema) });
  beforeAll(async () => {
    await apollo.start();
  });

  const ARG: Record<string, string> = {
    String: 's',
    ID: 'i',
    Boolean: 'b',
    Int: 'n',
    Float: 'f',
    Kind: 'k',
    Cursor: 'c',
    '[Int!]': 'l',
    Filter: 'o',
  };
  const query = (type: string) =>
    `query($v: ${type}) { probe(${ARG[type.replace(/!$/, '')]}: $v) }`;
  const raw = async (q: string, variables: Record<string, unknown>): Promise<ExecutionResult> => {
    const compiled = compileQuery(schema, parse(q));
    if (!isCompiledQuery(compiled)) throw new Error(JSON.stringify(compiled.errors));
    return compiled.query(undefined, {}, variables);
  };
  const reworded = (name: string) =>
    `graphql-jit reworded its error for ${name}: VARIABLE_NAME and normalizeErrors in ` +
    `lib/platform/http/jit-executor.ts, and Apollo's BAD_USER_INPUT test, rely on this wording`;

  // [case, variable type, variables, graphql-jit's message]
  const cases: [string, string, { v?: unknown }, string][] = [
    [
      'a non-string String',
      'String',
      { v: 1 },
      'Variable "$v" got invalid value 1; Expected type String; String cannot represent a non string value: 1',
    ],
    [
      'a boolean ID',
      'ID',
      { v: true },
      'Variable "$v" got invalid value true; Expected type ID; ID cannot represent value: true',
    ],
    [
      'a non-boolean Boolean',
      'Boolean',
      { v: 'yes' },
      'Variable "$v" got invalid value "yes"; Expected type Boolean; Boolean cannot represent a non boolean value: "yes"',
    ],
    [
      'a non-integer Int',
      'Int',
      { v: 'many' },
      'Variable "$v" got invalid value "many"; Expected type Int; Int cannot represent non-integer value: "many"',
    ],
    [
      'an Int beyond 32 bits',
      'Int',
      { v: 2 ** 40 },
      'Variable "$v" got invalid value 1099511627776; Expected type Int; Int cannot represent non 32-bit signed integer value: 1099511627776',
    ],
    [
      'a non-numeric Float',
      'Float',
      { v: 'x' },
      'Variable "$v" got invalid value "x"; Expected type Float; Float cannot represent non numeric value: "x"',
    ],
    [
      'an unknown enum value',
      'Kind',
      { v: 'AUDIO' },
      'Variable "$v" got invalid value "AUDIO"; Expected type Kind.',
    ],
    [
      'a non-string enum value',
      'Kind',
      { v: 1 },
      'Variable "$v" got invalid value 1; Expected type Kind.',
    ],
    [
      'a custom scalar that throws',
      'Cursor',
      { v: 5 },
      'Variable "$v" got invalid value 5; Expected type Cursor.',
    ],
    [
      'a bad list element',
      '[Int!]',
      { v: [1, 'x'] },
      'Variable "$v" got invalid value "x"; Expected type Int; Int cannot represent non-integer value: "x"',
    ],
    [
      'a null non-null list element',
      '[Int!]',
      { v: [1, null] },
      'Variable "$v" got invalid value [1, null]; Expected non-nullable type Int! not to be null at value[1].',
    ],
    [
      'a bad single value for a list',
      '[Int!]',
      { v: 'x' },
      'Variable "$v" got invalid value "x"; Expected type Int; Int cannot represent non-integer value: "x"',
    ],
    [
      'an input object that is not an object',
      'Filter',
      { v: 3 },
      'Variable "$v" got invalid value 3; Expected type Filter to be an object.',
    ],
    [
      'an unknown input field',
      'Filter',
      { v: { kind: 'IMAGE', zz: 1 } },
      'Variable "$v" got invalid value { kind: "IMAGE", zz: 1 }; Field "zz" is not defined by type Filter.',
    ],
    [
      'a missing required input field',
      'Filter',
      { v: {} },
      'Variable "$v" got invalid value {}; Field value.kind of required type Kind! was not provided.',
    ],
    [
      'a null required input field',
      'Filter',
      { v: { kind: null } },
      'Variable "$v" got invalid value { kind: null }; Expected non-nullable type Kind! not to be null at value.kind.',
    ],
    [
      'a missing required variable',
      'Int!',
      {},
      'Variable "$v" of required type "Int!" was not provided.',
    ],
    [
      'a null required variable',
      'Int!',
      { v: null },
      'Variable "$v" of non-null type "Int!" must not be null.',
    ],
  ];

  it.each(cases)('%s: pinned wording, BAD_USER_INPUT', async (name, type, variables, message) => {
    const q = query(type);
    const result = await raw(q, variables);
    expect('data' in result, `graphql-jit now answers ${name} with a data key`).toBe(false);
    expect(
      result.errors?.map((e) => e.message),
      reworded(name),
    ).toEqual([message]);

    const r = await apollo.executeOperation({ query: q, variables });
    if (r.body.kind !== 'single') throw new Error('incremental result');
    expect({ status: r.http.status, errors: r.body.singleResult.errors }).toMatchObject({
      status: 400,
      errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }],
    });
  });

  // A bad value inside an input object is named after the input field, not the variable
  // (graphql-jit passes the field's name down as the variable's). normalizeErrors still
  // answers BAD_USER_INPUT (pointing at the operation's first variable). Clients rarely get
  // here: the gateway coerces every variable with graphql-js before it plans. If the wording
  // test fails, graphql-jit names the variable now: move the cases to the table above.
  it('names the input field, not the variable, for a bad value inside an input object', async () => {
    const q = query('Filter');
    const messages = async (v: unknown) => (await raw(q, { v })).errors?.map((e) => e.message);
    expect(await messages({ kind: 5 }), reworded('a bad input field')).toEqual([
      'Variable "$kind" got invalid value 5; Expected type Kind.',
    ]);
    expect(
      await messages({ kind: 'IMAGE', tags: [1] }),
      reworded('a bad list in an input field'),
    ).toEqual([
      'Variable "$tags" got invalid value 1; Expected type String; String cannot represent a non string value: 1',
    ]);
    for (const v of [{ kind: 5 }, { kind: 'IMAGE', tags: [1] }]) {
      const r = await apollo.executeOperation({ query: q, variables: { v } });
      if (r.body.kind !== 'single') throw new Error('incremental result');
      expect({ status: r.http.status, errors: r.body.singleResult.errors }).toMatchObject({
        status: 400,
        errors: [{ extensions: { code: 'BAD_USER_INPUT' } }],
      });
    }
  });
});
