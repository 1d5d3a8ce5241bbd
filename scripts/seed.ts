// npm run seed [-- --users 100000 --posts-per-user 3 --seed 42]
// A realistic demo data set through bulk paths that keep every invariant: accounts (one
// shared demo password), a power-law follow graph with a few celebrities and exact
// counters, posts with hashtags and generated images (real processed variants), each post's
// post.created event in the post subgraph's outbox, so the running relays and consumers
// build feeds and the search index exactly as for posts made through the API.
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { hash } from '@node-rs/argon2';
import sharp from 'sharp';
import { parseConfig, type Config } from '../lib/config.js';
import { createPool } from '../lib/db.js';
import { extractHashtags } from '../lib/hashtags.js';
import { idAt } from '../lib/ids.js';
import { migrate } from '../lib/migrate.js';
import {
  ingestMedia,
  mediaLimits,
  type IngestedMedia,
} from '../subgraphs/post/src/media/ingest.js';
import { createStorage, type ObjectStorage } from '../subgraphs/post/src/storage/storage.js';
import { developmentWhenRunByNpm } from './launcher-env.js';

const DEMO_PASSWORD = 'mosaic-demo';
const { values: opts } = parseArgs({
  options: {
    users: { type: 'string', default: '200' },
    'posts-per-user': { type: 'string', default: '3' },
    seed: { type: 'string', default: '42' },
    'image-pool': { type: 'string', default: '16' },
  },
});
const USERS = Number(opts.users);
const POSTS_PER_USER = Number(opts['posts-per-user']);
const POOL = Number(opts['image-pool']);
// Small sets get their own copy of every object; large ones share the pool's objects
// (recorded with no object_keys, so deleting a post never deletes a shared object).
const COPY_OBJECTS = USERS <= 2000;
if (![USERS, POSTS_PER_USER, POOL].every((n) => Number.isInteger(n) && n > 0) || USERS < 2) {
  console.error('--users (≥ 2), --posts-per-user and --image-pool take whole positive numbers');
  process.exit(1);
}

// Deterministic randomness (mulberry32), so a seed reproduces the same data set.
let state = Number(opts.seed) >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

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

