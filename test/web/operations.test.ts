// Every operation of the web app (web/src/operations.ts), as Apollo Client sends it (with
// __typename added), against the composed API schema and the gateway's own static limits
// (depth, aliases, cost at their defaults): a subgraph change that would break the app, or a
// selection the gateway would refuse, fails here without a browser.
import { readFileSync } from 'node:fs';
import { addTypenameToDocument } from '@apollo/client/utilities';
import { buildSchema, Kind, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { queryLimits } from '../../gateway/src/limits.js';
import * as operations from '../../web/src/operations.js';

const schema = buildSchema(readFileSync('schema/api.graphql', 'utf8'));
const cfg = parseConfig({ NODE_ENV: 'test' });

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

  it('the limits check bites: a feed page selecting through fragments is over the cost limit', () => {
    // What web/src/operations.ts first had (13,905 against 5,000): the check is not vacuous.
    const overCost = parse(`
      fragment M on Media { id type url width height blurhash altText posterUrl variants { url width height } }
      fragment U on User { id username displayName isViewer viewerFollowState avatar { id url variants { url width height } } }
      fragment P on Post { id caption createdAt hashtags author { ...U } media { ...M } }
      query Feed { feed(first: 10) { edges { cursor node { ...P } } pageInfo { endCursor hasNextPage } } }
    `);
    const rules = queryLimits(cfg).validationRules as NonNullable<Parameters<typeof validate>[2]>;
    const refused = (() => {
      try {
        return validate(schema, addTypenameToDocument(overCost), rules).length > 0;
      } catch {
        return true;
      }
    })();
    expect(validate(schema, overCost, specifiedRules)).toEqual([]);
    expect(refused).toBe(true);
  });

  it.each(documents)('%s is within the gateway default depth, alias and cost limits', (_n, doc) => {
    // Armor's rules report by throwing (its onReject/propagate defaults) or as errors.
    const rules = queryLimits(cfg).validationRules as NonNullable<Parameters<typeof validate>[2]>;
    const run = () => validate(schema, addTypenameToDocument(doc), rules);
    expect(run).not.toThrow();
    expect(run()).toEqual([]);
  });
});
