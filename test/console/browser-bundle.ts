// Bundles browser code the way the console does (esbuild, platform 'browser') and lists what of
// Node it would drag in, from the metafile. Node-only modules are marked external rather than
// left to fail resolution, so one build names every offender and the file that imports it.
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Packages that only run in Node: Dawn's bindings, the logger, Redis and the queue. */
export const NODE_ONLY_PACKAGES = ['webgpu', 'pino', 'ioredis', 'bullmq'];

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export function isNodeOnly(spec: string): boolean {
  return spec.startsWith('node:') || builtins.has(spec) || NODE_ONLY_PACKAGES.includes(packageOf(spec));
}

const flagNodeOnly: esbuild.Plugin = {
  name: 'flag-node-only',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => (isNodeOnly(args.path) ? { path: args.path, external: true } : null));
  },
};

export type Entry = { file: string } | { source: string };

export interface BrowserBundle {
  code: string;
  metafile: esbuild.Metafile;
}

/** An in-memory ESM bundle for the browser, with the console's settings (JSX for Preact). */
export async function bundleForBrowser(entry: Entry, minify = false): Promise<BrowserBundle> {
  const r = await esbuild.build({
    ...('file' in entry
      ? { entryPoints: [path.resolve(REPO, entry.file)] }
      : { stdin: { contents: entry.source, resolveDir: REPO, loader: 'tsx', sourcefile: 'entry.tsx' } }),
    bundle: true,
    write: false,
    metafile: true,
    platform: 'browser',
    format: 'esm',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify,
    logLevel: 'silent',
    plugins: [flagNodeOnly],
  });
  return { code: r.outputFiles[0].text, metafile: r.metafile };
}

/** "importer → module" for each Node-only module the bundle refers to (empty when clean). */
export function nodeOnlyImports(metafile: esbuild.Metafile): string[] {
  const found: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imp of input.imports) if (isNodeOnly(imp.path)) found.push(`${file} → ${imp.path}`);
    // A Node-only package that was bundled anyway (e.g. through a browser field) is still wrong.
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
    if (pkg && NODE_ONLY_PACKAGES.includes(pkg)) found.push(`${file} (package ${pkg})`);
  }
  return found;
}
