// A profile (/u/:username): avatar, names, bio, website, counts, the follow button and the
// posts grid; and its followers and following lists.
import { useQuery } from '@apollo/client/react';
import { Avatar, ErrorNote, LoadMore, UserRow } from '../components/common.js';
import { FollowButton } from '../components/follow-button.js';
import { Thumb } from '../components/media-view.js';
import { FOLLOWERS, FOLLOWING, PROFILE } from '../operations.js';
import { Link } from '../router.js';
import type { Connection, Profile, UserSummary } from '../types.js';

export function ProfileScreen({ username }: { username: string }) {
  const { data, loading, error, fetchMore } = useQuery<{ user: Profile | null }>(PROFILE, {
    variables: { username },
    fetchPolicy: 'cache-and-network',
  });
  const user = data?.user;
  if (!user) {
    return (
      <main>
        <ErrorNote error={error} />
        {loading ? <p aria-live="polite">Loading…</p> : <p className="empty">No such user.</p>}
      </main>
    );
  }
  const hidden = user.postCount > 0 && user.posts.edges.length === 0 && !user.isViewer;
  return (
    <main aria-labelledby="profile-name">
      <header className="profile">
        <Avatar user={user} size={96} />
        <div>
          <h1 id="profile-name">{user.username}</h1>
          {user.displayName ? <p className="display-name">{user.displayName}</p> : null}
          <ul className="counts" aria-label="Counts">
            <li>
              <strong>{user.postCount}</strong> posts
            </li>
            <li>
              <Link to={`/u/${user.username}/followers`}>
                <strong>{user.followerCount}</strong> followers
              </Link>
            </li>
            <li>
              <Link to={`/u/${user.username}/following`}>
                <strong>{user.followingCount}</strong> following
              </Link>
            </li>
          </ul>
          {user.bio ? <p className="bio">{user.bio}</p> : null}
          {user.website ? (
            <p>
              <a href={user.website} rel="nofollow noopener noreferrer" target="_blank">
                {user.website.replace(/^https?:\/\//, '').replace(/\/$/, '')}
              </a>
            </p>
          ) : null}
          <FollowButton user={user} />
          {user.followsViewer && !user.isViewer ? <p className="muted">Follows you</p> : null}
        </div>
      </header>
      <ErrorNote error={error} />
      {user.isPrivate && hidden ? (
        <p className="empty">This account is private. Follow it to see its posts.</p>
      ) : null}
      <ul className="grid" aria-label="Posts">
        {user.posts.edges.map(({ node }) => (
          <li key={node.id}>
            <Link to={`/p/${node.id}`} aria-label={node.caption ?? 'Post'}>
              {node.media[0] ? <Thumb media={node.media[0]} /> : null}
            </Link>
          </li>
        ))}
      </ul>
      <LoadMore
        hasMore={user.posts.pageInfo.hasNextPage}
        loading={loading}
        onMore={() => void fetchMore({ variables: { after: user.posts.pageInfo.endCursor } })}
      />
    </main>
  );
}

type ListData = {
  user: ({ id: string; username: string } & Record<string, Connection<UserSummary>>) | null;
};

export function FollowListScreen(props: { username: string; list: 'followers' | 'following' }) {
  const { username, list } = props;
  const { data, loading, error, fetchMore } = useQuery<ListData>(
    list === 'followers' ? FOLLOWERS : FOLLOWING,
    { variables: { username }, fetchPolicy: 'cache-and-network' },
  );
  const conn = data?.user?.[list];
  return (
    <main>
      <h1>
        <Link to={`/u/${username}`}>{username}</Link> · {list}
      </h1>
      <ErrorNote error={error} />
      {conn && conn.edges.length === 0 ? <p className="empty">Nobody to show.</p> : null}
      <ul className="users">
        {conn?.edges.map(({ node }) => (
          <UserRow key={node.id} user={node}>
            {node.isViewer ? null : <FollowButton user={node} />}
          </UserRow>
        ))}
      </ul>
      {conn ? (
        <LoadMore
          hasMore={conn.pageInfo.hasNextPage}
          loading={loading}
          onMore={() => void fetchMore({ variables: { after: conn.pageInfo.endCursor } })}
        />
      ) : null}
    </main>
  );
}
