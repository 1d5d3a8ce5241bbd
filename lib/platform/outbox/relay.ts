// Outbox relay: publishes committed outbox rows to JetStream with Nats-Msg-Id = row id.
//
// Delivery is at least once. A row is claimed with FOR UPDATE SKIP LOCKED, published and
// marked in one transaction, so replicas share the work and a crash before COMMIT only
// releases the rows for another attempt; the stream's duplicate window drops the repeat.
// Order is best effort: a batch is published in id order on one connection, but retries
// and concurrent relays can reorder events, so consumers must not depend on it.
import pg from 'pg';
import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { subjectFor } from '../../contracts/events.js';
import type { Config } from '../../config.js';
import type { Logger } from '../logger.js';
import { TRACEPARENT_KEY, assertSchemaName } from './outbox.js';
import { addOutboxBacklogSource } from '../metrics.js';
import {
  SpanKind,
  contextFromTraceparent,
  injectHeaders,
  markSpanError,
  startSpan,
} from '../tracing.js';

export const OUTBOX_CHANNEL = 'mosaic_outbox';

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 60_000;
const LISTEN_RETRY_MAX_MS = 30_000;
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

export type NatsTarget = { nc: NatsConnection } | { js: JetStreamClient };

export type OutboxRelayOptions = NatsTarget & {
  pool: pg.Pool;
  schema: string;
  /** NATS_PREFIX: prepended to each row's subject when publishing. */
  prefix: string;
  logger: Logger;
  pollMs: number;
  batchSize: number;
  /** How long to wait for each PubAck; the row stays locked meanwhile. */
  publishTimeoutMs?: number;
  /** When set, published rows older than this are pruned hourly. */
  retentionDays?: number;
};

export interface OutboxRelay {
  stop(): Promise<void>;
  /** Publishes everything due now (waiting for any tick in progress); returns how many. */
  drain(): Promise<number>;
  /** Resolves once LISTEN is active, so a NOTIFY from then on wakes the relay. */
  listening(): Promise<void>;
}

interface OutboxRow {
  id: string;
  subject: string;
  payload: string;
  attempts: number;
  /** Trace context of the write that enqueued the row (lib/platform/outbox/outbox.ts). */
  traceparent: string | null;
}

// The stored trace context leaves the payload and travels as the message's header.
const PAYLOAD_COLUMNS = `(payload - '${TRACEPARENT_KEY}')::text AS payload,
  payload->>'${TRACEPARENT_KEY}' AS traceparent`;

/** A PRODUCER span under the row's trace (no-op when tracing is off) and its NATS headers. */
function publishTrace(prefix: string, row: OutboxRow) {
  if (!row.traceparent) return undefined;
  const subject = subjectFor(prefix, row.subject);
  const { span, ctx } = startSpan(
    'mosaic-outbox',
    `publish ${row.subject}`,
    contextFromTraceparent(row.traceparent),
    SpanKind.PRODUCER,
    {
      'messaging.system': 'nats',
      'messaging.destination.name': subject,
      'mosaic.outbox_id': row.id,
    },
  );
  const h = natsHeaders();
  for (const [k, v] of Object.entries(injectHeaders<Record<string, string>>({}, ctx))) h.set(k, v);
  return { span, headers: h };
}

interface TickResult {
  claimed: number;
  published: number;
  failed: number;
}

const toJs = (t: NatsTarget): JetStreamClient => ('js' in t ? t.js : jetstream(t.nc));

const errorText = (err: unknown) =>
  (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 1000);

/** Exponential with "equal jitter": half the delay is fixed, half random, so retries spread. */
export function backoffMs(attempts: number): number {
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempts - 1, 20));
  return Math.round(exp / 2 + (Math.random() * exp) / 2);
}

