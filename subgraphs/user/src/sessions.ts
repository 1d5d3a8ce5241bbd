// Sessions: short-lived access JWTs plus rotating refresh tokens. Every refresh token
// descending from one logIn shares a family (whose id is the session id in the JWT).
// A token is good for one rotation; presenting a rotated token again means it leaked, so
// the whole family is revoked and the gateway stops honouring its access tokens. Rotation
// extends a session, but never past SESSION_MAX_AGE_DAYS from its sign-in (the family id
// is a time-sortable id: it says when the family started).
import {
  hashRefreshSecret,
  newRefreshSecret,
  parseRefreshToken,
  revokedSessionKey,
  signAccessToken,
} from '../../../lib/auth/tokens.js';
import { badInput, rateLimited, unauthenticated } from '../../../lib/contracts/errors.js';
import { idTime } from '../../../lib/contracts/ids.js';
import { timingSafeEqual } from 'node:crypto';
import type { AppContext } from './context.js';
import type { UserRow } from './users.js';

export interface Session {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  userId: bigint;
}

interface TokenRow {
  id: bigint;
  family_id: bigint;
  user_id: bigint;
  token_hash: Buffer;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

/** When the family ends for good (ms), or Infinity without an absolute lifetime. */
function familyEnd(app: AppContext, familyStart: Date): number {
  const maxAge = app.cfg.SESSION_MAX_AGE_DAYS;
  return maxAge > 0 ? familyStart.getTime() + maxAge * 86_400_000 : Infinity;
}

function refreshExpiry(app: AppContext, familyStart: Date): Date {
  const sliding = Date.now() + app.cfg.REFRESH_TOKEN_TTL_DAYS * 86_400_000;
  return new Date(Math.min(sliding, familyEnd(app, familyStart)));
}

async function issue(
  app: AppContext,
  userId: bigint,
  tokenId: bigint,
  familyId: bigint,
  secret: string,
): Promise<Session> {
  const access = await signAccessToken(app.cfg, {
    userId: userId.toString(),
    sessionId: familyId.toString(),
  });
  return {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt,
    refreshToken: `${tokenId}.${secret}`,
    userId,
  };
}

/** Starts a new session (a new refresh-token family) for a user who just proved who they are. */
export async function startSession(app: AppContext, user: UserRow): Promise<Session> {
  const secret = newRefreshSecret();
  const rows = await app.prisma.$queryRaw<{ id: bigint }[]>`
    WITH n AS (SELECT users.next_id() AS id)
    INSERT INTO users.refresh_tokens (id, family_id, user_id, token_hash, expires_at)
    SELECT id, id, ${user.id}, ${hashRefreshSecret(secret)}, ${refreshExpiry(app, new Date())} FROM n
    RETURNING id`;
  const id = rows[0]!.id;
  return issue(app, user.id, id, id, secret);
}

async function findToken(app: AppContext, token: string): Promise<TokenRow | null> {
  if (typeof token !== 'string' || token.length > 200)
    throw badInput('refreshToken is malformed', 'refreshToken');
  const parsed = parseRefreshToken(token);
  if (!parsed) throw badInput('refreshToken is malformed', 'refreshToken');
  const rows = await app.prisma.$queryRaw<TokenRow[]>`
    SELECT id, family_id, user_id, token_hash, expires_at, rotated_at, revoked_at
    FROM users.refresh_tokens WHERE id = ${BigInt(parsed.id)}`;
  const row = rows[0];
  if (!row) return null;
  const given = hashRefreshSecret(parsed.secret);
  const stored = Buffer.from(row.token_hash);
  return stored.length === given.length && timingSafeEqual(stored, given) ? row : null;
}

/**
 * Access tokens of a family stay valid for at most their TTL; the gateway refuses them
 * from now on. If Redis is down they expire on their own. Several families are written
 * at once: the client's auto-pipelining sends them in one batch (per node on a cluster).
 */
async function markRevoked(app: AppContext, familyIds: bigint[]): Promise<void> {
  await Promise.all(
    familyIds.map((id) =>
      app.redis.set(
        revokedSessionKey(app.cfg.REDIS_KEY_PREFIX, id.toString()),
        '1',
        'EX',
        app.cfg.ACCESS_TOKEN_TTL_SECONDS,
      ),
    ),
  ).catch((err: unknown) => app.logger.warn({ err }, 'could not record revoked session in Redis'));
}

async function revokeFamily(app: AppContext, familyId: bigint): Promise<void> {
  await app.prisma.$executeRaw`
    UPDATE users.refresh_tokens SET revoked_at = now()
    WHERE family_id = ${familyId} AND revoked_at IS NULL`;
  await markRevoked(app, [familyId]);
}

export async function refreshSession(app: AppContext, token: string): Promise<Session> {
  const row = await findToken(app, token);
  if (!row) throw unauthenticated('Invalid refresh token');
  if (row.revoked_at) throw unauthenticated('This session has ended; sign in again');
  if (row.rotated_at) {
    await revokeFamily(app, row.family_id);
    app.logger.warn({ familyId: row.family_id.toString() }, 'refresh token reuse: session revoked');
    throw unauthenticated(
      'This refresh token was already used; the session has ended. Sign in again',
    );
  }
  // Tokens issued before the absolute lifetime existed may outlive it: the family decides.
  const familyStart = idTime(row.family_id);
  if (Math.min(row.expires_at.getTime(), familyEnd(app, familyStart)) <= Date.now())
    throw unauthenticated('This session has expired; sign in again');
  // Per session, so a token holder cannot mint tokens in a loop. Spent only by refreshes
  // that would rotate: reuse detection above always runs. The token stays usable.
  const wait = await app.limits.refreshPerSession.consume(row.family_id.toString());
  if (wait !== null) throw rateLimited(wait);

  const secret = newRefreshSecret();
  const next = await app.prisma.$transaction(async (tx) => {
    // Waits for a logOutEverywhere in progress (it locks the row FOR UPDATE), so that it
    // cannot miss the token this refresh inserts.
    await tx.$queryRaw`SELECT 1 FROM users.users WHERE id = ${row.user_id} FOR KEY SHARE`;
    // Only one of two concurrent refreshes with the same token can win this update.
    const claimed = await tx.$executeRaw`
      UPDATE users.refresh_tokens SET rotated_at = now()
      WHERE id = ${row.id} AND rotated_at IS NULL AND revoked_at IS NULL`;
    if (claimed !== 1) return null;
    const rows = await tx.$queryRaw<{ id: bigint }[]>`
      INSERT INTO users.refresh_tokens (family_id, user_id, token_hash, expires_at)
      VALUES (${row.family_id}, ${row.user_id}, ${hashRefreshSecret(secret)}, ${refreshExpiry(app, familyStart)})
      RETURNING id`;
    return rows[0]!.id;
  });
  if (next === null) {
    await revokeFamily(app, row.family_id);
    throw unauthenticated(
      'This refresh token was already used; the session has ended. Sign in again',
    );
  }
  return issue(app, row.user_id, next, row.family_id, secret);
}

export async function endSession(app: AppContext, token: string): Promise<void> {
  const row = await findToken(app, token);
  if (row && !row.revoked_at) await revokeFamily(app, row.family_id);
}

/** Ends every session of a user: all refresh tokens revoked, live access tokens refused. */
export async function endAllSessions(app: AppContext, userId: bigint): Promise<void> {
  const families = await app.prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM users.users WHERE id = ${userId} FOR UPDATE`;
    // A family issued an access token whenever it got a row: only those of the last
    // ACCESS_TOKEN_TTL_SECONDS can still be in use and need a marker for the gateway.
    return tx.$queryRaw<{ family_id: bigint }[]>`
      WITH revoked AS (
        UPDATE users.refresh_tokens SET revoked_at = now()
        WHERE user_id = ${userId} AND revoked_at IS NULL
        RETURNING family_id, created_at)
      SELECT DISTINCT family_id FROM revoked
      WHERE created_at > now() - make_interval(secs => ${app.cfg.ACCESS_TOKEN_TTL_SECONDS})`;
  });
  await markRevoked(
    app,
    families.map((f) => f.family_id),
  );
}
