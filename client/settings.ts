// Where the CLI finds the server URL and token: flags, then USINE_URL / USINE_TOKEN, then
// the user's config file ($XDG_CONFIG_HOME/usine/config.json or ~/.config/usine/config.json).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function configPath(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'usine', 'config.json');
}

export function resolveSettings(flags: { url?: string; token?: string }): { url: string; token?: string } {
  let file: { url?: string; token?: string } = {};
  const p = configPath();
  if (fs.existsSync(p)) {
    try {
      file = JSON.parse(fs.readFileSync(p, 'utf8'));
    } catch (e) {
      throw new Error(`cannot read ${p}: ${(e as Error).message}`);
    }
  }
  return {
    url: flags.url ?? process.env.USINE_URL ?? file.url ?? 'http://127.0.0.1:8700',
    token: flags.token ?? process.env.USINE_TOKEN ?? file.token,
  };
}
