// The layer rule of eslint.config.js, checked on planted imports: every import that points up
// a layer is refused, every one that points down (or stays in its layer) is allowed.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/processes.ts';

// Bottom up; a module may import from its own layer and the ones before it.
const order = [['kernels'], ['shared'], ['scheduler', 'worker'], ['client'], ['test', 'scripts', 'deploy']];
const rank = new Map(order.flatMap((dirs, i) => dirs.map((d) => [d, i] as const)));
// One real module per folder, imported from a file planted in another folder.
const target: Record<string, string> = {
  kernels: 'kernels/errors.ts',
  shared: 'shared/config.ts',
  scheduler: 'scheduler/policy/fair-share.ts',
  worker: 'worker/power.ts',
  client: 'client/format.ts',
  test: 'test/support/gpu.ts',
  scripts: 'scripts/start.ts',
  deploy: 'deploy/grafana/dashboards.ts',
};
/** The scheduler never loads the worker's code, though both sit in one layer. */
const refusedSideways = new Set(['scheduler→worker']);

// Type-aware rules need a file the TypeScript project knows; the layer rule does not.
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

async function refusals(from: string, to: string): Promise<string[]> {
  const file = path.join(ROOT, from, 'sub', 'planted.ts');
  const spec = path.relative(path.dirname(file), path.join(ROOT, target[to]));
  const [r] = await eslint.lintText(`import * as m from '${spec}';\nexport const x = m;\n`, { filePath: file });
  return r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layers', () => {
  for (const from of rank.keys()) {
    it(`${from}/ imports only from its layer or below`, async () => {
      for (const to of rank.keys()) {
        if (to === from) continue;
        const up = rank.get(to)! > rank.get(from)! || refusedSideways.has(`${from}→${to}`);
        const got = await refusals(from, to);
        expect(got.length, `${from} → ${to}: ${got.join('; ') || 'allowed'}`).toBe(up ? 1 : 0);
        if (up) expect(got[0]).toMatch(/may not import from a layer above it/);
      }
    });
  }
});
