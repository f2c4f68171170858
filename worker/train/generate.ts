// Autoregressive decoding with the GPU model: greedy or temperature sampling from a seed.
// No KV cache: each new token re-runs the forward over the whole prefix (O(T²) per
// sequence). Infer jobs decode with the KV cache (kv-decoder.ts); this plain decoder is the
// reference that decoder must match token for token (test/worker/train/generate.test.ts).
import { seededRandom } from '../../kernels/random.ts';
import type { GpuModel } from './gpu-model.ts';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  seed?: number;
  /** Stop a sequence after it emits this token (it is kept in the output). */
  stopToken?: number;
}

/** Continues each prompt; prompts of the same length run as one batch. */
export async function generate(model: GpuModel, prompts: number[][], o: GenerateOptions): Promise<number[][]> {
  const temperature = o.temperature ?? 0;
  const rnd = seededRandom(o.seed ?? 1);
  const outputs: number[][] = prompts.map(() => []);
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`generate: prompt ${i} is empty`);
    if (p.length + o.maxNewTokens - 1 > model.config.contextLength) {
      throw new Error(
        `generate: prompt ${i} (${p.length} tokens) plus ${o.maxNewTokens} new tokens exceeds the model's context of ${model.config.contextLength}`,
      );
    }
    byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]);
  });
  for (const [len, group] of [...byLength].sort((x, y) => x[0] - y[0])) {
    const seqs = group.map((i) => [...prompts[i]]);
    const done = group.map(() => false);
    for (let step = 0; step < o.maxNewTokens && done.includes(false); step++) {
      const T = len + step;
      const B = seqs.length;
      const inputs = Int32Array.from(seqs.flat());
      const uniforms = temperature > 0 ? Float32Array.from({ length: B * T }, () => rnd()) : new Float32Array(0);
      const { predictions } = await model.predict(
        { batchSize: B, seqLen: T, inputs, targets: new Int32Array(B * T).fill(-1) },
        { temperature, uniforms },
      );
      seqs.forEach((s, b) => {
        const next = predictions[b * T + T - 1];
        s.push(next);
        if (!done[b]) {
          outputs[group[b]].push(next);
          if (next === o.stopToken) done[b] = true;
        }
      });
    }
  }
  return outputs;
}
