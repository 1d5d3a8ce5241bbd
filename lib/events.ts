// The event contract between subgraphs: subject names, versioned payloads and the
// JetStream stream layout. Payloads are denormalized so consumers never call back into
// the producer. Ids are decimal strings (bigint ids do not fit a JSON number) and times
// are ISO-8601 strings.
//
// Compatibility: adding an optional field keeps `v: 1`; anything a v1 consumer would
// misread (renamed, removed or re-typed fields) is a new version, published alongside
// the old one until every consumer has moved.

export const USER_CREATED = 'user.created';
export const POST_CREATED = 'post.created';
export const POST_UPDATED = 'post.updated';
export const POST_DELETED = 'post.deleted';
export const GRAPH_FOLLOWED = 'graph.followed';
export const GRAPH_UNFOLLOWED = 'graph.unfollowed';

export const EVENT_SUBJECTS = [
  USER_CREATED,
  POST_CREATED,
  POST_UPDATED,
  POST_DELETED,
  GRAPH_FOLLOWED,
  GRAPH_UNFOLLOWED,
] as const;

export type EventSubject = (typeof EVENT_SUBJECTS)[number];

export interface UserCreatedV1 {
  v: 1;
  userId: string;
  username: string;
  createdAt: string;
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

export interface EventPayloads {
  [USER_CREATED]: UserCreatedV1;
  [POST_CREATED]: PostCreatedV1;
  [POST_UPDATED]: PostUpdatedV1;
  [POST_DELETED]: PostDeletedV1;
  [GRAPH_FOLLOWED]: GraphFollowedV1;
  [GRAPH_UNFOLLOWED]: GraphUnfollowedV1;
}

export type EventPayload<S extends EventSubject> = EventPayloads[S];

/** One stream per producing domain, so each can get its own limits and be rebuilt alone. */
export const STREAMS = {
  USERS: 'user.>',
  POSTS: 'post.>',
  GRAPH: 'graph.>',
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
  return { USERS: name('USERS'), POSTS: name('POSTS'), GRAPH: name('GRAPH') };
}

export function streamLayout(prefix: string): StreamLayout[] {
  const names = streamNames(prefix);
  return (Object.keys(STREAMS) as StreamKey[]).map((key) => ({
    key,
    name: names[key],
    subjects: [subjectFor(prefix, STREAMS[key])],
  }));
}
