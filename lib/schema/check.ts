// `schema:compose` and `schema:check`: write the composed schemas, or verify them like a registry.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  findBreakingChanges,
  loadApprovals,
  partitionByApproval,
  type Approval,
  type BreakingChange,
} from './breaking.js';
import {
  composeSupergraph,
  CompositionError,
  loadSubgraphs,
  type ComposedSchemas,
} from './compose.js';
import { readFileHistory, type FileVersion } from './history.js';

export const SUPERGRAPH_PATH = 'schema/supergraph.graphql';
export const API_SCHEMA_PATH = 'schema/api.graphql';
export const APPROVALS_PATH = 'schema/approvals.json';

export interface CheckReport {
  ok: boolean;
  errors: string[];
  /** Informational lines (hints, skipped checks). */
  notes: string[];
  summary: string;
}

export interface ComposeReport {
  subgraphs: string[];
  hints: string[];
  written: string[];
}

/** Composes subgraphs under rootDir and writes schema/supergraph.graphql and schema/api.graphql. */
export async function writeComposedSchemas(rootDir: string): Promise<ComposeReport> {
  const subgraphs = await loadSubgraphs(rootDir);
  const composed = composeSupergraph(subgraphs);
  await mkdir(path.join(rootDir, 'schema'), { recursive: true });
  await writeFile(path.join(rootDir, SUPERGRAPH_PATH), composed.supergraphSdl);
  await writeFile(path.join(rootDir, API_SCHEMA_PATH), composed.apiSchemaSdl);
  return {
    subgraphs: subgraphs.map((s) => s.name),
    hints: composed.hints,
    written: [SUPERGRAPH_PATH, API_SCHEMA_PATH],
  };
}

export interface RegistryViolation {
  change: BreakingChange;
  /** The version that introduced the change. */
  version: FileVersion;
  previous: FileVersion;
}

/** Diffs each consecutive pair of versions; returns breaking changes with no matching approval. */
export async function checkVersionHistory(
  versions: readonly FileVersion[],
  approvals: readonly Approval[],
): Promise<{ violations: RegistryViolation[]; approvedCount: number; pairs: number }> {
  const violations: RegistryViolation[] = [];
  let approvedCount = 0;
  let pairs = 0;
  for (let i = 1; i < versions.length; i++) {
    const previous = versions[i - 1];
    const version = versions[i];
    if (!previous || !version) continue;
    pairs++;
    if (normalize(previous.content) === normalize(version.content)) continue;
    const changes = await findBreakingChanges(previous.content, version.content);
    const { approved, unapproved } = partitionByApproval(changes, approvals);
    approvedCount += approved.length;
    for (const change of unapproved) violations.push({ change, version, previous });
  }
  return { violations, approvedCount, pairs };
}

/** The full CI check: composition, staleness of the committed files, and breaking changes. */
export async function runSchemaCheck(rootDir: string): Promise<CheckReport> {
  const errors: string[] = [];
  const notes: string[] = [];

  let composed: ComposedSchemas;
  let subgraphNames: string[];
  try {
    const subgraphs = await loadSubgraphs(rootDir);
    subgraphNames = subgraphs.map((s) => s.name);
    composed = composeSupergraph(subgraphs);
  } catch (err) {
    const message = err instanceof CompositionError ? err.message : `${String(err)}`;
    return { ok: false, errors: [message], notes, summary: 'schema check failed: composition' };
  }
  notes.push(...composed.hints.map((h) => `composition hint: ${h}`));

  // (b) the committed artifacts must match a fresh composition.
  for (const [rel, fresh] of [
    [SUPERGRAPH_PATH, composed.supergraphSdl],
    [API_SCHEMA_PATH, composed.apiSchemaSdl],
  ] as const) {
    const committed = await readOptional(path.join(rootDir, rel));
    if (committed === undefined) {
      errors.push(`${rel} is missing; run npm run schema:compose and commit it`);
    } else if (normalize(committed) !== normalize(fresh)) {
      errors.push(
        `${rel} is stale (differs from a fresh composition); run npm run schema:compose\n` +
          diffHint(committed, fresh, rel),
      );
    }
  }

  // (c) registry check over the history of the client-facing schema.
  let approvals: Approval[];
  try {
    approvals = await loadApprovals(path.join(rootDir, APPROVALS_PATH));
  } catch (err) {
    errors.push(String(err instanceof Error ? err.message : err));
    approvals = [];
  }
  const history = readFileHistory(rootDir, API_SCHEMA_PATH);
  const working = await readOptional(path.join(rootDir, API_SCHEMA_PATH));
  const versions: FileVersion[] = [...history.versions];
  if (working !== undefined)
    versions.push({ commit: null, label: 'working tree', content: working });
  if (!history.gitAvailable) {
    notes.push(
      'not a git checkout (or git missing): registry check has no history to compare the working tree with',
    );
  } else if (history.versions.length === 0) {
    notes.push(`no git history for ${API_SCHEMA_PATH}: nothing to compare the working tree with`);
  } else if (history.shallow) {
    notes.push('shallow clone: registry check covers only the fetched history (use fetch-depth 0)');
  }
  const { violations, approvedCount, pairs } = await checkVersionHistory(versions, approvals);
  for (const v of violations) {
    errors.push(
      `unapproved breaking change ${v.change.type} at ${v.change.path || '(schema)'}: ` +
        `${v.change.message} (introduced in ${describe(v.version)}, after ${describe(v.previous)}); ` +
        `approve it in ${APPROVALS_PATH} or restore compatibility`,
    );
  }

  const ok = errors.length === 0;
  const summary = ok
    ? `schema check passed: ${subgraphNames.length} subgraph(s) (${subgraphNames.join(', ')}) compose, ` +
      `artifacts up to date, ${pairs} version pair(s) checked, ${approvedCount} approved breaking change(s)`
    : `schema check failed: ${errors.length} problem(s)`;
  return { ok, errors, notes, summary };
}

function describe(v: FileVersion): string {
  return v.commit ? `commit ${v.commit.slice(0, 12)} "${v.label}"` : 'the working tree';
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

// Checkouts with CRLF line endings must not count as stale.
function normalize(text: string): string {
  return text.replace(/\r\n/g, '\n').trimEnd();
}

/** A short unified-style hint: the first differing hunk(s), capped at maxLines. */
export function diffHint(oldText: string, newText: string, label: string, maxLines = 30): string {
  const a = normalize(oldText).split('\n');
  const b = normalize(newText).split('\n');
  // Trim the common prefix and suffix so the LCS table stays small.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  const lines: string[] = [];
  if (n * m > 4_000_000) {
    lines.push(...midA.map((l) => `-${l}`), ...midB.map((l) => `+${l}`));
  } else {
    // lcs[i][j] = LCS length of midA[i..] and midB[j..], flattened.
    const lcs = new Uint32Array((n + 1) * (m + 1));
    const at = (i: number, j: number) => lcs[i * (m + 1) + j] ?? 0;
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] =
          midA[i] === midB[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        lines.push(` ${midA[i]}`);
        i++;
        j++;
      } else if (j < m && (i >= n || at(i, j + 1) >= at(i + 1, j))) {
        lines.push(`+${midB[j]}`);
        j++;
      } else {
        lines.push(`-${midA[i]}`);
        i++;
      }
    }
  }
  const shown = lines.slice(0, maxLines);
  if (lines.length > maxLines) shown.push(`... (${lines.length - maxLines} more lines)`);
  return [`--- ${label} (committed)`, `+++ ${label} (fresh)`, `@@ line ${start + 1} @@`, ...shown]
    .map((l) => `    ${l}`)
    .join('\n');
}
