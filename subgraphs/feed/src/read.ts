// Reading a home feed: the reader's Redis timeline (pushed posts), merged with posts
// pulled at read time from celebrities they follow and from themselves, minus deleted
// posts. A missing timeline is rebuilt once (single flight per reader) while concurrent
// readers are answered straight from Postgres; so is every reader while Redis is down.
import type { AppContext } from './context.js';
import { latestByAuthors, mergePage } from './posts.js';
import { timelineRebuilds } from './metrics.js';

const CELEBS_TTL_SECONDS = 60;
/** Followees read from the graph for a rebuild or a Postgres answer. */
const MAX_FOLLOWEES = 10_000;

const celebsKey = (app: AppContext, userId: string) =>
  `${app.cfg.REDIS_KEY_PREFIX}celebs:{${userId}}`;

/** The celebrities a reader follows, cached briefly (the materializer drops it on follow changes). */
export async function celebrityFollowees(app: AppContext, userId: string): Promise<string[]> {
  const cached = await app.redis.get(celebsKey(app, userId)).catch(() => null);
  if (cached !== null) return JSON.parse(cached) as string[];
  const ids = await app.graph.celebritiesFollowedBy(userId);
  await app.redis
    .set(celebsKey(app, userId), JSON.stringify(ids), 'EX', CELEBS_TTL_SECONDS)
    .catch(() => {});
  return ids;
}

export async function forgetCelebrityFollowees(app: AppContext, userId: string): Promise<void> {
  await app.redis.del(celebsKey(app, userId));
}

async function followees(app: AppContext, userId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  do {
    const batch = await app.graph.following(userId, { after, limit: 5000 });
    ids.push(...batch.ids);
    after = batch.next;
  } while (after && ids.length < MAX_FOLLOWEES);
  return ids;
}

/** Rebuilds a reader's timeline from the graph and the feed's post projection. */
export async function rebuildTimeline(app: AppContext, userId: string): Promise<void> {
  await app.timelines.begin(userId); // pushes land from now on, so nothing is lost meanwhile
  const [all, celebs] = await Promise.all([
    followees(app, userId),
    app.graph.celebritiesFollowedBy(userId),
  ]);
  const celebSet = new Set(celebs);
  const pushed = all.filter((id) => !celebSet.has(id));
  const postIds = await latestByAuthors(app.pool, pushed, null, app.settings.FEED_TIMELINE_CAP);
  await app.timelines.pushMany(userId, postIds.map(String));
  timelineRebuilds.inc();
}

/** Where a page's candidates come from: a timeline (pushed) and authors pulled at read time. */
interface Sources {
  /** Timeline entries strictly older than `before`, newest first, at most `n`; null: none. */
  timeline: ((before: bigint | null, n: number) => Promise<bigint[]>) | null;
  /** The first round's entries, read alongside the celebrities. */
  firstEntries: bigint[];
  pulled: string[];
}

export interface FeedPage {
  postIds: bigint[];
  hasNextPage: boolean;
  /**
   * Set only when hidden posts used up every round before one visible post was found: the
   * next page continues after this position (the page itself is empty).
   */
  resumeAfter?: bigint;
}

/** Fetch-and-check rounds per page; more happen only while hidden posts thin a page out. */
const MAX_ROUNDS = 4;
/**
 * Timeline entries read beyond the page in the first round, so that a few deleted posts
 * awaiting their removal from the timeline do not cost a second round.
 */
const SPARE_ENTRIES = 9;

const maxOf = (a: bigint | null, b: bigint | null) =>
  a === null ? b : b === null ? a : a > b ? a : b;

/**
 * One page under the visibility rule: candidates come back with their authors, whose
 * visibility is checked in ONE call to the graph (the reader's own posts need none); if
 * hidden posts (a block, a private account that removed the reader, before the
 * materializer's removal catches up) leave the page short, the next round continues where
 * this one stopped, leaving out the authors already found hidden, so the page is full and
 * its cursor (the last post id shown) stays stable. The answer is never cached: a block
 * holds on the next read.
 */
