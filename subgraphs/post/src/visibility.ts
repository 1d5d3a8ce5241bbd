// Whether the viewer may see an author's posts, and whether the author's account is private
// (its media then gets expiring URLs); the graph subgraph owns the rule. One DataLoader per
// request: every author asked about in the same tick (a post, a page of users' posts, the
// media of a feed page) goes into ONE visibility call. The answer is never kept beyond the
// request, so a block or a privacy change holds on the next read.
import DataLoader from 'dataloader';
import { MAX_VISIBILITY_IDS, type GraphClient } from '../../../lib/clients/graph-client.js';

export interface AuthorVisibility {
  /** The viewer may not see this author's content (private and not followed, or a block). */
  hidden: boolean;
  /** A private account: its post media is served only through expiring URLs. */
  private: boolean;
}

/** author id (decimal) → what the viewer may see of that author. */
export type VisibilityLoader = DataLoader<string, AuthorVisibility>;

export function createVisibilityLoader(
  graph: GraphClient,
  viewerId: string | null,
): VisibilityLoader {
  return new DataLoader<string, AuthorVisibility>(
    async (authorIds) => {
      const v = await graph.visibility(viewerId, authorIds);
      const hidden = new Set([...v.contentHidden, ...v.profileHidden]);
      const priv = new Set(v.private);
      return authorIds.map((id) => ({ hidden: hidden.has(id), private: priv.has(id) }));
    },
    { maxBatchSize: MAX_VISIBILITY_IDS },
  );
}
