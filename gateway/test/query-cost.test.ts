// The cost limit with variables (gateway/src/query-cost.ts): the same formula as graphql-armor's
// rule for literal page sizes, and page sizes from variables and schema defaults counted too.
import { readFileSync } from 'node:fs';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { buildSchema, Kind, parse, validate, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationCost } from '../src/query-cost.js';

const schema = buildSchema(readFileSync('schema/api.graphql', 'utf8'));

const cost = (query: string, variables: Record<string, unknown> = {}) => {
  const doc = parse(query);
  const op = doc.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  return operationCost(schema, doc, op!, variables);
};

/** What armor's rule computes (fragments flattened), read from its rejection message. */
function armorCost(query: string): number {
  let found = 0;
  validate(schema, parse(query), [
    costLimitRule({
      maxCost: 0,
      flattenFragments: true,
      propagateOnRejection: false,
      onReject: [(_ctx, err) => (found = Number(/found (\d+(?:\.\d+)?)/.exec(err.message)?.[1]))],
    }),
  ]);
  return found;
}

describe('operationCost', () => {
  it("agrees with graphql-armor's formula when page sizes are literals", () => {
    for (const q of [
      '{ me { id username } }',
      '{ feed(first: 20) { edges { cursor node { id caption author { id username } media { url variants { url width } } } } pageInfo { hasNextPage endCursor } } }',
      '{ user(username: "a") { followers(first: 5) { nodes { id following(first: 3) { nodes { id } } } } } }',
    ]) {
      expect(cost(q), q).toBeCloseTo(armorCost(q), 6);
    }
  });

  it('counts page sizes given as variables, and the schema default when left out', () => {
    const literal = cost('{ user(username: "a") { followers(first: 100) { nodes { id } } } }');
    const variable = cost(
      'query($n: Int) { user(username: "a") { followers(first: $n) { nodes { id } } } }',
      { n: 100 },
    );
    expect(variable).toBe(literal);
    const byDefault = cost('{ user(username: "a") { followers { nodes { id } } } }');
    expect(byDefault).toBe(
      cost('{ user(username: "a") { followers(first: 20) { nodes { id } } } }'),
    );
    // A variable's declared default counts when the client sends none.
    expect(
      cost(
        'query($n: Int = 100) { user(username: "a") { followers(first: $n) { nodes { id } } } }',
      ),
    ).toBe(literal);
  });

  it('refuses the fan-out armor let through under variables', () => {
    const fanOut = `query($a: Int, $b: Int, $c: Int) { user(username: "x") {
      followers(first: $a) { nodes { followers(first: $b) { nodes { posts(first: $c) { nodes { id } } } } } } } }`;
    expect(armorCost(fanOut.replace(/\$[abc]\b(?!:)/g, '1'))).toBeLessThan(5000);
    expect(cost(fanOut, { a: 100, b: 100, c: 100 })).toBeGreaterThan(1_000_000);
  });

  it('counts a fragment spread as if its fields were written inline', () => {
    const inline = cost('{ feed(first: 10) { nodes { id author { id username } } } }');
    const spread = cost(
      'fragment A on User { id username } fragment P on Post { id author { ...A } } { feed(first: 10) { nodes { ...P } } }',
    );
    expect(spread).toBe(inline);
  });
});
