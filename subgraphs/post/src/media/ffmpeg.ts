// ffmpeg/ffprobe: the static binaries shipped inside the @ffmpeg-installer/@ffprobe-installer
// npm packages (per-platform optional dependencies; nothing is downloaded at install time).
// FFMPEG_PATH / FFPROBE_PATH override them, e.g. with a system ffmpeg.
import { spawn } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  mkdirSync,
  renameSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

function resolveBinary(envName: string, pkg: string, fallback: string): string {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  let p: string;
  try {
    p = (require(pkg) as { path: string }).path;
  } catch {
    return fallback; // no binary for this platform: use the one on PATH
  }
  try {
    accessSync(p, constants.X_OK);
    return p;
  } catch {
    return executableCopy(p) ?? fallback;
  }
}

// The package's postinstall (`chmod u+x`) is skipped by `npm ci --ignore-scripts` and only
// helps the installing user anyway; a readable but not executable binary (another user,
// as in the Docker image) is run from a private executable copy.
function executableCopy(p: string): string | undefined {
  try {
    const dir = path.join(os.tmpdir(), `mosaic-bin-${process.getuid?.() ?? 'user'}`);
    const copy = path.join(dir, path.basename(p));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (statSync(copy, { throwIfNoEntry: false })?.size !== statSync(p).size) {
      copyFileSync(p, `${copy}.tmp`);
      chmodSync(`${copy}.tmp`, 0o755);
      renameSync(`${copy}.tmp`, copy);
    }
    return copy;
  } catch {
    return undefined;
  }
}

let paths: { ffmpeg: string; ffprobe: string } | undefined;
export function binaries(): { ffmpeg: string; ffprobe: string } {
  paths ??= {
    ffmpeg: resolveBinary('FFMPEG_PATH', '@ffmpeg-installer/ffmpeg', 'ffmpeg'),
    ffprobe: resolveBinary('FFPROBE_PATH', '@ffprobe-installer/ffprobe', 'ffprobe'),
  };
  return paths;
}

export class ToolFailed extends Error {
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(message: string, stderr: string, timedOut: boolean) {
    super(message);
    this.name = 'ToolFailed';
    this.stderr = stderr;
    this.timedOut = timedOut;
  }
}

/** Runs a binary, resolving with stdout; rejects with ToolFailed on a non-zero exit or timeout. */
export function run(bin: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    // Keep only the tail of stderr: enough to explain a failure.
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString('utf8')).slice(-4000);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ToolFailed(`${bin}: ${e.message}`, err, false));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && !timedOut) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(new ToolFailed(`${bin} exited with ${timedOut ? 'timeout' : code}`, err, timedOut));
    });
  });
}
