// npm run bench search — search at 1,000,000 posts (Postgres full-text, the default
// backend): hashtag and text search latency through the gateway, each as a ratio to the
// raw SQL the backend issues (same parameters, same run); indexing throughput through the
// durable consumer; index lag p99 at a steady event rate.
import { jetstream } from '@nats-io/jetstream';
import pg from 'pg';
import { parseConfig } from '../lib/config.js';
import { connectNats, deleteStreams, ensureStreams } from '../lib/platform/nats.js';
import { subjectFor, type PostCreatedV1 } from '../lib/contracts/events.js';
import { idAt } from '../lib/contracts/ids.js';
import { startGateway } from '../gateway/src/server.js';
import { startSearchService } from '../subgraphs/search/src/service.js';
import { startIndexer } from '../subgraphs/search/src/indexer.js';
import { lagPercentiles } from '../subgraphs/search/src/index-store.js';
import { HASHTAG_SQL, TEXT_SQL, toTsquery } from '../subgraphs/search/src/pg-backend.js';
import { parseQuery } from '../subgraphs/search/src/query.js';
import { searchSettings } from '../subgraphs/search/src/settings.js';
import { benchEnv, summarize, writeResults } from './support.js';

const POSTS = Number(process.env.BENCH_SEARCH_POSTS ?? 1_000_000);
const SAMPLES = Number(process.env.BENCH_SEARCH_SAMPLES ?? 200);
const INDEX_EVENTS = Number(process.env.BENCH_SEARCH_EVENTS ?? 20_000);
const LAG_RATE = 200; // events per second for the lag measurement
const LAG_SECONDS = 10;

