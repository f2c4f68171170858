// Loads TF.js with its WebGPU backend in Node, on Dawn's adapter (as a browser page would).
import type * as tfType from '@tensorflow/tfjs-core';
import { create, globals } from 'webgpu';
import { registerTfjsGradients } from './tfjs-gradients.ts';

export async function loadTfjsWebgpu(): Promise<typeof tfType> {
  Object.assign(globalThis, globals);
  const g = globalThis as unknown as { navigator?: { gpu?: unknown; userAgent?: string } };
  if (!g.navigator?.gpu)
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: create([]), userAgent: 'node' },
      configurable: true,
    });
  const tf = await import('@tensorflow/tfjs-core');
  await registerTfjsGradients();
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend did not initialise');
  await tf.ready();
  return tf;
}
