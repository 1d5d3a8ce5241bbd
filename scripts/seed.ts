// npm run seed [-- --users 20000 --posts-per-user 5 --seed 42 --wait]
// A realistic demo data set through bulk paths that keep every invariant: accounts (one
// shared demo password, one fixed `demo` login), a power-law follow graph with a few
// celebrities and exact counters, posts with hashtags and generated images (real processed
// variants), each post's post.created event in the post subgraph's outbox, so the running
// relays and consumers build feeds and the search index exactly as for posts made through
// the API. It ends with VACUUM (ANALYZE) of every table it filled: left with the statistics
// of empty tables, the planner picks plans that read the whole posts index to return 20 rows.
// `--wait` (or `--wait-only`, without seeding) then follows the outbox backlog and the
// consumers' pending events with a progress bar until feeds and search are built.
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { hash } from '@node-rs/argon2';
import type pg from 'pg';
import sharp from 'sharp';
import type { Config } from '../lib/config.js';
import { createPool } from '../lib/platform/db.js';
import { streamNames } from '../lib/contracts/events.js';
import { extractHashtags } from '../lib/contracts/hashtags.js';
import { idAt } from '../lib/contracts/ids.js';
import { migrate } from '../lib/platform/migrate.js';
import { connectNats } from '../lib/platform/nats.js';
import { ingestMedia } from '../subgraphs/post/src/media/ingest.js';
import type { IngestedMedia } from '../subgraphs/post/src/media/processed.js';
import { mediaLimits } from '../subgraphs/post/src/media/spool.js';
import { createStorage } from '../subgraphs/post/src/storage/create-storage.js';
import type { ObjectStorage } from '../subgraphs/post/src/storage/object-storage.js';
import { launcherConfig } from './launcher-env.js';

export const DEMO_PASSWORD = 'mosaic-demo';
/** A fixed login for trying the API: it follows ~150 accounts, the celebrities among them. */
export const DEMO_USERNAME = 'demo';
const DEMO_FOLLOWS = 150;

/** Every table the seed writes; their statistics are brought up to date at the end. */
export const SEEDED_TABLES = [
  'users.users',
  'users.outbox',
  'graph.follows',
  'graph.user_stats',
  'posts.posts',
  'posts.media',
  'posts.post_media',
  'posts.author_stats',
  'posts.outbox',
] as const;
/** Filled from the seed's events by the feed materializer and the search indexer. */
export const PROJECTION_TABLES = [
  'feed.posts',
  'search.posts',
  'search.hashtags',
  'search.users',
] as const;

export interface SeedOptions {
  users: number;
  postsPerUser: number;
  seed?: number;
  imagePool?: number;
  /** Every media item gets its own stored objects (default: sets of up to 2,000 users). */
  copyObjects?: boolean;
  /** VACUUM (ANALYZE) the filled tables at the end (default true). */
  analyze?: boolean;
  /** Progress bars on stderr. */
  progress?: boolean;
}

export interface SeedResult {
  users: number;
  follows: number;
  posts: number;
  media: number;
  celebrities: number;
  mostFollowed: { username: string; followers: number }[];
  demo: { username: string; created: boolean; following: number };
  copyObjects: boolean;
  imagePool: number;
  /** Wall time of each phase in ms, in order. */
  phasesMs: Record<string, number>;
  totalMs: number;
}

/** Deterministic randomness (mulberry32), so a seed reproduces the same data set. */
function rng(seed: number) {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    random,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!,
    normal: () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()),
  };
}

const ADJ = [
  'sunny',
  'quiet',
  'wild',
  'urban',
  'salty',
  'golden',
  'misty',
  'blue',
  'lazy',
  'brave',
  'tiny',
  'north',
];
const NOUN = [
  'fox',
  'lens',
  'wave',
  'peak',
  'latte',
  'trail',
  'pixel',
  'harbor',
  'garden',
  'comet',
  'river',
  'atlas',
];
const PHRASES = [
  'Golden hour never gets old',
  'Morning coffee before the climb',
  'Weekend in the old town',
  'First snow of the year',
  'Street food night',
  'Sunday at the market',
  'Les vacances à la plage',
  'Frühstück mit Aussicht',
  '東京の夜',
  'Lost in the mountains',
  'Best pizza in town',
  'Studio light test',
];
const TAGS = [
  'sunset',
  'travel',
  'coffee',
  'food',
  'mountains',
  'beach',
  'café',
  '日本',
  'straße',
  'streetphotography',
  'nofilter',
  'weekend',
  'friends',
  'art',
  'city',
];

