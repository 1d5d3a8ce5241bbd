// npm run schema:compose writes the composed schemas; --check verifies them for CI.
import { runSchemaCheck, writeComposedSchemas } from '../lib/schema/check.js';
import { CompositionError } from '../lib/schema/compose.js';

// npm scripts run from the package root, so the working directory is the repo root.
const rootDir = process.cwd();

async function main(): Promise<number> {
  if (process.argv.includes('--check')) {
    const report = await runSchemaCheck(rootDir);
    for (const note of report.notes) console.log(`note: ${note}`);
    for (const error of report.errors) console.error(`error: ${error}`);
    (report.ok ? console.log : console.error)(report.summary);
    return report.ok ? 0 : 1;
  }
  const result = await writeComposedSchemas(rootDir);
  for (const hint of result.hints) console.log(`composition hint: ${hint}`);
  console.log(
    `Composed ${result.subgraphs.length} subgraph(s) (${result.subgraphs.join(', ')}) into ${result.written.join(' and ')}`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof CompositionError ? err.message : err);
    process.exitCode = 1;
  },
);
