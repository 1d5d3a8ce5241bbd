// The event contract between subgraphs: subject names, versioned payloads and the
// JetStream stream layout. Payloads are denormalized so consumers never call back into
// the producer. Ids are decimal strings (bigint ids do not fit a JSON number) and times
// are ISO-8601 strings.
//
// Compatibility: adding an optional field keeps `v: 1`; anything a v1 consumer would
// misread (renamed, removed or re-typed fields) is a new version, published alongside
// the old one until every consumer has moved. Consumers check every payload against the
// schemas below (EVENT_SCHEMAS) before handling it; one that fails is dead-lettered.
import { z } from 'zod';

export const USER_CREATED = 'user.created';
export const USER_UPDATED = 'user.updated';
export const POST_CREATED = 'post.created';
export const POST_UPDATED = 'post.updated';
export const POST_DELETED = 'post.deleted';
export const GRAPH_FOLLOWED = 'graph.followed';
export const GRAPH_UNFOLLOWED = 'graph.unfollowed';
export const GRAPH_FOLLOW_REQUESTED = 'graph.follow_requested';
export const GRAPH_FOLLOW_REQUEST_REMOVED = 'graph.follow_request_removed';
export const GRAPH_BLOCKED = 'graph.blocked';
export const GRAPH_UNBLOCKED = 'graph.unblocked';
export const GRAPH_PRIVACY_CHANGED = 'graph.privacy_changed';
export const ENGAGEMENT_LIKED = 'engagement.liked';
export const ENGAGEMENT_UNLIKED = 'engagement.unliked';
export const ENGAGEMENT_COMMENTED = 'engagement.commented';
export const ENGAGEMENT_COMMENT_DELETED = 'engagement.comment_deleted';

export const EVENT_SUBJECTS = [
  USER_CREATED,
  USER_UPDATED,
  POST_CREATED,
  POST_UPDATED,
  POST_DELETED,
  GRAPH_FOLLOWED,
  GRAPH_UNFOLLOWED,
  GRAPH_FOLLOW_REQUESTED,
  GRAPH_FOLLOW_REQUEST_REMOVED,
  GRAPH_BLOCKED,
  GRAPH_UNBLOCKED,
  GRAPH_PRIVACY_CHANGED,
  ENGAGEMENT_LIKED,
  ENGAGEMENT_UNLIKED,
  ENGAGEMENT_COMMENTED,
  ENGAGEMENT_COMMENT_DELETED,
] as const;

export type EventSubject = (typeof EVENT_SUBJECTS)[number];

export interface UserCreatedV1 {
  v: 1;
  userId: string;
  username: string;
  createdAt: string;
  /** Added in v0.2 (optional, so v1 consumers and old rows still parse). */
  displayName?: string | null;
}

/** The searchable profile as it is after a change (displayName; username is immutable). */
export interface UserUpdatedV1 {
  v: 1;
  userId: string;
  username: string;
  displayName: string | null;
  updatedAt: string;
}

export interface MediaSummaryV1 {
  id: string;
  type: 'image' | 'video';
  /** Pixels; null when processing could not tell (a video the probe failed to size). */
  width: number | null;
  height: number | null;
}

export interface PostCreatedV1 {
  v: 1;
  postId: string;
  authorId: string;
  createdAt: string;
  caption: string;
  /** Normalized (lower-case, without `#`), in order of first appearance. */
  hashtags: string[];
  /** In carousel order. */
  media: MediaSummaryV1[];
}

/** The post as it is after the edit; consumers replace what they hold. */
export interface PostUpdatedV1 extends PostCreatedV1 {
  updatedAt: string;
}

export interface PostDeletedV1 {
  v: 1;
  postId: string;
  authorId: string;
  /** Lets a timeline remove the entry by score without loading the post. */
  createdAt: string;
  deletedAt: string;
}

export interface GraphFollowedV1 {
  v: 1;
  followerId: string;
  followeeId: string;
  createdAt: string;
  /** The followee's follower count after this change (lets consumers see the celebrity threshold crossed). */
  followeeFollowerCount: number;
  /**
   * v0.2: the follow came from an approved request (approveFollowRequest, or the account
   * turning public). Consumers backfill as for any follow; notifications say FOLLOW_ACCEPTED.
   */
  viaRequest?: boolean;
}

export interface GraphUnfollowedV1 {
  v: 1;
  followerId: string;
  followeeId: string;
  /** When the edge was removed. */
  at: string;
  /** The followee's follower count after this change. */
  followeeFollowerCount: number;
}

