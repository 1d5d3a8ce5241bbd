// Durable JetStream consumers for derived work (feed materializer, search indexer).
// Pull consumer shared by every replica under one durable name; explicit ack only after the
// side effect is done; a bounded number of messages in flight. Every payload is checked
// against the event contract (lib/contracts/events.ts) before the handler sees it: one that fails can
// never succeed and is dead-lettered at once. A handler failure is retried with a growing
// delay (nak) up to maxDeliver deliveries, then dead-lettered too (lib/platform/dead-letters.ts) —
// unless it failed because a dependency was down (lib/contracts/errors.ts isUnavailable): an outage
// is not the event's fault, so those retries go on, bounded only by maxOutageDeliveries.
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  parseEvent,
  unprefixSubject,
  type ContractEvent,
  type EventCheck,
} from '../contracts/events.js';
import { deadLetter, type DeadLetterReason } from './dead-letters.js';
import { isUnavailable } from '../contracts/errors.js';
import type { Logger } from './logger.js';
import { SpanKind, TRACEPARENT, contextFromTraceparent, inSpan } from './tracing.js';
import { addConsumerPendingSource, cached, eventLag, eventsDeadLettered } from './metrics.js';

export interface ConsumerOptions {
  nc: NatsConnection;
  /** Stream name (already prefixed, see streamNames()). */
  stream: string;
  /** Durable name shared by all replicas. */
  durable: string;
  /**
   * Subject filter (already prefixed, wildcards allowed). One filter, not several: NATS
   * servers before 2.10 cannot filter a consumer on a list of subjects.
   */
  filterSubject: string;
  /** NATS_PREFIX, stripped from subjects before `handle` sees them. */
  prefix: string;
  /** Messages processed at once by this process (the server caps the total via max_ack_pending). */
  concurrency: number;
  /** Unacked messages across all replicas before the server stops delivering. */
  maxAckPending?: number;
  /** How long the server waits for an ack before redelivering (handlers heartbeat meanwhile). */
  ackWaitMs?: number;
  /** Deliveries of a message whose handler keeps failing before it is dead-lettered. */
  maxDeliver?: number;
  /** Deliveries before an event that keeps failing for an outage (isUnavailable) is dead-lettered. */
  maxOutageDeliveries?: number;
  /** Delay before the first retry; each further one doubles, up to MAX_RETRY_DELAY_MS. */
  retryDelayMs?: number;
  logger: Logger;
  /**
   * Does the work for an event that passed the contract check; resolving acks the message,
   * throwing naks it for a later retry (dead-lettered after maxDeliver deliveries).
   */
  handle(event: ContractEvent, msg: JsMsg): Promise<void>;
}

export interface RunningConsumer {
  stop(): Promise<void>;
  /** Messages handled (acked) by this process so far. */
  handled(): number;
}

// 2, 4, 8 … 256, 300 s: ten deliveries span about 13 minutes, so a dependency outage of a
// few minutes (graph subgraph, Postgres) is retried through; a longer one ends in the DLQ,
// from which `npm run dlq:replay` brings the events back.
export const MAX_DELIVER = 10;
/** At the longest delay (5 min) about a week of retries: as long as the outbox keeps events. */
export const MAX_OUTAGE_DELIVERIES = 2000;
export const RETRY_DELAY_MS = 2000;
export const MAX_RETRY_DELAY_MS = 300_000;
const PENDING_CACHE_MS = 5000;

/** The nak delay after the `deliveryCount`-th delivery failed. */
export function retryDelay(deliveryCount: number, baseMs = RETRY_DELAY_MS): number {
  const doublings = Math.min(Math.max(deliveryCount - 1, 0), 30);
  return Math.min(baseMs * 2 ** doublings, MAX_RETRY_DELAY_MS);
}

/**
 * The server's limit is one above the longest the handler ever retries (an outage): the
 * handler gives up (dead-letters) itself, and the spare delivery still reaches it when that
 * last attempt was lost (a crash, an ack timeout, a failed dead-letter publish). Without it
 * the server would stop delivering silently.
 */
