// Reading a home feed: the reader's Redis timeline (pushed posts), merged with posts
// pulled at read time from celebrities they follow and from themselves, minus deleted
// posts. A missing timeline is rebuilt once (single flight per reader) while concurrent
// readers are answered straight from Postgres; so is every reader while Redis is down.
import type { AppContext } from './context.js';
import { latestByAuthors, mergePage } from './posts.js';
import { timelineRebuilds } from './metrics.js';

export interface FeedPage {
  postIds: bigint[];
  hasNextPage: boolean;
}

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

/** The whole feed from Postgres alone: every followee and the reader, pulled. */
async function pageFromPostgres(
  app: AppContext,
  userId: string,
  before: bigint | null,
  limit: number,
): Promise<FeedPage> {
  const authors = [userId, ...(await followees(app, userId))];
  const ids = await latestByAuthors(app.pool, authors, before, limit + 1);
  return { postIds: ids.slice(0, limit), hasNextPage: ids.length > limit };
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
      // A few extra entries so that deleted posts still awaiting removal cannot shorten a page.
      timelineEntries(app, userId, before, limit + 9),
      celebrityFollowees(app, userId),
    ]);
  } catch (err) {
    app.logger.warn({ err }, 'timeline unavailable; answering from Postgres');
    return pageFromPostgres(app, userId, before, limit);
  }
  if (pushed === 'busy') return pageFromPostgres(app, userId, before, limit);

  // A post can be both pushed and pulled (pushed before its author became a celebrity):
  // the merge de-duplicates it.
  const merged = await mergePage(app.pool, pushed, [userId, ...celebs], before, limit + 1);
  return { postIds: merged.slice(0, limit), hasNextPage: merged.length > limit };
}