/** A one-line progress bar on a terminal; every tenth on a pipe. */
function bar(label: string, done: number, total: number, suffix = ''): void {
  const width = 30;
  const filled = Math.round((Math.min(done, total) / Math.max(total, 1)) * width);
  const line = `${label.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${suffix}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K${done === total ? '\n' : ''}`);
  else if (done === total || done % Math.max(1, Math.floor(total / 10)) === 0) console.error(line);
}

/**
 * One write in flight while the next batch is generated, so the seed's CPU and Postgres
 * overlap (the machine a newcomer tries Mosaic on may have two cores).
 */
function writer() {
  let last: Promise<void> = Promise.resolve();
  let failed: { err: unknown } | undefined;
  return {
    async push(write: () => Promise<unknown>): Promise<void> {
      await last;
      if (failed) throw failed.err;
      last = write().then(
        () => {},
        (err: unknown) => {
          failed = { err };
        },
      );
    },
    async drain(): Promise<void> {
      await last;
      if (failed) throw failed.err;
    },
  };
}

async function imagePool(
  storage: ObjectStorage,
  cfg: Config,
  size: number,
  copyObjects: boolean,
  random: () => number,
  progress: boolean,
): Promise<{ media: IngestedMedia; files: Map<string, Buffer>; variants: string }[]> {
  const out = [];
  for (let i = 0; i < size; i++) {
    // Smooth colour fields: a tiny random image blown up with a cubic kernel.
    const tiny = Buffer.from(Array.from({ length: 4 * 4 * 3 }, () => Math.floor(random() * 256)));
    const png = await sharp(tiny, { raw: { width: 4, height: 4, channels: 3 } })
      .resize(1080, 1080, { kernel: 'cubic' })
      .jpeg({ quality: 80 })
      .toBuffer();
    const media = await ingestMedia(storage, Readable.from(png), {
      keyPrefix: `seed-pool/${i}`,
      limits: mediaLimits(cfg),
    });
    const files = new Map<string, Buffer>();
    if (copyObjects) {
      for (const key of media.keys) {
        const chunks: Buffer[] = [];
        for await (const c of await storage.openRead(key)) chunks.push(c as Buffer);
        files.set(key, Buffer.concat(chunks));
      }
    }
    out.push({ media, files, variants: JSON.stringify(media.variants) });
    if (progress) bar('images', i + 1, size);
  }
  return out;
}