const serverMaxDeliver = (opts: { maxDeliver?: number; maxOutageDeliveries?: number }) =>
  Math.max(opts.maxDeliver ?? MAX_DELIVER, opts.maxOutageDeliveries ?? MAX_OUTAGE_DELIVERIES) + 1;

/** When the event happened: the newest of its timestamps (post.deleted also carries createdAt). */
function eventTime(payload: unknown): number | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const p = payload as Record<string, unknown>;
  const at = p.deletedAt ?? p.updatedAt ?? p.createdAt;
  const ms = typeof at === 'string' ? Date.parse(at) : NaN;
  return Number.isFinite(ms) ? ms : null;
}
const PULL_EXPIRES_MS = 5000;

export async function ensureConsumer(
  opts: Pick<
    ConsumerOptions,
    | 'nc'
    | 'stream'
    | 'durable'
    | 'filterSubject'
    | 'maxAckPending'
    | 'ackWaitMs'
    | 'maxDeliver'
    | 'maxOutageDeliveries'
  >,
): Promise<void> {
  const jsm = await jetstreamManager(opts.nc);
  const config = {
    durable_name: opts.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: opts.filterSubject,
    max_ack_pending: opts.maxAckPending ?? 1000,
    ack_wait: nanos(opts.ackWaitMs ?? 30_000),
    max_deliver: serverMaxDeliver(opts),
  };
  try {
    await jsm.consumers.info(opts.stream, opts.durable);
    // Also bounds a consumer created before deliveries were (max_deliver -1).
    await jsm.consumers.update(opts.stream, opts.durable, {
      filter_subject: config.filter_subject,
      max_ack_pending: config.max_ack_pending,
      ack_wait: config.ack_wait,
      max_deliver: config.max_deliver,
    });
  } catch {
    // Missing: create it. Several replicas may race here; adding an identical config twice is fine.
    await jsm.consumers.add(opts.stream, config);
  }
}

