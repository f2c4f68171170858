// The console's browser code, bundled in memory by esbuild once per process (no build step:
// `npm start` serves it). platform 'browser' makes any Node-only import (node:*, Dawn, Redis
// clients) a bundle error instead of a page that breaks at load.
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const APP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'app');

export interface ConsoleBundle {
  js: string;
  css: string;
  /** Hash of both, for cache-busting URLs. */
  version: string;
}

export class ConsoleBundleError extends Error {
  override name = 'ConsoleBundleError';
}

export async function bundleConsole(): Promise<ConsoleBundle> {
  const r = await build({
    entryPoints: [path.join(APP, 'main.tsx')],
    bundle: true,
    write: false,
    outdir: path.join(APP, 'out'),
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    logLevel: 'silent',
  }).catch((e: { errors?: { text: string; location?: { file: string; line: number } | null }[] }) => {
    const lines = (e.errors ?? []).map(
      (x) => `${x.location ? `${x.location.file}:${x.location.line}: ` : ''}${x.text}`,
    );
    throw new ConsoleBundleError(`cannot bundle the web console: ${lines.join('; ') || String(e)}`);
  });
  const out = (ext: string) => r.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  const js = out('.js');
  const css = out('.css');
  const version = crypto.createHash('sha256').update(js).update(css).digest('hex').slice(0, 12);
  return { js, css, version };
}
