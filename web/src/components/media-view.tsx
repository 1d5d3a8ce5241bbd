// One photo or video: its BlurHash painted at once (a 32×32 canvas scaled up), then the
// image from `variants` that fits the screen (srcset/sizes) or the video with its poster.
import { decode } from 'blurhash';
import { useEffect, useRef, useState } from 'react';
import type { MediaItem } from '../types.js';

function Blurhash({ hash }: { hash: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    try {
      const pixels = decode(hash, 32, 32);
      const image = ctx.createImageData(32, 32);
      image.data.set(pixels);
      ctx.putImageData(image, 0, 0);
    } catch {
      // a malformed hash: leave the neutral background
    }
  }, [hash]);
  return <canvas ref={ref} width={32} height={32} className="blurhash" aria-hidden="true" />;
}

export function MediaView(props: { media: MediaItem; sizes?: string; eager?: boolean }) {
  const { media, sizes = '(max-width: 640px) 100vw, 600px', eager = false } = props;
  const [loaded, setLoaded] = useState(false);
  const ratio = media.width && media.height ? `${media.width} / ${media.height}` : '1 / 1';
  return (
    <div className="media" style={{ aspectRatio: ratio }}>
      {media.blurhash && !loaded ? <Blurhash hash={media.blurhash} /> : null}
      {media.type === 'VIDEO' ? (
        <video
          src={media.url}
          poster={media.posterUrl ?? undefined}
          controls
          playsInline
          preload="metadata"
          aria-label={media.altText ?? 'Video'}
          onLoadedData={() => setLoaded(true)}
        />
      ) : (
        <img
          src={media.url}
          srcSet={media.variants.map((v) => `${v.url} ${v.width}w`).join(', ') || undefined}
          sizes={sizes}
          alt={media.altText ?? ''}
          width={media.width ?? undefined}
          height={media.height ?? undefined}
          loading={eager ? 'eager' : 'lazy'}
          decoding="async"
          onLoad={() => setLoaded(true)}
          className={loaded ? 'loaded' : undefined}
        />
      )}
    </div>
  );
}

/** A square thumbnail for grids: the smallest variant (or the video's poster). */
export function Thumb({ media }: { media: MediaItem }) {
  const src =
    media.type === 'VIDEO' ? (media.posterUrl ?? '') : (media.variants[0]?.url ?? media.url);
  return (
    <div className="thumb">
      {media.blurhash ? <Blurhash hash={media.blurhash} /> : null}
      {src ? <img src={src} alt={media.altText ?? ''} loading="lazy" /> : null}
      {media.type === 'VIDEO' ? (
        <span className="badge" aria-hidden="true">
          ▶
        </span>
      ) : null}
    </div>
  );
}
