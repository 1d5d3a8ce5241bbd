import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'graphql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  findApproval,
  findBreakingChanges,
  parseApprovals,
  partitionByApproval,
  type Approval,
} from '../breaking.js';
import { checkVersionHistory, diffHint, runSchemaCheck, writeComposedSchemas } from '../check.js';
import {
  composeSupergraph,
  CompositionError,
  GENERATED_HEADER,
  loadSubgraphs,
  type SubgraphSource,
} from '../compose.js';

// Vite resolves `graphql` to its ESM build for our sources, while externalized dependencies
// (@apollo/*, @graphql-inspector) get the CommonJS build that Node itself loads; graphql-js
// rejects schemas crossing the two instances. Use the CommonJS one everywhere, as in production.
vi.mock('graphql', () => createRequire(import.meta.url)('graphql') as object);

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

const USER_SDL = `${LINK}
type Query { me: User }
type User @key(fields: "id") { id: ID! username: String! email: String }`;

const POST_SDL = `${LINK}
type Query { post(id: ID!): Post }
type Post @key(fields: "id") { id: ID! caption: String author: User! }
type User @key(fields: "id") { id: ID! posts: [Post!]! }`;

function subgraph(name: string, sdl: string): SubgraphSource {
  return { name, url: `http://127.0.0.1:4000/${name}`, typeDefs: parse(sdl) };
}

const tempDirs: string[] = [];
async function tempRoot(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mosaic-schema-'));
  tempDirs.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  return dir;
}
afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('composeSupergraph', () => {
  it('composes two subgraphs; the API schema hides federation internals', () => {
    const { supergraphSdl, apiSchemaSdl } = composeSupergraph([
      subgraph('post', POST_SDL),
      subgraph('user', USER_SDL),
    ]);
    expect(supergraphSdl.startsWith(GENERATED_HEADER)).toBe(true);
    expect(apiSchemaSdl.startsWith(GENERATED_HEADER)).toBe(true);
    expect(supergraphSdl).toContain('join__Graph');
    expect(supergraphSdl).toContain('http://127.0.0.1:4000/user');

    const api = apiSchemaSdl;
    for (const internal of ['_entities', '_service', '_Any', 'join__', 'link__', '@key', '@link']) {
      expect(api).not.toContain(internal);
    }
    // Fields from both subgraphs are merged into one User type.
    expect(api).toMatch(/type User \{[^}]*email: String[^}]*posts: \[Post!\]![^}]*\}/s);
    expect(api).toContain('post(id: ID!): Post');
  });

  it('reports every composition error with its code', () => {
    const other = `${LINK}
type Query { userByName(name: String!): User }
type User @key(fields: "id") { id: ID! username: String! }`;
    let error: unknown;
    try {
      composeSupergraph([subgraph('user', USER_SDL), subgraph('other', other)]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CompositionError);
    const problems = (error as CompositionError).problems;
    expect(problems.map((p) => p.code)).toContain('INVALID_FIELD_SHARING');
    expect((error as Error).message).toContain('[INVALID_FIELD_SHARING]');
    expect((error as Error).message).toContain('User.username');
  });

  it('loads only subgraph folders that have a schema, sorted by name', async () => {
    const root = await tempRoot({
      'subgraphs/user/schema.graphql': USER_SDL,
      'subgraphs/post/schema.graphql': POST_SDL,
      'subgraphs/feed/src/index.ts': '',
    });
    const loaded = await loadSubgraphs(root);
    expect(loaded.map((s) => [s.name, s.url])).toEqual([
      ['post', 'http://127.0.0.1:4002/graphql'],
      ['user', 'http://127.0.0.1:4001/graphql'],
    ]);
  });
});

