// Search as you type: hashtags, people and posts. `#tag` shows that hashtag's posts.
import { useQuery } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import { ErrorNote, LoadMore, UserRow } from '../components/common.js';
import { FollowButton } from '../components/follow-button.js';
import { Thumb } from '../components/media-view.js';
import { SEARCH_HASHTAGS, SEARCH_POSTS, SEARCH_USERS } from '../operations.js';
import { Link, navigate, useLocation } from '../router.js';
import type { Connection, PostThumb, UserSummary } from '../types.js';

export function SearchScreen() {
  const { search } = useLocation();
  const q = (search.get('q') ?? '').trim();
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  // Typing updates the URL after a short pause, so results are shareable and Back works.
  useEffect(() => {
    if (text.trim() === q) return;
    const t = setTimeout(() => {
      navigate(`/search?q=${encodeURIComponent(text.trim())}`, { replace: true });
    }, 300);
    return () => clearTimeout(t);
  }, [text, q]);

  const hasWord = /[\p{L}\p{N}]/u.test(q);
  const tagPrefix = q.replace(/^#/, '');
  const tags = useQuery<{ searchHashtags: { name: string; postCount: number }[] }>(
    SEARCH_HASHTAGS,
    { variables: { prefix: tagPrefix }, skip: !/^#?[\p{L}\p{M}\p{N}_]+$/u.test(q) },
  );
  const people = useQuery<{ searchUsers: Connection<UserSummary> }>(SEARCH_USERS, {
    variables: { query: q },
    skip: !hasWord || q.startsWith('#'),
  });
  const posts = useQuery<{ searchPosts: Connection<PostThumb> }>(SEARCH_POSTS, {
    variables: { query: q },
    skip: !hasWord,
  });
  const postConn = posts.data?.searchPosts;

  return (
    <main>
      <h1 className="visually-hidden">Search</h1>
      <form role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          <span className="visually-hidden">Search posts, hashtags and people</span>
          <input
            type="search"
            name="q"
            placeholder="Search posts, #hashtags and people"
            value={text}
            onChange={(e) => setText(e.target.value)}
            autoFocus
          />
        </label>
      </form>
      <ErrorNote error={tags.error ?? people.error ?? posts.error} />
      {tags.data?.searchHashtags.length ? (
        <section aria-labelledby="tags-title">
          <h2 id="tags-title">Hashtags</h2>
          <ul className="tags">
            {tags.data.searchHashtags.map((t) => (
              <li key={t.name}>
                <Link to={`/search?q=${encodeURIComponent('#' + t.name)}`}>#{t.name}</Link>{' '}
                <span className="muted">{t.postCount} posts</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {people.data?.searchUsers.edges.length ? (
        <section aria-labelledby="people-title">
          <h2 id="people-title">People</h2>
          <ul className="users">
            {people.data.searchUsers.edges.map(({ node }) => (
              <UserRow key={node.id} user={node}>
                {node.isViewer ? null : <FollowButton user={node} />}
              </UserRow>
            ))}
          </ul>
        </section>
      ) : null}
      {postConn ? (
        <section aria-labelledby="posts-title">
          <h2 id="posts-title">Posts</h2>
          {postConn.edges.length === 0 ? <p className="empty">No posts found.</p> : null}
          <ul className="grid" aria-label="Posts found">
            {postConn.edges.map(({ node }) => (
              <li key={node.id}>
                <Link to={`/p/${node.id}`} aria-label={node.caption ?? 'Post'}>
                  {node.media[0] ? <Thumb media={node.media[0]} /> : null}
                </Link>
              </li>
            ))}
          </ul>
          <LoadMore
            hasMore={postConn.pageInfo.hasNextPage}
            loading={posts.loading}
            onMore={() =>
              void posts.fetchMore({ variables: { after: postConn.pageInfo.endCursor } })
            }
          />
        </section>
      ) : null}
    </main>
  );
}
