// Sessions: short-lived access JWTs plus rotating refresh tokens. Every refresh token
// descending from one logIn shares a family (whose id is the session id in the JWT).
// A token is good for one rotation; presenting a rotated token again means it leaked, so
// the whole family is revoked and the gateway stops honouring its access tokens.
import {
  hashRefreshSecret,
  newRefreshSecret,
  parseRefreshToken,
  revokedSessionKey,
  signAccessToken,
} from '../../../lib/auth/tokens.js';
import { badInput, unauthenticated } from '../../../lib/errors.js';
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

function refreshExpiry(app: AppContext): Date {
  return new Date(Date.now() + app.cfg.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
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
    SELECT id, id, ${user.id}, ${hashRefreshSecret(secret)}, ${refreshExpiry(app)} FROM n
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

async function revokeFamily(app: AppContext, familyId: bigint): Promise<void> {
  await app.prisma.$executeRaw`
    UPDATE users.refresh_tokens SET revoked_at = now()
    WHERE family_id = ${familyId} AND revoked_at IS NULL`;
  // Access tokens of the family stay valid for at most their TTL; the gateway refuses
  // them from now on. If Redis is down they expire on their own.
  await app.redis
    .set(
      revokedSessionKey(app.cfg.REDIS_KEY_PREFIX, familyId.toString()),
      '1',
      'EX',
      app.cfg.ACCESS_TOKEN_TTL_SECONDS,
    )
    .catch((err: unknown) => app.logger.warn({ err }, 'could not record revoked session in Redis'));
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
  if (row.expires_at.getTime() <= Date.now())
    throw unauthenticated('This session has expired; sign in again');

  const secret = newRefreshSecret();
  const next = await app.prisma.$transaction(async (tx) => {
    // Only one of two concurrent refreshes with the same token can win this update.
    const claimed = await tx.$executeRaw`
      UPDATE users.refresh_tokens SET rotated_at = now()
      WHERE id = ${row.id} AND rotated_at IS NULL AND revoked_at IS NULL`;
    if (claimed !== 1) return null;
    const rows = await tx.$queryRaw<{ id: bigint }[]>`
      INSERT INTO users.refresh_tokens (family_id, user_id, token_hash, expires_at)
      VALUES (${row.family_id}, ${row.user_id}, ${hashRefreshSecret(secret)}, ${refreshExpiry(app)})
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
