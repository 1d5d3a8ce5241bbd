// tsc copies no .graphql files; services load their SDL next to their compiled code.
import { cpSync, existsSync, readdirSync } from 'node:fs';

for (const name of readdirSync('subgraphs')) {
  const sdl = `subgraphs/${name}/schema.graphql`;
  if (existsSync(sdl)) cpSync(sdl, `dist/${sdl}`);
}