/** Claims, publishes and marks one batch of due rows. */
export async function relayTick(
  pool: pg.Pool,
  js: JetStreamClient,
  schema: string,
  prefix: string,
  batchSize: number,
  publishTimeoutMs = 5000,
): Promise<TickResult & { firstError?: string }> {
  const s = assertSchemaName(schema);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<OutboxRow>(
      `SELECT id::text AS id, subject, ${PAYLOAD_COLUMNS}, attempts
         FROM ${s}.outbox
        WHERE published_at IS NULL AND next_attempt_at <= now()
        ORDER BY id
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      [batchSize],
    );
    if (rows.length === 0) {
      await client.query('COMMIT');
      return { claimed: 0, published: 0, failed: 0 };
    }
    // All in flight at once, pipelined on the one connection: one round trip per batch.
    const traces = rows.map((r) => publishTrace(prefix, r));
    const results = await Promise.allSettled(
      rows.map((r, i) =>
        js.publish(subjectFor(prefix, r.subject), r.payload, {
          msgID: r.id,
          timeout: publishTimeoutMs,
          ...(traces[i] ? { headers: traces[i].headers } : {}),
        }),
      ),
    );
    results.forEach((res, i) => {
      if (res.status === 'rejected' && traces[i]) markSpanError(traces[i].span);
      traces[i]?.span.end();
    });
    const ok: string[] = [];
    const failedIds: string[] = [];
    const errors: string[] = [];
    const delays: number[] = [];
    results.forEach((res, i) => {
      const row = rows[i]!;
      if (res.status === 'fulfilled') {
        ok.push(row.id);
      } else {
        failedIds.push(row.id);
        // The subject helps: a missing stream surfaces as "jetstream is not enabled".
        errors.push(`${subjectFor(prefix, row.subject)}: ${errorText(res.reason)}`);
        delays.push(backoffMs(row.attempts + 1) / 1000);
      }
    });
    if (ok.length) {
      await client.query(
        `UPDATE ${s}.outbox SET published_at = now() WHERE id = ANY($1::bigint[])`,
        [ok],
      );
    }
    if (failedIds.length) {
      await client.query(
        `UPDATE ${s}.outbox o
            SET attempts = o.attempts + 1,
                last_error = f.error,
                next_attempt_at = now() + make_interval(secs => f.delay)
           FROM unnest($1::bigint[], $2::text[], $3::float8[]) AS f(id, error, delay)
          WHERE o.id = f.id`,
        [failedIds, errors, delays],
      );
    }
    await client.query('COMMIT');
    return {
      claimed: rows.length,
      published: ok.length,
      failed: failedIds.length,
      ...(errors[0] ? { firstError: errors[0] } : {}),
    };
  } catch (err) {
    broken = err instanceof Error ? err : new Error(String(err));
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    // A connection that failed mid-transaction is discarded rather than reused.
    client.release(broken);
  }
}

export function startOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const { pool, prefix, logger, pollMs, batchSize, publishTimeoutMs = 5000 } = opts;
  const schema = assertSchemaName(opts.schema);
  const js = toJs(opts);
  const log = logger.child({ component: 'outbox-relay', schema });

  let stopped = false;
  // Ticks run one at a time per relay; concurrency across replicas comes from SKIP LOCKED.
  let chain: Promise<unknown> = Promise.resolve();
  let queued = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  // Backlog on scrape; the predicate matches the partial index outbox_pending_idx.
  const removeBacklogSource = addOutboxBacklogSource(async () => {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${schema}.outbox WHERE published_at IS NULL`,
    );
    return [{ labels: { schema }, value: Number(rows[0]?.n ?? 0) }];
  });

  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = chain.then(fn, fn);
    chain = p.catch(() => {});
    return p;
  }

  async function runUntilIdle(): Promise<number> {
    let total = 0;
    // A full batch means more may be waiting; a partial one means we caught up.
    for (;;) {
      const r = await relayTick(pool, js, schema, prefix, batchSize, publishTimeoutMs);
      total += r.published;
      if (r.failed) {
        log.warn(
          { failed: r.failed, published: r.published, err: r.firstError },
          'outbox publish failed',
        );
      }
      // Stop at a failure too: with NATS down, the backlog would only time out batch by batch.
      if (r.claimed < batchSize || r.failed > 0 || stopped) return total;
    }
  }

  function wake(): void {
    if (stopped || queued) return;
    queued = true;
    void serial(async () => {
      queued = false;
      if (stopped) return;
      try {
        const n = await runUntilIdle();
        if (n) log.debug({ published: n }, 'outbox published');
      } catch (err) {
        log.error({ err }, 'outbox relay tick failed');
      }
    });
  }

  function schedulePoll(): void {
    if (stopped) return;
    pollTimer = setTimeout(() => {
      wake();
      schedulePoll();
    }, pollMs);
    pollTimer.unref();
  }

  // LISTEN needs a session of its own that is never returned to the pool.
  let listener: pg.Client | undefined;
  let listenRetryMs = 500;
  let listenTimer: NodeJS.Timeout | undefined;
  let markListening: () => void = () => {};
  const listeningPromise = new Promise<void>((resolve) => (markListening = resolve));

  async function listen(): Promise<void> {
    if (stopped) return;
    const client = new pg.Client({
      ...pool.options,
      keepAlive: true,
      application_name: `mosaic-outbox-listener:${schema}`,
    });
    listener = client;
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = undefined;
      client.end().catch(() => {});
      if (stopped) return;
      log.warn({ err, retryMs: listenRetryMs }, 'outbox listener lost; reconnecting');
      listenTimer = setTimeout(() => void listen(), listenRetryMs);
      listenTimer.unref();
      listenRetryMs = Math.min(LISTEN_RETRY_MAX_MS, listenRetryMs * 2);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel === OUTBOX_CHANNEL && msg.payload === schema) wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (err) {
      onLost(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (stopped) {
      await client.end().catch(() => {});
      return;
    }
    listenRetryMs = 500;
    markListening();
    // Rows committed while we were not listening got no wake-up of ours.
    wake();
  }

  if (opts.retentionDays !== undefined) {
    const days = opts.retentionDays;
    pruneTimer = setInterval(() => {
      void pruneOutbox(pool, schema, days).then(
        (n) => void (n && log.info({ deleted: n }, 'outbox pruned')),
        (err: unknown) => log.error({ err }, 'outbox prune failed'),
      );
    }, PRUNE_INTERVAL_MS);
    pruneTimer.unref();
  }

  void listen();
  wake();
  schedulePoll();

  return {
    async stop() {
      stopped = true;
      removeBacklogSource();
      clearTimeout(pollTimer);
      clearTimeout(listenTimer);
      clearInterval(pruneTimer);
      const l = listener;
      listener = undefined;
      await l?.end().catch(() => {});
      await chain;
    },
    drain() {
      return serial(runUntilIdle);
    },
    listening() {
      return listeningPromise;
    },
  };
}