async function visiblePage(
  app: AppContext,
  readerId: string,
  sources: Sources,
  before: bigint | null,
  limit: number,
): Promise<FeedPage> {
  const hidden = new Set<string>();
  const checked = new Set<string>([readerId]);
  const shown: bigint[] = [];
  let pulled = sources.pulled;
  let entries = sources.firstEntries;
  let window = limit + SPARE_ENTRIES;
  let cursor = before;
  for (let round = 1; ; round++) {
    const want = limit + 1 - shown.length;
    const rows = await mergePage(app.pool, entries, pulled, cursor, want, [...hidden]);
    // Everything newer than `boundary` has been seen: the query's rows down to its last one
    // when it filled `want`, and the timeline down to the window's last entry when the
    // window was full (older rows could sort below entries not read yet: next round).
    const boundary = maxOf(
      rows.length === want ? rows.at(-1)!.postId : null,
      sources.timeline && entries.length === window ? entries.at(-1)! : null,
    );
    const settled = boundary === null ? rows : rows.filter((r) => r.postId >= boundary);
    const unknown = [...new Set(settled.map((r) => r.authorId))].filter((a) => !checked.has(a));
    if (unknown.length > 0) {
      const { contentHidden } = await app.graph.visibility(readerId, unknown);
      for (const a of unknown) checked.add(a);
      for (const a of contentHidden) hidden.add(a);
    }
    for (const r of settled) if (!hidden.has(r.authorId)) shown.push(r.postId);
    if (shown.length > limit || boundary === null) {
      return { postIds: shown.slice(0, limit), hasNextPage: shown.length > limit };
    }
    if (round === MAX_ROUNDS) {
      // Given up on filling the page: the next one resumes after what was shown, or after
      // the boundary when nothing was (so a reader always moves forward).
      return shown.length > 0
        ? { postIds: shown, hasNextPage: true }
        : { postIds: [], hasNextPage: true, resumeAfter: boundary };
    }
    cursor = boundary;
    pulled = pulled.filter((a) => !hidden.has(a));
    if (sources.timeline) {
      window = Math.min(window * 2, app.settings.FEED_TIMELINE_CAP);
      entries = await sources.timeline(cursor, window);
    }
  }
}

/** The whole feed from Postgres alone: every followee and the reader, pulled. */
async function pageFromPostgres(
  app: AppContext,
  userId: string,
  before: bigint | null,
  limit: number,
): Promise<FeedPage> {
  const pulled = [userId, ...(await followees(app, userId))];
  return visiblePage(app, userId, { timeline: null, firstEntries: [], pulled }, before, limit);
}

async function timelineEntries(
  app: AppContext,
  userId: string,
  before: bigint | null,
  limit: number,
): Promise<bigint[] | 'busy'> {
  const entries = await app.timelines.page(userId, before, limit);
  if (entries === 'rebuilding') return 'busy';
  if (entries !== null) return entries;
  // Missing: one reader rebuilds it; readers arriving meanwhile are answered from Postgres.
  if (!(await app.timelines.lockRebuild(userId))) return 'busy';
  try {
    await rebuildTimeline(app, userId);
    app.logger.debug({ userId }, 'timeline rebuilt');
  } finally {
    await app.timelines.unlockRebuild(userId).catch(() => {});
  }
  const rebuilt = await app.timelines.page(userId, before, limit);
  return Array.isArray(rebuilt) ? rebuilt : [];
}

export async function readFeed(
  app: AppContext,
  userId: string,
  before: bigint | null,
  limit: number,
): Promise<FeedPage> {
  let pushed: bigint[] | 'busy';
  let celebs: string[];
  try {
    [pushed, celebs] = await Promise.all([
      timelineEntries(app, userId, before, limit + SPARE_ENTRIES),
      celebrityFollowees(app, userId),
    ]);
  } catch (err) {
    app.logger.warn({ err }, 'timeline unavailable; answering from Postgres');
    return pageFromPostgres(app, userId, before, limit);
  }
  if (pushed === 'busy') return pageFromPostgres(app, userId, before, limit);

  // Later rounds read further down the same timeline; one that went missing meanwhile
  // (expired, Redis restarted) has nothing more to give.
  const timeline = async (from: bigint | null, n: number) => {
    const entries = await app.timelines.page(userId, from, n);
    return Array.isArray(entries) ? entries : [];
  };
  // A post can be both pushed and pulled (pushed before its author became a celebrity):
  // the merge de-duplicates it.
  return visiblePage(
    app,
    userId,
    { timeline, firstEntries: pushed, pulled: [userId, ...celebs] },
    before,
    limit,
  );
}
