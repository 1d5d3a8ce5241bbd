// A post on its own page (/p/:id).
import { useQuery } from '@apollo/client/react';
import { ErrorNote } from '../components/common.js';
import { PostCard } from '../components/post-card.js';
import { POST } from '../operations.js';
import type { PostItem } from '../types.js';

export function PostScreen({ id }: { id: string }) {
  const { data, loading, error } = useQuery<{ post: PostItem | null }>(POST, { variables: { id } });
  return (
    <main>
      <h1 className="visually-hidden">Post</h1>
      <ErrorNote error={error} />
      {loading && !data ? <p aria-live="polite">Loading…</p> : null}
      {data && !data.post ? <p className="empty">This post is not available.</p> : null}
      {data?.post ? <PostCard post={data.post} eager /> : null}
      {data?.post?.editedAt ? <p className="muted">Edited</p> : null}
    </main>
  );
}
