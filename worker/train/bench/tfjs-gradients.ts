// TF.js autograd in Node: @tensorflow/tfjs-core's CommonJS build (what Node loads) has no
// gradients registered — the union package registers them from
// `dist/register_all_gradients`, an ES module with extension-less imports that Node cannot
// load. We bundle that module to CommonJS with esbuild (already here, under tsx) and
// require it; its gradient configs land in TF.js's global registry, which every copy of
// tfjs-core shares.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export async function registerTfjsGradients(): Promise<void> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const { build } = (await import('esbuild' as string)) as { build: (o: Record<string, unknown>) => Promise<unknown> };
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'usine-tfjs-grads-')), 'register_all_gradients.cjs');
  await build({ entryPoints: [entry], bundle: true, format: 'cjs', platform: 'node', outfile: out, logLevel: 'error' });
  require(out);
}
