// npm run bench [name...] — runs bench/<name>.bench.ts (compiled) one after another and
// writes each result to bench/results/<name>.json. With no names, runs them all.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const all = (await readdir(here))
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.replace(/\.bench\.js$/, ''));
const names = wanted.length ? wanted : all;
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ') || '(none)'}`,
  );
  process.exit(1);
}
for (const name of names) {
  console.log(`\n== ${name}`);
  const mod = (await import(pathToFileURL(path.join(here, `${name}.bench.js`)).href)) as {
    run(): Promise<void>;
  };
  await mod.run();
}