/** Seeds `cfg.DATABASE_URL` (migrated first) and the configured object storage. */
export async function seed(cfg: Config, opts: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const USERS = opts.users;
  const POSTS_PER_USER = opts.postsPerUser;
  const POOL = opts.imagePool ?? 16;
  // Small sets get their own copy of every object; large ones share the pool's objects
  // (recorded with no object_keys, so deleting a post never deletes a shared object).
  const COPY_OBJECTS = opts.copyObjects ?? USERS <= 2000;
  const progress = opts.progress ?? false;
  if (![USERS, POSTS_PER_USER, POOL].every((n) => Number.isInteger(n) && n > 0) || USERS < 2) {
    throw new Error('users (≥ 2), posts per user and image pool take whole positive numbers');
  }
  const { random, pick, normal } = rng(opts.seed ?? 42);
  const phasesMs: Record<string, number> = {};
  let phaseAt = Date.now();
  const phase = (name: string) => {
    phasesMs[name] = Date.now() - phaseAt;
    phaseAt = Date.now();
  };

  await migrate(cfg.DATABASE_URL, 'prisma/migrations');
  // Bulk inserts over millions of rows: none of the services' statement limits.
  const pool = createPool({
    ...cfg,
    DATABASE_STATEMENT_TIMEOUT_MS: 0,
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 0,
  });
  try {
    const storage = await createStorage(cfg);
    const images = await imagePool(storage, cfg, POOL, COPY_OBJECTS, random, progress);
    phase('images');

    // ---- accounts: the one demo password hashed once (with the configured Argon2 cost)
    const passwordHash = await hash(DEMO_PASSWORD, {
      algorithm: 2,
      memoryCost: cfg.ARGON2_MEMORY_KIB,
      timeCost: cfg.ARGON2_TIME_COST,
      parallelism: 1,
    });
    const { rows: existingDemo } = await pool.query<{ id: string }>(
      'SELECT id::text FROM users.users WHERE username_lower = $1',
      [DEMO_USERNAME],
    );
    const demoCreated = existingDemo.length === 0;
    let demoId = existingDemo[0]?.id;
    const runTag = Date.now().toString(36).slice(-4);
    const userIds: string[] = [];
    for (let i = 0; i < USERS; i += 5000) {
      const n = Math.min(5000, USERS - i);
      const names = Array.from({ length: n }, (_, j) =>
        i + j === 0 && demoCreated ? DEMO_USERNAME : `${pick(ADJ)}_${pick(NOUN)}_${runTag}${i + j}`,
      );
      const { rows } = await pool.query<{ id: string; username: string }>(
        `WITH u AS (
           INSERT INTO users.users (username, username_lower, email, password_hash, display_name)
           SELECT n, lower(n), lower(n) || '@demo.mosaic', $2, initcap(replace(n, '_', ' ')) FROM unnest($1::text[]) n
           RETURNING id, username, display_name, created_at)
         INSERT INTO users.outbox (subject, payload)
         SELECT 'user.created', jsonb_build_object('v', 1, 'userId', id::text, 'username', username, 'createdAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'displayName', display_name) FROM u
         RETURNING (payload->>'userId') AS id, payload->>'username' AS username`,
        [names, passwordHash],
      );
      for (const r of rows) {
        userIds.push(r.id);
        if (r.username === DEMO_USERNAME) demoId = r.id;
      }
      if (progress) bar('accounts', userIds.length, USERS);
    }
    phase('accounts');

    // ---- follows: Zipf popularity over a shuffled ranking, lognormal out-degrees
    const ranked = [...userIds];
    for (let i = ranked.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [ranked[i], ranked[j]] = [ranked[j]!, ranked[i]!];
    }
    const cumulative: number[] = [];
    let total = 0;
    for (let r = 0; r < ranked.length; r++) cumulative.push((total += 1 / Math.pow(r + 1, 1.1)));
    const sample = () => {
      const x = random() * total;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      return ranked[lo]!;
    };
    const followers = [...userIds];
    if (demoId && !demoCreated) followers.push(demoId); // a demo account from an earlier seed
    let follows = 0;
    let batchFollower: string[] = [];
    let batchFollowee: string[] = [];
    let batchSeq: string[] = [];
    // Edge ids minted here in graph.next_id()'s layout (shard 3): calling that function per
    // row was 40 % of this phase. 1,024 ids per millisecond from the phase's start: faster
    // than edges are written, so the ids stay behind the clock and sort before later follows.
    const seqBase = Date.now();
    const edgeSeq = (k: number) =>
      (idAt(new Date(seqBase + Math.floor(k / 1024))) | (3n << 10n) | BigInt(k % 1024)).toString();
    const edges = writer();
    const flushFollows = async () => {
      if (!batchFollower.length) return;
      const values = [batchFollower, batchFollowee, batchSeq];
      batchFollower = [];
      batchFollowee = [];
      batchSeq = [];
      await edges.push(() =>
        pool.query(
          `INSERT INTO graph.follows (follower_id, followee_id, seq) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING`,
          values,
        ),
      );
    };
    for (let i = 0; i < followers.length; i++) {
      const me = followers[i]!;
      const want = Math.min(
        userIds.length - 1,
        me === demoId ? DEMO_FOLLOWS : 2000,
        Math.max(1, Math.round(me === demoId ? DEMO_FOLLOWS : Math.exp(3 + 1.1 * normal()))),
      );
      const chosen = new Set<string>();
      for (let tries = 0; chosen.size < want && tries < want * 4; tries++) {
        const them = sample();
        if (them !== me) chosen.add(them);
      }
      for (const them of chosen) {
        batchFollower.push(me);
        batchFollowee.push(them);
        batchSeq.push(edgeSeq(follows++));
      }
      if (batchFollower.length >= 50_000) await flushFollows();
      if (progress && (i % 500 === 0 || i === followers.length - 1))
        bar('follows', i + 1, followers.length);
    }
    await flushFollows();
    await edges.drain();
    phase('follows');
    // Counters from the edges themselves: exact by construction.
    await pool.query(`
      INSERT INTO graph.user_stats (user_id, follower_count, following_count)
      SELECT u, coalesce(f.c, 0), coalesce(g.c, 0)
      FROM (SELECT followee_id u FROM graph.follows UNION SELECT follower_id FROM graph.follows) all_users
      LEFT JOIN (SELECT followee_id, count(*) c FROM graph.follows GROUP BY 1) f ON f.followee_id = u
      LEFT JOIN (SELECT follower_id, count(*) c FROM graph.follows GROUP BY 1) g ON g.follower_id = u
      ON CONFLICT (user_id) DO UPDATE SET follower_count = EXCLUDED.follower_count, following_count = EXCLUDED.following_count`);
    phase('counters');

    // ---- posts, media, carousel rows, counters, post.created events: in transactions of
    // a few thousand posts (many authors each), the next batch built while one is written.
    let idSeq = 0;
    /** A post/media id minted at `time` in the posts shard's layout (shard 2). */
    const mintId = (time: Date) => idAt(time) | (2n << 10n) | BigInt(idSeq++ % 1024);
    const newBatch = () => ({
      p: {
        id: [] as string[],
        author: [] as string[],
        caption: [] as string[],
        tags: [] as string[],
        at: [] as Date[],
      },
      m: {
        id: [] as string[],
        owner: [] as string[],
        post: [] as string[],
        pos: [] as number[],
        key: [] as string[],
        variants: [] as string[],
        objects: [] as string[],
        blurhash: [] as (string | null)[],
        w: [] as number[],
        h: [] as number[],
        mime: [] as string[],
        bytes: [] as number[],
        at: [] as Date[],
      },
      authors: [] as string[],
      counts: [] as number[],
      events: [] as string[],
    });
    type Batch = ReturnType<typeof newBatch>;
    const writeBatch = async ({ p, m, authors, counts, events }: Batch) => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(
          `INSERT INTO posts.posts (id, author_id, caption, hashtags, created_at)
           SELECT id, author, caption, ARRAY(SELECT jsonb_array_elements_text(tags)), at
           FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[], $5::timestamptz[]) AS t(id, author, caption, tags, at)`,
          [p.id, p.author, p.caption, p.tags, p.at],
        );
        await c.query(
          `INSERT INTO posts.media (id, owner_id, type, status, mime_type, bytes, width, height, blurhash, storage_key, variants, object_keys, created_at, attached_at)
           SELECT id, owner, 'IMAGE', 'READY', mime, bytes, w, h, bh, key, variants, ARRAY(SELECT jsonb_array_elements_text(objects)), at, at
           FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::text[], $8::text[], $9::jsonb[], $10::jsonb[], $11::timestamptz[])
             AS t(id, owner, mime, bytes, w, h, bh, key, variants, objects, at)`,
          [
            m.id,
            m.owner,
            m.mime,
            m.bytes,
            m.w,
            m.h,
            m.blurhash,
            m.key,
            m.variants,
            m.objects,
            m.at,
          ],
        );
        await c.query(
          `INSERT INTO posts.post_media (post_id, media_id, position) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[])`,
          [m.post, m.id, m.pos],
        );
        await c.query(
          `INSERT INTO posts.author_stats (author_id, post_count) SELECT * FROM unnest($1::bigint[], $2::int[])
           ON CONFLICT (author_id) DO UPDATE SET post_count = posts.author_stats.post_count + EXCLUDED.post_count`,
          [authors, counts],
        );
        await c.query(
          `INSERT INTO posts.outbox (subject, payload) SELECT 'post.created', e FROM unnest($1::jsonb[]) e`,
          [events],
        );
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    };
    const postWrites = writer();
    let batch = newBatch();
    let posts = 0;
    let mediaCount = 0;
    const now = Date.now();
    for (let i = 0; i < userIds.length; i++) {
      const author = userIds[i]!;
      const count = Math.max(0, Math.round(POSTS_PER_USER + normal() * POSTS_PER_USER * 0.6));
      const { p, m } = batch;
      for (let k = 0; k < count; k++) {
        const at = new Date(now - Math.floor(random() * 30 * 86_400_000));
        const postId = mintId(at).toString();
        const caption = `${pick(PHRASES)} #${pick(TAGS)}${random() < 0.5 ? ` #${pick(TAGS)}` : ''}`;
        const hashtags = extractHashtags(caption);
        p.id.push(postId);
        p.author.push(author);
        p.caption.push(caption);
        p.tags.push(JSON.stringify(hashtags));
        p.at.push(at);
        const n = random() < 0.8 ? 1 : random() < 0.75 ? 2 : 3;
        const summary = [];
        for (let pos = 0; pos < n; pos++) {
          const img = pick(images);
          const mediaId = mintId(at).toString();
          const rename = (key: string) => `m/${mediaId}/${key.split('/').pop()}`;
          if (COPY_OBJECTS) {
            for (const [key, bytes] of img.files)
              await storage.put(rename(key), bytes, {
                contentType: img.media.mimeType,
                size: bytes.length,
              });
          }
          m.id.push(mediaId);
          m.owner.push(author);
          m.post.push(postId);
          m.pos.push(pos);
          m.key.push(COPY_OBJECTS ? rename(img.media.key) : img.media.key);
          m.variants.push(
            COPY_OBJECTS
              ? JSON.stringify(img.media.variants.map((v) => ({ ...v, key: rename(v.key) })))
              : img.variants,
          );
          m.objects.push(JSON.stringify(COPY_OBJECTS ? img.media.keys.map(rename) : []));
          m.blurhash.push(img.media.blurhash);
          m.w.push(img.media.width ?? 0);
          m.h.push(img.media.height ?? 0);
          m.mime.push(img.media.mimeType);
          m.bytes.push(img.media.bytes);
          m.at.push(at);
          summary.push({
            id: mediaId,
            type: 'image',
            width: img.media.width,
            height: img.media.height,
          });
        }
        batch.events.push(
          JSON.stringify({
            v: 1,
            postId,
            authorId: author,
            createdAt: at.toISOString(),
            caption,
            hashtags,
            media: summary,
          }),
        );
      }
      if (count > 0) {
        batch.authors.push(author);
        batch.counts.push(count);
      }
      posts += count;
      const last = i === userIds.length - 1;
      if (batch.p.id.length >= 2500 || (last && batch.p.id.length > 0)) {
        mediaCount += batch.m.id.length;
        const full = batch;
        batch = newBatch();
        await postWrites.push(() => writeBatch(full));
      }
      if (progress && (i % 200 === 0 || last)) bar('posts', i + 1, userIds.length);
    }
    await postWrites.drain();
    phase('posts');

    // ---- statistics: the planner must see the tables as they are now, not empty
    if (opts.analyze ?? true) {
      await pool.query(`VACUUM (ANALYZE) ${SEEDED_TABLES.join(', ')}`);
      phase('analyze');
    }

    const { rows: celebs } = await pool.query<{ n: string }>(
      'SELECT count(*)::text n FROM graph.user_stats WHERE follower_count >= $1',
      [cfg.CELEBRITY_FOLLOWER_THRESHOLD],
    );
    const { rows: top } = await pool.query<{ username: string; follower_count: string }>(
      `SELECT u.username, s.follower_count::text FROM graph.user_stats s JOIN users.users u ON u.id = s.user_id
       WHERE u.id = ANY($1::bigint[]) ORDER BY s.follower_count DESC LIMIT 3`,
      [userIds],
    );
    const { rows: demoStats } = await pool.query<{ following_count: string }>(
      'SELECT following_count::text FROM graph.user_stats WHERE user_id = $1',
      [demoId],
    );
    return {
      users: USERS,
      follows,
      posts,
      media: mediaCount,
      celebrities: Number(celebs[0]!.n),
      mostFollowed: top.map((t) => ({ username: t.username, followers: Number(t.follower_count) })),
      demo: {
        username: DEMO_USERNAME,
        created: demoCreated,
        following: Number(demoStats[0]?.following_count ?? 0),
      },
      copyObjects: COPY_OBJECTS,
      imagePool: POOL,
      phasesMs,
      totalMs: Date.now() - started,
    };
  } finally {
    await pool.end();
  }
}

