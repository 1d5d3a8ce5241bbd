// The follow button in each of its states: Follow (or Follow back), Requested (a pending
// request to a private account; pressing withdraws it), Following (pressing unfollows),
// Unblock (the viewer has blocked this user), and Edit profile on the viewer's own.
import { useMutation } from '@apollo/client/react';
import { FOLLOW, UNBLOCK, UNFOLLOW } from '../operations.js';
import { Link } from '../router.js';
import { getSession } from '../session.js';
import type { UserSummary } from '../types.js';
import { ErrorNote } from './common.js';

export function FollowButton({ user }: { user: UserSummary }) {
  // A follow changes what the viewer may see (a private account's posts and lists appear or
  // go): the profile on screen is read again, not just its counts and state.
  const options = { variables: { userId: user.id }, refetchQueries: ['Profile'] };
  const [follow, f] = useMutation(FOLLOW, options);
  const [unfollow, u] = useMutation(UNFOLLOW, options);
  const [unblock, b] = useMutation(UNBLOCK, options);
  const busy = f.loading || u.loading || b.loading;
  if (!getSession()) return <Link to="/login">Log in to follow</Link>;
  if (user.isViewer) {
    return (
      <Link to="/settings" className="button secondary">
        Edit profile
      </Link>
    );
  }
  let button;
  if (user.viewerHasBlocked) {
    button = (
      <button type="button" onClick={() => void unblock()} disabled={busy}>
        Unblock
      </button>
    );
  } else if (user.viewerFollowState === 'FOLLOWING') {
    button = (
      <button
        type="button"
        className="secondary"
        onClick={() => void unfollow()}
        disabled={busy}
        aria-label={`Following ${user.username}: unfollow`}
      >
        Following
      </button>
    );
  } else if (user.viewerFollowState === 'REQUESTED') {
    button = (
      <button
        type="button"
        className="secondary"
        onClick={() => void unfollow()}
        disabled={busy}
        aria-label={`Requested to follow ${user.username}: withdraw the request`}
      >
        Requested
      </button>
    );
  } else {
    button = (
      <button
        type="button"
        onClick={() => void follow()}
        disabled={busy}
        aria-label={`Follow ${user.username}`}
      >
        {user.followsViewer ? 'Follow back' : 'Follow'}
      </button>
    );
  }
  return (
    <span className="follow">
      {button}
      <ErrorNote error={f.error ?? u.error ?? b.error} />
    </span>
  );
}
