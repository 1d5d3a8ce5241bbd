// Timeline primitives against the real Redis: cap, skip of absent timelines, paging order.
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisUrl } from '../../../test/support/env.js';
import { mintId } from '../../../test/support/events.js';
import { createTimelines, SENTINEL } from '../src/timelines.js';

const redis = new Redis(redisUrl());
const prefix = `test:timelines:${process.pid}:${Date.now()}:`;
const timelines = createTimelines(redis, { prefix, cap: 5, ttlSeconds: 60 });

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe.each([
  ['standalone (one script per 1,000 timelines)', false],
  ['cluster-safe (one script per timeline)', true],
])('fan-out push, %s', (_label, cluster) => {
  it('writes only to timelines that exist and keeps exactly the newest `cap` posts', async () => {
    const t = createTimelines(redis, {
      prefix: `${prefix}${cluster}:`,
      cap: 5,
      ttlSeconds: 60,
      cluster,
    });
    await t.begin('1');
    const ids = Array.from({ length: 8 }, (_, i) =>
      mintId(new Date(Date.now() - (8 - i) * 1000)).toString(),
    );
    for (const id of ids) expect(await t.push(['1', '2'], id)).toBe(1); // '2' has no timeline
    expect(await redis.exists(t.key('2'))).toBe(0);
    expect(await t.page('1', null, 100)).toEqual(ids.slice(-5).reverse().map(BigInt));
    expect(await redis.zcard(t.key('1'))).toBe(6); // 5 posts and the sentinel
  });
});

describe('timelines', () => {
  it('pages strictly below the cursor, including posts in the same millisecond', async () => {
    await timelines.begin('3');
    const t = new Date();
    const same = [mintId(t), mintId(t), mintId(t)].map(String);
    await timelines.pushMany('3', same);
    const first = await timelines.page('3', null, 2);
    expect(first).toEqual([same[2], same[1]].map((x) => BigInt(x!)));
    const rest = await timelines.page('3', BigInt(same[1]!), 2);
    expect(rest).toEqual([BigInt(same[0]!)]);
    expect(await redis.zscore(timelines.key('3'), SENTINEL)).toBe('0');
  });

  it('reports a timeline being rebuilt, and a missing one', async () => {
    expect(await timelines.page('4', null, 5)).toBeNull();
    expect(await timelines.lockRebuild('4')).toBe(true);
    expect(await timelines.lockRebuild('4')).toBe(false);
    expect(await timelines.page('4', null, 5)).toBe('rebuilding');
    await timelines.unlockRebuild('4');
    expect(await timelines.page('4', null, 5)).toBeNull();
  });
});