// ---- after the seed: the events it queued still have to reach feeds and search

export interface DrainState {
  /** Outbox rows not yet published, per schema (the mosaic_outbox_backlog gauge). */
  backlog: Record<string, number>;
  /** Pending + ack-pending events per durable consumer (mosaic_jetstream_consumer_pending). */
  pending: Record<string, number>;
  /** Durable consumers on each schema's stream: a published row is pending in each of them. */
  consumers: Record<string, number>;
}

/** Deliveries still to be consumed: a row still in an outbox counts once per consumer to come. */
export const remaining = (s: DrainState): number =>
  Object.entries(s.backlog).reduce(
    (a, [schema, n]) => a + n * Math.max(1, s.consumers[schema] ?? 0),
    0,
  ) + Object.values(s.pending).reduce((a, b) => a + b, 0);

const OUTBOX_STREAMS = { users: 'USERS', posts: 'POSTS', graph: 'GRAPH' } as const;

/** The same two measures the services' gauges export, read straight from their sources. */
export async function drainState(
  pool: pg.Pool,
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  prefix: string,
): Promise<DrainState> {
  const names = streamNames(prefix);
  const pending: Record<string, number> = {};
  const consumers: Record<string, number> = {};
  for (const [schema, key] of Object.entries(OUTBOX_STREAMS)) {
    const list = await jsm.consumers
      .list(names[key])
      .next()
      .catch(() => []);
    consumers[schema] = 0;
    for (const c of list) {
      if (!c.config.durable_name) continue;
      pending[c.name] = c.num_pending + c.num_ack_pending;
      consumers[schema]++;
    }
  }
  // After the consumers: a row published in between is then not counted twice.
  const { rows } = await pool.query<{ schema: string; n: string }>(
    Object.keys(OUTBOX_STREAMS)
      .map(
        (schema) =>
          `SELECT '${schema}' AS schema, count(*)::text AS n FROM ${schema}.outbox WHERE published_at IS NULL`,
      )
      .join(' UNION ALL '),
  );
  return {
    backlog: Object.fromEntries(rows.map((r) => [r.schema, Number(r.n)])),
    pending,
    consumers,
  };
}