function bar(label: string, done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const line = `${label.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
  else if (done === total || done % Math.max(1, Math.floor(total / 10)) === 0) console.error(line);
}

let idSeq = 0;
/** A post/media id minted at `time` in the posts shard's layout (shard 2). */
const mintId = (time: Date) => idAt(time) | (2n << 10n) | BigInt(idSeq++ % 1024);

async function imagePool(
  storage: ObjectStorage,
  cfg: Config,
): Promise<{ media: IngestedMedia; files: Map<string, Buffer> }[]> {
  const out = [];
  for (let i = 0; i < POOL; i++) {
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
    if (COPY_OBJECTS) {
      for (const key of media.keys) {
        const chunks: Buffer[] = [];
        for await (const c of await storage.openRead(key)) chunks.push(c as Buffer);
        files.set(key, Buffer.concat(chunks));
      }
    }
    out.push({ media, files });
    bar('images', i + 1, POOL);
  }
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  developmentWhenRunByNpm();
  const cfg = parseConfig();
  await migrate(cfg.DATABASE_URL, 'prisma/migrations');
  // Bulk inserts over millions of rows: none of the services' statement limits.
  const pool = createPool({
    ...cfg,
    DATABASE_STATEMENT_TIMEOUT_MS: 0,
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 0,
  });
  const storage = await createStorage(cfg);
  const images = await imagePool(storage, cfg);

  // ---- accounts
  const passwordHash = await hash(DEMO_PASSWORD, {
    algorithm: 2,
    memoryCost: cfg.ARGON2_MEMORY_KIB,
    timeCost: cfg.ARGON2_TIME_COST,
    parallelism: 1,
  });
  const runTag = Date.now().toString(36).slice(-4);
  const userIds: string[] = [];
  for (let i = 0; i < USERS; i += 5000) {
    const n = Math.min(5000, USERS - i);
    const names = Array.from(
      { length: n },
      (_, j) => `${pick(ADJ)}_${pick(NOUN)}_${runTag}${i + j}`,
    );
    const { rows } = await pool.query<{ id: string; username: string; created_at: Date }>(
      `WITH u AS (
         INSERT INTO users.users (username, username_lower, email, password_hash, display_name)
         SELECT n, lower(n), lower(n) || '@demo.mosaic', $2, initcap(replace(n, '_', ' ')) FROM unnest($1::text[]) n
         RETURNING id, username, created_at)
       INSERT INTO users.outbox (subject, payload)
       SELECT 'user.created', jsonb_build_object('v', 1, 'userId', id::text, 'username', username, 'createdAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) FROM u
       RETURNING (payload->>'userId') AS id, payload->>'username' AS username, now() AS created_at`,
      [names, passwordHash],
    );
    userIds.push(...rows.map((r) => r.id));
    bar('accounts', userIds.length, USERS);
  }

  // ---- follows: Zipf popularity over a shuffled ranking, lognormal out-degrees
  const ranked = [...userIds].sort(() => random() - 0.5);
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
  let follows = 0;
  let batchFollower: string[] = [];
  let batchFollowee: string[] = [];
  const flush = async () => {
    if (!batchFollower.length) return;
    await pool.query(
      `INSERT INTO graph.follows (follower_id, followee_id) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING`,
      [batchFollower, batchFollowee],
    );
    batchFollower = [];
    batchFollowee = [];
  };
  for (let i = 0; i < userIds.length; i++) {
    const me = userIds[i]!;
    const want = Math.min(
      userIds.length - 1,
      2000,
      Math.max(1, Math.round(Math.exp(3 + 1.1 * normal()))),
    );
    const chosen = new Set<string>();
    for (let tries = 0; chosen.size < want && tries < want * 4; tries++) {
      const them = sample();
      if (them !== me) chosen.add(them);
    }
    for (const them of chosen) {
      batchFollower.push(me);
      batchFollowee.push(them);
    }
    follows += chosen.size;
    if (batchFollower.length >= 50_000) await flush();
    if (i % 500 === 0 || i === userIds.length - 1) bar('follows', i + 1, userIds.length);
  }
  await flush();
  // Counters from the edges themselves: exact by construction.
  await pool.query(`
    INSERT INTO graph.user_stats (user_id, follower_count, following_count)
    SELECT u, coalesce(f.c, 0), coalesce(g.c, 0)
    FROM (SELECT followee_id u FROM graph.follows UNION SELECT follower_id FROM graph.follows) all_users
    LEFT JOIN (SELECT followee_id, count(*) c FROM graph.follows GROUP BY 1) f ON f.followee_id = u
    LEFT JOIN (SELECT follower_id, count(*) c FROM graph.follows GROUP BY 1) g ON g.follower_id = u
    ON CONFLICT (user_id) DO UPDATE SET follower_count = EXCLUDED.follower_count, following_count = EXCLUDED.following_count`);

  // ---- posts, media, carousel rows, counters, post.created events
  let posts = 0;
  let mediaCount = 0;
  const now = Date.now();
  for (let i = 0; i < userIds.length; i++) {
    const author = userIds[i]!;
    const count = Math.max(0, Math.round(POSTS_PER_USER + normal() * POSTS_PER_USER * 0.6));
    const p = {
      id: [] as string[],
      caption: [] as string[],
      tags: [] as string[][],
      at: [] as Date[],
    };
    const m = {
      id: [] as string[],
      post: [] as string[],
      pos: [] as number[],
      key: [] as string[],
      variants: [] as string[],
      objects: [] as string[][],
      blurhash: [] as (string | null)[],
      w: [] as number[],
      h: [] as number[],
      mime: [] as string[],
      bytes: [] as number[],
      at: [] as Date[],
    };
    const events: string[] = [];
    for (let k = 0; k < count; k++) {
      const at = new Date(now - Math.floor(random() * 30 * 86_400_000));
      const postId = mintId(at).toString();
      const caption = `${pick(PHRASES)} #${pick(TAGS)}${random() < 0.5 ? ` #${pick(TAGS)}` : ''}`;
      const hashtags = extractHashtags(caption);
      p.id.push(postId);
      p.caption.push(caption);
      p.tags.push(hashtags);
      p.at.push(at);
      const n = random() < 0.8 ? 1 : random() < 0.75 ? 2 : 3;
      const summary = [];
      for (let pos = 0; pos < n; pos++) {
        const img = pick(images);
        const mediaId = mintId(at).toString();
        const rename = (key: string) =>
          COPY_OBJECTS ? `m/${mediaId}/${key.split('/').pop()}` : key;
        if (COPY_OBJECTS) {
          for (const [key, bytes] of img.files)
            await storage.put(rename(key), bytes, {
              contentType: img.media.mimeType,
              size: bytes.length,
            });
        }
        m.id.push(mediaId);
        m.post.push(postId);
        m.pos.push(pos);
        m.key.push(rename(img.media.key));
        m.variants.push(
          JSON.stringify(img.media.variants.map((v) => ({ ...v, key: rename(v.key) }))),
        );
        m.objects.push(COPY_OBJECTS ? img.media.keys.map(rename) : []);
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
      events.push(
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
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(
          `INSERT INTO posts.posts (id, author_id, caption, hashtags, created_at)
           SELECT id, $2, caption, ARRAY(SELECT jsonb_array_elements_text(tags)), at
           FROM unnest($1::bigint[], $3::text[], $4::jsonb[], $5::timestamptz[]) AS t(id, caption, tags, at)`,
          [p.id, author, p.caption, p.tags.map((t) => JSON.stringify(t)), p.at],
        );
        await c.query(
          `INSERT INTO posts.media (id, owner_id, type, status, mime_type, bytes, width, height, blurhash, storage_key, variants, object_keys, created_at, attached_at)
           SELECT id, $2, 'IMAGE', 'READY', mime, bytes, w, h, bh, key, variants, ARRAY(SELECT jsonb_array_elements_text(objects)), at, at
           FROM unnest($1::bigint[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::text[], $8::text[], $9::jsonb[], $10::jsonb[], $11::timestamptz[])
             AS t(id, mime, bytes, w, h, bh, key, variants, objects, at)`,
          [
            m.id,
            author,
            m.mime,
            m.bytes,
            m.w,
            m.h,
            m.blurhash,
            m.key,
            m.variants,
            m.objects.map((o) => JSON.stringify(o)),
            m.at,
          ],
        );
        await c.query(
          `INSERT INTO posts.post_media (post_id, media_id, position) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[])`,
          [m.post, m.id, m.pos],
        );
        await c.query(
          `INSERT INTO posts.author_stats (author_id, post_count) VALUES ($1, $2)
           ON CONFLICT (author_id) DO UPDATE SET post_count = posts.author_stats.post_count + EXCLUDED.post_count`,
          [author, count],
        );
        await c.query(
          `INSERT INTO posts.outbox (subject, payload) SELECT 'post.created', e FROM unnest($1::jsonb[]) e`,
          [events],
        );
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK');
        throw err;
      } finally {
        c.release();
      }
    }
    posts += count;
    mediaCount += m.id.length;
    if (i % 200 === 0 || i === userIds.length - 1) bar('posts', i + 1, userIds.length);
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
  await pool.end();
  console.log(`
Seeded in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${opts.seed}):
  accounts   ${USERS} (password for every one: ${DEMO_PASSWORD})
  follows    ${follows} (celebrities at ≥ ${cfg.CELEBRITY_FOLLOWER_THRESHOLD} followers: ${celebs[0]!.n})
  most followed: ${top.map((t) => `${t.username} (${t.follower_count})`).join(', ')}
  posts      ${posts}, media ${mediaCount} (${COPY_OBJECTS ? 'each with its own objects' : `sharing ${POOL} pooled images`})
  post.created events queued in the outbox: feeds and search fill in as Mosaic's relays publish them (npm start).`);
}

await main();
