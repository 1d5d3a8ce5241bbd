// Versions of a committed file from git history, oldest first, for registry-style checks.
import { execFileSync } from 'node:child_process';

export interface FileVersion {
  /** Full commit hash, or null for the working-tree copy. */
  commit: string | null;
  /** Commit subject, or "working tree". */
  label: string;
  content: string;
}

export interface FileHistory {
  /** False when git is missing or rootDir is not inside a repository. */
  gitAvailable: boolean;
  shallow: boolean;
  /** Committed versions, oldest first (the working tree is not included). */
  versions: FileVersion[];
}

function git(rootDir: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd: rootDir,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Walks `git log --follow` of relPath. --first-parent keeps to the mainline: a merge is one
 * version (its net change), so a break introduced and reverted on a side branch is not reported.
 */
export function readFileHistory(rootDir: string, relPath: string): FileHistory {
  try {
    if (git(rootDir, ['rev-parse', '--is-inside-work-tree']).trim() !== 'true') {
      return { gitAvailable: false, shallow: false, versions: [] };
    }
  } catch {
    return { gitAvailable: false, shallow: false, versions: [] };
  }
  const shallow = git(rootDir, ['rev-parse', '--is-shallow-repository']).trim() === 'true';

  let log: string;
  try {
    // NUL-prefixed commit lines cannot be confused with the --name-only path lines.
    log = git(rootDir, [
      'log',
      '--first-parent',
      '--follow',
      '--name-only',
      '--format=%x00%H %s',
      '--',
      relPath,
    ]);
  } catch {
    // An unborn branch (no commits yet) has no history.
    return { gitAvailable: true, shallow, versions: [] };
  }

  const entries: { commit: string; subject: string; path: string | undefined }[] = [];
  for (const line of log.split('\n')) {
    if (line.startsWith('\0')) {
      const [commit = '', ...subject] = line.slice(1).split(' ');
      entries.push({ commit, subject: subject.join(' '), path: undefined });
    } else if (line.trim() !== '') {
      const last = entries.at(-1);
      if (last && last.path === undefined) last.path = line; // path relative to the repo root
    }
  }

  const versions: FileVersion[] = [];
  for (const e of entries.reverse()) {
    if (!e.path) continue;
    let content: string;
    try {
      content = git(rootDir, ['show', `${e.commit}:${e.path}`]);
    } catch {
      continue; // the file was deleted in this commit
    }
    versions.push({ commit: e.commit, label: e.subject, content });
  }
  return { gitAvailable: true, shallow, versions };
}