/**
 * Waits until every outbox is published and every durable consumer has acknowledged all it
 * was given, then brings the statistics of the tables the consumers filled up to date.
 */
export async function waitForDrain(
  cfg: Config,
  opts: {
    pollMs?: number;
    onState?: (s: DrainState, elapsedMs: number) => void;
    /** ANALYZE the projections once drained (default true). */
    analyze?: boolean;
  } = {},
): Promise<{ ms: number }> {
  const started = Date.now();
  const pool = createPool({ ...cfg, DATABASE_POOL_SIZE: 2, DATABASE_STATEMENT_TIMEOUT_MS: 0 });
  const nc = await connectNats(cfg, 'seed-wait');
  try {
    const jsm = await jetstreamManager(nc);
    let quiet = 0;
    for (;;) {
      const state = await drainState(pool, jsm, cfg.NATS_PREFIX);
      opts.onState?.(state, Date.now() - started);
      // Drained twice in a row (a relay may publish between the two reads), with consumers.
      quiet = remaining(state) === 0 && Object.keys(state.pending).length > 0 ? quiet + 1 : 0;
      if (quiet >= 2) break;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    }
    const ms = Date.now() - started;
    if (opts.analyze ?? true) await pool.query(`ANALYZE ${PROJECTION_TABLES.join(', ')}`);
    return { ms };
  } finally {
    await nc.close().catch(() => {});
    await pool.end();
  }
}