// Captions: 8 words from this list (English, French, German, Spanish, Japanese), 0-3
// hashtags with a skewed popularity (tag i of 200 is about i times rarer than tag 1).
const WORDS = (
  'sunset beach morning coffee city night friends family weekend travel summer winter ' +
  'mountain lake river forest road trip dinner lunch breakfast music concert festival art ' +
  'museum street light shadow golden hour blue sky rain snow cloud garden flower dog cat ' +
  'puppy kitten baby smile happy love life work study book library train station airport ' +
  'ocean wave surf boat island bridge tower castle village market bread cheese wine beer ' +
  'pizza pasta sushi ramen noodle tea cake chocolate birthday wedding party dance run ' +
  'yoga gym bike hike camp fire star moon sun photo film camera portrait selfie ' +
  'café déjeuner fromage soleil plage montagne ciel nuit ami famille voyage été hiver ' +
  'straße brücke frühstück kuchen schnee wald fluss stadt sommer freunde glück ' +
  'playa montaña cielo noche amigos comida fiesta verano invierno ciudad ' +
  '東京 日本 大阪 京都 桜 寿司 ラーメン 旅行 写真 夏'
).split(/\s+/);
const TAGS = Array.from({ length: 200 }, (_, i) => (i < WORDS.length ? WORDS[i]! : `tag${i}`));

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function populate(pool: pg.Pool): Promise<{ seconds: number }> {
  const t = Date.now();
  const { rows: defs } = await pool.query<{ name: string; def: string }>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes
     WHERE schemaname = 'search' AND tablename = 'posts' AND indexname <> 'posts_pkey'`,
  );
  for (const d of defs) await pool.query(`DROP INDEX search.${d.name}`);
  const base = idAt(new Date(Date.now() - 365 * 86_400_000));
  // Ids spread over a year (one every ~30 s), in the real id layout; words and tags by hash.
  await pool.query(
    `INSERT INTO search.posts (post_id, author_id, caption, hashtags, tsv, created_at, version_at, indexed_at)
     SELECT id, author_id, caption, hashtags, to_tsvector('simple', caption), created_at, created_at, created_at
     FROM (
       SELECT $1::bigint + (g::bigint * 31536 << 23) + (2 << 10) AS id,
              1 + g % 50000 AS author_id,
              now() - interval '365 days' + g * interval '31.536 seconds' AS created_at,
              (SELECT string_agg(($2::text[])[1 + (hashtext(g::text || '-' || w) & 2147483647) % array_length($2::text[], 1)], ' ')
               FROM generate_series(1, 8) w)
              || coalesce((SELECT ' ' || string_agg('#' || t, ' ') FROM unnest(tags) t), '') AS caption,
              tags AS hashtags
       FROM (
         SELECT g, ARRAY(
           SELECT DISTINCT ($3::text[])[1 + floor(exp(random() * ln(200)))::int - 1]
           FROM generate_series(1, (g % 4)) k
         ) AS tags
         FROM generate_series(1, $4::int) g
       ) s
     ) x`,
    [String(base), WORDS, TAGS, POSTS],
  );
  await pool.query(`SET maintenance_work_mem = '512MB'`);
  for (const d of defs) await pool.query(d.def);
  await pool.query(
    `INSERT INTO search.hashtags (name, post_count)
     SELECT t, count(*) FROM search.posts, unnest(hashtags) t WHERE deleted_at IS NULL GROUP BY t
     ON CONFLICT (name) DO UPDATE SET post_count = EXCLUDED.post_count`,
  );
  await pool.query('VACUUM ANALYZE search.posts');
  await pool.query('ANALYZE search.hashtags');
  return { seconds: Math.round((Date.now() - t) / 100) / 10 };
}

async function latency(
  gatewayUrl: string,
  pool: pg.Pool,
  queries: string[],
  candidates: number | null = null,
): Promise<Record<string, unknown>> {
  const SEARCH = `query($q: String!) { searchPosts(query: $q, first: 20) { edges { cursor node { id } } pageInfo { hasNextPage } } }`;
  const gql: number[] = [];
  const raw: number[] = [];
  let hits = 0;
  // Warm both paths once per query.
  for (const q of queries) {
    await fetch(`${gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: SEARCH, variables: { q } }),
    });
  }
  for (let i = 0; i < SAMPLES; i++) {
    const q = queries[i % queries.length]!;
    const parsed = parseQuery(q);
    const [sql, params] =
      parsed.kind === 'hashtag'
        ? [HASHTAG_SQL, [parsed.tag, null, 21]]
        : parsed.kind === 'text'
          ? [TEXT_SQL, [toTsquery(parsed.words), null, null, 21, candidates]]
          : ['SELECT 1', []];
    raw.push(await timed(() => pool.query(sql, params)));
    gql.push(
      await timed(async () => {
        const res = await fetch(`${gatewayUrl}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: SEARCH, variables: { q } }),
        });
        const body = (await res.json()) as {
          errors?: unknown;
          data?: { searchPosts: { edges: unknown[] } };
        };
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        hits += body.data!.searchPosts.edges.length;
      }),
    );
  }
  const g = summarize(gql);
  const r = summarize(raw);
  return {
    queries,
    throughGatewayMs: g,
    rawSqlMs: r,
    ratioP50: Math.round((g.p50 / r.p50) * 100) / 100,
    ratioP99: Math.round((g.p99 / r.p99) * 100) / 100,
    averageHits: Math.round((hits / SAMPLES) * 10) / 10,
  };
}

function event(i: number, createdAt: Date): PostCreatedV1 {
  const words = Array.from({ length: 8 }, (_, k) => WORDS[(i * 31 + k * 17) % WORDS.length]!);
  const tags = [TAGS[i % 20]!, TAGS[(i * 7) % 200]!].filter((t, k, a) => a.indexOf(t) === k);
  return {
    v: 1,
    postId: String(idAt(createdAt) | (2n << 10n) | BigInt(i % 1024)),
    authorId: String(1 + (i % 50_000)),
    createdAt: createdAt.toISOString(),
    caption: `${words.join(' ')} ${tags.map((t) => `#${t}`).join(' ')}`,
    hashtags: tags,
    media: [],
  };
}

export async function run(): Promise<void> {
  const env = await benchEnv('search');
  const cfg = parseConfig({ ...env.env, DATABASE_POOL_SIZE: '20', SEARCH_INDEXER: 'false' });
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  const nc = await connectNats(cfg, 'bench-search');
  await deleteStreams(nc, cfg.NATS_PREFIX).catch(() => {});
  await ensureStreams(nc, cfg.NATS_PREFIX);
  const search = await startSearchService(cfg, 0);
  const gateway = await startGateway(
    { ...cfg, SUBGRAPH_SEARCH_URL: search.url },
    { port: 0, subgraphUrls: { search: search.url } },
  );
  try {
    console.log(`populating ${POSTS} posts…`);
    const generated = await populate(pool);
    console.log(`  ${generated.seconds} s`);

    const { rows: tags } = await pool.query<{ name: string; post_count: number }>(
      'SELECT name, post_count FROM search.hashtags ORDER BY post_count DESC',
    );
    const popular = tags[0]!;
    const middle = tags[Math.floor(tags.length / 2)]!;
    const rare = tags.at(-1)!;
    console.log('hashtag latency…');
    const hashtag = await latency(gateway.url, pool, [
      `#${popular.name}`,
      `#${middle.name}`,
      `#${rare.name}`,
    ]);
    console.log('text latency…');
    const textQueries = [
      'golden hour',
      'coffee',
      'plage soleil',
      '東京',
      'straße',
      'moun',
      'pizza wine friends',
    ];
    const candidates = searchSettings(cfg).SEARCH_TEXT_CANDIDATES || null;
    const text = await latency(gateway.url, pool, textQueries, candidates);
    // For reference: the same queries ranking every match (SEARCH_TEXT_CANDIDATES=0).
    const uncapped: number[] = [];
    for (let i = 0; i < SAMPLES / 2; i++) {
      const parsed = parseQuery(textQueries[i % textQueries.length]!);
      if (parsed.kind !== 'text') continue;
      uncapped.push(
        await timed(() => pool.query(TEXT_SQL, [toTsquery(parsed.words), null, null, 21, null])),
      );
    }
    const matches = await Promise.all(
      textQueries.map(async (q) => {
        const parsed = parseQuery(q);
        if (parsed.kind !== 'text') return [q, 0] as const;
        const { rows } = await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM search.posts WHERE deleted_at IS NULL AND tsv @@ to_tsquery('simple', $1)`,
          [toTsquery(parsed.words)],
        );
        return [q, Number(rows[0]!.n)] as const;
      }),
    );

    // Indexing throughput: a backlog of events drained by the durable consumer.
    console.log(`indexing ${INDEX_EVENTS} events…`);
    const js = jetstream(nc);
    const subject = subjectFor(cfg.NATS_PREFIX, 'post.created');
    const start = new Date();
    for (let i = 0; i < INDEX_EVENTS; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, INDEX_EVENTS - i) }, (_, k) =>
          js.publish(
            subject,
            JSON.stringify(event(i + k, new Date(start.getTime() + Math.floor((i + k) / 1024)))),
          ),
        ),
      );
    }
    const indexer = await startIndexer(search.app, nc);
    const t0 = performance.now();
    while (indexer.handled() < INDEX_EVENTS) await new Promise((r) => setTimeout(r, 20));
    const indexSeconds = (performance.now() - t0) / 1000;

    // Lag at a steady rate: events stamped when published, indexed as they come.
    console.log(`lag at ${LAG_RATE} events/s for ${LAG_SECONDS} s…`);
    const lagStart = Date.now();
    let n = INDEX_EVENTS;
    while (Date.now() - lagStart < LAG_SECONDS * 1000) {
      const tick = Date.now();
      await Promise.all(
        Array.from({ length: LAG_RATE / 10 }, () => {
          n++;
          return js.publish(subject, JSON.stringify(event(n, new Date())));
        }),
      );
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
    }
    const total = INDEX_EVENTS + (n - INDEX_EVENTS);
    while (indexer.handled() < total) await new Promise((r) => setTimeout(r, 20));
    const lags = indexer.lags().slice(-(n - INDEX_EVENTS));
    const fromTable = await lagPercentiles(pool, new Date(lagStart));
    await indexer.stop();

    const results = {
      posts: POSTS,
      backend: 'postgres',
      populateSeconds: generated.seconds,
      hashtagCounts: { popular, middle, rare },
      hashtagSearch: hashtag,
      textSearch: {
        ...text,
        candidates,
        matchesPerQuery: Object.fromEntries(matches),
        rawSqlRankingAllMatchesMs: summarize(uncapped),
      },
      indexing: {
        events: INDEX_EVENTS,
        concurrency: searchSettings(cfg).SEARCH_CONSUMER_CONCURRENCY,
        seconds: Math.round(indexSeconds * 100) / 100,
        eventsPerSecond: Math.round(INDEX_EVENTS / indexSeconds),
      },
      lag: {
        ratePerSecond: LAG_RATE,
        seconds: LAG_SECONDS,
        events: n - INDEX_EVENTS,
        /** Event time → acked, as the indexer measures it. */
        ms: summarize(lags),
        /** Event time → committed (search.posts.indexed_at - version_at). */
        committedMs: {
          n: fromTable.count,
          p50: Math.round(fromTable.p50Ms),
          p99: Math.round(fromTable.p99Ms),
        },
      },
    };
    const file = await writeResults('search', results);
    console.log(JSON.stringify(results, null, 2));
    console.log(`written to ${file}`);
  } finally {
    await gateway.close();
    await search.close();
    await deleteStreams(nc, cfg.NATS_PREFIX).catch(() => {});
    await nc.close();
    await pool.end();
    await env.drop();
  }
}
