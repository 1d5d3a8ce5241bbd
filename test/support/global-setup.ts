// Runs once before all test files: migrates a template database that every test file
// clones (CREATE DATABASE ... TEMPLATE), which is much faster than migrating per file.
import pg from 'pg';
import { migrate } from '../../lib/migrate.js';
import { TEMPLATE_DB, adminUrl, baseUrl } from './env.js';

export default async function setup(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await migrate(baseUrl(TEMPLATE_DB));
}
