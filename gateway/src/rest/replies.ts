// What every REST route shares: errors as { error, code, requestId } with the status of
// their code, and the viewer resolved from the Authorization header.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import type { Config } from '../../../lib/config.js';
import { ErrorCode, httpStatusFor } from '../../../lib/contracts/errors.js';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import { resolveViewer } from '../context.js';

export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
) {
  return reply
    .code(httpStatusFor[code])
    .send({ error: message, code, ...extra, requestId: reply.request.id });
}

export function codeOf(err: { extensions?: Record<string, unknown> }): ErrorCode {
  const code = err.extensions?.code;
  return typeof code === 'string' && code in httpStatusFor
    ? (code as ErrorCode)
    : ErrorCode.INTERNAL_SERVER_ERROR;
}

/** The viewer, or an error reply already sent (bad or expired token). */
export async function viewerOf(
  deps: { cfg: Config; redis: Redis },
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Viewer | null> {
  try {
    return await resolveViewer(deps.cfg, deps.redis, req);
  } catch (err) {
    if (err instanceof GraphQLError) {
      await sendError(reply, codeOf(err), err.message);
      return null;
    }
    throw err;
  }
}
