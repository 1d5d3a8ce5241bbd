// ffmpeg/ffprobe parse untrusted uploads, so a maintained build is wanted: FFMPEG_PATH /
// FFPROBE_PATH when set (the Docker image sets Debian's /usr/bin ones); else the ffmpeg/ffprobe
// found on PATH (Debian's package, Homebrew's...); else, as a last resort, the static binaries
// shipped inside the @ffmpeg-installer/@ffprobe-installer npm packages (ffmpeg there is a
// 2018 build), with a one-time warning at post-service start (reportTools).
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

export type Tool = 'ffmpeg' | 'ffprobe';
/** Where a binary came from: the FFMPEG_PATH/FFPROBE_PATH variable, PATH, the npm package, or nowhere. */
export type BinarySource = 'env' | 'path' | 'npm' | 'missing';
export interface ResolvedBinary {
  path: string;
  source: BinarySource;
}

const NPM_PACKAGES: Record<Tool, string> = {
  ffmpeg: '@ffmpeg-installer/ffmpeg',
  ffprobe: '@ffprobe-installer/ffprobe',
};

export const INSTALL_HINT =
  'install a maintained ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg) or set FFMPEG_PATH/FFPROBE_PATH';

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` in the directories of a PATH string, like `command -v`. */
export function findOnPath(name: string, pathValue: string | undefined): string | undefined {
  const names = process.platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of (pathValue ?? '').split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue; // a relative entry would depend on the cwd
    for (const n of names) {
      const candidate = path.join(dir, n);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/** The npm-shipped binary (made executable if need be), or undefined for none on this platform. */
export function npmBinary(tool: Tool): string | undefined {
  let p: string;
  try {
    p = (require(NPM_PACKAGES[tool]) as { path: string }).path;
  } catch {
    return undefined;
  }
  try {
    accessSync(p, constants.X_OK);
    return p;
  } catch {
    return executableCopy(p);
  }
}

/** FFMPEG_PATH/FFPROBE_PATH, else PATH, else the npm package, else the bare name (fails when run). */
export function resolveBinary(
  tool: Tool,
  env: NodeJS.ProcessEnv = process.env,
  fromNpm: (tool: Tool) => string | undefined = npmBinary,
): ResolvedBinary {
  const fromEnv = env[`${tool.toUpperCase()}_PATH`];
  if (fromEnv) return { path: fromEnv, source: 'env' };
  const onPath = findOnPath(tool, env.PATH);
  if (onPath) return { path: onPath, source: 'path' };
  const npm = fromNpm(tool);
  if (npm) return { path: npm, source: 'npm' };
  return { path: tool, source: 'missing' };
}

// The package's postinstall (`chmod u+x`) is skipped by `npm ci --ignore-scripts` and only
// helps the installing user anyway; a readable but not executable binary (another user)
// is run from a private executable copy.
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

let resolved: Record<Tool, ResolvedBinary> | undefined;
function resolvedBinaries(): Record<Tool, ResolvedBinary> {
  resolved ??= { ffmpeg: resolveBinary('ffmpeg'), ffprobe: resolveBinary('ffprobe') };
  return resolved;
}

export function binaries(): { ffmpeg: string; ffprobe: string } {
  const r = resolvedBinaries();
  return { ffmpeg: r.ffmpeg.path, ffprobe: r.ffprobe.path };
}

const versions = new Map<string, Promise<string>>();
/** The first line of `<bin> -version` (e.g. "ffmpeg version 5.1.6-0+deb12u1 ..."), cached per binary. */
export function toolVersion(bin: string): Promise<string> {
  let v = versions.get(bin);
  if (!v) {
    v = run(bin, ['-version'], 10_000).then((out) => out.split('\n', 1)[0]?.trim() ?? '');
    versions.set(bin, v);
  }
  return v;
}

interface ToolLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

let reported: Promise<void> | undefined;
/**
 * Logs, once per process, which ffmpeg/ffprobe the post service runs and their version, and
 * warns when they are the npm-shipped last resort or cannot be run at all (videos are then
 * refused). Never throws.
 */
export function reportTools(logger: ToolLogger): Promise<void> {
  reported ??= (async () => {
    const r = resolvedBinaries();
    const fields: Record<string, unknown> = {};
    const broken: string[] = [];
    for (const tool of ['ffmpeg', 'ffprobe'] as const) {
      fields[tool] = r[tool].path;
      fields[`${tool}Source`] = r[tool].source;
      try {
        fields[`${tool}Version`] = await toolVersion(r[tool].path);
      } catch (err) {
        broken.push(tool);
        fields[`${tool}Error`] = err instanceof Error ? err.message : String(err);
      }
    }
    logger.info(fields, 'media tools');
    const fromNpm = (['ffmpeg', 'ffprobe'] as const).filter((t) => r[t].source === 'npm');
    if (fromNpm.length > 0) {
      logger.warn(
        { tools: fromNpm },
        `using the npm-shipped ${fromNpm.join('/')} (@ffmpeg-installer's ffmpeg is a 2018 build) to parse untrusted uploads: ${INSTALL_HINT}`,
      );
    }
    if (broken.length > 0) {
      logger.warn(
        { tools: broken },
        `${broken.join('/')} cannot be run: video uploads will be refused; ${INSTALL_HINT}`,
      );
    }
  })();
  return reported;
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
