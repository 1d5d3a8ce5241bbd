// Executes subgraph operations with graphql-jit instead of graphql-js's interpreter: the
// gateway sends the same few operations over and over (a feed page's `_entities` calls),
// and a query compiled once to plain JavaScript resolves 20 posts with their carousels in a
// fraction of graphql-js's CPU. Apollo Server takes a custom executor only through its
// gateway hook, which otherwise serves the schema unchanged.
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type VariableDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

type Gateway = ApolloServerOptionsWithGateway<BaseContext>['gateway'];

// Apollo Server parses each distinct query once and hands back the same DocumentNode from
// its bounded document store, so compiled queries live exactly as long as their documents.
type Compiled = CompiledQuery | ExecutionResult;

export function jitExecutor(schema: GraphQLSchema): Gateway {
  const cache = new WeakMap<DocumentNode, Map<string, Compiled>>();
  const compile = (document: DocumentNode, operationName: string | undefined): Compiled => {
    let byName = cache.get(document);
    if (!byName) cache.set(document, (byName = new Map<string, Compiled>()));
    const key = operationName ?? '';
    let compiled = byName.get(key);
    if (!compiled) {
      compiled = compileQuery(schema, document, operationName);
      byName.set(key, compiled);
    }
    return compiled;
  };
  return {
    async load() {
      return {
        executor: async (ctx) => {
          const compiled = compile(ctx.document, ctx.operationName ?? undefined);
          if (!isCompiledQuery(compiled)) return compiled;
          const result = await compiled.query(undefined, ctx.context, ctx.request.variables ?? {});
          return normalizeErrors(ctx.document, result);
        },
      };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async stop() {},
  };
}

const VARIABLE_NAME = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)"/;
/** Not a GraphQL name, so it never collides with a real variable. */
const FIRST_VARIABLE = ' first';

// graphql-jit's errors differ from graphql-js's in two ways Apollo Server depends on: a bad
// variable value comes without the AST node by which Apollo tells it (BAD_USER_INPUT, HTTP
// 400) from an internal error, and an error thrown without extensions keeps none at all,
// which Apollo's error formatting does not survive. Both become graphql-js errors here.
function normalizeErrors(document: DocumentNode, result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  let variables: Map<string, VariableDefinitionNode> | undefined;
  const variable = (name: string) => {
    if (!variables) {
      variables = new Map();
      for (const def of document.definitions) {
        if (def.kind !== Kind.OPERATION_DEFINITION) continue;
        for (const v of def.variableDefinitions ?? []) {
          if (!variables.has(FIRST_VARIABLE)) variables.set(FIRST_VARIABLE, v);
          variables.set(v.variable.name.value, v);
        }
      }
    }
    return variables.get(name);
  };
  return {
    ...result,
    errors: result.errors.map((err) => {
      const named = 'data' in result ? undefined : VARIABLE_NAME.exec(err.message)?.[1];
      // graphql-jit names the input field, not the variable, for a bad value inside an input
      // object ("$kind" for $v.kind): still the caller's variables, so point at the first.
      const exact = named === undefined ? undefined : variable(named);
      if (exact) return new GraphQLError(err.message, { nodes: [exact] });
      const first = named === undefined ? undefined : variable(FIRST_VARIABLE);
      if (first) {
        // Apollo calls it BAD_USER_INPUT only when the message names the node's variable.
        const message = `${err.message.replace(
          `Variable "$${named}"`,
          `Variable "$${first.variable.name.value}"`,
        )} (input field "${named}")`;
        return new GraphQLError(message, { nodes: [first] });
      }
      if (err.extensions) return err;
      return new GraphQLError(err.message, {
        path: err.path,
        originalError: err.originalError ?? undefined,
      });
    }),
  };
}
