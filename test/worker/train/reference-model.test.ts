import { describe, expect, it } from 'vitest';
import { finiteDifferences } from '../../../kernels/ops/reference.ts';
import { seededRandom } from '../../../kernels/random.ts';
import { parseModelConfig } from '../../../shared/train/model-config.ts';
import { initParameters, parameterLayout } from '../../../shared/train/parameters.ts';
import {
  causalAttentionRef,
  referenceForward,
  referenceGradients,
  type RefParameters,
} from '../../../worker/train/reference-model.ts';
import { SyntheticTask } from '../../../shared/train/tasks.ts';
import { expectClose } from '../../kernels/ops/op-check.ts';

const config = parseModelConfig({ vocabSize: 13, contextLength: 9, layers: 2, dModel: 8, heads: 2, dFF: 12 });

/** Parameters far from init (so every path carries gradient): uniform ±0.5, gains around 1. */
function randomParams(seed: number): RefParameters {
  const rnd = seededRandom(seed);
  const out: RefParameters = new Map();
  for (const p of parameterLayout(config)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    out.set(
      p.name,
      Float64Array.from({ length: n }, () => (p.init === 'ones' ? 1 : 0) + rnd() - 0.5),
    );
  }
  return out;
}

const task = new SyntheticTask({ kind: 'sort', length: 4 }); // seqLen 9 = context
const batch = task.batch(seededRandom(2), 3, 'train');

describe('CPU f64 reference transformer', () => {
  it('causal attention matches the masked-matrix formulation', () => {
    const [B, T, d, H] = [2, 5, 6, 3];
    const hd = d / H;
    const rnd = seededRandom(3);
    const qkv = Float64Array.from({ length: B * T * 3 * d }, () => rnd() * 2 - 1);
    const { out } = causalAttentionRef(qkv, B, T, d, H);
    const at = (b: number, t: number, part: number, h: number, e: number) =>
      qkv[(b * T + t) * 3 * d + part * d + h * hd + e];
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        // Scores for all (i, j), −∞ above the diagonal, softmax per row.
        const S = Array.from({ length: T }, (_, i) =>
          Array.from({ length: T }, (_, j) =>
            j > i
              ? -Infinity
              : Array.from({ length: hd }, (_, e) => at(b, i, 0, h, e) * at(b, j, 1, h, e)).reduce((x, y) => x + y) /
                Math.sqrt(hd),
          ),
        );
        for (let i = 0; i < T; i++) {
          const w = S[i].map((s) => Math.exp(s));
          const z = w.reduce((x, y) => x + y);
          for (let e = 0; e < hd; e++) {
            const want = w.reduce((acc, wj, j) => acc + (wj / z) * at(b, j, 2, h, e), 0);
            expect(out[(b * T + i) * d + h * hd + e]).toBeCloseTo(want, 12);
          }
        }
      }
    }
  });

  it('starts near ln(vocab) from the GPT-2 init', () => {
    const f = referenceForward(config, initParameters(config, 1), batch);
    expect(f.count).toBe(3 * 5); // 4 answer tokens + end mark per sequence
    expect(Math.abs(f.loss - Math.log(13))).toBeLessThan(0.05);
  });

  it('is causal: a later token never changes earlier logits', () => {
    const p = randomParams(4);
    const f = referenceForward(config, p, batch);
    const changed = { ...batch, inputs: Int32Array.from(batch.inputs) };
    changed.inputs[6] = (changed.inputs[6] + 1) % 13; // sequence 0, position 6
    const g = referenceForward(config, p, changed);
    const V = 13;
    for (let t = 0; t < 9; t++) {
      const same = f.logits.subarray(t * V, t * V + V).every((v, i) => v === g.logits[t * V + i]);
      expect(same, `position ${t}`).toBe(t < 6);
    }
    // Other sequences are untouched.
    expect(g.logits.subarray(9 * V)).toEqual(f.logits.subarray(9 * V));
  });

  it('analytic gradients of every parameter match finite differences', () => {
    const p = randomParams(5);
    const { loss, grads } = referenceGradients(config, p, batch);
    expect(loss).toBe(referenceForward(config, p, batch).loss);
    const rnd = seededRandom(6);
    for (const spec of parameterLayout(config)) {
      const value = p.get(spec.name)!;
      // Five coordinates per tensor (all of the small ones).
      const idx =
        value.length <= 5
          ? [...Array(value.length).keys()]
          : Array.from({ length: 5 }, () => Math.floor(rnd() * value.length));
      const fd = finiteDifferences(
        (v) => referenceForward(config, new Map(p).set(spec.name, v), batch).loss,
        value,
        1e-5,
        idx,
      );
      const g = grads.get(spec.name)!;
      expect(g.length, spec.name).toBe(value.length);
      // f64 central differences with h = 1e-5: truncation ~h² · third derivative ≈ 1e-9.
      expectClose(
        idx.map((i) => g[i]),
        idx.map((i) => fd[i]),
        { abs: 1e-8, rel: 1e-6 },
        spec.name,
      );
    }
    // Rows of the position table past seqLen and unused tokens get zero gradient.
    const unused = [...Array(13).keys()].filter((v) => !batch.inputs.includes(v));
    for (const v of unused)
      expect(
        grads
          .get('wte')!
          .subarray(v * 8, v * 8 + 8)
          .every((x) => x === 0),
      ).toBe(true);
  });

  it('refuses batches that do not fit the model', () => {
    const p = initParameters(config, 1);
    expect(() =>
      referenceForward(config, p, {
        ...batch,
        seqLen: 10,
        batchSize: 1,
        inputs: new Int32Array(10),
        targets: new Int32Array(10),
      }),
    ).toThrow(/seqLen 10 exceeds the context 9/);
    expect(() => referenceForward(config, p, { ...batch, inputs: new Int32Array(27).fill(13) })).toThrow(
      /inputs\[0\] = 13 is outside the vocabulary/,
    );
  });
});
