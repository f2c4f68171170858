// The model's parameters: names, shapes and order (shared by the CPU reference, the GPU
// model and the checkpoint), and their seeded initialisation.
// Weights are stored [in, out] row-major, so a layer is y = x·W + b with x [rows, in].
import { seededRandom } from '../../kernels/random.ts';
import type { ModelConfig } from './model-config.ts';

export interface ParameterSpec {
  name: string;
  shape: number[];
  /** AdamW's weight decay applies to matrices only (not biases, LayerNorm, ...). */
  decay: boolean;
  init: 'normal' | 'zeros' | 'ones';
  /** Standard deviation of a normal init. */
  std?: number;
}

export type Parameters = Map<string, Float32Array>;

/** Every parameter in a fixed order: embeddings, then per block, then final LayerNorm and head. */
export function parameterLayout(c: ModelConfig): ParameterSpec[] {
  const d = c.dModel;
  const std = 0.02;
  // GPT-2: projections into the residual stream are scaled by 1/√(2·layers).
  const residualStd = std / Math.sqrt(2 * c.layers);
  const out: ParameterSpec[] = [
    { name: 'wte', shape: [c.vocabSize, d], decay: true, init: 'normal', std },
    { name: 'wpe', shape: [c.contextLength, d], decay: true, init: 'normal', std },
  ];
  for (let l = 0; l < c.layers; l++) {
    const p = `h.${l}.`;
    out.push(
      { name: `${p}ln1.weight`, shape: [d], decay: false, init: 'ones' },
      { name: `${p}ln1.bias`, shape: [d], decay: false, init: 'zeros' },
      { name: `${p}attn.wqkv`, shape: [d, 3 * d], decay: true, init: 'normal', std },
      { name: `${p}attn.bqkv`, shape: [3 * d], decay: false, init: 'zeros' },
      { name: `${p}attn.wo`, shape: [d, d], decay: true, init: 'normal', std: residualStd },
      { name: `${p}attn.bo`, shape: [d], decay: false, init: 'zeros' },
      { name: `${p}ln2.weight`, shape: [d], decay: false, init: 'ones' },
      { name: `${p}ln2.bias`, shape: [d], decay: false, init: 'zeros' },
      { name: `${p}mlp.w1`, shape: [d, c.dFF], decay: true, init: 'normal', std },
      { name: `${p}mlp.b1`, shape: [c.dFF], decay: false, init: 'zeros' },
      { name: `${p}mlp.w2`, shape: [c.dFF, d], decay: true, init: 'normal', std: residualStd },
      { name: `${p}mlp.b2`, shape: [d], decay: false, init: 'zeros' },
    );
  }
  out.push(
    { name: 'lnf.weight', shape: [d], decay: false, init: 'ones' },
    { name: 'lnf.bias', shape: [d], decay: false, init: 'zeros' },
    { name: 'head.w', shape: [d, c.vocabSize], decay: true, init: 'normal', std },
  );
  return out;
}

export function parameterCount(c: ModelConfig): number {
  return parameterLayout(c).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Seeded initial parameters: normal(0, std) weights (Box–Muller on mulberry32), zero biases, unit gains. */
export function initParameters(c: ModelConfig, seed: number): Parameters {
  const rnd = seededRandom(seed);
  const normal = () => {
    const u = 1 - rnd(); // (0, 1]: log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const out: Parameters = new Map();
  for (const p of parameterLayout(c)) {
    const a = new Float32Array(p.shape.reduce((x, y) => x * y, 1));
    if (p.init === 'ones') a.fill(1);
    else if (p.init === 'normal') for (let i = 0; i < a.length; i++) a[i] = normal() * p.std!;
    out.set(p.name, a);
  }
  return out;
}