export async function startConsumer(opts: ConsumerOptions): Promise<RunningConsumer> {
  await ensureConsumer(opts);
  const js = jetstream(opts.nc);
  const consumer = await js.consumers.get(opts.stream, opts.durable);
  const messages = await consumer.consume({
    max_messages: Math.max(opts.concurrency * 2, 10),
    // Short pulls: when the consumer's leader moves (a NATS cluster node dies) the pending
    // pull is lost silently, and a new one goes out only when this one expires or misses
    // heartbeats (half of it). 5 s instead of the default 30 s bounds that stall.
    expires: PULL_EXPIRES_MS,
  });
  const log = opts.logger.child({ component: 'consumer', durable: opts.durable });
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  const maxDeliver = opts.maxDeliver ?? MAX_DELIVER;
  const maxOutageDeliveries = opts.maxOutageDeliveries ?? MAX_OUTAGE_DELIVERIES;
  let handled = 0;
  const inFlight = new Set<Promise<void>>();

  /** Moves the message to the DLQ and terminates it; on a failed publish, retries later. */
  async function giveUp(msg: JsMsg, subject: string, reason: DeadLetterReason, error: string) {
    const where = {
      subject: msg.subject,
      seq: msg.seq,
      deliveries: msg.info.deliveryCount,
      reason,
      error,
    };
    try {
      await deadLetter(opts.nc, msg, {
        prefix: opts.prefix,
        subject,
        consumer: opts.durable,
        reason,
        error,
      });
    } catch (err) {
      log.error({ ...where, err }, 'dead-lettering failed; will retry');
      msg.nak(retryDelay(msg.info.deliveryCount, opts.retryDelayMs));
      return;
    }
    msg.term();
    eventsDeadLettered.inc({ consumer: opts.durable, reason });
    // The payload stays out of the log: it is in the DLQ for whoever may read it.
    log.error(where, 'event dead-lettered');
  }

  async function process(msg: JsMsg): Promise<void> {
    const subject = unprefixSubject(opts.prefix, msg.subject);
    let decoded: { payload: unknown } | null = null;
    try {
      decoded = { payload: msg.json() };
    } catch {
      // not JSON: poison, like a payload that breaks the contract
    }
    const check: EventCheck = decoded
      ? parseEvent(subject, decoded.payload)
      : { ok: false, newer: false, error: 'not JSON' };
    if (!check.ok) {
      if (check.newer) {
        // A version this build does not know yet: its producer also publishes the old one.
        log.info({ subject: msg.subject, seq: msg.seq, error: check.error }, 'newer event skipped');
        msg.ack();
      } else {
        await giveUp(msg, subject, 'invalid', check.error);
      }
      return;
    }
    const { event } = check;
    const payload = event.payload;
    // Long handlers (a large fan-out) tell the server they are alive.
    const heartbeat = setInterval(() => msg.working(), Math.max(1000, ackWaitMs / 3));
    let failure: unknown;
    try {
      // Continues the trace of the write that produced the event (its outbox publish).
      await inSpan(
        'mosaic-consumer',
        `process ${subject}`,
        contextFromTraceparent(msg.headers?.get(TRACEPARENT)),
        SpanKind.CONSUMER,
        {
          'messaging.system': 'nats',
          'messaging.destination.name': msg.subject,
          'messaging.consumer.group.name': opts.durable,
          'messaging.message.redelivered': msg.redelivered,
        },
        () => opts.handle(event, msg),
      );
    } catch (err) {
      failure = err ?? new Error('handler failed');
    } finally {
      clearInterval(heartbeat);
    }
    if (failure === undefined) {
      msg.ack();
      handled++;
      const at = eventTime(payload);
      if (at !== null)
        eventLag.observe({ durable: opts.durable }, Math.max(0, Date.now() - at) / 1000);
      return;
    }
    const deliveries = msg.info.deliveryCount;
    const outage = isUnavailable(failure);
    if (deliveries >= (outage ? maxOutageDeliveries : maxDeliver)) {
      const error = failure instanceof Error ? failure.message : 'a non-Error was thrown';
      await giveUp(msg, subject, 'exhausted', error);
      return;
    }
    log.warn(
      { err: failure, subject: msg.subject, seq: msg.seq, deliveries, maxDeliver, outage },
      'event failed; will retry',
    );
    msg.nak(retryDelay(deliveries, opts.retryDelayMs));
  }

  const loop = (async () => {
    for await (const msg of messages) {
      while (inFlight.size >= opts.concurrency) await Promise.race(inFlight);
      const p = process(msg)
        // A bug here must not become an unhandled rejection; the ack wait redelivers it.
        .catch((err: unknown) => log.error({ err, seq: msg.seq }, 'event processing crashed'))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  })().catch((err: unknown) => log.error({ err }, 'consumer loop ended'));

  // Pending work of the durable (all replicas), read from the server on scrape.
  const jsm = await jetstreamManager(opts.nc);
  const pending = cached(PENDING_CACHE_MS, async () => {
    const info = await jsm.consumers.info(opts.stream, opts.durable);
    return [
      {
        labels: { stream: opts.stream, durable: opts.durable },
        value: info.num_pending + info.num_ack_pending,
      },
    ];
  });
  const removePendingSource = addConsumerPendingSource(pending);

  return {
    async stop() {
      removePendingSource();
      await messages.close().catch(() => {});
      await loop;
      await Promise.allSettled(inFlight);
    },
    handled: () => handled,
  };
}

/**
 * The shutdown steps of a service that runs consumers, in order: stop the consumers (their
 * in-flight events finish), drain NATS, then let go of Redis and Postgres.
 */
export function consumerServiceCleanups(
  deps: { redis: { disconnect(): void }; pool: { end(): Promise<void> } },
  nc: NatsConnection,
  consumers: readonly RunningConsumer[],
): (() => unknown)[] {
  return [
    ...consumers.map((c) => () => c.stop()),
    () => nc.drain(),
    () => deps.redis.disconnect(),
    () => deps.pool.end(),
  ];
}
