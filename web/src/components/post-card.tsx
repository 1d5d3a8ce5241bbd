// A post in the feed or on its own page: author, carousel, caption with linked hashtags.
import { useState } from 'react';
import { Link } from '../router.js';
import type { PostItem } from '../types.js';
import { Avatar } from './common.js';
import { MediaView } from './media-view.js';

/** The caption with each #hashtag linked to its search. */
export function Caption({ text }: { text: string }) {
  const parts = text.split(/(#[\p{L}\p{M}\p{N}_]+)/u);
  return (
    <>
      {parts.map((part, i) =>
        part.startsWith('#') ? (
          <Link key={i} to={`/search?q=${encodeURIComponent(part)}`}>
            {part}
          </Link>
        ) : (
          part
        ),
      )}
    </>
  );
}

export function PostCard({ post, eager = false }: { post: PostItem; eager?: boolean }) {
  const [index, setIndex] = useState(0);
  const count = post.media.length;
  const media = post.media[Math.min(index, count - 1)];
  const when = new Date(post.createdAt);
  return (
    <article className="post" aria-labelledby={`post-${post.id}-author`}>
      <header>
        <Link to={`/u/${post.author.username}`} className="user-link" id={`post-${post.id}-author`}>
          <Avatar user={post.author} size={32} />
          <strong>{post.author.username}</strong>
        </Link>
        <Link to={`/p/${post.id}`} className="muted">
          <time dateTime={post.createdAt}>{when.toLocaleDateString()}</time>
        </Link>
      </header>
      {media ? <MediaView key={media.id} media={media} eager={eager} /> : null}
      {count > 1 ? (
        <nav className="carousel" aria-label="Carousel">
          <button
            type="button"
            onClick={() => setIndex(index - 1)}
            disabled={index === 0}
            aria-label="Previous photo or video"
          >
            ‹
          </button>
          <span aria-live="polite">
            {index + 1} / {count}
          </span>
          <button
            type="button"
            onClick={() => setIndex(index + 1)}
            disabled={index >= count - 1}
            aria-label="Next photo or video"
          >
            ›
          </button>
        </nav>
      ) : null}
      {post.caption ? (
        <p className="caption">
          <strong>{post.author.username}</strong> <Caption text={post.caption} />
        </p>
      ) : null}
    </article>
  );
}
