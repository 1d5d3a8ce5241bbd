// Edit profile (display name, bio, website, avatar) and account privacy.
import { useApolloClient, useMutation, useQuery } from '@apollo/client/react';
import { useEffect, useState, type FormEvent } from 'react';
import { Avatar, ErrorNote } from '../components/common.js';
import { EDIT_PROFILE, SET_AVATAR, SET_PRIVACY, UPDATE_PROFILE } from '../operations.js';
import type { UserSummary } from '../types.js';
import { uploadFile } from '../upload.js';

type Me = UserSummary & { bio: string | null; website: string | null };

export function SettingsScreen() {
  const client = useApolloClient();
  const { data, error } = useQuery<{ me: Me | null }>(EDIT_PROFILE);
  const [update, u] = useMutation(UPDATE_PROFILE);
  const [setPrivacy, p] = useMutation(SET_PRIVACY);
  const [setAvatar, a] = useMutation(SET_AVATAR);
  const [form, setForm] = useState({ displayName: '', bio: '', website: '' });
  const [saved, setSaved] = useState(false);
  const [avatarError, setAvatarError] = useState<unknown>(null);
  const me = data?.me;
  useEffect(() => {
    if (me)
      setForm({ displayName: me.displayName ?? '', bio: me.bio ?? '', website: me.website ?? '' });
  }, [me]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    try {
      await update({ variables: { input: form } });
      setSaved(true);
    } catch {
      // shown below
    }
  };
  const pickAvatar = async (file: File | undefined) => {
    if (!file) return;
    setAvatarError(null);
    try {
      const mediaId = await uploadFile(client, file, '', () => {});
      await setAvatar({ variables: { mediaId } });
    } catch (err) {
      setAvatarError(err);
    }
  };

  if (!me) return <main>{error ? <ErrorNote error={error} /> : <p>Loading…</p>}</main>;
  return (
    <main>
      <h1>Edit profile</h1>
      <section className="row" aria-label="Avatar">
        <Avatar user={me} size={64} />
        <label>
          Change avatar
          <input
            type="file"
            accept="image/*"
            disabled={a.loading}
            onChange={(e) => void pickAvatar(e.target.files?.[0])}
          />
        </label>
        {me.avatar ? (
          <button
            type="button"
            className="secondary"
            onClick={() => void setAvatar({ variables: { mediaId: null } })}
          >
            Remove avatar
          </button>
        ) : null}
      </section>
      <ErrorNote error={avatarError ?? a.error} />
      <form onSubmit={(e) => void save(e)} aria-label="Profile">
        <label>
          Display name
          <input
            name="displayName"
            maxLength={64}
            value={form.displayName}
            onChange={(e) => setForm({ ...form, displayName: e.target.value })}
          />
        </label>
        <label>
          Bio
          <textarea
            name="bio"
            maxLength={150}
            rows={3}
            value={form.bio}
            onChange={(e) => setForm({ ...form, bio: e.target.value })}
          />
        </label>
        <label>
          Website
          <input
            name="website"
            type="url"
            maxLength={200}
            placeholder="https://"
            value={form.website}
            onChange={(e) => setForm({ ...form, website: e.target.value })}
          />
        </label>
        <button type="submit" disabled={u.loading}>
          Save
        </button>
        {saved ? <p role="status">Saved.</p> : null}
        <ErrorNote error={u.error} />
      </form>
      <h2>Privacy</h2>
      <label className="row">
        <input
          type="checkbox"
          name="isPrivate"
          checked={me.isPrivate}
          disabled={p.loading}
          onChange={(e) => void setPrivacy({ variables: { isPrivate: e.target.checked } })}
        />
        Private account: only approved followers see your posts and lists
      </label>
      <ErrorNote error={p.error} />
    </main>
  );
}