/** A pending follow request to a private account (no edge yet: nothing is pushed). */
export interface GraphFollowRequestedV1 {
  v: 1;
  requesterId: string;
  targetId: string;
  createdAt: string;
}

/** A pending request ended: approved (a graph.followed with viaRequest follows), declined, withdrawn or ended by a block. */
export interface GraphFollowRequestRemovedV1 {
  v: 1;
  requesterId: string;
  targetId: string;
  at: string;
  reason: 'approved' | 'declined' | 'withdrawn' | 'blocked';
}

/**
 * A block. Its follows and requests in both directions end in the same transaction, each
 * with its own graph.unfollowed / graph.follow_request_removed event.
 */
export interface GraphBlockedV1 {
  v: 1;
  blockerId: string;
  blockedId: string;
  at: string;
}

export interface GraphUnblockedV1 {
  v: 1;
  blockerId: string;
  blockedId: string;
  at: string;
}

/** An account turned private or public (turning public approves every pending request). */
export interface GraphPrivacyChangedV1 {
  v: 1;
  userId: string;
  isPrivate: boolean;
  at: string;
}

/** A like (engagement subgraph). Only a new like is an event: liking twice changes nothing. */
export interface EngagementLikedV1 {
  v: 1;
  postId: string;
  /** Whose post it is (denormalized: notifications go to them without asking the post subgraph). */
  postAuthorId: string;
  userId: string;
  createdAt: string;
}

/** A like withdrawn (unlikePost, or the liker's account gone). */
export interface EngagementUnlikedV1 {
  v: 1;
  postId: string;
  postAuthorId: string;
  userId: string;
  at: string;
}

/** A comment or a reply (`replyToId` set: one level of replies). */
export interface EngagementCommentedV1 {
  v: 1;
  commentId: string;
  postId: string;
  postAuthorId: string;
  authorId: string;
  replyToId: string | null;
  /** The author of the comment replied to (notified with REPLIED); null for a top-level comment. */
  replyToAuthorId: string | null;
  /** 1 to 2,200 characters, as stored; `@username` mentions are found in it (lib/contracts/mentions.ts). */
  text: string;
  createdAt: string;
}

/**
 * A comment deleted, by its author or the post's author; its replies go with it, each with an
 * event of its own. Also published when a deleted post takes its comments along.
 */
export interface EngagementCommentDeletedV1 {
  v: 1;
  commentId: string;
  postId: string;
  postAuthorId: string;
  authorId: string;
  replyToId: string | null;
  deletedAt: string;
}

export interface EventPayloads {
  [USER_CREATED]: UserCreatedV1;
  [USER_UPDATED]: UserUpdatedV1;
  [POST_CREATED]: PostCreatedV1;
  [POST_UPDATED]: PostUpdatedV1;
  [POST_DELETED]: PostDeletedV1;
  [GRAPH_FOLLOWED]: GraphFollowedV1;
  [GRAPH_UNFOLLOWED]: GraphUnfollowedV1;
  [GRAPH_FOLLOW_REQUESTED]: GraphFollowRequestedV1;
  [GRAPH_FOLLOW_REQUEST_REMOVED]: GraphFollowRequestRemovedV1;
  [GRAPH_BLOCKED]: GraphBlockedV1;
  [GRAPH_UNBLOCKED]: GraphUnblockedV1;
  [GRAPH_PRIVACY_CHANGED]: GraphPrivacyChangedV1;
  [ENGAGEMENT_LIKED]: EngagementLikedV1;
  [ENGAGEMENT_UNLIKED]: EngagementUnlikedV1;
  [ENGAGEMENT_COMMENTED]: EngagementCommentedV1;
  [ENGAGEMENT_COMMENT_DELETED]: EngagementCommentDeletedV1;
}

export type EventPayload<S extends EventSubject> = EventPayloads[S];

// ---- schemas: what a consumer accepts (lenient on extra fields, strict on the typed ones) ----

const MAX_ID = (1n << 63n) - 1n;
const DECIMAL_ID = /^[1-9][0-9]{0,18}$/;
/** A positive int8 as a decimal string. */
const id = z
  .string()
  .regex(DECIMAL_ID)
  // zod runs this after a failed regex too: only a decimal reaches BigInt().
  .refine((s) => !DECIMAL_ID.test(s) || BigInt(s) <= MAX_ID, 'not an int8 id');
const time = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();
const pixels = z.number().int().nonnegative().nullable();

