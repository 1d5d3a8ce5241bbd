// Where the test suite finds Postgres, Redis and NATS (the machine's loopback services by
// default; override with TEST_DATABASE_URL, TEST_REDIS_URL, TEST_NATS_URL).
/** The migrated template of this test run (named by the global setup). */
export function templateDb(): string {
  const name = process.env.MOSAIC_TEST_TEMPLATE;
  if (!name || !/^[a-z0-9_]+$/.test(name))
    throw new Error('MOSAIC_TEST_TEMPLATE is not set: run the tests with vitest');
  return name;
}

export function adminUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export function baseUrl(database: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${database}`;
  return u.toString();
}

export const redisUrl = (): string => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const natsUrl = (): string => process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