function drainReporter(): (s: DrainState, elapsedMs: number) => void {
  let most = 0;
  let hinted = false;
  let lastLine = 0;
  const history: { at: number; left: number }[] = [];
  return (s, elapsedMs) => {
    const left = remaining(s);
    most = Math.max(most, left);
    history.push({ at: elapsedMs, left });
    while (history.length > 1 && history[0]!.at < elapsedMs - 15_000) history.shift();
    const first = history[0]!;
    const rate = elapsedMs > first.at ? ((first.left - left) * 1000) / (elapsedMs - first.at) : 0;
    const eta = rate > 0 ? ` · ~${Math.ceil(left / rate)} s left` : '';
    const outbox = Object.values(s.backlog).reduce((a, b) => a + b, 0);
    const consumers = Object.entries(s.pending)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ');
    const suffix = ` · outbox ${outbox} · ${consumers || 'no consumers yet'}${eta}`;
    if (process.stderr.isTTY) bar('events', most - left, most, suffix);
    else if (elapsedMs - lastLine >= 10_000 || left === 0) {
      lastLine = elapsedMs;
      console.error(`events left ${left}${suffix}`);
    }
    if (!hinted && elapsedMs > 30_000 && (!consumers || rate === 0) && left > 0) {
      hinted = true;
      console.error(
        `\nNothing is moving: is Mosaic running (npm start, with this DATABASE_URL and NATS_PREFIX)?`,
      );
    }
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const { values: opts } = parseArgs({
    options: {
      users: { type: 'string', default: '200' },
      'posts-per-user': { type: 'string', default: '3' },
      seed: { type: 'string', default: '42' },
      'image-pool': { type: 'string', default: '16' },
      wait: { type: 'boolean', default: false },
      'wait-only': { type: 'boolean', default: false },
    },
  });
  const cfg = launcherConfig();
  const metricsHint = `for p in ${cfg.POST_PORT} ${cfg.FEED_PORT} ${cfg.SEARCH_PORT}; do curl -s localhost:$p/metrics; done | grep -E '^mosaic_(outbox_backlog|jetstream_consumer_pending)'`;
  if (!opts['wait-only']) {
    const [users, postsPerUser, imagePool] = [
      opts.users,
      opts['posts-per-user'],
      opts['image-pool'],
    ].map(Number) as [number, number, number];
    if (![users, postsPerUser, imagePool].every((n) => Number.isInteger(n) && n > 0) || users < 2) {
      console.error('--users (≥ 2), --posts-per-user and --image-pool take whole positive numbers');
      process.exit(1);
    }
    const r = await seed(cfg, {
      users,
      postsPerUser,
      imagePool,
      seed: Number(opts.seed),
      progress: true,
    });
    const phases = Object.entries(r.phasesMs)
      .map(([name, ms]) => `${name} ${seconds(ms)}`)
      .join(', ');
    console.log(`
Seeded in ${seconds(r.totalMs)} (seed ${opts.seed}): ${phases}
  accounts   ${r.users} (password for every one: ${DEMO_PASSWORD})
  log in as  ${r.demo.username} / ${DEMO_PASSWORD} (follows ${r.demo.following}${r.demo.created ? '' : '; kept from an earlier seed'})
  follows    ${r.follows} (celebrities at ≥ ${cfg.CELEBRITY_FOLLOWER_THRESHOLD} followers: ${r.celebrities})
  most followed: ${r.mostFollowed.map((t) => `${t.username} (${t.followers})`).join(', ')}
  posts      ${r.posts}, media ${r.media} (${r.copyObjects ? 'each with its own objects' : `sharing ${r.imagePool} pooled images`})
  statistics ${r.phasesMs.analyze === undefined ? 'not refreshed' : 'refreshed (VACUUM ANALYZE)'}

${r.posts} post.created events are queued in the post subgraph's outbox: feeds and search fill in
as Mosaic's relays publish them and the feed materializer and search indexer consume them
(npm start must be running; README "Try it with demo data" says how long that takes).`);
    if (!opts.wait) {
      console.log(`Follow it with a progress bar: npm run seed -- --wait-only
or read the gauges: ${metricsHint}`);
      return;
    }
  }
  console.error('Waiting for the outbox relays and the consumers to drain (Ctrl-C stops waiting)…');
  const { ms } = await waitForDrain(cfg, { onState: drainReporter() });
  console.log(
    `Feeds and search are up to date (waited ${seconds(ms)}); statistics of ${PROJECTION_TABLES.join(', ')} refreshed.`,
  );
}

// Run as a script (npm run seed), not when imported (tests, benchmarks).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
