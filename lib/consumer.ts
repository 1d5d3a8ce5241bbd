// Durable JetStream consumers for derived work (feed materializer, search indexer).
// Pull consumer shared by every replica under one durable name; explicit ack only after the
// side effect is done; a bounded number of messages in flight; failures are retried with a
// delay (nak) and a message that can never succeed (bad JSON) is terminated, not looped.
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { unprefixSubject } from './events.js';
import type { Logger } from './logger.js';
import { SpanKind, TRACEPARENT, contextFromTraceparent, inSpan } from './tracing.js';
import { addConsumerPendingSource, cached, eventLag } from './metrics.js';

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
  logger: Logger;
  /** Does the work; resolving acks the message, throwing naks it for a later retry. */
  handle(subject: string, payload: unknown, msg: JsMsg): Promise<void>;
}

export interface RunningConsumer {
  stop(): Promise<void>;
  /** Messages handled (acked) by this process so far. */
  handled(): number;
}

const RETRY_DELAY_MS = 2000;
const PENDING_CACHE_MS = 5000;

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
    'nc' | 'stream' | 'durable' | 'filterSubject' | 'maxAckPending' | 'ackWaitMs'
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
    max_deliver: -1,
  };
  try {
    await jsm.consumers.info(opts.stream, opts.durable);
    await jsm.consumers.update(opts.stream, opts.durable, {
      filter_subject: config.filter_subject,
      max_ack_pending: config.max_ack_pending,
      ack_wait: config.ack_wait,
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
  let handled = 0;
  const inFlight = new Set<Promise<void>>();

  async function process(msg: JsMsg): Promise<void> {
    let payload: unknown;
    try {
      payload = msg.json();
    } catch {
      log.error({ subject: msg.subject, seq: msg.seq }, 'undecodable event; terminated');
      msg.term('undecodable');
      return;
    }
    // Long handlers (a large fan-out) tell the server they are alive.
    const heartbeat = setInterval(() => msg.working(), Math.max(1000, ackWaitMs / 3));
    try {
      const subject = unprefixSubject(opts.prefix, msg.subject);
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
        () => opts.handle(subject, payload, msg),
      );
      msg.ack();
      handled++;
      const at = eventTime(payload);
      if (at !== null)
        eventLag.observe({ durable: opts.durable }, Math.max(0, Date.now() - at) / 1000);
    } catch (err) {
      log.warn(
        { err, subject: msg.subject, seq: msg.seq, redelivered: msg.redelivered },
        'event failed; will retry',
      );
      msg.nak(RETRY_DELAY_MS);
    } finally {
      clearInterval(heartbeat);
    }
  }

  const loop = (async () => {
    for await (const msg of messages) {
      while (inFlight.size >= opts.concurrency) await Promise.race(inFlight);
      const p = process(msg).finally(() => inFlight.delete(p));
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
