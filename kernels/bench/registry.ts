// Kernels register themselves here from their own `kernels/<name>/<name>-bench.ts` file,
// which the benchmark discovers, so adding a kernel touches no harness file.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchKernel } from './types.ts';

const kernels = new Map<string, BenchKernel>();

export function registerBenchKernel<S extends object>(k: BenchKernel<S>): void {
  kernels.set(k.name, k as unknown as BenchKernel);
}

export function benchKernel(name: string): BenchKernel | undefined {
  return kernels.get(name);
}

export function benchKernelNames(): string[] {
  return [...kernels.keys()].sort();
}

/** Imports every `kernels/<dir>/<dir>-bench.ts`. */
export async function discoverBenchKernels(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  for (const dir of fs.readdirSync(root, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    const file = path.join(root, dir.name, `${dir.name}-bench.ts`);
    if (fs.existsSync(file)) await import(pathToFileURL(file).href);
  }
}
