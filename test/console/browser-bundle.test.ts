// The kernels page bundles for a browser without any Node-only module (node:*, Dawn's `webgpu`,
// pino, ioredis, bullmq, child processes), and the check does catch one when it is there.
import { describe, expect, it } from 'vitest';
import { bundleForBrowser, nodeOnlyImports } from './browser-bundle.ts';

describe('browser bundle of the console code', () => {
  for (const file of ['scheduler/console/app/kernels/page.tsx', 'kernels/browser.ts']) {
    it(`${file} pulls in nothing Node-only`, async () => {
      const { code, metafile } = await bundleForBrowser({ file });
      expect(nodeOnlyImports(metafile)).toEqual([]);
      // The kernels themselves are in it, not stubs: their WGSL entry points are bundled.
      expect(code).toMatch(/@compute/);
      expect(Object.keys(metafile.inputs).some((f) => f.endsWith('kernels/matmul/matmul.ts'))).toBe(true);
    });
  }

  it('reports a node: import and the file that makes it', async () => {
    const { metafile } = await bundleForBrowser({
      source: "import fs from 'node:fs';\nexport const here = fs.existsSync('/');\n",
    });
    expect(nodeOnlyImports(metafile)).toEqual(['entry.tsx → node:fs']);
  });

  it("reports the Node kernels entry: it opens devices through Dawn's `webgpu` package", async () => {
    const { metafile } = await bundleForBrowser({
      source: "export { openDevice } from './kernels/index.ts';\n",
    });
    const found = nodeOnlyImports(metafile);
    expect(found).toContain('kernels/device.ts → webgpu');
    expect(found.some((f) => f.endsWith('→ node:fs'))).toBe(true); // the tuning store's files
  });

  it('reports the Node benchmark harness (files, child processes)', async () => {
    const { metafile } = await bundleForBrowser({ source: "import './kernels/matmul/matmul-bench.ts';\n" });
    const found = nodeOnlyImports(metafile);
    expect(found).toContain('kernels/bench/registry.ts → node:fs');
    expect(found.some((f) => f.endsWith('→ node:child_process'))).toBe(true);
  });
});
