// Runs once before all test files: migrates a template database that every test file
// clones (CREATE DATABASE ... TEMPLATE), which is much faster than migrating per file.
// The template is named per run, so two test runs on one machine do not collide.
import pg from 'pg';
import { migrate } from '../../lib/platform/migrate.js';
import { adminUrl, baseUrl } from './env.js';

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const template = `mosaic_test_template_${process.pid}`;
  process.env.MOSAIC_TEST_TEMPLATE = template; // inherited by the test workers
  await dropDatabase(template);
  await migrate(baseUrl(template));
  return () => dropDatabase(template);
}
