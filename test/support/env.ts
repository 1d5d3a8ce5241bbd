// Where the test suite finds Postgres, Redis and NATS (the machine's loopback services by
// default; override with TEST_DATABASE_URL, TEST_REDIS_URL, TEST_NATS_URL).
export const TEMPLATE_DB = 'mosaic_test_template';

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
