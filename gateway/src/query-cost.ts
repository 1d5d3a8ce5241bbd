// The query cost limit, computed once the operation's variables are known. graphql-armor's
// cost rule runs during validation, before variables: it multiplied by `first`/`last` only
// when written as a literal (`first: $n` or an omitted `first` with its default of 20
// counted as 1, so a 100 × 100 × 100 fan-out passed under variables), and it charged every
// fragment spread an extra level (a realistic client page through fragments cost 13,905).
// Same formula otherwise: a leaf costs 1, an object 2 plus 1.5 × each child, times its page
// size; fragments count as if written inline.
import {
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { MAX_PAGE_SIZE } from '../../lib/contracts/pagination.js';

const OBJECT_COST = 2;
const SCALAR_COST = 1;
const DEPTH_FACTOR = 1.5;
/**
 * The largest page any connection serves: a larger `first` is the resolver's BAD_USER_INPUT,
 * so it counts as this much here; so does a variable that is not a number.
 */
const MAX_PAGE = MAX_PAGE_SIZE;

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  /** Fragments being expanded (a cycle is invalid GraphQL; never loop on one). */
  expanding: Set<string>;
}

/** The page size a field asks for: its `first`/`last` from a literal, a variable or the default. */
function pageSize(
  field: GraphQLField<unknown, unknown> | undefined,
  args: readonly { name: { value: string }; value: ValueNode }[],
  w: Walk,
): number {
  let size = 1;
  for (const name of ['first', 'last']) {
    const given = args.find((a) => a.name.value === name);
    let value: unknown;
    if (given) {
      value =
        given.value.kind === Kind.VARIABLE
          ? w.variables[given.value.name.value]
          : valueFromASTUntyped(given.value);
    } else {
      value = field?.args.find((a) => a.name === name)?.defaultValue;
    }
    if (value === undefined || value === null) continue;
    const n = typeof value === 'number' && Number.isFinite(value) ? value : MAX_PAGE;
    size = Math.max(size, Math.min(MAX_PAGE, Math.max(1, Math.floor(n))));
  }
  return size;
}

function selectionCost(
  set: SelectionSetNode,
  parent: GraphQLCompositeType | undefined,
  w: Walk,
): number {
  let cost = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value === '__schema' || sel.name.value === '__type') continue; // introspection
      const fields =
        parent && (isObjectType(parent) || isInterfaceType(parent))
          ? parent.getFields()
          : undefined;
      const field = fields?.[sel.name.value];
      if (!sel.selectionSet) {
        cost += DEPTH_FACTOR * SCALAR_COST;
        continue;
      }
      const type = field ? (getNamedType(field.type) as GraphQLCompositeType) : undefined;
      const inner = OBJECT_COST + selectionCost(sel.selectionSet, type, w);
      cost += DEPTH_FACTOR * inner * pageSize(field, sel.arguments ?? [], w);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      const type = sel.typeCondition
        ? (w.schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType | undefined)
        : parent;
      cost += selectionCost(sel.selectionSet, type, w);
    } else {
      const name = sel.name.value;
      const fragment = w.fragments.get(name);
      if (!fragment || w.expanding.has(name)) continue;
      w.expanding.add(name);
      const type = w.schema.getType(fragment.typeCondition.name.value) as
        GraphQLCompositeType | undefined;
      cost += selectionCost(fragment.selectionSet, type, w);
      w.expanding.delete(name);
    }
  }
  return cost;
}

/** The cost of one operation of a validated document with these variables. */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  // Variables the client left out take their declared defaults.
  const values: Record<string, unknown> = {};
  for (const v of operation.variableDefinitions ?? []) {
    const name = v.variable.name.value;
    values[name] =
      name in variables
        ? variables[name]
        : v.defaultValue
          ? valueFromASTUntyped(v.defaultValue)
          : undefined;
  }
  const root = schema.getRootType(operation.operation);
  // Top-level fields count like armor's (no depth factor on the operation itself).
  return (
    selectionCost(operation.selectionSet, root ?? undefined, {
      schema,
      fragments,
      variables: values,
      expanding: new Set(),
    }) / DEPTH_FACTOR
  );
}

/**
 * Refuses an operation over `maxCost` once its variables are known: GRAPHQL_VALIDATION_FAILED
 * with HTTP 400, as the other static limits answer. 0 switches it off.
 */
export function queryCostPlugin(maxCost: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      if (maxCost <= 0) return {};
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const cost = operationCost(schema, document, operation, request.variables ?? {});
          if (cost > maxCost)
            throw new GraphQLError(
              `Query cost ${Math.ceil(cost)} is over the limit of ${maxCost}: ask for fewer items per page or fewer nested lists`,
              {
                extensions: {
                  code: 'GRAPHQL_VALIDATION_FAILED', // as Apollo names its own validation failures
                  http: { status: 400 },
                },
              },
            );
        },
      };
    },
  };
}
