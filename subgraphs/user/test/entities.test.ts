// User entities as the gateway fetches them: `_entities` with many representations is
// answered in order, unknown ids become null, and loading is batched into one query.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signViewerContext, VIEWER_CONTEXT_HEADER } from '../../../lib/auth/viewer-context.js';
import { createPrisma } from '../../../lib/platform/db.js';
import { countingDb } from '../../../test/support/counting-db.js';
import { postGraphql, startStack, type Stack } from '../../../test/support/stack.js';
import { createLoaders, PROFILE_SELECT } from '../src/loaders.js';

let stack: Stack;
const ids: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  for (let i = 0; i < 5; i++) {
    const name = `ent_${Date.now().toString(36)}_${i}`;
    const r = await stack.gql<{ signUp: { user: { id: string } } }>(
      `mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`,
      { input: { username: name, email: `${name}@example.com`, password: 'long enough pw' } },
    );
    ids.push(r.data!.signUp.user.id);
  }
});
afterAll(async () => {
  await stack?.close();
});

describe('User entities', () => {
  it('resolves representations in order, with null for unknown or malformed ids', async () => {
    const reps = [ids[3], '999999999', ids[0], 'not-an-id', ids[4]].map((id) => ({
      __typename: 'User',
      id,
    }));
    const header = signViewerContext(stack.cfg.INTERNAL_SIGNING_SECRET, {
      userId: ids[0]!,
      sessionId: '1',
      ip: '127.0.0.1',
      requestId: 'entities-test',
    });
    const r = await postGraphql<{ _entities: ({ id: string; isViewer: boolean } | null)[] }>(
      stack.subgraphUrls.user!,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id isViewer } } }`,
      { r: reps },
      { [VIEWER_CONTEXT_HEADER]: header },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual([
      { id: ids[3], isViewer: false },
      null,
      { id: ids[0], isViewer: true },
      null,
      { id: ids[4], isViewer: false },
    ]);
  });

  it('loads any number of references with one query', async () => {
    const counting = countingDb(stack.iso.databaseUrl);
    try {
      // Signed out: profiles are never hidden, so the graph is not asked.
      const loaders = createLoaders(
        counting.db,
        {
          visibility: () => Promise.reject(new Error('no visibility call for a signed-out viewer')),
        },
        null,
      );
      const users = await Promise.all(
        [...ids, '999999999', ids[0]!].map((id) => loaders.userById.load(id)),
      );
      expect(counting.queries()).toBe(1);
      expect(users.map((u) => u?.id.toString() ?? null)).toEqual([...ids, null, ids[0]]);
      // The plain-SQL profile is the same record Prisma would give, and nothing more:
      // references never carry the email address or the password hash.
      const viaPrisma = await createPrisma(counting.pool).user.findUnique({
        where: { id: BigInt(ids[0]!) },
        select: PROFILE_SELECT,
      });
      expect(users[0]).toEqual(viaPrisma);
      expect(Object.keys(users[0]!)).not.toContain('passwordHash');
    } finally {
      await counting.end();
    }
  });
});
