// The shell: a navigation bar for signed-in users and the route table.
import { useApolloClient, useMutation, useQuery } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import { LOG_OUT, ME } from './operations.js';
import { Link, navigate, useLocation } from './router.js';
import { AuthScreen } from './screens/auth.js';
import { FeedScreen } from './screens/feed.js';
import { NewPostScreen } from './screens/new-post.js';
import { PostScreen } from './screens/post.js';
import { FollowListScreen, ProfileScreen } from './screens/profile.js';
import { RequestsScreen } from './screens/requests.js';
import { SearchScreen } from './screens/search.js';
import { SettingsScreen } from './screens/settings.js';
import { getSession, onSessionChange, setSession, type Session } from './session.js';

function useSession(): Session | null {
  const [session, set] = useState(getSession);
  useEffect(() => onSessionChange(set), []);
  return session;
}

function Nav({ session }: { session: Session }) {
  const client = useApolloClient();
  const { data } = useQuery<{ me: { pendingFollowRequestCount: number | null } | null }>(ME);
  const [logOut] = useMutation(LOG_OUT);
  const pending = data?.me?.pendingFollowRequestCount ?? 0;
  const signOut = async () => {
    try {
      await logOut({ variables: { refreshToken: session.refreshToken } });
    } finally {
      setSession(null);
      await client.clearStore();
      navigate('/login', { replace: true });
    }
  };
  return (
    <nav className="top" aria-label="Main">
      <Link to="/" className="brand">
        Mosaic
      </Link>
      <Link to="/">Home</Link>
      <Link to="/search">Search</Link>
      <Link to="/new">New post</Link>
      <Link to="/requests" aria-label={`Follow requests, ${pending} pending`}>
        Requests{pending ? <span className="count">{pending}</span> : null}
      </Link>
      <Link to={`/u/${session.username}`}>Profile</Link>
      <button type="button" className="link" onClick={() => void signOut()}>
        Log out
      </button>
    </nav>
  );
}

function route(path: string, signedIn: boolean) {
  let m: RegExpMatchArray | null;
  if (path === '/login') return <AuthScreen mode="login" />;
  if (path === '/signup') return <AuthScreen mode="signup" />;
  if ((m = path.match(/^\/p\/([^/]+)$/))) return <PostScreen id={decodeURIComponent(m[1]!)} />;
  if ((m = path.match(/^\/u\/([^/]+)\/(followers|following)$/))) {
    return (
      <FollowListScreen
        username={decodeURIComponent(m[1]!)}
        list={m[2] as 'followers' | 'following'}
      />
    );
  }
  if ((m = path.match(/^\/u\/([^/]+)$/))) {
    return <ProfileScreen key={m[1]} username={decodeURIComponent(m[1]!)} />;
  }
  if (path === '/search') return <SearchScreen />;
  if (!signedIn) return null;
  if (path === '/') return <FeedScreen />;
  if (path === '/new') return <NewPostScreen />;
  if (path === '/settings') return <SettingsScreen />;
  if (path === '/requests') return <RequestsScreen />;
  return (
    <main>
      <p className="empty">
        Page not found. <Link to="/">Home</Link>
      </p>
    </main>
  );
}

const SIGNED_IN_ONLY = ['/', '/new', '/settings', '/requests'];

export function App() {
  const session = useSession();
  const { path } = useLocation();
  const mustSignIn = !session && SIGNED_IN_ONLY.includes(path);
  useEffect(() => {
    if (mustSignIn) navigate('/login', { replace: true });
  }, [mustSignIn]);
  return (
    <>
      {session ? (
        <Nav session={session} />
      ) : path === '/login' || path === '/signup' ? null : (
        <nav className="top" aria-label="Main">
          <Link to="/search" className="brand">
            Mosaic
          </Link>
          <Link to="/login">Log in</Link>
          <Link to="/signup">Sign up</Link>
        </nav>
      )}
      {route(path, Boolean(session))}
    </>
  );
}
