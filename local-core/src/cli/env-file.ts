import { appendFile, readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';

/**
 * Fills unset variables of `env` from a dotenv file; the environment always wins.
 * A missing file is not an error.
 */
export async function loadEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined) env[name] = value;
  }
}

/** Appends generated settings to a dotenv file, so the next start reuses them. */
export async function appendToEnvFile(path: string, values: Record<string, string>, comment: string): Promise<void> {
  const lines = Object.entries(values).map(([name, value]) => `${name}=${value}`);
  if (lines.length === 0) return;
  await appendFile(path, `\n# ${comment}\n${lines.join('\n')}\n`, { mode: 0o600 });
}
