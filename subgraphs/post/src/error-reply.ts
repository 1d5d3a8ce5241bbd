// The { error, code, requestId } answer of the post service's plain HTTP routes (the fs
// upload PUT and the /media file route), one shape for both.
import type { FastifyReply, FastifyRequest } from 'fastify';

export function fail(
  reply: FastifyReply,
  req: FastifyRequest,
  status: number,
  code: string,
  error: string,
) {
  return reply.code(status).send({ error, code, requestId: req.id });
}