describe('breaking changes', () => {
  const before = 'type Query { me: User }\ntype User { id: ID! email: String }';

  it('detects a removed field as breaking', async () => {
    const changes = await findBreakingChanges(
      before,
      'type Query { me: User }\ntype User { id: ID! }',
    );
    expect(changes).toEqual([
      expect.objectContaining({ type: 'FIELD_REMOVED', path: 'User.email' }),
    ]);
  });

  it('does not treat an added field as breaking', async () => {
    const after = 'type Query { me: User }\ntype User { id: ID! email: String bio: String }';
    expect(await findBreakingChanges(before, after)).toEqual([]);
  });

  it('matches approvals on type and path', () => {
    const approvals: Approval[] = parseApprovals([
      {
        type: 'FIELD_REMOVED',
        path: 'User.email',
        reason: 'email is private',
        approvedBy: 'lead',
        date: '2025-01-01',
      },
    ]);
    const removed = { type: 'FIELD_REMOVED', path: 'User.email', message: 'removed' };
    const other = { type: 'FIELD_REMOVED', path: 'User.bio', message: 'removed' };
    expect(findApproval(removed, approvals)?.approvedBy).toBe('lead');
    expect(findApproval({ ...removed, type: 'TYPE_REMOVED' }, approvals)).toBeUndefined();
    expect(partitionByApproval([removed, other], approvals)).toEqual({
      approved: [removed],
      unapproved: [other],
    });
  });

  it('rejects malformed approvals', () => {
    expect(() => parseApprovals([{ type: 'FIELD_REMOVED', path: 'User.email' }])).toThrow(/reason/);
    expect(() => parseApprovals({})).toThrow(/invalid/);
  });

  it('checks every consecutive pair of versions', async () => {
    const v = (commit: string, content: string) => ({ commit, label: commit, content });
    const versions = [
      v('a', before),
      v('b', 'type Query { me: User }\ntype User { id: ID! }'),
      v('c', 'type Query { me: User viewer: User }\ntype User { id: ID! }'),
      v('d', 'type Query { viewer: User }\ntype User { id: ID! }'),
    ];
    const approvals = parseApprovals([
      {
        type: 'FIELD_REMOVED',
        path: 'User.email',
        reason: 'r',
        approvedBy: 'x',
        date: '2025-01-02',
      },
    ]);
    const result = await checkVersionHistory(versions, approvals);
    expect(result.pairs).toBe(3);
    expect(result.approvedCount).toBe(1);
    expect(result.violations.map((x) => [x.change.path, x.version.commit])).toEqual([
      ['Query.me', 'd'],
    ]);
  });
});

describe('runSchemaCheck', () => {
  const gitEnv = {
    ...process.env,
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@example.com',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@example.com',
  };
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, { cwd, env: gitEnv, stdio: 'pipe' });

  it('passes when fresh, fails when stale, and fails on an unapproved break in history', async () => {
    const root = await tempRoot({
      'subgraphs/user/schema.graphql': USER_SDL,
      'schema/approvals.json': '[]',
    });
    git(root, 'init', '-q', '-b', 'main');
    await writeComposedSchemas(root);
    const fresh = await runSchemaCheck(root);
    expect(fresh.errors).toEqual([]);
    expect(fresh.notes.join('\n')).toContain('no git history');

    git(root, 'add', '.');
    git(root, 'commit', '-q', '-m', 'first');

    // Removing User.email: the working tree is stale until recomposed, then breaking.
    await writeFile(
      path.join(root, 'subgraphs/user/schema.graphql'),
      USER_SDL.replace(' email: String', ''),
    );
    const stale = await runSchemaCheck(root);
    expect(stale.ok).toBe(false);
    expect(stale.errors.join('\n')).toContain('schema/api.graphql is stale');
    expect(stale.errors.join('\n')).toContain('-  email: String');

    await writeComposedSchemas(root);
    git(root, 'commit', '-q', '-am', 'drop email');
    const broken = await runSchemaCheck(root);
    expect(broken.ok).toBe(false);
    expect(broken.errors.join('\n')).toMatch(/FIELD_REMOVED at User\.email.*"drop email"/);

    await writeFile(
      path.join(root, 'schema/approvals.json'),
      JSON.stringify([
        {
          type: 'FIELD_REMOVED',
          path: 'User.email',
          reason: 'r',
          approvedBy: 'x',
          date: '2025-01-03',
        },
      ]),
    );
    const approved = await runSchemaCheck(root);
    expect(approved.errors).toEqual([]);
    expect(approved.summary).toContain('1 approved breaking change');
    expect(await readFile(path.join(root, 'schema/api.graphql'), 'utf8')).not.toContain('email');
  });

  it('fails when composition fails', async () => {
    const root = await tempRoot({ 'subgraphs/user/schema.graphql': 'type Query { me: Nope }' });
    const report = await runSchemaCheck(root);
    expect(report.ok).toBe(false);
    expect(report.errors.join('\n')).toContain('Nope');
  });

  it('reports a subgraph syntax error with file and line', async () => {
    const root = await tempRoot({ 'subgraphs/user/schema.graphql': 'type Query {\n  me: }' });
    await expect(loadSubgraphs(root)).rejects.toThrow(
      /\[GRAPHQL_PARSE_FAILED\] subgraphs\/user\/schema\.graphql:2:7: Syntax Error/,
    );
  });
});

describe('diffHint', () => {
  it('shows removed and added lines', () => {
    const hint = diffHint('a\nb\nc\n', 'a\nB\nc\n', 'x.graphql');
    expect(hint).toContain('-b');
    expect(hint).toContain('+B');
  });
});