const userCreatedV1: z.ZodType<UserCreatedV1> = z.object({
  v: z.literal(1),
  userId: id,
  username: z.string().min(1).max(100),
  createdAt: time,
  displayName: z.string().max(200).nullable().optional(),
});

const userUpdatedV1: z.ZodType<UserUpdatedV1> = z.object({
  v: z.literal(1),
  userId: id,
  username: z.string().min(1).max(100),
  displayName: z.string().max(200).nullable(),
  updatedAt: time,
});

const postFieldsV1 = z.object({
  v: z.literal(1),
  postId: id,
  authorId: id,
  createdAt: time,
  caption: z.string().max(10_000),
  hashtags: z.array(z.string().min(1).max(200)).max(100),
  media: z
    .array(z.object({ id, type: z.enum(['image', 'video']), width: pixels, height: pixels }))
    .max(20),
});
const postCreatedV1: z.ZodType<PostCreatedV1> = postFieldsV1;
const postUpdatedV1: z.ZodType<PostUpdatedV1> = postFieldsV1.extend({ updatedAt: time });

const postDeletedV1: z.ZodType<PostDeletedV1> = z.object({
  v: z.literal(1),
  postId: id,
  authorId: id,
  createdAt: time,
  deletedAt: time,
});

const graphFollowedV1: z.ZodType<GraphFollowedV1> = z.object({
  v: z.literal(1),
  followerId: id,
  followeeId: id,
  createdAt: time,
  followeeFollowerCount: count,
  viaRequest: z.boolean().optional(),
});

const graphUnfollowedV1: z.ZodType<GraphUnfollowedV1> = z.object({
  v: z.literal(1),
  followerId: id,
  followeeId: id,
  at: time,
  followeeFollowerCount: count,
});

const graphFollowRequestedV1: z.ZodType<GraphFollowRequestedV1> = z.object({
  v: z.literal(1),
  requesterId: id,
  targetId: id,
  createdAt: time,
});

const graphFollowRequestRemovedV1: z.ZodType<GraphFollowRequestRemovedV1> = z.object({
  v: z.literal(1),
  requesterId: id,
  targetId: id,
  at: time,
  reason: z.enum(['approved', 'declined', 'withdrawn', 'blocked']),
});

const blockFields = z.object({ v: z.literal(1), blockerId: id, blockedId: id, at: time });
const graphBlockedV1: z.ZodType<GraphBlockedV1> = blockFields;
const graphUnblockedV1: z.ZodType<GraphUnblockedV1> = blockFields;

const graphPrivacyChangedV1: z.ZodType<GraphPrivacyChangedV1> = z.object({
  v: z.literal(1),
  userId: id,
  isPrivate: z.boolean(),
  at: time,
});

const likeFields = { v: z.literal(1), postId: id, postAuthorId: id, userId: id };
const engagementLikedV1: z.ZodType<EngagementLikedV1> = z.object({
  ...likeFields,
  createdAt: time,
});
const engagementUnlikedV1: z.ZodType<EngagementUnlikedV1> = z.object({ ...likeFields, at: time });

const commentFields = {
  v: z.literal(1),
  commentId: id,
  postId: id,
  postAuthorId: id,
  authorId: id,
  replyToId: id.nullable(),
};
const engagementCommentedV1: z.ZodType<EngagementCommentedV1> = z.object({
  ...commentFields,
  replyToAuthorId: id.nullable(),
  text: z.string().min(1).max(10_000),
  createdAt: time,
});
const engagementCommentDeletedV1: z.ZodType<EngagementCommentDeletedV1> = z.object({
  ...commentFields,
  deletedAt: time,
});

/** Schemas by subject and version (`v`). A new version adds an entry; old ones stay. */
export const EVENT_SCHEMAS: {
  readonly [S in EventSubject]: Readonly<Record<number, z.ZodType<EventPayloads[S]>>>;
} = {
  [USER_CREATED]: { 1: userCreatedV1 },
  [USER_UPDATED]: { 1: userUpdatedV1 },
  [POST_CREATED]: { 1: postCreatedV1 },
  [POST_UPDATED]: { 1: postUpdatedV1 },
  [POST_DELETED]: { 1: postDeletedV1 },
  [GRAPH_FOLLOWED]: { 1: graphFollowedV1 },
  [GRAPH_UNFOLLOWED]: { 1: graphUnfollowedV1 },
  [GRAPH_FOLLOW_REQUESTED]: { 1: graphFollowRequestedV1 },
  [GRAPH_FOLLOW_REQUEST_REMOVED]: { 1: graphFollowRequestRemovedV1 },
  [GRAPH_BLOCKED]: { 1: graphBlockedV1 },
  [GRAPH_UNBLOCKED]: { 1: graphUnblockedV1 },
  [GRAPH_PRIVACY_CHANGED]: { 1: graphPrivacyChangedV1 },
  [ENGAGEMENT_LIKED]: { 1: engagementLikedV1 },
  [ENGAGEMENT_UNLIKED]: { 1: engagementUnlikedV1 },
  [ENGAGEMENT_COMMENTED]: { 1: engagementCommentedV1 },
  [ENGAGEMENT_COMMENT_DELETED]: { 1: engagementCommentDeletedV1 },
};

