// The signed-in session: tokens in localStorage (so a reload stays signed in), the access
// token refreshed silently a minute before it expires and once more on an UNAUTHENTICATED
// answer. A refresh token works once, so concurrent callers share one refresh in flight.

const KEY = 'mosaic.session';
/** Refresh this long before the access token expires. */
const EARLY_MS = 60_000;

export interface Session {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  userId: string;
  username: string;
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();
let current: Session | null = load();
let refreshing: Promise<Session | null> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function getSession(): Session | null {
  return current;
}

export function setSession(session: Session | null): void {
  current = session;
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
  schedule();
  for (const l of listeners) l(session);
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function schedule(): void {
  clearTimeout(timer);
  if (!current) return;
  const wait = Date.parse(current.accessTokenExpiresAt) - Date.now() - EARLY_MS;
  timer = setTimeout(() => void refresh(), Math.max(wait, 0));
}

const REFRESH = `mutation Refresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) {
    accessToken accessTokenExpiresAt refreshToken user { id username }
  }
}`;

interface AuthPayload {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  user: { id: string; username: string };
}

export function sessionFrom(p: AuthPayload): Session {
  return {
    accessToken: p.accessToken,
    accessTokenExpiresAt: p.accessTokenExpiresAt,
    refreshToken: p.refreshToken,
    userId: p.user.id,
    username: p.user.username,
  };
}

/** Exchanges the refresh token for a new pair; signs out when the session has ended. */
export function refresh(): Promise<Session | null> {
  const session = current;
  if (!session) return Promise.resolve(null);
  refreshing ??= (async () => {
    try {
      const res = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: REFRESH,
          variables: { refreshToken: session.refreshToken },
        }),
      });
      const body = (await res.json()) as {
        data?: { refreshSession: AuthPayload } | null;
        errors?: { extensions?: { code?: string } }[];
      };
      if (body.data?.refreshSession) {
        setSession(sessionFrom(body.data.refreshSession));
      } else if (body.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) {
        setSession(null);
      }
      return current;
    } catch {
      return current; // offline: keep the session and try again on the next request
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** A fresh access token, refreshing first when the current one is about to expire. */
export async function accessToken(): Promise<string | null> {
  if (!current) return null;
  if (Date.parse(current.accessTokenExpiresAt) - Date.now() < EARLY_MS) await refresh();
  return current?.accessToken ?? null;
}

/** fetch() with the access token; an UNAUTHENTICATED answer is retried once after a refresh. */
export async function authFetch(input: RequestInfo | URL, init: RequestInit = {}) {
  const send = async (token: string | null) => {
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  const token = await accessToken();
  const res = await send(token);
  if (!token) return res;
  const text = await res.clone().text();
  if (!text.includes('"UNAUTHENTICATED"')) return res;
  const again = await refresh();
  return again && again.accessToken !== token ? send(again.accessToken) : res;
}

schedule();
