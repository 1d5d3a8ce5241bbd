// Flat config: typescript-eslint's recommended type-aware rules over all TypeScript sources,
// and @graphql-eslint's schema rules over the composed client-facing schema.
import js from '@eslint/js';
import graphql from '@graphql-eslint/eslint-plugin';
import tseslint from 'typescript-eslint';

const API_SCHEMA = 'schema/api.graphql';
/** The code rules stay off the GraphQL schema (linted by the last block). */
const forCode = (config) => ({ ...config, ignores: [...(config.ignores ?? []), API_SCHEMA] });

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'web/dist/', 'test-results/', 'lib/generated/', '.data/'] },
  forCode(js.configs.recommended),
  ...tseslint.configs.recommendedTypeChecked.map(forCode),
  forCode({
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
    },
  }),
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  // The API schema as clients see it (schema/api.graphql, composed from subgraphs/*/schema.graphql
  // by npm run schema:compose): what Apollo Sandbox shows is what is linted. @graphql-eslint is
  // maintained and runs inside this ESLint (one `npm run lint`, editor integration);
  // graphql-schema-linter has had no release since 2022. Subgraph SDL is not linted itself: it
  // carries federation directives, and each subgraph holds only part of the schema.
  {
    files: [API_SCHEMA],
    languageOptions: {
      parser: graphql.parser,
      parserOptions: { graphQLConfig: { schema: API_SCHEMA } },
    },
    plugins: { '@graphql-eslint': graphql },
    rules: {
      ...graphql.configs['flat/schema-recommended'].rules,
      ...graphql.configs['flat/schema-relay'].rules,
      // Everything a client can see says what it is: types, fields, arguments, input fields
      // and enum values (the recommended config asks only for types and root fields).
      '@graphql-eslint/require-description': [
        'error',
        {
          types: true,
          rootField: true,
          FieldDefinition: true,
          InputValueDefinition: true,
          EnumValueDefinition: true,
          DirectiveDefinition: true,
        },
      ],
      // Pagination is forward only (first/after); Relay allows either direction alone.
      '@graphql-eslint/relay-arguments': ['error', { includeBoth: false }],
      // Kept: Edge suffix, Connection shape, PageInfo. Relaxed: there is no Node interface (no
      // global object identification; clients refetch with post(id:) and user(username:)), and
      // lists of plain values (Post.hashtags, Post.media, Connection.nodes) are not connections.
      '@graphql-eslint/relay-edge-types': [
        'error',
        { withEdgeSuffix: true, shouldImplementNode: false, listTypeCanWrapOnlyEdgeType: false },
      ],
      // Entities have `id: ID!`. These are values, not things a client caches or refetches by
      // id: connections, edges, PageInfo, a session (AuthPayload), an upload ticket and its parts
      // (the ticket's key is uploadId), an image size, and a hashtag (its key is its name).
      '@graphql-eslint/strict-id-in-types': [
        'error',
        {
          acceptedIdNames: ['id'],
          acceptedIdTypes: ['ID'],
          exceptions: {
            suffixes: ['Connection', 'Edge', 'Payload'],
            types: [
              'PageInfo',
              'UploadTicket',
              'UploadPart',
              'MediaVariant',
              'Hashtag',
              'LiveTicket',
            ],
          },
        },
      ],
      // Off: it flags User.username, the established name of the sign-in handle; renaming it
      // would break every client for no clarity gained.
      '@graphql-eslint/no-typename-prefix': 'off',
    },
  },
);
