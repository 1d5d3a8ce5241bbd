import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);
const projectRoot = path.dirname(fileURLToPath(import.meta.url));

/**
 * MOSAIC_UNPATCHED_GATEWAY=<dir>: `@apollo/gateway` and its subpaths come from <dir>, an
 * unpatched copy of the package as published (scripts/unpatched-gateway.sh makes one and
 * runs the gateway tests on it), so the tests tell whether patches/ changes any answer.
 * <dir> must lie under this project's node_modules: the copy then loads the project's own
 * graphql and @apollo/* packages, and Vitest leaves it to Node like any dependency.
 */
function unpatchedGateway(): { find: RegExp; replacement: string }[] {
  const dir = process.env.MOSAIC_UNPATCHED_GATEWAY;
  if (!dir) return [];
  const root = path.resolve(dir);
  const pkgFile = path.join(root, 'package.json');
  if (!existsSync(pkgFile)) throw new Error(`MOSAIC_UNPATCHED_GATEWAY: no ${pkgFile}`);
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name?: string; main?: string };
  if (pkg.name !== '@apollo/gateway' || !pkg.main) {
    throw new Error(`MOSAIC_UNPATCHED_GATEWAY: ${root} is not @apollo/gateway`);
  }
  if (!root.startsWith(path.join(projectRoot, 'node_modules') + path.sep)) {
    throw new Error(`MOSAIC_UNPATCHED_GATEWAY: ${root} is not under ./node_modules`);
  }
  return [
    { find: /^@apollo\/gateway$/, replacement: path.join(root, pkg.main) },
    { find: /^@apollo\/gateway\//, replacement: `${root}/` },
  ];
}

export default defineConfig({
  resolve: {
    alias: [
      // Apollo's packages load graphql's CommonJS build; our sources must get the same
      // instance, or graphql-js refuses types "from another module or realm". (Plain Node
      // already resolves both to the CommonJS build; only Vite prefers the ESM one.)
      { find: /^graphql$/, replacement: require.resolve('graphql') },
      ...unpatchedGateway(),
    ],
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
