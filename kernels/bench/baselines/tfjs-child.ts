// Child process: times an op on TF.js's WebGPU backend (navigator.gpu from the `webgpu`
// package). The op comes from a module that exports `build(tf, args)` returning one run; the
// wall time of each run includes reading the result back (`await result.data()`); inputs are
// created once and stay on the GPU. It waits for the GPU as our kernels do (kernels/quiet-wait.ts).
import { create, globals } from 'webgpu';
import { pathToFileURL } from 'node:url';
import { reply } from './child-process.ts';
import { quietly } from '../../quiet-wait.ts';

export interface TfjsRequest {
  /** Absolute path of a module exporting `build`. */
  module: string;
  args: unknown;
  warmup: number;
  repeats: number;
}

export type TfjsCore = typeof import('@tensorflow/tfjs-core');
export type TfjsBuild = (tf: TfjsCore, args: never) => Promise<() => Promise<void>> | (() => Promise<void>);

async function main() {
  const req = JSON.parse(process.argv[2]) as TfjsRequest;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: create(['disable-dawn-features=timestamp_quantization']), userAgent: 'node' },
    configurable: true,
  });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its webgpu backend');
  await tf.ready();
  const { build } = (await import(pathToFileURL(req.module).href)) as { build: TfjsBuild };
  const run = await build(tf, req.args as never);
  const times: number[] = [];
  for (let r = 0; r < req.warmup + req.repeats; r++) {
    const t0 = performance.now();
    // The same quiet wait as ours: dawn.node's spinning poll would take a core from lavapipe.
    await quietly(run());
    times.push(performance.now() - t0);
  }
  reply({ times, info: `tfjs-core ${tf.version_core}` });
}

main().catch((e) => reply({ error: `TF.js WebGPU: ${(e as Error).message.split('\n')[0]}` }));
