// Helpers for the bad-input and abuse tables: raw requests (the body kept as text, to look
// for leaks), a snapshot of every table a request could write, and forged access tokens.
import { SignJWT, UnsecuredJWT } from 'jose';
import pg from 'pg';
import { expect } from 'vitest';
import type { Stack } from './stack.js';

export interface Raw {
  status: number;
  text: string;
  headers: Headers;
  json: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string; field?: string } }[];
    code?: string;
    error?: string;
  } | null;
}

export async function raw(url: string, init: RequestInit = {}): Promise<Raw> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Raw['json'];
  try {
    json = JSON.parse(text) as Raw['json'];
  } catch {
    json = null; // not JSON (e.g. a file or an HTML error page)
  }
  return { status: res.status, text, headers: res.headers, json };
}

/** A GraphQL request whose body is sent exactly as given (lone surrogates stay escaped). */
export function gqlRaw(
  url: string,
  body: string,
  opts: { token?: string; headers?: Record<string, string> } = {},
): Promise<Raw> {
  return raw(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body,
  });
}

export const gqlBody = (query: string, variables: Record<string, unknown> = {}): string =>
  JSON.stringify({ query, variables });

/** The error code of a GraphQL or REST answer (first error's extensions.code, or `code`). */
export function codeOf(r: Raw): string | undefined {
  return r.json?.errors?.[0]?.extensions?.code ?? r.json?.code;
}

// What must never reach a client: stack frames, source paths, SQL or driver messages.
const LEAKS = [
  /\n\s+at /,
  /\bat [\w.<>$]+ \(/,
  /\/work\/|node_modules|[\w-]+\.[cm]?[jt]s:\d+/,
  /stacktrace/i,
  /prisma|invalid byte sequence|syntax error at|violates .* constraint|relation "|SELECT .+ FROM|INSERT INTO|UPDATE .+ SET/i,
  /ECONNREFUSED|TypeError|ReferenceError|Cannot read properties/,
];

export function expectNoLeak(r: Raw): void {
  for (const leak of LEAKS) expect(r.text, `leak ${leak}`).not.toMatch(leak);
}

/** Rows a request might write: users, sessions, posts, media, follows and every outbox. */
export const WRITE_TABLES = [
  'users.users',
  'users.refresh_tokens',
  'users.outbox',
  'posts.posts',
  'posts.media',
  'posts.post_media',
  'posts.outbox',
  'posts.avatars',
  'posts.object_trash',
  'graph.follows',
  'graph.follow_requests',
  'graph.blocks',
  'graph.user_stats',
  'graph.outbox',
  'engagement.likes',
  'engagement.comments',
  'engagement.post_counters',
  'engagement.outbox',
] as const;

const pools = new Map<string, pg.Pool>();
function poolFor(stack: Stack): pg.Pool {
  let pool = pools.get(stack.iso.databaseUrl);
  if (!pool) {
    pool = new pg.Pool({ connectionString: stack.iso.databaseUrl, max: 2 });
    pools.set(stack.iso.databaseUrl, pool);
  }
  return pool;
}

/** Ends the connections snapshot() opened (call before the stack's database is dropped). */
export async function closeSnapshots(stack: Stack): Promise<void> {
  await pools.get(stack.iso.databaseUrl)?.end();
  pools.delete(stack.iso.databaseUrl);
}

/**
 * Row counts of every table a request could write, plus digests of every user's profile
 * fields and every post's caption (an update changes no count).
 */
export async function snapshot(stack: Stack): Promise<Record<string, number | string>> {
  const counts = WRITE_TABLES.map((t) => `SELECT '${t}' AS t, count(*)::text AS n FROM ${t}`).join(
    ' UNION ALL ',
  );
  const profiles = `SELECT 'profiles', coalesce(md5(string_agg(id::text || ':' || coalesce(display_name, '') || ':' || coalesce(bio, '') || ':' || coalesce(website, ''), ',' ORDER BY id)), '') FROM users.users`;
  const captions = `SELECT 'captions', coalesce(md5(string_agg(id::text || ':' || coalesce(caption, '') || ':' || coalesce(edited_at::text, ''), ',' ORDER BY id)), '') FROM posts.posts`;
  const { rows } = await poolFor(stack).query<{ t: string; n: string }>(
    `${counts} UNION ALL ${profiles} UNION ALL ${captions}`,
  );
  const digests = new Set(['profiles', 'captions']);
  return Object.fromEntries(rows.map((r) => [r.t, digests.has(r.t) ? r.n : Number(r.n)]));
}

const ISSUER = 'mosaic';
const AUDIENCE = 'mosaic-api';

export async function forgedTokens(stack: Stack, userId: string): Promise<Record<string, string>> {
  const right = new TextEncoder().encode(stack.cfg.JWT_SECRET);
  const wrong = new TextEncoder().encode('not-the-secret-0123456789abcdef-0123456789');
  const now = Math.floor(Date.now() / 1000);
  const base = () =>
    new SignJWT({ sid: '1' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now - 10);
  return {
    'alg none': new UnsecuredJWT({ sid: '1' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .encode(),
    'wrong key': await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now + 600)
      .sign(wrong),
    expired: await new SignJWT({ sid: '1' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 1800)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(right),
    'wrong audience': await new SignJWT({ sid: '1' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience('someone-else')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(right),
    'HS512 with the right key': await base()
      .setProtectedHeader({ alg: 'HS512' })
      .setExpirationTime(now + 600)
      .sign(right),
    'not a JWT': 'definitely.not.ajwt',
  };
}

/** A multipart/form-data body from parts (files carry a filename). */
export function multipart(
  parts: { name: string; value: Buffer | string; filename?: string; type?: string }[],
): { body: Buffer; contentType: string } {
  const boundary = `----mosaic${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = p.filename
      ? `form-data; name="${p.name}"; filename="${p.filename}"`
      : `form-data; name="${p.name}"`;
    const head =
      `--${boundary}\r\nContent-Disposition: ${disposition}\r\n` +
      (p.filename ? `Content-Type: ${p.type ?? 'application/octet-stream'}\r\n` : '') +
      '\r\n';
    chunks.push(Buffer.from(head), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
