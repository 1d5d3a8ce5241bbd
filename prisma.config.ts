// Prisma CLI configuration. Only `prisma generate` is used on our machines; migrations are
// applied by `npm run db:migrate` (lib/platform/migrate.ts) because Prisma's schema engine cannot be
// downloaded here.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/mosaic' },
});
