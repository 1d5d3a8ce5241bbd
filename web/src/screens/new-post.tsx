// A new post: pick photos and videos (up to 10), order them, give each alt text, add a
// caption, then upload them one by one with a progress bar and publish.
import { useApolloClient, useMutation } from '@apollo/client/react';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorNote } from '../components/common.js';
import { CREATE_POST } from '../operations.js';
import { navigate } from '../router.js';
import { uploadFile } from '../upload.js';

interface Picked {
  key: string;
  file: File;
  preview: string;
  altText: string;
}

const MAX_MEDIA = 10;

const size = (bytes: number) =>
  bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function NewPostScreen() {
  const client = useApolloClient();
  const [createPost] = useMutation<{ createPost: { id: string } }>(CREATE_POST);
  const [items, setItems] = useState<Picked[]>([]);
  const [caption, setCaption] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>(null);

  // Previews are freed when removed and when the screen goes, never while shown (a video
  // preview re-reads its blob URL as it plays).
  const shown = useRef(items);
  shown.current = items;
  useEffect(() => () => shown.current.forEach((i) => URL.revokeObjectURL(i.preview)), []);

  const pick = (files: FileList | null) => {
    const added = Array.from(files ?? []).map((file) => ({
      key: `${file.name}-${file.size}-${Math.random()}`,
      file,
      preview: URL.createObjectURL(file),
      altText: '',
    }));
    setItems([...items, ...added].slice(0, MAX_MEDIA));
  };
  const move = (i: number, by: number) => {
    const next = [...items];
    const [item] = next.splice(i, 1);
    next.splice(i + by, 0, item!);
    setItems(next);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const total = items.reduce((n, i) => n + i.file.size, 0);
    let before = 0;
    try {
      const mediaIds: string[] = [];
      for (const [n, item] of items.entries()) {
        setStatus(`Uploading ${n + 1} of ${items.length}…`);
        mediaIds.push(
          await uploadFile(client, item.file, item.altText.trim(), (f) =>
            setProgress((before + f * item.file.size) / total),
          ),
        );
        before += item.file.size;
      }
      setStatus('Publishing…');
      const res = await createPost({
        variables: { input: { mediaIds, ...(caption.trim() ? { caption } : {}) } },
        refetchQueries: ['Feed'],
      });
      navigate(`/p/${res.data!.createPost.id}`);
    } catch (err) {
      setError(err);
      setProgress(null);
      setStatus('');
    }
  };

  const busy = progress !== null;
  return (
    <main>
      <h1>New post</h1>
      <form onSubmit={(e) => void submit(e)} aria-label="New post">
        <label>
          Photos and videos (up to {MAX_MEDIA})
          <input
            type="file"
            name="files"
            accept="image/*,video/*"
            multiple
            disabled={busy || items.length >= MAX_MEDIA}
            onChange={(e) => {
              pick(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
        <ol className="picked" aria-label="Carousel order">
          {items.map((item, i) => (
            <li key={item.key}>
              {item.file.type.startsWith('video/') ? (
                <video src={item.preview} muted aria-label={`Video ${i + 1}`} />
              ) : (
                <img src={item.preview} alt={`Photo ${i + 1}`} />
              )}
              <div>
                <span className="muted">
                  {item.file.name} ({size(item.file.size)})
                </span>
                <label>
                  Alt text for item {i + 1}
                  <input
                    value={item.altText}
                    maxLength={1000}
                    disabled={busy}
                    onChange={(e) =>
                      setItems(
                        items.map((x) => (x === item ? { ...x, altText: e.target.value } : x)),
                      )
                    }
                  />
                </label>
                <div className="row">
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy || i === 0}
                    onClick={() => move(i, -1)}
                    aria-label={`Move item ${i + 1} earlier`}
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy || i === items.length - 1}
                    onClick={() => move(i, 1)}
                    aria-label={`Move item ${i + 1} later`}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy}
                    onClick={() => {
                      URL.revokeObjectURL(item.preview);
                      setItems(items.filter((x) => x !== item));
                    }}
                    aria-label={`Remove item ${i + 1}`}
                  >
                    Remove
                  </button>
                </div>
              </div>
            </li>
          ))}
        </ol>
        <label>
          Caption
          <textarea
            name="caption"
            value={caption}
            maxLength={2200}
            rows={3}
            disabled={busy}
            onChange={(e) => setCaption(e.target.value)}
          />
        </label>
        {busy ? (
          <div>
            <progress value={progress} max={1} aria-label="Upload progress" />
            <span aria-live="polite">
              {status} {Math.round(progress * 100)}%
            </span>
          </div>
        ) : null}
        <button type="submit" disabled={busy || items.length === 0}>
          Share
        </button>
        <ErrorNote error={error} />
      </form>
    </main>
  );
}
