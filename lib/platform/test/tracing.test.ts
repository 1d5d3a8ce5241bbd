// One request followed across services: a client's W3C traceparent at the gateway reaches
// the post subgraph, rides the outbox row into the NATS message's headers, and is
// continued by the feed materializer. First with tracing off (propagation only, no spans),
// then with spans recorded into an in-memory exporter.
import { randomBytes } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { POST_CREATED, subjectFor } from '../../contracts/events.js';
import { initTracing, shutdownTracing, traceIdOf } from '../tracing.js';
import {
  createPost,
  feedIds,
  follow,
  signUp,
  type Account,
} from '../../../test/support/content.js';
import { eventually } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

let stack: Stack;
let nc: NatsConnection;
let author: Account;
let reader: Account;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const newTraceparent = () => `00-${hex(16)}-${hex(8)}-01`;

beforeAll(async () => {
  stack = await startStack({ subgraphs: ['user', 'post', 'graph', 'feed'] });
  nc = await connect({ servers: stack.cfg.NATS_URL });
  author = await signUp(stack, 'tr_a');
  reader = await signUp(stack, 'tr_r');
  await follow(stack, reader, author);
});

afterAll(async () => {
  await nc?.close();
  await stack?.close();
  await shutdownTracing();
});

/** Records the traceparent header of every post.created message, by postId. */
function watchPostCreated(): { seen: Map<string, string | undefined>; stop(): void } {
  const seen = new Map<string, string | undefined>();
  const sub = nc.subscribe(subjectFor(stack.cfg.NATS_PREFIX, POST_CREATED), {
    callback: (err, m) => {
      if (err) return;
      const body = m.json<{ postId: string; _traceparent?: string }>();
      // The stored trace context travels as the header, not left in the payload.
      seen.set(
        body.postId,
        body._traceparent !== undefined ? 'left in payload' : m.headers?.get('traceparent'),
      );
    },
  });
  return { seen, stop: () => sub.unsubscribe() };
}

it('propagates the client traceparent unchanged into the event when tracing is off', async () => {
  const traceparent = newTraceparent();
  const watch = watchPostCreated();
  await nc.flush();
  const postId = await createPost(stack, author, 'off', { traceparent });
  const seen = await eventually(
    async () => watch.seen,
    (m) => m.has(postId),
  );
  watch.stop();
  expect(seen.get(postId)).toBe(traceparent);
  // The stored row carries it too, so a relay retry or a replay keeps the trace.
  const rows = await stack.iso.query<{ tp: string | null }>(
    `SELECT payload->>'_traceparent' AS tp FROM posts.outbox WHERE payload->>'postId' = $1`,
    [postId],
  );
  expect(rows).toEqual([{ tp: traceparent }]);
});

it('writes no trace context when the client sent none and tracing is off', async () => {
  const postId = await createPost(stack, author, 'untraced');
  const rows = await stack.iso.query<{ tp: string | null }>(
    `SELECT payload->>'_traceparent' AS tp FROM posts.outbox WHERE payload->>'postId' = $1`,
    [postId],
  );
  expect(rows).toEqual([{ tp: null }]);
});

it('records one trace from the gateway through the post subgraph and outbox into the feed materializer', async () => {
  const exporter = new InMemorySpanExporter();
  initTracing({ TRACING: true, OTEL_EXPORTER_OTLP_ENDPOINT: undefined }, 'test', exporter);
  const traceparent = newTraceparent();
  const traceId = traceIdOf(traceparent);
  const postId = await createPost(stack, author, 'traced', { traceparent });

  const inTrace = () =>
    exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const spans = await eventually(
    async () => inTrace(),
    (s) => s.some((x) => x.name === `process ${POST_CREATED}`),
    15_000,
  );
  const byName = (name: string) => spans.filter((s) => s.name === name);
  const parentOf = (s: ReadableSpan) =>
    spans.find((p) => p.spanContext().spanId === s.parentSpanId);

  // The gateway's server span continues the client's span.
  const gatewaySpan = byName('POST /graphql').find(
    (s) => s.parentSpanId === traceparent.split('-')[2],
  );
  expect(gatewaySpan?.instrumentationLibrary.name).toBe('mosaic-gateway');
  // The post subgraph received the trace context: its server span is in the same trace.
  const postSpan = byName('POST /graphql').find(
    (s) => s.instrumentationLibrary.name === 'mosaic-post',
  );
  expect(postSpan).toBeDefined();
  // The outbox publish descends from the subgraph request that enqueued the event...
  const publish = byName(`publish ${POST_CREATED}`)[0];
  expect(publish).toBeDefined();
  let up: ReadableSpan | undefined = publish;
  while (up && up !== postSpan) up = parentOf(up);
  expect(up).toBe(postSpan);
  // ...and the materializer's handling of the message is a child of that publish.
  const consume = byName(`process ${POST_CREATED}`)[0]!;
  expect(consume.parentSpanId).toBe(publish!.spanContext().spanId);
  expect(consume.attributes['messaging.consumer.group.name']).toBe('feed-materializer-posts');
  // The traced request did its job.
  expect(
    await eventually(
      () => feedIds(stack, reader),
      (ids) => ids.includes(postId),
    ),
  ).toContain(postId);
});

it('keeps query strings and upload capability tokens out of span names and attributes', async () => {
  // A fresh provider with its own exporter (the previous test left one in place).
  await shutdownTracing();
  const exporter = new InMemorySpanExporter();
  initTracing({ TRACING: true, OTEL_EXPORTER_OTLP_ENDPOINT: undefined }, 'test', exporter);
  const traceparent = newTraceparent();
  const traceId = traceIdOf(traceparent);
  const token = `captoken${hex(8)}`;
  await fetch(`${stack.gatewayUrl}/v1/uploads/${token}`, {
    method: 'PUT',
    headers: { traceparent, 'content-type': 'image/jpeg' },
    body: 'x',
  });
  await fetch(`${stack.gatewayUrl}/v1/posts/1?password=${token}`, { headers: { traceparent } });
  const spans = await eventually(
    async () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId),
    (s) => s.length >= 2,
  );
  const recorded = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes })));
  expect(recorded).toContain('/v1/uploads/[redacted]');
  expect(recorded).not.toContain(token);
});
