// Every operation of the web app (web/src/operations.ts), as Apollo Client sends it (with
// __typename added), against the composed API schema and the gateway's own static limits
// (depth, aliases, cost at their defaults): a subgraph change that would break the app, or a
// selection the gateway would refuse, fails here without a browser.
import { readFileSync } from 'node:fs';
import { addTypenameToDocument } from '@apollo/client/utilities';
import {
  buildSchema,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { queryLimits } from '../../gateway/src/limits.js';
import { operationCost } from '../../gateway/src/query-cost.js';
import * as operations from '../../web/src/operations.js';

const schema = buildSchema(readFileSync('schema/api.graphql', 'utf8'));
const cfg = parseConfig({ NODE_ENV: 'test' });

const operationOf = (doc: DocumentNode) =>
  doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
const costOf = (doc: DocumentNode, variables: Record<string, unknown>) =>
  operationCost(schema, doc, operationOf(doc), variables);

const documents = Object.entries(operations).filter(
  (entry): entry is [string, DocumentNode] =>
    entry[1].kind === Kind.DOCUMENT &&
    entry[1].definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION),
);

describe('web app operations', () => {
  it('are all found (one per screen action)', () => {
    expect(documents.length).toBeGreaterThanOrEqual(20);
  });

  it.each(documents)('%s is valid against schema/api.graphql', (_name, doc) => {
    expect(validate(schema, addTypenameToDocument(doc), specifiedRules)).toEqual([]);
  });

  it('the cost check bites: a realistic page is far under the limit, a nested fan-out over it', () => {
    const page = parse(`
      fragment M on Media { id type url width height blurhash altText posterUrl variants { url width height } }
      fragment U on User { id username displayName isViewer viewerFollowState avatar { id url variants { url width height } } }
      fragment P on Post { id caption createdAt hashtags author { ...U } media { ...M } }
      query Feed($n: Int) { feed(first: $n) { edges { cursor node { ...P } } pageInfo { endCursor hasNextPage } } }
    `);
    const fanOut = parse(
      'query($n: Int) { me { followers(first: $n) { nodes { followers(first: $n) { nodes { id } } } } } }',
    );
    expect(costOf(page, { n: 10 })).toBeLessThan(cfg.MAX_QUERY_COST);
    expect(costOf(fanOut, { n: 100 })).toBeGreaterThan(cfg.MAX_QUERY_COST);
  });

  it.each(documents)('%s is within the gateway default depth, alias and cost limits', (_n, doc) => {
    // Armor's rules report by throwing (its onReject/propagate defaults) or as errors.
    const rules = queryLimits(cfg).validationRules as NonNullable<Parameters<typeof validate>[2]>;
    const run = () => validate(schema, addTypenameToDocument(doc), rules);
    expect(run).not.toThrow();
    expect(run()).toEqual([]);
    // The cost, as the gateway computes it once variables are known (page sizes at most 100).
    const pages = Object.fromEntries(
      (operationOf(doc).variableDefinitions ?? []).map((v) => [v.variable.name.value, 100]),
    );
    expect(costOf(addTypenameToDocument(doc), pages)).toBeLessThanOrEqual(cfg.MAX_QUERY_COST);
  });
});
