// Which ffmpeg/ffprobe the post service runs: FFMPEG_PATH/FFPROBE_PATH, else the system ones
// on PATH, else the npm-shipped last resort (ffmpeg there is a 2018 build).
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  binaries,
  findOnPath,
  reportTools,
  resolveBinary,
  toolVersion,
} from '../src/media/ffmpeg.js';

let dir: string;
let other: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-ffmpeg-path-'));
  other = await mkdtemp(path.join(os.tmpdir(), 'mosaic-ffmpeg-other-'));
  for (const tool of ['ffmpeg', 'ffprobe']) {
    const stub = path.join(dir, tool);
    await writeFile(
      stub,
      `#!/bin/sh\necho "${tool} version 9.9-stub Copyright (c) 2000-2026 the FFmpeg developers"\necho second line\n`,
    );
    await chmod(stub, 0o755);
  }
  // Not executable: PATH lookup passes over it, as `command -v` does.
  await writeFile(path.join(other, 'ffmpeg'), '#!/bin/sh\n');
  await chmod(path.join(other, 'ffmpeg'), 0o644);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(other, { recursive: true, force: true });
});

const noNpm = () => undefined;
const npm = (tool: string) => `/npm/${tool}`;

describe.skipIf(process.platform === 'win32')('ffmpeg binary resolution', () => {
  it('prefers FFMPEG_PATH/FFPROBE_PATH', () => {
    const env = { FFMPEG_PATH: '/opt/x/ffmpeg', FFPROBE_PATH: '/opt/x/ffprobe', PATH: dir };
    expect(resolveBinary('ffmpeg', env, npm)).toEqual({ path: '/opt/x/ffmpeg', source: 'env' });
    expect(resolveBinary('ffprobe', env, npm)).toEqual({ path: '/opt/x/ffprobe', source: 'env' });
  });

  it('then takes the first executable one on PATH over the npm-shipped one', () => {
    const PATH = [other, 'relative/dir', dir].join(path.delimiter);
    expect(resolveBinary('ffmpeg', { PATH }, npm)).toEqual({
      path: path.join(dir, 'ffmpeg'),
      source: 'path',
    });
    expect(resolveBinary('ffprobe', { PATH }, npm)).toEqual({
      path: path.join(dir, 'ffprobe'),
      source: 'path',
    });
    expect(findOnPath('ffmpeg', other)).toBeUndefined();
  });

  it('falls back to the npm-shipped binary, then to the bare name', () => {
    expect(resolveBinary('ffmpeg', { PATH: other }, npm)).toEqual({
      path: '/npm/ffmpeg',
      source: 'npm',
    });
    expect(resolveBinary('ffmpeg', {}, noNpm)).toEqual({ path: 'ffmpeg', source: 'missing' });
  });

  it("reads a binary's version from the first line of -version", async () => {
    await expect(toolVersion(path.join(dir, 'ffmpeg'))).resolves.toBe(
      'ffmpeg version 9.9-stub Copyright (c) 2000-2026 the FFmpeg developers',
    );
  });
});

// On a machine with Debian's (or any system) ffmpeg, as CI and the Docker image have.
describe.skipIf(!existsSync('/usr/bin/ffmpeg') || !existsSync('/usr/bin/ffprobe'))(
  'the ffmpeg in use',
  () => {
    it('is the system one, not the 2018 npm-shipped build', async () => {
      const { ffmpeg, ffprobe } = binaries();
      if (!process.env.FFMPEG_PATH) expect(ffmpeg).toBe(findOnPath('ffmpeg', process.env.PATH));
      if (!process.env.FFPROBE_PATH) expect(ffprobe).toBe(findOnPath('ffprobe', process.env.PATH));
      expect(ffmpeg).not.toMatch(/@ffmpeg-installer|mosaic-bin-/);
      expect(ffprobe).not.toMatch(/@ffprobe-installer|mosaic-bin-/);
      const version = await toolVersion(ffmpeg);
      expect(version).toMatch(/^ffmpeg version \S+/);
      expect(version).not.toMatch(/johnvansickle|-static/);
      // "Copyright (c) 2000-2018": the year of the build.
      const year = Number(/Copyright \(c\) \d{4}-(\d{4})/.exec(version)?.[1]);
      expect(year).toBeGreaterThan(2018);
    });

    it('is logged once, with its version and no warning', async () => {
      const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
      const logger = {
        info: (obj: object, msg: string) => lines.push({ level: 'info', obj: { ...obj }, msg }),
        warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: { ...obj }, msg }),
      };
      await reportTools(logger);
      await reportTools(logger);
      // Another test in this process (a started post service) may have reported first.
      expect(lines.length).toBeLessThanOrEqual(1);
      for (const line of lines) {
        expect(line.level).toBe('info');
        expect(line.msg).toBe('media tools');
        expect(line.obj.ffmpegVersion).toMatch(/^ffmpeg version /);
        expect(line.obj.ffprobeVersion).toMatch(/^ffprobe version /);
      }
    });
  },
);
