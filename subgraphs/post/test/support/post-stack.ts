// Shared by the post tests: a user + graph + post stack with filesystem storage in a temp dir,
// accounts, media rows and a way to run the janitor against the stack's database.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { subgraphUrl } from '../../../../lib/config.js';
import { createGraphClient } from '../../../../lib/clients/graph-client.js';
import { baseOf } from '../../../../lib/clients/internal-http.js';
import { createPool, createPrisma } from '../../../../lib/platform/db.js';
import { createLogger } from '../../../../lib/platform/logger.js';
import { startStack, type Stack } from '../../../../test/support/stack.js';
import type { AppContext } from '../../src/context.js';
import { runJanitorOnce, type JanitorPass } from '../../src/janitor.js';
import { mediaLimits } from '../../src/media/spool.js';
import { postSettings } from '../../src/settings.js';
import { createStorage } from '../../src/storage/create-storage.js';

export interface PostStack extends Stack {
  storageDir: string;
  /** Clients wired like the post service's (same database and storage). */
  app: AppContext;
  signUp(name: string): Promise<{ id: string; token: string; username: string }>;
  /** A READY image row owned by `ownerId` (no objects behind it). */
  readyMedia(ownerId: string, opts?: { status?: string; type?: string }): Promise<string>;
  /** Every object file under the storage dir (temp and internal dirs excluded). */
  storedFiles(): Promise<string[]>;
  janitor(opts?: { graceHours?: number }): Promise<JanitorPass>;
  /** Rewrites a media URL (PUBLIC_URL-based) to this stack's gateway. */
  localUrl(url: string): string;
}

/** `subgraphs`: more than user, graph (the visibility rule) and post when a test needs them. */
export async function startPostStack(
  env: Record<string, string> = {},
  subgraphs: string[] = ['user', 'graph', 'post'],
): Promise<PostStack> {
  const storageDir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-post-test-'));
  const stack = await startStack({
    subgraphs,
    env: { STORAGE_DIR: storageDir, MEDIA_JANITOR_INTERVAL_SECONDS: '0', ...env },
  });
  const pool = createPool({ DATABASE_URL: stack.iso.databaseUrl, DATABASE_POOL_SIZE: 2 });
  const app: AppContext = {
    cfg: stack.cfg,
    settings: postSettings(stack.cfg),
    logger: createLogger('post-test', stack.cfg),
    pool,
    prisma: createPrisma(pool),
    storage: await createStorage(stack.cfg),
    mediaLimits: mediaLimits(stack.cfg),
    graph: createGraphClient({
      baseUrl: baseOf(subgraphUrl(stack.cfg, 'graph')),
      caller: 'post-test',
      secret: stack.cfg.INTERNAL_SIGNING_SECRET,
    }),
  };
  let n = 0;
  return {
    ...stack,
    storageDir,
    app,
    async signUp(name) {
      const username = `${name}_${stack.iso.id.slice(-6)}_${n++}`;
      const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
        `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
        {
          input: { username, email: `${username}@example.com`, password: 'long enough pw' },
        },
      );
      if (!r.data) throw new Error(JSON.stringify(r.errors));
      return { id: r.data.signUp.user.id, token: r.data.signUp.accessToken, username };
    },
    async readyMedia(ownerId, opts = {}) {
      const rows = await stack.iso.query<{ id: string }>(
        `INSERT INTO posts.media (owner_id, type, status, mime_type, bytes, width, height,
           storage_key, variants, object_keys)
         VALUES ($1, $2, $3, 'image/jpeg', 1000, 640, 480, 'm/x/1080.jpg',
           '[{"width":640,"height":480,"mimeType":"image/jpeg","key":"m/x/640.jpg","bytes":900}]',
           '{}')
         RETURNING id::text`,
        [ownerId, opts.type ?? 'IMAGE', opts.status ?? 'READY'],
      );
      return rows[0]!.id;
    },
    async storedFiles() {
      const out: string[] = [];
      const walk = async (dir: string, rel: string) => {
        for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
          if (e.name.startsWith('.')) continue;
          const r = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) await walk(path.join(dir, e.name), r);
          else out.push(r);
        }
      };
      await walk(storageDir, '');
      return out.sort();
    },
    janitor: (opts = {}) => runJanitorOnce(app, opts),
    localUrl: (url) => url.replace(stack.cfg.PUBLIC_URL, stack.gatewayUrl),
    async close() {
      await pool.end();
      await stack.close();
      await rm(storageDir, { recursive: true, force: true });
    },
  };
}
