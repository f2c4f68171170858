import tseslint from 'typescript-eslint';

// The layers, bottom up: kernels; shared; scheduler and worker; client. A module imports only
// from its own layer or below (test/, scripts/ and deploy/ sit on top and may import anything).
// The worker may use the scheduler's dispatch mechanics (queue/, state/, policy/); the
// scheduler never loads the worker's GPU code.
const layers = [
  { dir: 'kernels', above: ['shared', 'scheduler', 'worker', 'client'] },
  { dir: 'shared', above: ['scheduler', 'worker', 'client'] },
  { dir: 'scheduler', above: ['worker', 'client'] },
  { dir: 'worker', above: ['client'] },
  { dir: 'client', above: [] },
];
const tools = ['test', 'scripts', 'deploy'];

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'deploy/grafana/dashboards/'] },
  ...tseslint.configs.recommended,
  {
    // Type-aware rules: a promise nobody awaits or catches loses its error (an unhandled
    // rejection kills a daemon), so every one is awaited, returned, or given a .catch().
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...layers.map(({ dir, above }) => ({
    files: [`${dir}/**/*.ts`, `${dir}/**/*.tsx`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${[...above, ...tools].join('|')})/`,
              message: `${dir}/ may not import from a layer above it (layers, bottom up: kernels, shared, scheduler/worker, client; see eslint.config.js).`,
            },
          ],
        },
      ],
    },
  })),
  {
    // The web console runs in a browser: nothing Node-only may reach its bundle (the bundle,
    // built for the browser, fails on node:* too). shared/ gives it types only.
    files: ['scheduler/console/app/**/*.ts', 'scheduler/console/app/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(node:|webgpu$|bullmq|ioredis|pino|fastify|child_process|fs$|path$)',
              message: 'browser code (scheduler/console/app) may not import Node-only modules.',
            },
            {
              regex: '^(\\.\\./)+shared/',
              allowTypeImports: true,
              message: 'browser code imports only types from shared/ (import type).',
            },
          ],
        },
      ],
    },
  },
);
