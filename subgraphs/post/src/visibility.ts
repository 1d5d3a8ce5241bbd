// Whether the viewer may see an author's posts (the graph subgraph owns the rule). One
// DataLoader per request: every author asked about in the same tick (a post, a page of
// users' posts) goes into ONE visibility call. The answer is never kept beyond the request,
// so a block or a privacy change holds on the next read.
import DataLoader from 'dataloader';
import { MAX_VISIBILITY_IDS, type GraphClient } from '../../../lib/clients/graph-client.js';

/** author id (decimal) → true when the viewer may not see that author's content. */
export type ContentHiddenLoader = DataLoader<string, boolean>;

export function createContentHiddenLoader(
  graph: GraphClient,
  viewerId: string | null,
): ContentHiddenLoader {
  return new DataLoader<string, boolean>(
    async (authorIds) => {
      // The viewer always sees their own posts: no call for a page of them.
      const others = authorIds.filter((id) => id !== viewerId);
      if (others.length === 0) return authorIds.map(() => false);
      const v = await graph.visibility(viewerId, others);
      const hidden = new Set([...v.contentHidden, ...v.profileHidden]);
      return authorIds.map((id) => hidden.has(id));
    },
    { maxBatchSize: MAX_VISIBILITY_IDS },
  );
}