/** Deletes published rows older than the retention period, in batches; returns how many. */
export async function pruneOutbox(
  pool: pg.Pool,
  schema: string,
  retentionDays: number,
  batchSize = 5000,
): Promise<number> {
  const s = assertSchemaName(schema);
  let total = 0;
  for (;;) {
    // Short batches keep locks and WAL bursts small; SKIP LOCKED lets two pruners overlap.
    const { rowCount } = await pool.query(
      `DELETE FROM ${s}.outbox WHERE id IN (
         SELECT id FROM ${s}.outbox
          WHERE published_at < now() - make_interval(days => $1)
          LIMIT $2
          FOR UPDATE SKIP LOCKED)`,
      [retentionDays, batchSize],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return total;
  }
}

export interface ReplayResult {
  /** Stored by the stream again. */
  published: number;
  /** Dropped by the stream as duplicates (published within its duplicate window). */
  duplicates: number;
}

/**
 * Republishes rows published in [from, to), in publishing order, with the same
 * Nats-Msg-Id as the first time. For rebuilding a stream that lost acknowledged messages.
 *
 * Rows first published within the stream's duplicate window (10 minutes) are dropped by
 * the stream and counted as duplicates: that is intended, since those ids are still in
 * the stream (or were just published by the relay). Rows no longer in the outbox
 * (pruned after OUTBOX_RETENTION_DAYS) cannot be replayed; rebuild those consumers from
 * Postgres instead. Unpublished rows are left to the relay.
 */
export async function replayOutbox(
  pool: pg.Pool,
  js: JetStreamClient,
  schema: string,
  prefix: string,
  from: Date,
  to: Date,
  batchSize = 500,
): Promise<ReplayResult> {
  const s = assertSchemaName(schema);
  const result: ReplayResult = { published: 0, duplicates: 0 };
  let after: { at: Date | null; id: string } = { at: null, id: '0' };
  for (;;) {
    const { rows } = await pool.query<OutboxRow & { published_at: Date }>(
      `SELECT id::text AS id, subject, ${PAYLOAD_COLUMNS}, attempts, published_at
         FROM ${s}.outbox
        WHERE published_at >= $1 AND published_at < $2
          AND ($3::timestamptz IS NULL OR (published_at, id) > ($3, $4::bigint))
        ORDER BY published_at, id
        LIMIT $5`,
      [from, to, after.at, after.id, batchSize],
    );
    if (rows.length === 0) return result;
    const acks: PubAck[] = await Promise.all(
      rows.map((r) => {
        const t = publishTrace(prefix, r);
        t?.span.end();
        return js.publish(subjectFor(prefix, r.subject), r.payload, {
          msgID: r.id,
          ...(t ? { headers: t.headers } : {}),
        });
      }),
    );
    for (const a of acks) {
      if (a.duplicate) result.duplicates++;
      else result.published++;
    }
    const last = rows[rows.length - 1]!;
    after = { at: last.published_at, id: last.id };
    if (rows.length < batchSize) return result;
  }
}

/** The relay for one subgraph's outbox, configured from the shared settings. */
export function startConfiguredRelay(
  cfg: Pick<
    Config,
    'NATS_PREFIX' | 'OUTBOX_POLL_MS' | 'OUTBOX_BATCH_SIZE' | 'OUTBOX_RETENTION_DAYS'
  >,
  deps: { pool: pg.Pool; nc: NatsConnection; logger: Logger },
  schema: string,
): OutboxRelay {
  return startOutboxRelay({
    ...deps,
    schema,
    prefix: cfg.NATS_PREFIX,
    pollMs: cfg.OUTBOX_POLL_MS,
    batchSize: cfg.OUTBOX_BATCH_SIZE,
    retentionDays: cfg.OUTBOX_RETENTION_DAYS,
  });
}
