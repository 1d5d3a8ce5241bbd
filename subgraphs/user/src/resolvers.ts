// The user subgraph's operations. Beside each: who may call it, its limits and the
// error codes it answers with (the gateway adds per-IP limits on the auth mutations).
import { signLiveTicket } from '../../../lib/auth/live-ticket.js';
import { DateTimeScalar } from '../../../lib/contracts/scalars.js';
import { unauthenticated } from '../../../lib/contracts/errors.js';
import { parseId, tryParseId } from '../../../lib/contracts/ids.js';
import type { Resolvers } from '../../../lib/platform/http/subgraph.js';
import type { RequestContext } from './context.js';
import {
  endAllSessions,
  endSession,
  refreshSession,
  startSession,
  type Session,
} from './sessions.js';
import type { UserProfile } from './loaders.js';
import { checkCredentials, rememberSignIn, signUp, updateProfile } from './users.js';
import { USERNAME, parseLogin, parseSignUp, parseUpdateProfile } from './validation.js';

function requireViewer(ctx: RequestContext): bigint {
  if (!ctx.viewer.userId) throw unauthenticated();
  return parseId(ctx.viewer.userId, 'viewer');
}

async function authPayload(ctx: RequestContext, session: Session, user?: UserProfile) {
  ctx.signedInUserId = session.userId.toString();
  return {
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    accessTokenExpiresAt: session.accessTokenExpiresAt,
    user: user ?? (await ctx.loaders.userById.load(session.userId.toString())),
  };
}

/** The profile, or null when its user has blocked the viewer (they do not exist for them). */
async function visible(ctx: RequestContext, user: UserProfile | null): Promise<UserProfile | null> {
  if (!user) return null;
  return (await ctx.loaders.profileHidden.load(user.id.toString())) ? null : user;
}

export const resolvers: Resolvers<RequestContext> = {
  DateTime: DateTimeScalar,

  Query: {
    // anyone; null when signed out. Never hidden: it is the viewer.
    me: (_p, _a, ctx: RequestContext) =>
      ctx.viewer.userId ? ctx.loaders.userById.load(ctx.viewer.userId) : null,

    // anyone; null for unknown or malformed usernames, and for a user who has blocked the
    // viewer (graph.visibility, one call for every lookup of the request)
    user: async (_p, args: { username: string }, ctx: RequestContext) => {
      if (!USERNAME.test(args.username)) return null;
      return visible(ctx, await ctx.loaders.userByUsername.load(args.username.toLowerCase()));
    },

    // anyone; null for unknown or malformed ids, and for a user who has blocked the viewer
    userById: async (_p, args: { id: string }, ctx: RequestContext) => {
      if (tryParseId(args.id) === null) return null;
      return visible(ctx, await ctx.loaders.userById.load(args.id));
    },
  },

  Mutation: {
    // anyone | BAD_USER_INPUT, CONFLICT (username or email taken)
    signUp: async (_p, args: { input: unknown }, ctx: RequestContext) => {
      const user = await signUp(ctx.app, parseSignUp(args.input));
      await rememberSignIn(ctx.app, user.id, ctx.viewer.ip);
      return authPayload(ctx, await startSession(ctx.app, user), user);
    },

    // anyone | BAD_USER_INPUT, UNAUTHENTICATED (same message whether or not the account
    // exists), RATE_LIMITED (past RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT failures, an
    // attempt from an address that never signed in to the account waits out a growing
    // delay; 5x that many failures per IP per 15 min)
    logIn: async (
      _p,
      args: { input: { login: unknown; password: unknown } },
      ctx: RequestContext,
    ) => {
      const login = parseLogin(args.input.login, args.input.password);
      const user = await checkCredentials(ctx.app, login, ctx.viewer.ip);
      return authPayload(ctx, await startSession(ctx.app, user), user);
    },

    // holder of the refresh token | BAD_USER_INPUT (malformed), UNAUTHENTICATED (unknown,
    // reused, ended or expired), RATE_LIMITED (RATE_LIMIT_REFRESH_PER_SESSION_PER_MINUTE)
    refreshSession: async (_p, args: { refreshToken: string }, ctx: RequestContext) =>
      authPayload(ctx, await refreshSession(ctx.app, args.refreshToken)),

    // holder of the refresh token | BAD_USER_INPUT (malformed)
    logOut: async (_p, args: { refreshToken: string }, ctx: RequestContext) => {
      await endSession(ctx.app, args.refreshToken);
      return true;
    },

    // signed-in user, for themselves | UNAUTHENTICATED
    logOutEverywhere: async (_p, _a, ctx: RequestContext) => {
      await endAllSessions(ctx.app, requireViewer(ctx));
      return true;
    },

    // signed-in user, for themselves | UNAUTHENTICATED, BAD_USER_INPUT (displayName ≤ 64,
    // bio ≤ 150, website an http(s) URL ≤ 200 without credentials). A display name change
    // writes user.updated (search) in the same transaction.
    updateProfile: async (_p, args: { input: unknown }, ctx: RequestContext) => {
      const userId = requireViewer(ctx);
      const user = await updateProfile(ctx.app, userId, parseUpdateProfile(args.input));
      ctx.loaders.userById.clear(user.id.toString()).prime(user.id.toString(), user);
      return user;
    },

    // signed-in user, for themselves | UNAUTHENTICATED. Signed only: the gateway consumes the
    // ticket (Redis SET NX on its jti) when a stream opens, so it works once, for ≤ 30 s.
    createLiveTicket: (_p, _a, ctx: RequestContext) => {
      requireViewer(ctx);
      const { userId, sessionId } = ctx.viewer;
      if (!sessionId) throw unauthenticated();
      return signLiveTicket(ctx.app.cfg.INTERNAL_SIGNING_SECRET, { userId: userId!, sessionId });
    },
  },

  User: {
    __resolveReference: (ref: { id: string }, ctx: RequestContext) =>
      tryParseId(ref.id) === null ? null : ctx.loaders.userById.load(ref.id),
    id: (u: UserProfile) => u.id.toString(),
    isViewer: (u: UserProfile, _a, ctx: RequestContext) => {
      const id = u.id.toString();
      return ctx.viewer.userId === id || ctx.signedInUserId === id;
    },
  },
};
