import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../kernels/random.ts';
import { GpuModel } from '../../../worker/train/gpu-model.ts';
import { parseModelConfig } from '../../../shared/train/model-config.ts';
import { initParameters, parameterLayout, type Parameters } from '../../../shared/train/parameters.ts';
import { referenceForward, referenceGradients } from '../../../worker/train/reference-model.ts';
import { SyntheticTask } from '../../../shared/train/tasks.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose } from '../../kernels/ops/op-check.ts';

const gpu = await testDevice();
const config = parseModelConfig({ vocabSize: 13, contextLength: 11, layers: 2, dModel: 16, heads: 2, dFF: 24 });
const task = new SyntheticTask({ kind: 'sort', length: 4 }); // 9 tokens per sequence, context 11

/** Parameters far from init so every path carries gradient: uniform ±0.5, gains around 1. */
function randomParams(seed: number): Parameters {
  const rnd = seededRandom(seed);
  const out: Parameters = new Map();
  for (const p of parameterLayout(config)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    out.set(
      p.name,
      Float32Array.from({ length: n }, () => (p.init === 'ones' ? 1 : 0) + rnd() - 0.5),
    );
  }
  return out;
}

describe('GPU transformer against the f64 reference', () => {
  it('logits, loss and every parameter gradient match (whole-model gradient check)', async () => {
    const params = randomParams(1);
    const model = new GpuModel(gpu.device, config, params);
    try {
      const batch = task.batch(seededRandom(2), 3, 'train');
      const got = await model.gradients(batch);
      const ref = referenceGradients(config, params, batch);
      const fwd = referenceForward(config, params, batch);
      // Logits O(1..10) through 2 blocks in f32: ~1e-5 relative.
      expectClose(got.logits, fwd.logits, { abs: 1e-4, rel: 1e-4 }, 'logits');
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, ref.loss));
      for (const p of parameterLayout(config)) {
        const r = ref.grads.get(p.name)!;
        const scale = Math.max(...Array.from(r, Math.abs));
        // Each gradient to 1e-4 of its largest entry (f32 through forward and backward).
        expectClose(got.grads.get(p.name)!, r, { abs: 1e-4 * scale + 1e-7, rel: 1e-3 }, p.name);
      }
    } finally {
      model.destroy();
    }
  });

  it('gradient check on awkward shapes (head dim 2, odd widths, a shorter sequence than the context)', async () => {
    const odd = parseModelConfig({ vocabSize: 7, contextLength: 8, layers: 1, dModel: 10, heads: 5, dFF: 7 });
    const rnd = seededRandom(11);
    const params: Parameters = new Map();
    for (const p of parameterLayout(odd)) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      params.set(
        p.name,
        Float32Array.from({ length: n }, () => (p.init === 'ones' ? 1 : 0) + rnd() - 0.5),
      );
    }
    const [B, T] = [3, 5];
    const inputs = Int32Array.from({ length: B * T }, () => Math.floor(rnd() * 7));
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 0 ? -1 : Math.floor(rnd() * 7)));
    const batch = { batchSize: B, seqLen: T, inputs, targets };
    const model = new GpuModel(gpu.device, odd, params);
    try {
      const got = await model.gradients(batch);
      const ref = referenceGradients(odd, params, batch);
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, ref.loss));
      for (const p of parameterLayout(odd)) {
        const r = ref.grads.get(p.name)!;
        const scale = Math.max(...Array.from(r, Math.abs));
        expectClose(got.grads.get(p.name)!, r, { abs: 1e-4 * scale + 1e-7, rel: 1e-3 }, p.name);
      }
    } finally {
      model.destroy();
    }
  });

  it('trains: loss falls over 40 steps, and the same seed gives the same losses bit for bit', async () => {
    const run = async () => {
      const model = new GpuModel(gpu.device, config, initParameters(config, 3), {
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-8,
        weightDecay: 0.01,
      });
      try {
        const rnd = seededRandom(4);
        const losses: number[] = [];
        for (let s = 1; s <= 40; s++) losses.push((await model.step(task.batch(rnd, 16, 'train'), s, 3e-3, 1.0)).loss);
        return losses;
      } finally {
        model.destroy();
      }
    };
    const a = await run();
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y) / xs.length;
    expect(a[0]).toBeGreaterThan(2); // ≈ ln 13 at init
    expect(mean(a.slice(-5))).toBeLessThan(0.75 * mean(a.slice(0, 5)));
    expect(await run()).toEqual(a);
  });
});
