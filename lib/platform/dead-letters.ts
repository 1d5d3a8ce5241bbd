// Dead letters: events a durable consumer gave up on. The consumer (lib/platform/consumer.ts) copies
// the message to the DLQ stream on `dlq.<subject>` with headers saying where it came from
// and why, then terminates the original; `npm run dlq:replay` (scripts/dlq-replay.ts)
// republishes them to their original subject once the cause is fixed.
import { jetstream, jetstreamManager, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { dlqStreamName, dlqSubject, subjectFor } from '../contracts/events.js';
import { TRACEPARENT } from './tracing.js';

/** Why an event was dead-lettered (the `reason` label of mosaic_events_dead_lettered_total). */
export type DeadLetterReason = 'invalid' | 'exhausted';

export const DLQ_HEADERS = {
  /** The original subject on the wire (with the deployment prefix). */
  subject: 'Mosaic-Dlq-Subject',
  stream: 'Mosaic-Dlq-Stream',
  /** Sequence of the original message in its stream. */
  streamSeq: 'Mosaic-Dlq-Stream-Seq',
  consumer: 'Mosaic-Dlq-Consumer',
  deliveries: 'Mosaic-Dlq-Deliveries',
  reason: 'Mosaic-Dlq-Reason',
  /** What failed: schema paths and checks, or the handler's error message; never the payload. */
  error: 'Mosaic-Dlq-Error',
  /** The original Nats-Msg-Id (the outbox row id). */
  msgId: 'Mosaic-Dlq-Msg-Id',
} as const;

const MAX_ERROR_HEADER = 300;
/** Header values are one line of printable text. */
const headerValue = (s: string) =>
  s
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim()
    .slice(0, MAX_ERROR_HEADER);

/**
 * Copies `msg` to the DLQ stream. Its message id is the original's stream position and the
 * consumer, so a second attempt (the term was lost and the message came back) is dropped
 * by the stream's duplicate window instead of stored twice. Throws when the publish fails;
 * the caller must then leave the original to be redelivered, not terminate it.
 */
export async function deadLetter(
  nc: NatsConnection,
  msg: JsMsg,
  opts: {
    prefix: string;
    subject: string;
    consumer: string;
    reason: DeadLetterReason;
    error: string;
  },
): Promise<void> {
  const h = natsHeaders();
  h.set(DLQ_HEADERS.subject, msg.subject);
  h.set(DLQ_HEADERS.stream, msg.info.stream);
  h.set(DLQ_HEADERS.streamSeq, String(msg.info.streamSequence));
  h.set(DLQ_HEADERS.consumer, opts.consumer);
  h.set(DLQ_HEADERS.deliveries, String(msg.info.deliveryCount));
  h.set(DLQ_HEADERS.reason, opts.reason);
  h.set(DLQ_HEADERS.error, headerValue(opts.error) || 'unknown');
  const msgId = msg.headers?.get('Nats-Msg-Id');
  if (msgId) h.set(DLQ_HEADERS.msgId, msgId);
  const traceparent = msg.headers?.get(TRACEPARENT);
  if (traceparent) h.set(TRACEPARENT, traceparent);
  await jetstream(nc).publish(dlqSubject(opts.prefix, opts.subject), msg.data, {
    msgID: `${msg.info.stream}:${msg.info.streamSequence}:${opts.consumer}`,
    headers: h,
  });
}

export interface DeadLetterEntry {
  /** Sequence in the DLQ stream. */
  seq: number;
  /** The event subject without the prefix (`post.created`). */
  subject: string;
  reason: string;
  consumer: string;
  deliveries: number;
  error: string;
  /** When it was dead-lettered. */
  at: Date;
}

export interface ReplayOptions {
  /** Event subject (without prefix), wildcards allowed: `post.created`, `post.>`. Default all. */
  subject?: string;
  /** Only dead letters stored at or after this time. */
  since?: Date;
  /** List what would be replayed; publish and delete nothing. */
  dryRun?: boolean;
  /** Called for each entry after it was replayed (or listed, in a dry run). */
  onEntry?: (entry: DeadLetterEntry) => void;
}

export interface ReplayResult {
  /** Entries republished and removed from the DLQ (listed, in a dry run). */
  replayed: number;
  entries: DeadLetterEntry[];
}

const STREAM_NOT_FOUND = 10059;
const SUBJECT_FILTER = /^([a-z]+|\*)(\.([a-z]+|\*))*(\.>)?$|^>$/;

/**
 * Republishes dead letters to their original subject, then deletes each from the DLQ. The
 * republished copy gets a new Nats-Msg-Id: the original id would be dropped by the event
 * stream's duplicate window when the original is recent. The new id is derived from the
 * original's stream position, so entries of the same event from two consumers (both gave
 * up on it) and a replay interrupted between publish and delete publish it once. Every
 * consumer of the subject sees the copy, including one that had handled the original:
 * consumers are idempotent. Entries dead-lettered while this runs are left for next time.
 */
export async function replayDeadLetters(
  nc: NatsConnection,
  prefix: string,
  opts: ReplayOptions = {},
): Promise<ReplayResult> {
  const subjectFilter = opts.subject ?? '>';
  if (!SUBJECT_FILTER.test(subjectFilter))
    throw new Error(`not a subject filter: ${subjectFilter}`);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = dlqStreamName(prefix);
  try {
    await jsm.streams.info(stream);
  } catch (err) {
    if ((err as { code?: number }).code === STREAM_NOT_FOUND) return { replayed: 0, entries: [] };
    throw err;
  }
  const consumer = await js.consumers.get(stream, {
    filter_subjects: dlqSubject(prefix, subjectFilter),
    ...(opts.since
      ? { opt_start_time: opts.since.toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
  });
  const result: ReplayResult = { replayed: 0, entries: [] };
  const dlqRoot = dlqSubject(prefix, '');
  try {
    // Only what is there now: the count when the (ordered, filtered) consumer was created.
    let remaining = (await consumer.info(true)).num_pending;
    while (remaining > 0) {
      const m = await consumer.next({ expires: 5000 });
      if (!m) break;
      remaining--;
      const subject = m.subject.startsWith(dlqRoot) ? m.subject.slice(dlqRoot.length) : '';
      const entry: DeadLetterEntry = {
        seq: m.seq,
        subject,
        reason: m.headers?.get(DLQ_HEADERS.reason) ?? '',
        consumer: m.headers?.get(DLQ_HEADERS.consumer) ?? '',
        deliveries: Number(m.headers?.get(DLQ_HEADERS.deliveries) ?? 0),
        error: m.headers?.get(DLQ_HEADERS.error) ?? '',
        at: m.time,
      };
      if (!subject) throw new Error(`DLQ entry ${m.seq} is not on ${dlqRoot}<subject>`);
      if (!opts.dryRun) {
        const origin =
          `${m.headers?.get(DLQ_HEADERS.stream) ?? stream}:` +
          `${m.headers?.get(DLQ_HEADERS.streamSeq) ?? `dlq-${m.seq}`}`;
        const h = natsHeaders();
        h.set('Mosaic-Dlq-Replayed-From', `${stream}:${m.seq}`);
        const traceparent = m.headers?.get(TRACEPARENT);
        if (traceparent) h.set(TRACEPARENT, traceparent);
        await js.publish(subjectFor(prefix, subject), m.data, {
          msgID: `dlq-replay:${origin}`,
          headers: h,
        });
        await jsm.streams.deleteMessage(stream, m.seq, false);
      }
      result.replayed++;
      result.entries.push(entry);
      opts.onEntry?.(entry);
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  return result;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO-8601 time, or an age such as `30m`, `12h`, `7d` (before `now`). */
export function parseSince(value: string, now = new Date()): Date {
  const age = /^(\d{1,6})([mhd])$/.exec(value);
  if (age) return new Date(now.getTime() - Number(age[1]) * UNITS[age[2]!]!);
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(at.getTime())) {
    throw new Error(`--since must be an ISO time or an age like 30m, 12h, 7d: ${value}`);
  }
  return at;
}
