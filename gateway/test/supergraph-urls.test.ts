// The gateway reads subgraph URLs out of the supergraph by parsing it: the committed one
// has every registry subgraph at its default local URL.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SUBGRAPH_REGISTRY, localSubgraphUrl } from '../../lib/registry.js';
import { supergraphSubgraphUrls } from '../src/supergraph-urls.js';

describe('supergraphSubgraphUrls', () => {
  it('finds every registry subgraph in the committed supergraph at its default URL', async () => {
    const sdl = await readFile('schema/supergraph.graphql', 'utf8');
    expect(supergraphSubgraphUrls(sdl)).toEqual(
      Object.fromEntries(SUBGRAPH_REGISTRY.map((s) => [s.name, localSubgraphUrl(s.port)])),
    );
  });

  it('reads the join__graph arguments in any order and layout, and nothing else', () => {
    const sdl = /* GraphQL */ `
      directive @join__graph(name: String!, url: String!) on ENUM_VALUE
      enum join__Graph {
        A @join__graph(url: "http://a:1/graphql", name: "a")
        B @join__graph(name: "b", url: "http://b:2/graphql")
      }
      enum Other {
        C @join__graph(name: "c", url: "http://c:3/graphql")
      }
    `;
    expect(supergraphSubgraphUrls(sdl)).toEqual({
      a: 'http://a:1/graphql',
      b: 'http://b:2/graphql',
    });
  });
});
