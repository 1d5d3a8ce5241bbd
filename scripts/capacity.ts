// npm run capacity — the fleet for the planned scale (docs/architecture.md, "Goals"), from the
// benchmark results in bench/results/*.json and the stated assumptions below. Prints a
// table and writes bench/results/capacity.json. Every figure says where it comes from.
import { readFile, writeFile } from 'node:fs/promises';

const DESIGN = {
  dailyActiveUsers: 500e6,
  readsPerSecond: 115_000, // feed page reads
  writesPerSecond: 1_150, // posts
  mediaBytesPerYear: 34e15, // 34 PB, originals
  avgPostBytes: 1e6,
};

// Assumptions not measured here (change them and rerun).
const ASSUME = {
  peakToAverage: 2, // traffic peak over the daily average
  headroom: 0.6, // run replicas at 60 % of measured capacity
  cpusPerReplica: 1, // benchmarks ran one process per service on a 2-core machine
  activeTimelineUsers: 1e9, // users active within FEED_INACTIVE_DAYS (2× DAU)
  timelineCap: 800,
  avgPushedFollowersPerPost: 300, // median-heavy follower distribution, celebrities pulled
  redisUsableBytesPerShard: 48 * 2 ** 30, // a 64 GB node kept below ~75 %
  redisOpsPerShard: 500_000,
  followsPerSecond: 5_000,
  postgresRowBytes: { post: 250, media: 450, postMedia: 40, outbox: 600, follow: 60 },
  mediaPerPost: 1.5,
  outboxRetentionDays: 7,
  storedToOriginalRatio: 1.35, // originals of video kept + three JPEG/WebP widths of images
  natsMessageBytes: 800,
};

type Json = Record<string, unknown>;

async function results(name: string): Promise<Json | null> {
  try {
    return (JSON.parse(await readFile(`bench/results/${name}.json`, 'utf8')) as { results: Json })
      .results;
  } catch {
    return null;
  }
}

const get = (o: Json | null, path: string): number | null => {
  let v: unknown = o;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Json)[k] : undefined;
  return typeof v === 'number' ? v : null;
};

const ceil = (x: number) => Math.ceil(x);
const fmt = (x: number) =>
  x >= 1e15
    ? `${(x / 1e15).toFixed(1)} P`
    : x >= 1e12
      ? `${(x / 1e12).toFixed(1)} T`
      : x >= 1e9
        ? `${(x / 1e9).toFixed(1)} G`
        : x >= 1e6
          ? `${(x / 1e6).toFixed(1)} M`
          : x >= 1e3
            ? `${(x / 1e3).toFixed(1)} K`
            : String(Math.round(x));

const [feed, feedRead, graph, search] = await Promise.all([
  results('feed'),
  results('feed-read'),
  results('graph'),
  results('search'),
]);

const peakReads = DESIGN.readsPerSecond * ASSUME.peakToAverage;
const peakWrites = DESIGN.writesPerSecond * ASSUME.peakToAverage;
const rows: { part: string; value: string; from: string }[] = [];
const out: Json = { design: DESIGN, assumptions: ASSUME };

// Gateway and subgraph CPUs for feed reads: each process's measured CPU time per feed page
// (feed-read bench, /proc accounting), so the figure does not depend on how the benchmark
// machine's two cores were shared.
const cpuMs = (feedRead?.mosaicGateway as Json | undefined)?.cpuMsPerRequest as
  Record<string, number> | undefined;
if (cpuMs) {
  const cores: Record<string, number> = {};
  for (const [service, ms] of Object.entries(cpuMs)) {
    // The peer gateway's process idles through Mosaic's rounds: not part of Mosaic.
    if (ms > 0 && service !== 'hive')
      cores[service] = ceil((peakReads * ms) / 1000 / ASSUME.headroom);
  }
  out.coresForFeedReads = cores;
  for (const [service, n] of Object.entries(cores)) {
    rows.push({
      part: `${service} CPUs (feed reads)`,
      value: `${n} cores`,
      from: `${cpuMs[service]} ms CPU per page (feed-read bench), peak ${fmt(peakReads)}/s, 60 % load`,
    });
  }
} else {
  const gatewayRps = get(feedRead, 'mosaicGateway.requestsPerSecond');
  if (gatewayRps)
    rows.push({
      part: 'gateway replicas (feed reads)',
      value: String(ceil(peakReads / (gatewayRps * ASSUME.headroom))),
      from: `${gatewayRps} req/s (feed-read bench)`,
    });
}

