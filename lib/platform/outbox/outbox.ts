// Transactional outbox: the event row is written in the same transaction as the change it
// describes, so an event exists exactly when its change committed. The relay publishes it.
import type { EventPayload, EventSubject } from '../../contracts/events.js';
import { currentTraceparent } from '../tracing.js';

/**
 * Key of the active trace context inside a stored payload: the relay moves it to the NATS
 * message's `traceparent` header and strips it (no per-schema column, so no migration).
 */
export const TRACEPARENT_KEY = '_traceparent';

/** A pg `Client`/`PoolClient` inside BEGIN ... COMMIT. */
export interface SqlTx {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A Prisma interactive-transaction client (`prisma.$transaction(async (tx) => ...)`). */
export interface PrismaTx {
  $queryRawUnsafe(query: string, ...values: unknown[]): Promise<unknown>;
}

export type OutboxTx = SqlTx | PrismaTx;

// The schema name is interpolated into SQL, so only plain identifiers get through.
const SCHEMA_NAME = /^[a-z_]+$/;

export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid outbox schema name: ${schema}`);
  return schema;
}

/**
 * Inserts an outbox row in the caller's transaction and returns its id (also the
 * Nats-Msg-Id it will be published with). `subject` is unprefixed; the relay adds the
 * deployment's NATS prefix when publishing.
 */
export async function enqueue<S extends EventSubject>(
  tx: OutboxTx,
  schema: string,
  subject: S,
  payload: EventPayload<S>,
): Promise<string> {
  const sql = `INSERT INTO ${assertSchemaName(schema)}.outbox (subject, payload)
    VALUES ($1, $2::jsonb) RETURNING id::text AS id`;
  const traceparent = currentTraceparent();
  const json = JSON.stringify(
    traceparent ? { ...payload, [TRACEPARENT_KEY]: traceparent } : payload,
  );
  const rows =
    '$queryRawUnsafe' in tx
      ? await tx.$queryRawUnsafe(sql, subject, json)
      : (await tx.query(sql, [subject, json])).rows;
  return (rows as { id: string }[])[0]!.id;
}

/** One event for enqueueMany. */
export type OutboxEvent = {
  [S in EventSubject]: { subject: S; payload: EventPayload<S> };
}[EventSubject];

/**
 * Inserts many outbox rows in the caller's transaction in ONE statement, in the given order
 * (their ids, and so their publishing order, follow it). For changes that emit an event per
 * row of a bulk change (e.g. an account turning public approves every pending request).
 */
export async function enqueueMany(
  tx: OutboxTx,
  schema: string,
  events: readonly OutboxEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const sql = `INSERT INTO ${assertSchemaName(schema)}.outbox (subject, payload)
    SELECT e.subject, e.payload FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY
      AS e(subject, payload, n) ORDER BY e.n`;
  const traceparent = currentTraceparent();
  const subjects = events.map((e) => e.subject);
  const payloads = events.map((e) =>
    JSON.stringify(traceparent ? { ...e.payload, [TRACEPARENT_KEY]: traceparent } : e.payload),
  );
  if ('$queryRawUnsafe' in tx) await tx.$queryRawUnsafe(sql, subjects, payloads);
  else await tx.query(sql, [subjects, payloads]);
}
