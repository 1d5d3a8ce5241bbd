// Who may fetch a media object without a signed URL (storage/file-route.ts): anyone, unless
// it is a private account's media. Asked live on every unsigned request (the owner from the
// media row, privacy from the graph subgraph), so an account that turns private stops its
// old public URLs at once; public answers are cached by browsers and CDNs (immutable), so
// these lookups are rare. Avatars stay public, as the API promises.
import type pg from 'pg';
import type { GraphClient } from '../../../lib/clients/graph-client.js';
import type { MediaAccess } from './storage/file-route.js';

/** `m/<mediaId>/…` (uploads/records.ts mediaKeyPrefix): the media row an object belongs to. */
const MEDIA_KEY = /^m\/([1-9][0-9]{0,18})\//;

export function createMediaAccess(pool: pg.Pool, graph: GraphClient, secret: string): MediaAccess {
  return {
    secret,
    async isPrivate(key) {
      const id = MEDIA_KEY.exec(key)?.[1];
      if (id === undefined) return false; // not a media object: nothing private lives there
      const { rows } = await pool.query<{ owner_id: string; is_avatar: boolean }>(
        `SELECT m.owner_id::text AS owner_id,
                EXISTS (SELECT 1 FROM posts.avatars a WHERE a.media_id = m.id) AS is_avatar
         FROM posts.media m WHERE m.id = $1::bigint`,
        [id],
      );
      const row = rows[0];
      if (!row) return true; // a deleted media's objects await the janitor: never serve them
      if (row.is_avatar) return false;
      const v = await graph.visibility(null, [row.owner_id]);
      return v.private.includes(row.owner_id);
    },
  };
}