// Redis timelines.
const bytesPerEntry = get(feed, 'redisBytesPerTimelineEntry.bytesPerEntry') ?? 105;
const timelineBytes = ASSUME.activeTimelineUsers * ASSUME.timelineCap * bytesPerEntry;
const shardsForMemory = ceil(timelineBytes / ASSUME.redisUsableBytesPerShard);
const deliveriesPerSecond = peakWrites * ASSUME.avgPushedFollowersPerPost;
const shardsForOps = ceil(deliveriesPerSecond / ASSUME.redisOpsPerShard);
out.redis = {
  timelineBytes,
  shardsForMemory,
  shardsForOps,
  shards: Math.max(shardsForMemory, shardsForOps),
};
rows.push({
  part: 'Redis timeline memory',
  value: `${fmt(timelineBytes)}B`,
  from: `${fmt(ASSUME.activeTimelineUsers)} active × ${ASSUME.timelineCap} × ${bytesPerEntry} B/entry (feed bench)`,
});
rows.push({
  part: 'Redis Cluster masters',
  value: String(Math.max(shardsForMemory, shardsForOps)),
  from: `memory ${shardsForMemory} (48 GB usable each), ops ${shardsForOps}; ×2 with one replica each`,
});

// Fan-out workers.
const fanoutRate = get(feed, 'fanoutThroughput.fanoutDeliveriesPerSecond');
if (fanoutRate) {
  const workers = ceil(deliveriesPerSecond / (fanoutRate * ASSUME.headroom));
  out.feedWorkers = workers;
  rows.push({
    part: 'feed-worker replicas',
    value: String(workers),
    from: `${fmt(deliveriesPerSecond)} deliveries/s at peak, ${fmt(fanoutRate)}/s each (feed bench)`,
  });
}

// Postgres.
const r = ASSUME.postgresRowBytes;
const postsPerDay = DESIGN.writesPerSecond * 86_400;
const bytesPerPost =
  r.post +
  ASSUME.mediaPerPost * (r.media + r.postMedia) +
  r.post * 2; /* feed + search projections */
const postgresPerYear = postsPerDay * 365 * bytesPerPost * 2.2; /* indexes */
const rowWritesPerSecond =
  peakWrites * (1 + 2 * ASSUME.mediaPerPost + 3) /* outbox insert+update, counter */ +
  ASSUME.followsPerSecond * 4;
out.postgres = { bytesPerYear: postgresPerYear, rowWritesPerSecond };
rows.push({
  part: 'Postgres growth',
  value: `${fmt(postgresPerYear)}B/year`,
  from: `${fmt(postsPerDay)} posts/day × ${Math.round(bytesPerPost)} B of rows × 2.2 for indexes`,
});
rows.push({
  part: 'Postgres row writes',
  value: `${fmt(rowWritesPerSecond)}/s peak`,
  from: 'posts, media, carousel, counters, outbox, follows',
});

// NATS.
const eventsPerSecond =
  peakWrites * 2 /* created + updated/deleted share */ + ASSUME.followsPerSecond;
out.nats = { eventsPerSecond, bytesPerSecond: eventsPerSecond * ASSUME.natsMessageBytes * 3 };
rows.push({
  part: 'NATS JetStream',
  value: `${fmt(eventsPerSecond)} msgs/s, ${fmt(eventsPerSecond * ASSUME.natsMessageBytes * 3)}B/s with R3`,
  from: 'post and follow events; a 3-node cluster carries this many times over',
});

// Search indexers.
const indexRate = get(search, 'indexing.eventsPerSecond');
if (indexRate) {
  const indexers = ceil(peakWrites / (indexRate * ASSUME.headroom));
  rows.push({
    part: 'search indexer replicas',
    value: String(indexers),
    from: `${indexRate} events/s each (search bench)`,
  });
  out.searchIndexers = indexers;
}

// Object storage.
const stored = DESIGN.mediaBytesPerYear * ASSUME.storedToOriginalRatio;
out.objectStorageBytesPerYear = stored;
rows.push({
  part: 'object storage growth',
  value: `${fmt(stored)}B/year`,
  from: `34 PB/year of originals × ${ASSUME.storedToOriginalRatio} (variants, posters)`,
});

// Follow writes (graph).
const followRate = get(graph, 'followThroughput.opsPerSecond');
if (followRate)
  rows.push({
    part: 'graph subgraph replicas (writes)',
    value: String(
      ceil((ASSUME.followsPerSecond * ASSUME.peakToAverage) / (followRate * ASSUME.headroom)),
    ),
    from: `${followRate} follow/unfollow per s through one gateway (graph bench)`,
  });

const width = Math.max(...rows.map((x) => x.part.length));
for (const row of rows)
  console.log(`${row.part.padEnd(width)}  ${row.value.padEnd(28)}  ${row.from}`);
await writeFile(
  'bench/results/capacity.json',
  `${JSON.stringify({ date: new Date().toISOString(), ...out, table: rows }, null, 2)}\n`,
);
console.log('\nwritten: bench/results/capacity.json');
