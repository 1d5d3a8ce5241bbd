// The shapes the app's operations select (operations.ts).
export type FollowState = 'NONE' | 'REQUESTED' | 'FOLLOWING';

export interface Variant {
  url: string;
  width: number;
}

export interface MediaItem {
  id: string;
  type: 'IMAGE' | 'VIDEO';
  url: string;
  width: number | null;
  height: number | null;
  blurhash: string | null;
  altText: string | null;
  posterUrl: string | null;
  variants: Variant[];
}

export interface UserSummary {
  id: string;
  username: string;
  displayName: string | null;
  isViewer: boolean;
  isPrivate: boolean;
  viewerFollowState: FollowState;
  viewerHasBlocked: boolean;
  followsViewer: boolean;
  avatar: { id: string; variants: { url: string }[] } | null;
}

export type Author = Pick<UserSummary, 'id' | 'username' | 'avatar'>;

export interface PostItem {
  id: string;
  caption: string | null;
  createdAt: string;
  hashtags: string[];
  author: Author;
  media: MediaItem[];
  editedAt?: string | null;
}

export interface PostThumb {
  id: string;
  caption: string | null;
  media: MediaItem[];
}

export interface PageInfo {
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
}

export interface Profile extends UserSummary {
  bio: string | null;
  website: string | null;
  postCount: number;
  followerCount: number;
  followingCount: number;
  posts: Connection<PostThumb>;
}
