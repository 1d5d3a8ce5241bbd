// The subgraph URLs composed into the supergraph (schema/supergraph.graphql), read with
// graphql's parser from the join__Graph enum: the gateway's fallback for any subgraph
// without a SUBGRAPH_<NAME>_URL override.
import { Kind, parse, type ConstDirectiveNode } from 'graphql';

function stringArgument(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}

/** Subgraph name → URL, from each `@join__graph(name: …, url: …)` of the supergraph. */
export function supergraphSubgraphUrls(supergraphSdl: string): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const def of parse(supergraphSdl, { noLocation: true }).definitions) {
    if (def.kind !== Kind.ENUM_TYPE_DEFINITION || def.name.value !== 'join__Graph') continue;
    for (const value of def.values ?? []) {
      for (const directive of value.directives ?? []) {
        if (directive.name.value !== 'join__graph') continue;
        const name = stringArgument(directive, 'name');
        const url = stringArgument(directive, 'url');
        if (name !== undefined && url !== undefined) urls[name] = url;
      }
    }
  }
  return urls;
}
