// The event contract (lib/contracts/events.ts): the payloads the producers publish pass, anything
// else fails with an error naming fields and checks but never the values.
import { describe, expect, it } from 'vitest';
import { EVENT_SUBJECTS, parseEvent, type EventPayloads, type EventSubject } from '../events.js';

const at = '2026-05-01T12:00:00.000Z';
// As subgraphs/*/src publish them (enqueue calls in users.ts, posts.ts, follows.ts).
const valid: { [S in EventSubject]: EventPayloads[S] } = {
  'user.created': { v: 1, userId: '12', username: 'alice', createdAt: at, displayName: 'Alice' },
  'user.updated': { v: 1, userId: '12', username: 'alice', displayName: null, updatedAt: at },
  'post.created': {
    v: 1,
    postId: '9223372036854775807',
    authorId: '12',
    createdAt: at,
    caption: '',
    hashtags: ['travel'],
    media: [
      { id: '5', type: 'image', width: 1080, height: 1350 },
      { id: '6', type: 'video', width: null, height: null },
    ],
  },
  'post.updated': {
    v: 1,
    postId: '34',
    authorId: '12',
    createdAt: at,
    updatedAt: at,
    caption: 'edited',
    hashtags: [],
    media: [],
  },
  'post.deleted': { v: 1, postId: '34', authorId: '12', createdAt: at, deletedAt: at },
  'graph.followed': {
    v: 1,
    followerId: '12',
    followeeId: '13',
    createdAt: at,
    followeeFollowerCount: 1,
  },
  'graph.unfollowed': { v: 1, followerId: '12', followeeId: '13', at, followeeFollowerCount: 0 },
  'graph.follow_requested': { v: 1, requesterId: '12', targetId: '13', createdAt: at },
  'graph.follow_request_removed': {
    v: 1,
    requesterId: '12',
    targetId: '13',
    at,
    reason: 'declined',
  },
  'graph.blocked': { v: 1, blockerId: '12', blockedId: '13', at },
  'graph.unblocked': { v: 1, blockerId: '12', blockedId: '13', at },
  'graph.privacy_changed': { v: 1, userId: '12', isPrivate: true, at },
  'engagement.liked': { v: 1, postId: '34', postAuthorId: '12', userId: '13', createdAt: at },
  'engagement.unliked': { v: 1, postId: '34', postAuthorId: '12', userId: '13', at },
  'engagement.commented': {
    v: 1,
    commentId: '56',
    postId: '34',
    postAuthorId: '12',
    authorId: '13',
    replyToId: null,
    replyToAuthorId: null,
    text: 'nice @alice',
    createdAt: at,
  },
  'engagement.comment_deleted': {
    v: 1,
    commentId: '57',
    postId: '34',
    postAuthorId: '12',
    authorId: '13',
    replyToId: '56',
    deletedAt: at,
  },
};

const error = (subject: string, payload: unknown) => {
  const r = parseEvent(subject, payload);
  return r.ok ? null : r.error;
};

describe('parseEvent', () => {
  it('accepts what the producers publish, for every subject', () => {
    for (const subject of EVENT_SUBJECTS) {
      expect(parseEvent(subject, valid[subject]), subject).toEqual({
        ok: true,
        event: { subject, payload: valid[subject] },
      });
    }
  });

  it('keeps accepting v1 with an added optional field (dropped before the handler)', () => {
    const r = parseEvent('post.deleted', { ...valid['post.deleted'], reason: 'spam' });
    expect(r).toEqual({
      ok: true,
      event: { subject: 'post.deleted', payload: valid['post.deleted'] },
    });
  });

  it('refuses wrong fields, naming them but not their values', () => {
    const created = valid['post.created'];
    const cases: [string, unknown, string][] = [
      ['post.created', { ...created, postId: 'abc' }, 'postId: invalid_format'],
      ['post.created', { ...created, postId: '9223372036854775808' }, 'postId: custom'],
      ['post.created', { ...created, postId: 42 }, 'postId: invalid_type'],
      ['post.created', { ...created, createdAt: 'yesterday' }, 'createdAt: invalid_format'],
      ['post.created', { ...created, media: [{ id: '1', type: 'gif' }] }, 'media.0.type'],
      ['post.created', { ...created, hashtags: 'x' }, 'hashtags: invalid_type'],
      ['post.deleted', { ...valid['post.deleted'], deletedAt: undefined }, 'deletedAt'],
      ['graph.followed', { ...valid['graph.followed'], followeeFollowerCount: -1 }, 'too_small'],
      [
        'graph.unfollowed',
        { ...valid['graph.unfollowed'], followeeFollowerCount: 1.5 },
        'followeeFollowerCount: invalid_type',
      ],
      ['user.created', { ...valid['user.created'], username: '' }, 'username: too_small'],
      ['post.created', null, 'v: missing'],
      ['post.created', [], 'v: missing'],
      ['post.created', { ...created, v: '1' }, 'v: missing'],
      ['post.created', { ...created, v: 0 }, 'v: missing'],
      ['post.liked', { v: 1 }, 'unknown subject'],
    ];
    for (const [subject, payload, want] of cases) {
      const got = error(subject, payload);
      expect(got, `${subject} ${JSON.stringify(payload)}`).toContain(want);
      expect(got).not.toContain('abc');
      expect(got).not.toContain('yesterday');
    }
  });

  it('tells a newer version (skipped) from a broken one', () => {
    expect(parseEvent('post.created', { ...valid['post.created'], v: 2 })).toMatchObject({
      ok: false,
      newer: true,
    });
    expect(
      parseEvent('post.created', { ...valid['post.created'], v: 1, postId: 'x' }),
    ).toMatchObject({ ok: false, newer: false });
  });
});
