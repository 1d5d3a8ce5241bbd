import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, logFormat, openPrettyStream } from '../logger.js';

describe('logFormat', () => {
  it('is pretty for a terminal in development', () => {
    expect(logFormat({ isTTY: true, nodeEnv: 'development', level: 'info' })).toBe('pretty');
  });

  it('is JSON when stdout is not a terminal (pipes, files, log drivers)', () => {
    expect(logFormat({ isTTY: false, nodeEnv: 'development', level: 'info' })).toBe('json');
    expect(logFormat({ isTTY: undefined, nodeEnv: 'development', level: 'info' })).toBe('json');
  });

  it('is JSON in production and in tests, terminal or not', () => {
    expect(logFormat({ isTTY: true, nodeEnv: 'production', level: 'info' })).toBe('json');
    expect(logFormat({ isTTY: true, nodeEnv: 'test', level: 'info' })).toBe('json');
    expect(logFormat({ isTTY: true, nodeEnv: undefined, level: 'info' })).toBe('json');
  });

  it('is JSON when nothing is logged anyway', () => {
    expect(logFormat({ isTTY: true, nodeEnv: 'development', level: 'silent' })).toBe('json');
  });
});

describe('openPrettyStream', () => {
  it('prints one readable line per entry, with the service name and no JSON', () => {
    const out = new PassThrough();
    let text = '';
    // Colours depend on the terminal running the tests: compare the text without them.
    out.on('data', (chunk: Buffer) => (text += stripVTControlCharacters(chunk.toString('utf8'))));
    const stream = openPrettyStream(out);
    expect(stream).not.toBeNull();
    pino({ name: 'gateway', base: { service: 'gateway' } }, stream!).info(
      { port: 4000 },
      'gateway listening',
    );
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(gateway\): gateway listening\n/);
    expect(text).toContain('port: 4000');
    expect(text).not.toContain('"msg"');
  });

  it('is null when pino-pretty cannot be loaded (the production image has no devDependencies)', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module 'pino-pretty'"), {
        code: 'MODULE_NOT_FOUND',
      });
    };
    expect(openPrettyStream(undefined, missing)).toBeNull();
  });
});

describe('createLogger', () => {
  it('keeps the level and the service name whatever the format', () => {
    const logger = createLogger('user', { LOG_LEVEL: 'warn', NODE_ENV: 'test' });
    expect(logger.level).toBe('warn');
    expect(logger.bindings()).toMatchObject({ service: 'user' });
  });
});
