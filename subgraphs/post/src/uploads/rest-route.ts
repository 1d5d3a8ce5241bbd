// POST /internal/v1/media: the streamed multipart upload the gateway forwards from
// POST /v1/media. The `file` part goes straight into ingest (never held in memory); an
// optional `altText` field may come before or after it. Answers 201 with the Media JSON
// or { error, code } with 400 / 401 / 413 / 415.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { collectEvery } from '../../../../lib/platform/memory.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import { VIEWER_CONTEXT_HEADER, verifyViewerContext } from '../../../../lib/auth/viewer-context.js';
import { ErrorCode, httpStatusFor } from '../../../../lib/contracts/errors.js';
import { parseId } from '../../../../lib/contracts/ids.js';
import type { AppContext } from '../context.js';
import type { IngestedMedia } from '../media/processed.js';
import { MediaRejected } from '../media/spool.js';
import { ownerOnlyExpiry, toMediaView } from '../media-view.js';
import { parseAltText } from '../validation.js';
import { dropMedia, finishMedia, ingestStream, reserveMedia } from './records.js';

export const INTERNAL_UPLOAD_PATH = '/internal/v1/media';

class UploadError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

function send(reply: FastifyReply, code: ErrorCode, message: string) {
  return reply
    .code(httpStatusFor[code])
    .send({ error: message, code, requestId: reply.request.id });
}

interface Parsed {
  fields: Map<string, string>;
  ingested: IngestedMedia | null;
  error: unknown;
}

/**
 * Reads the multipart body. Once the outcome is known (ingest rejected the file, or the
 * body is malformed) the rest of the body is discarded rather than parsed, so the client
 * gets its answer as soon as possible and nothing more is stored.
 */
function readUpload(
  req: IncomingMessage,
  onFile: (file: Readable) => Promise<IngestedMedia>,
): Promise<Parsed> {
  return new Promise((resolve) => {
    const fields = new Map<string, string>();
    let ingest: Promise<IngestedMedia> | null = null;
    let file: Readable | null = null;
    let failure: unknown = null;
    let done = false;
    let bb: busboy.Busboy;

    const discardRest = () => {
      req.unpipe();
      req.resume();
    };
    const finish = () => {
      if (done) return;
      done = true;
      if (!ingest) {
        resolve({ fields, ingested: null, error: failure });
        return;
      }
      ingest.then(
        (ingested) => resolve({ fields, ingested, error: failure }),
        (err: unknown) => resolve({ fields, ingested: null, error: failure ?? err }),
      );
    };
    const fail = (err: unknown) => {
      failure ??= err;
      discardRest();
      // An ingest still reading the file must see it end in error (and clean up).
      file?.destroy(new Error('upload abandoned'));
      finish();
    };

    try {
      bb = busboy({
        headers: req.headers,
        limits: { files: 1, fields: 10, fieldSize: 16 * 1024, parts: 20, headerPairs: 50 },
      });
    } catch {
      fail(new UploadError(ErrorCode.BAD_USER_INPUT, 'Malformed multipart/form-data request'));
      return;
    }
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated)
        fail(new UploadError(ErrorCode.BAD_USER_INPUT, `${name} is too long`));
      else fields.set(name, value);
    });
    bb.on('file', (name, stream) => {
      if (name !== 'file' || ingest) {
        stream.resume();
        return;
      }
      file = stream;
      // Ingest listens for errors only once it starts reading (after an await); a file
      // abandoned before then (a second file part in the same chunk) must not crash us.
      stream.on('error', () => {});
      ingest = onFile(stream);
      // A rejected file (too large, wrong type) ends the request at once.
      ingest.catch((err: unknown) => fail(err));
    });
    bb.on('filesLimit', () =>
      fail(new UploadError(ErrorCode.BAD_USER_INPUT, 'Send exactly one file, in the `file` part')),
    );
    bb.on('error', () =>
      fail(new UploadError(ErrorCode.BAD_USER_INPUT, 'Malformed multipart/form-data body')),
    );
    bb.on('close', finish);
    // A client that goes away mid-upload: the half-read file fails ingest, which cleans up.
    req.on('close', () => {
      if (!req.complete) fail(new UploadError(ErrorCode.BAD_USER_INPUT, 'The upload was cut off'));
    });
    // Frees the socket's spent Buffers every few MB (lib/platform/memory.ts) instead of every ~64 MB.
    req.pipe(collectEvery()).pipe(bb);
  });
}

export function registerUploadRoute(http: FastifyInstance, app: AppContext): void {
  void http.register(async (scope) => {
    // Leave the body unread: the handler streams it.
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    scope.removeContentTypeParser(['application/json', 'text/plain']);
    scope.post(INTERNAL_UPLOAD_PATH, (req, reply) => handleUpload(app, req, reply));
  });
}

async function handleUpload(app: AppContext, req: FastifyRequest, reply: FastifyReply) {
  const header = req.headers[VIEWER_CONTEXT_HEADER];
  const viewer = verifyViewerContext(
    app.cfg.INTERNAL_SIGNING_SECRET,
    typeof header === 'string' ? header : undefined,
  );
  if (!viewer)
    return send(reply, ErrorCode.UNAUTHENTICATED, 'Requests must come through the gateway');
  if (!viewer.userId) return send(reply, ErrorCode.UNAUTHENTICATED, 'You must be signed in');
  const ownerId = parseId(viewer.userId, 'viewer');
  if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
    req.raw.resume();
    return send(
      reply,
      ErrorCode.BAD_USER_INPUT,
      'Send multipart/form-data with the file in a `file` part',
    );
  }

  const id = await reserveMedia(app, ownerId);
  const parsed = await readUpload(req.raw, (file) => ingestStream(app, id, file));
  try {
    if (parsed.error) throw asError(parsed.error);
    if (!parsed.ingested)
      throw new UploadError(ErrorCode.BAD_USER_INPUT, 'The `file` part is missing');
    let altText: string | null;
    try {
      altText = parseAltText(parsed.fields.get('altText'));
    } catch (err) {
      throw new UploadError(ErrorCode.BAD_USER_INPUT, (err as Error).message);
    }
    const row = await finishMedia(app, id, parsed.ingested, { altText });
    return reply.code(201).send(toMediaView(app.storage, row, ownerOnlyExpiry()));
  } catch (err) {
    if (parsed.ingested) await app.storage.delete(parsed.ingested.keys).catch(() => {});
    await dropMedia(app, id).catch(() => {});
    if (err instanceof MediaRejected) return send(reply, err.code, err.message);
    if (err instanceof UploadError) return send(reply, err.code, err.message);
    if (err instanceof GraphQLError) {
      const code = err.extensions.code as ErrorCode;
      return send(
        reply,
        code in httpStatusFor ? code : ErrorCode.INTERNAL_SERVER_ERROR,
        err.message,
      );
    }
    throw err;
  }
}
