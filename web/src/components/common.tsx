// Small pieces shared by the screens.
import { CombinedGraphQLErrors } from '@apollo/client';
import { useEffect, useRef } from 'react';
import { Link } from '../router.js';
import type { Author, UserSummary } from '../types.js';

/** A readable message for a failed operation. */
export function errorMessage(error: unknown): string {
  if (CombinedGraphQLErrors.is(error)) return error.errors.map((e) => e.message).join('; ');
  return error instanceof Error ? error.message : String(error);
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {errorMessage(error)}
    </p>
  );
}

export function Avatar({ user, size = 40 }: { user: Author; size?: number }) {
  const src = user.avatar?.variants[0]?.url;
  return src ? (
    <img className="avatar" src={src} width={size} height={size} alt="" />
  ) : (
    <span className="avatar placeholder" style={{ width: size, height: size }} aria-hidden="true">
      {user.username.slice(0, 1).toUpperCase()}
    </span>
  );
}

export function UserRow({ user, children }: { user: UserSummary; children?: React.ReactNode }) {
  return (
    <li className="user-row">
      <Link to={`/u/${user.username}`} className="user-link">
        <Avatar user={user} />
        <span>
          <strong>{user.username}</strong>
          {user.displayName ? <span className="muted"> {user.displayName}</span> : null}
        </span>
      </Link>
      {children}
    </li>
  );
}

/**
 * Infinite scroll: loads the next page when the sentinel comes into view, with a button for
 * keyboards and screen readers.
 */
export function LoadMore(props: { hasMore: boolean; loading: boolean; onMore: () => void }) {
  const { hasMore, loading, onMore } = props;
  const ref = useRef<HTMLDivElement>(null);
  const more = useRef(onMore);
  more.current = onMore;
  useEffect(() => {
    const el = ref.current;
    if (!el || !hasMore || loading) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) more.current();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [hasMore, loading]);
  if (!hasMore) return null;
  return (
    <div ref={ref} className="load-more">
      <button type="button" onClick={onMore} disabled={loading}>
        {loading ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}
