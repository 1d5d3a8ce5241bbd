// The home feed, newest first, with infinite scroll.
import { useQuery } from '@apollo/client/react';
import { ErrorNote, LoadMore } from '../components/common.js';
import { PostCard } from '../components/post-card.js';
import { FEED } from '../operations.js';
import { Link } from '../router.js';
import type { Connection, PostItem } from '../types.js';

export function FeedScreen() {
  const { data, loading, error, fetchMore } = useQuery<{ feed: Connection<PostItem> }>(FEED, {
    fetchPolicy: 'cache-and-network',
  });
  const feed = data?.feed;
  return (
    <main aria-labelledby="feed-title">
      <h1 id="feed-title" className="visually-hidden">
        Home feed
      </h1>
      <ErrorNote error={error} />
      {feed?.edges.length === 0 ? (
        <p className="empty">
          Your feed is empty. <Link to="/search">Find people to follow</Link> or{' '}
          <Link to="/new">share a post</Link>.
        </p>
      ) : null}
      {feed?.edges.map((e, i) => (
        <PostCard key={e.node.id} post={e.node} eager={i === 0} />
      ))}
      {loading && !feed ? <p aria-live="polite">Loading…</p> : null}
      {feed ? (
        <LoadMore
          hasMore={feed.pageInfo.hasNextPage}
          loading={loading}
          onMore={() => void fetchMore({ variables: { after: feed.pageInfo.endCursor } })}
        />
      ) : null}
    </main>
  );
}
