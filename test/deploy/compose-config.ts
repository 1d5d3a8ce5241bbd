// docker-compose.yml as an operator who copied .env.example gets it: merge keys resolved and
// every ${VAR...} interpolated the way compose does, with .env.example as the environment.
// The deploy tests read the configuration from here rather than from hand-copied values.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ComposeService {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  deploy?: { replicas?: string };
}

export interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** KEY=value lines of a dotenv file (comments and blank lines skipped). */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * Compose's interpolation: ${VAR}, ${VAR:-default} / ${VAR-default}, ${VAR:?error} /
 * ${VAR?error} and $$ for a literal dollar. A required variable that is missing throws, as
 * compose refuses to start then.
 */
export function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (whole, name: string | undefined, colon: string, op: string, arg: string) => {
      if (whole === '$$') return '$';
      const value = env[name!];
      const unset = value === undefined || (colon === ':' && value === '');
      if (op === '-') return unset ? arg : value;
      if (op === '?') {
        if (unset) throw new Error(`${name}: ${arg}`);
        return value;
      }
      return value ?? '';
    },
  );
}

function interpolateDeep(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)]));
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

export const envExample = parseDotenv(readFileSync('.env.example', 'utf8'));

/** The compose file interpolated with `env` (.env.example by default). */
export function loadCompose(env: Record<string, string> = envExample): Compose {
  const raw = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as unknown;
  return interpolateDeep(raw, env) as Compose;
}

/** The value of `--flag value` (or `-c name=value` for Postgres) in a service's command. */
export function commandOption(command: string[] | undefined, flag: string): string | undefined {
  if (!command) return undefined;
  const i = command.indexOf(flag);
  return i >= 0 ? command[i + 1] : undefined;
}

export function postgresSetting(command: string[] | undefined, name: string): string | undefined {
  for (let i = 0; command && i < command.length - 1; i++) {
    if (command[i] !== '-c') continue;
    const [k, v] = command[i + 1]!.split('=');
    if (k === name) return v;
  }
  return undefined;
}
