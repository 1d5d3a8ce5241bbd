// The notification consumers and a broker that goes away: NATS stopped (and once killed)
// while follows and likes are made, then started again. Every notification arrives exactly
// once (outbox retries, JetStream de-duplication, idempotent consumers). Then every event of
// the streams is published a second time, as a redelivery would bring it: nothing changes.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { streamNames } from '../../../lib/contracts/events.js';
import { connectNats } from '../../../lib/platform/nats.js';
import { createPost, follow, signUp, type Account } from '../../../test/support/content.js';
import { eventually } from '../../../test/support/events.js';
import { startNats, type ManagedServer } from '../../../test/support/processes.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

let nats: ManagedServer;
let stack: Stack;

beforeAll(async () => {
  nats = await startNats();
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'engagement', 'notification'],
    env: {
      NATS_URL: nats.url,
      OUTBOX_POLL_MS: '200',
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
    },
  });
}, 60_000);

afterAll(async () => {
  await nats?.start().catch(() => {}); // the stack's cleanup talks to it
  await stack?.close();
  await nats?.dispose();
});

const NOTES = `{ notifications(first: 20) { edges { node { id kind actorCount actors(first: 10) { id } } } } unreadNotificationCount }`;
type Notes = {
  notifications: {
    edges: { node: { id: string; kind: string; actorCount: number; actors: { id: string }[] } }[];
  };
  unreadNotificationCount: number;
};

async function notes(who: Account): Promise<Notes> {
  const r = await stack.gql<Notes>(NOTES, {}, { token: who.token });
  if (r.errors || !r.data) throw new Error(JSON.stringify(r.errors));
  return r.data;
}

/** Everything the notification subgraph holds, for comparing before and after. */
const tables = () =>
  stack.iso.query(
    `SELECT n.id::text, n.kind, n.group_key, n.actor_count, n.latest_activity_at::text, n.is_read,
            coalesce((SELECT json_agg(json_build_object('a', a.actor_id::text, 'at', a.at::text, 'on', a.active)
                        ORDER BY a.actor_id) FROM notification.actors a WHERE a.notification_id = n.id), '[]') AS actors
       FROM notification.notifications n ORDER BY n.id`,
  );

it('loses no notification while the broker is down, doubles none, and a second delivery of every event changes nothing', async () => {
  const author = await signUp(stack, 'author');
  const postId = await createPost(stack, author);
  const LIKE = `mutation($id: ID!) { likePost(postId: $id) { post { id } } }`;
  const fans: Account[] = [];
  const act = async () => {
    const fan = await signUp(stack, 'fan');
    fans.push(fan);
    await follow(stack, fan, author);
    const r = await stack.gql(LIKE, { id: postId }, { token: fan.token });
    expect(r.errors).toBeUndefined();
  };

  for (let i = 0; i < 2; i++) await act();
  await nats.stop(); // clean stop
  for (let i = 0; i < 2; i++) await act();
  await nats.start();
  await act();
  await nats.stop(true); // crash (SIGKILL)
  for (let i = 0; i < 2; i++) await act();
  await nats.start();

  const done = (n: Notes) =>
    n.notifications.edges.filter((e) => e.node.kind === 'FOLLOWED').length === fans.length &&
    n.notifications.edges.some((e) => e.node.kind === 'LIKED' && e.node.actorCount === fans.length);
  const got = await eventually(() => notes(author), done, 60_000);
  expect(done(got), JSON.stringify(got)).toBe(true);
  const followed = got.notifications.edges.filter((e) => e.node.kind === 'FOLLOWED');
  expect(followed.map((e) => e.node.actors[0]!.id).sort()).toEqual(fans.map((f) => f.id).sort());
  expect(followed.every((e) => e.node.actorCount === 1)).toBe(true);
  expect(got.notifications.edges.length).toBe(fans.length + 1);
  expect(got.unreadNotificationCount).toBe(fans.length + 1);

  // Every event once more, as a redelivery would bring it (no message id: the stream keeps it).
  const before = await tables();
  const nc = await connectNats(stack.cfg, 'notification-redelivery');
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const names = streamNames(stack.cfg.NATS_PREFIX);
    let republished = 0;
    for (const stream of [names.GRAPH, names.ENGAGEMENT, names.POSTS]) {
      const last = (await jsm.streams.info(stream)).state.last_seq;
      for (let seq = 1; seq <= last; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!m) continue;
        await js.publish(m.subject, m.data);
        republished++;
      }
    }
    expect(republished).toBeGreaterThanOrEqual(fans.length * 2 + 1);
    // Wait until the consumers have worked through them: every durable has nothing pending.
    const pending = async () => {
      let n = 0;
      for (const [stream, durable] of [
        [names.GRAPH, 'notification-graph'],
        [names.ENGAGEMENT, 'notification-engagement'],
        [names.POSTS, 'notification-posts'],
      ] as const) {
        const info = await jsm.consumers.info(stream, durable);
        n += info.num_pending + info.num_ack_pending;
      }
      return n;
    };
    expect(await eventually(pending, (n) => n === 0, 30_000)).toBe(0);
  } finally {
    await nc.close();
  }
  expect(await tables()).toEqual(before);
}, 120_000);