/** A checked event: `subject` narrows `payload`. */
export type ContractEvent = {
  [S in EventSubject]: { subject: S; payload: EventPayloads[S] };
}[EventSubject];

export type EventCheck =
  | { ok: true; event: ContractEvent }
  /**
   * `newer`: a well-formed `v` above any this build knows. Producers publish it alongside
   * the old version (see the top of this file), so a consumer skips it rather than failing.
   */
  | { ok: false; newer: boolean; error: string };

const isEventSubject = (s: string): s is EventSubject =>
  (EVENT_SUBJECTS as readonly string[]).includes(s);

/**
 * Checks a decoded payload against the contract. `error` names the failing fields and
 * checks, never their values (it is logged and stored in dead-letter headers).
 */
export function parseEvent(subject: string, payload: unknown): EventCheck {
  if (!isEventSubject(subject)) return { ok: false, newer: false, error: 'unknown subject' };
  const versions = EVENT_SCHEMAS[subject];
  const v = (payload as { v?: unknown } | null)?.v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    return { ok: false, newer: false, error: 'v: missing or not a version' };
  }
  const schema = versions[v];
  if (!schema) {
    const newest = Math.max(...Object.keys(versions).map(Number));
    return { ok: false, newer: v > newest, error: `v: unknown version ${v}` };
  }
  const r = schema.safeParse(payload);
  if (!r.success) {
    const issues = r.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`);
    return { ok: false, newer: false, error: issues.join('; ') };
  }
  return { ok: true, event: { subject, payload: r.data } as ContractEvent };
}

/** One stream per producing domain, so each can get its own limits and be rebuilt alone. */
export const STREAMS = {
  USERS: 'user.>',
  POSTS: 'post.>',
  GRAPH: 'graph.>',
  ENGAGEMENT: 'engagement.>',
} as const;

export type StreamKey = keyof typeof STREAMS;

export interface StreamLayout {
  key: StreamKey;
  name: string;
  subjects: string[];
}

/** `post.created` on the wire, or `<prefix>.post.created` when a prefix is set. */
export function subjectFor(prefix: string, subject: string): string {
  return prefix ? `${prefix}.${subject}` : subject;
}

/** The subject without the deployment prefix, as stored in the outbox and typed above. */
export function unprefixSubject(prefix: string, subject: string): string {
  return prefix && subject.startsWith(`${prefix}.`) ? subject.slice(prefix.length + 1) : subject;
}

/** Stream names by key: `USERS`, or `<prefix>_USERS` when a prefix is set. */
export function streamNames(prefix: string): Record<StreamKey, string> {
  const name = (key: StreamKey) => (prefix ? `${prefix}_${key}` : key);
  return {
    USERS: name('USERS'),
    POSTS: name('POSTS'),
    GRAPH: name('GRAPH'),
    ENGAGEMENT: name('ENGAGEMENT'),
  };
}

/**
 * The dead-letter stream: events a consumer gave up on (invalid payload, or deliveries
 * exhausted), kept on `dlq.<original subject>` for inspection and `npm run dlq:replay`.
 */
export function dlqStreamName(prefix: string): string {
  return prefix ? `${prefix}_DLQ` : 'DLQ';
}

/** `dlq.post.created` (or `<prefix>.dlq.post.created`) for the event subject `post.created`. */
export function dlqSubject(prefix: string, subject: string): string {
  return subjectFor(prefix, `dlq.${subject}`);
}

export function streamLayout(prefix: string): StreamLayout[] {
  const names = streamNames(prefix);
  return (Object.keys(STREAMS) as StreamKey[]).map((key) => ({
    key,
    name: names[key],
    subjects: [subjectFor(prefix, STREAMS[key])],
  }));
}
