// Accounts: sign-up, credential checks and profile updates.
import { hash, verify } from '@node-rs/argon2';
import type { User } from '../../../lib/generated/prisma/client.js';
import { conflict, notFound, rateLimited, unauthenticated } from '../../../lib/contracts/errors.js';
import { enqueue } from '../../../lib/platform/outbox/outbox.js';
import type { AppContext } from './context.js';
import type { SignUpInput, UpdateProfileInput } from './validation.js';

export type UserRow = User;

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum, which isolated modules cannot import)

export async function hashPassword(app: AppContext, password: string): Promise<string> {
  return hash(password, {
    algorithm: ARGON2ID,
    memoryCost: app.cfg.ARGON2_MEMORY_KIB,
    timeCost: app.cfg.ARGON2_TIME_COST,
    parallelism: 1,
  });
}

// Verifying against this when the account does not exist keeps the response time the
// same, so timing does not reveal which logins exist.
let dummyHash: Promise<string> | undefined;

function isUniqueViolation(err: unknown): err is { code: string; meta?: unknown; message: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2002';
}

/** Which unique key a P2002 hit: the driver adapter reports it in different places. */
function violatedField(err: { meta?: unknown; message: string }): 'username' | 'email' {
  const text = JSON.stringify(err.meta ?? {}) + err.message;
  return /email/i.test(text) ? 'email' : 'username';
}

const takenMessage = {
  username: 'That username is taken',
  email: 'That email is already registered',
};

export async function signUp(app: AppContext, input: SignUpInput): Promise<UserRow> {
  const usernameLower = input.username.toLowerCase();
  // A friendly early answer for the common case; the unique indexes decide under races.
  const existing = await app.prisma.user.findFirst({
    where: { OR: [{ usernameLower }, { email: input.email }] },
    select: { usernameLower: true },
  });
  if (existing) {
    const field = existing.usernameLower === usernameLower ? 'username' : 'email';
    throw conflict(takenMessage[field], field);
  }
  const passwordHash = await hashPassword(app, input.password);
  try {
    return await app.prisma.$transaction(async (tx) => {
      const user = await tx.user.create({
        data: {
          username: input.username,
          usernameLower,
          email: input.email,
          passwordHash,
          displayName: input.displayName ?? null,
        },
      });
      await enqueue(tx, 'users', 'user.created', {
        v: 1,
        userId: user.id.toString(),
        username: user.username,
        createdAt: user.createdAt.toISOString(),
        displayName: user.displayName,
      });
      return user;
    });
  } catch (err) {
    if (isUniqueViolation(err)) {
      const field = violatedField(err);
      throw conflict(takenMessage[field], field);
    }
    throw err;
  }
}

/** The key of an account's login budget and known addresses. */
export const accountKey = (userId: bigint): string => `u:${userId}`;

/** After a sign-in (signUp or logIn) from `ip`: that address skips the account's login delay. */
export async function rememberSignIn(app: AppContext, userId: bigint, ip: string): Promise<void> {
  await app.limits.knownIps.remember(accountKey(userId), ip);
}

export async function checkCredentials(
  app: AppContext,
  login: { key: string; byEmail: boolean; password: string },
  ip: string,
): Promise<UserRow> {
  const { loginThrottle: throttle, knownIps, loginFailuresPerIp: perIp } = app.limits;
  const ipWait = await perIp.blocked(ip);
  if (ipWait !== null) throw rateLimited(ipWait);

  const user = await app.prisma.user.findUnique({
    where: login.byEmail ? { email: login.key } : { usernameLower: login.key },
  });
  // One budget per account, however it is named (username or email). Unknown logins get
  // one per normalized login: probing them is limited alike and costs the same calls.
  const key = user ? accountKey(user.id) : `l:${login.key}`;
  const attempt = await throttle.begin(key, await knownIps.has(key, ip));
  if ('wait' in attempt) throw rateLimited(attempt.wait);

  dummyHash ??= hashPassword(app, 'not-a-real-password');
  const ok = await verify(user?.passwordHash ?? (await dummyHash), login.password);
  if (user && ok) {
    await Promise.all([throttle.succeeded(key), knownIps.remember(key, ip)]);
    return user;
  }
  await Promise.all([throttle.failed(key, attempt.failures), perIp.consume(ip)]);
  throw unauthenticated('Invalid login or password');
}

/**
 * Applies a profile change. When the display name changes (what search indexes), a
 * `user.updated` event goes into the outbox in the same transaction. `updated_at` is the
 * event's version: strictly increasing per user (the row is locked), so consumers can
 * drop older events that arrive late.
 */
export async function updateProfile(
  app: AppContext,
  userId: bigint,
  input: UpdateProfileInput,
): Promise<UserRow> {
  const data: { displayName?: string | null; bio?: string | null; website?: string | null } = {};
  if (input.displayName !== undefined) data.displayName = input.displayName;
  if (input.bio !== undefined) data.bio = input.bio;
  if (input.website !== undefined) data.website = input.website;
  return app.prisma.$transaction(async (tx) => {
    const [before] = await tx.$queryRaw<{ display_name: string | null; updated_at: Date }[]>`
      SELECT display_name, updated_at FROM users.users WHERE id = ${userId} FOR UPDATE`;
    if (!before) throw notFound('Account not found');
    const updatedAt = new Date(Math.max(Date.now(), before.updated_at.getTime() + 1));
    const user = await tx.user.update({ where: { id: userId }, data: { ...data, updatedAt } });
    if (data.displayName !== undefined && data.displayName !== before.display_name) {
      await enqueue(tx, 'users', 'user.updated', {
        v: 1,
        userId: user.id.toString(),
        username: user.username,
        displayName: user.displayName,
        updatedAt: updatedAt.toISOString(),
      });
    }
    return user;
  });
}
