import { describe, expect, it } from 'vitest';
import { Attention } from '../../kernels/attention/attention.ts';
import { attentionTileFor } from '../../kernels/attention/attention-tuning.ts';
import { attentionRef } from '../../kernels/attention/reference.ts';
import type { AttentionShape } from '../../kernels/attention/attention-shape.ts';
import { ShapeError } from '../../kernels/errors.ts';
import { randomMatrix } from '../../kernels/random.ts';
import { testDevice } from '../support/gpu.ts';
import { quietly } from '../../kernels/quiet-wait.ts';

const gpu = await testDevice();
// The default (unrolled) programs take seconds each for lavapipe to compile, one per head dim ×
// causal × LSE: the shape sweep runs the looped form of the same generator (identical math),
// and a few cases below run the tuned default.
const tuned = new Attention(gpu.device);
const att = new Attention(gpu.device, { tile: (d) => ({ ...attentionTileFor(d), unroll: false }) });
const hasF16 = gpu.device.features.has('shader-f16');
// The subgroup-broadcast generator (the default up to head dim 128 on CPU adapters whose
// subgroups are at least 8 wide, e.g. lavapipe) on a small tile that compiles fast; ragged
// (3 keys) on purpose.
const hasSubgroups8 = gpu.device.features.has('subgroups') && (gpu.device.adapterInfo?.subgroupMinSize ?? 0) >= 8;
const sg = new Attention(gpu.device, { tile: { workgroupSize: 8, rows: 2, keyTile: 3, kv: 'subgroup', unroll: true } });

function inputs(s: AttentionShape, seed: number, qScale = 1) {
  const nq = s.batch * s.heads * s.seqQ * s.headDim;
  const nk = s.batch * s.heads * s.seqK * s.headDim;
  const q = randomMatrix(nq, seed);
  if (qScale !== 1) for (let i = 0; i < nq; i++) q[i] *= qScale;
  return { q, k: randomMatrix(nk, seed + 1), v: randomMatrix(nk, seed + 2) };
}

/** Max |gpu − ref| over O, and over the finite LSE entries (−∞ must match exactly). */
function compare(
  s: AttentionShape,
  causal: boolean,
  seed: number,
  dtype: 'f32' | 'f16' = 'f32',
  qScale = 1,
  impl = att,
) {
  const { q, k, v } = inputs(s, seed, qScale);
  return impl.run(s, q, k, v, { causal, lse: true, dtype }).then((got) => {
    const ref = attentionRef(s, q, k, v, { causal });
    let outErr = 0;
    for (let i = 0; i < ref.out.length; i++) outErr = Math.max(outErr, Math.abs(got.out[i] - ref.out[i]));
    let lseErr = 0;
    for (let i = 0; i < ref.lse.length; i++) {
      if (ref.lse[i] === -Infinity) expect(got.lse![i]).toBe(-Infinity);
      else lseErr = Math.max(lseErr, Math.abs(got.lse![i] - ref.lse[i]) / Math.max(1, Math.abs(ref.lse[i])));
    }
    expect(got.out.every(Number.isFinite)).toBe(true);
    return { outErr, lseErr };
  });
}

// f32: O is a convex combination of V rows (|v| ≤ 1), so errors stay near f32 rounding of the
// softmax weights and of exp2: 2e-5 absolute on O, 2e-6 relative on LSE.
const F32_OUT = 2e-5;
const F32_LSE = 2e-6;

describe('fused attention (f32) against the f64 CPU reference', () => {
  const cases: [string, AttentionShape][] = [
    ['seq 1', { batch: 1, heads: 1, seqQ: 1, seqK: 1, headDim: 8 }],
    ['seq 7', { batch: 2, heads: 3, seqQ: 7, seqK: 7, headDim: 8 }],
    ['seq 65, d 64', { batch: 1, heads: 2, seqQ: 65, seqK: 65, headDim: 64 }],
    ['seq 300, d 80', { batch: 1, heads: 1, seqQ: 300, seqK: 300, headDim: 80 }],
    ['seqQ 65 < seqK 300, d 128', { batch: 1, heads: 1, seqQ: 65, seqK: 300, headDim: 128 }],
    ['seqQ 300 > seqK 65, d 64', { batch: 1, heads: 2, seqQ: 300, seqK: 65, headDim: 64 }],
    ['seqQ 7 > seqK 1, d 8', { batch: 1, heads: 1, seqQ: 7, seqK: 1, headDim: 8 }],
    ['head dim 256', { batch: 1, heads: 1, seqQ: 9, seqK: 13, headDim: 256 }],
    ['head dim 6 (not a multiple of 4)', { batch: 1, heads: 2, seqQ: 11, seqK: 5, headDim: 6 }],
  ];
  for (const [name, s] of cases) {
    for (const causal of [false, true]) {
      it(`${name}${causal ? ', causal' : ''}`, async () => {
        const { outErr, lseErr } = await compare(s, causal, s.seqQ + s.headDim);
        expect(outErr).toBeLessThanOrEqual(F32_OUT);
        expect(lseErr).toBeLessThanOrEqual(F32_LSE);
      });
      // Head dims past 80 unrolled take lavapipe 20–80 s to compile; the policy uses subgroup tiles up to 64.
      it.runIf(hasSubgroups8 && s.headDim <= 80)(
        `${name}${causal ? ', causal' : ''} (K/V by subgroup broadcast)`,
        async () => {
          const { outErr, lseErr } = await compare(s, causal, s.seqQ + s.headDim, 'f32', 1, sg);
          expect(outErr).toBeLessThanOrEqual(F32_OUT);
          expect(lseErr).toBeLessThanOrEqual(F32_LSE);
        },
      );
    }
  }

  // lavapipe compiles this unrolled program (8 rows × 64 dims) in ~40 s with a cold shader
  // cache, far longer on a busy machine: one variant only.
  it('the tuned default program (unrolled, 8 rows per invocation), seqQ ≠ seqK, causal', async () => {
    const s = { batch: 1, heads: 2, seqQ: 300, seqK: 333, headDim: 64 };
    for (const causal of [true]) {
      const { outErr, lseErr } = await compare(s, causal, 11, 'f32', 1, tuned);
      expect(outErr).toBeLessThanOrEqual(F32_OUT);
      expect(lseErr).toBeLessThanOrEqual(F32_LSE);
    }
  }, 600_000);

  // The tuned pick for head dims 65–128 (on lavapipe: subgroup rows 4 × key tile 2, ~16 s cold compile at d 80).
  it.runIf(hasSubgroups8)(
    'the tuned program for head dim 80 (subgroup rows 4 × key tile 2), seqQ ≠ seqK, causal',
    async () => {
      const s = { batch: 1, heads: 2, seqQ: 130, seqK: 201, headDim: 80 };
      const { outErr, lseErr } = await compare(s, true, 13, 'f32', 1, tuned);
      expect(outErr).toBeLessThanOrEqual(F32_OUT);
      expect(lseErr).toBeLessThanOrEqual(F32_LSE);
    },
    600_000,
  );

  it('stays finite and exact with large logits (Q·K ~ 1e3)', async () => {
    // |q| ≤ 300 over 64 dims with scale 1/8: scaled scores up to ~1e3; a naive exp overflows.
    const s = { batch: 1, heads: 2, seqQ: 33, seqK: 70, headDim: 64 };
    for (const impl of hasSubgroups8 ? [att, sg] : [att]) {
      for (const causal of [false, true]) {
        const { outErr, lseErr } = await compare(s, causal, 5, 'f32', 300, impl);
        expect(outErr).toBeLessThanOrEqual(F32_OUT);
        expect(lseErr).toBeLessThanOrEqual(F32_LSE);
      }
    }
  });

  it('takes a custom scale and runs on GPU buffers through encode()', async () => {
    const s = { batch: 2, heads: 1, seqQ: 17, seqK: 17, headDim: 16 };
    const { q, k, v } = inputs(s, 9);
    const dev = gpu.device;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const up = (a: Float32Array) => {
      const b = dev.createBuffer({ size: a.byteLength, usage });
      dev.queue.writeBuffer(b, 0, a);
      return b;
    };
    const out = dev.createBuffer({ size: q.byteLength, usage });
    const read = dev.createBuffer({ size: q.byteLength, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const enc = dev.createCommandEncoder();
    att.encode(enc, s, { q: up(q), k: up(k), v: up(v), out }, { scale: 0.5, causal: true });
    enc.copyBufferToBuffer(out, 0, read, 0, q.byteLength);
    dev.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(read.getMappedRange().slice(0));
    const ref = attentionRef(s, q, k, v, { scale: 0.5, causal: true }).out;
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThanOrEqual(F32_OUT);
  });
});

describe.runIf(hasF16)('fused attention (f16 storage, f32 accumulation)', () => {
  // Inputs and output are rounded to f16 (relative 2^-11 ≈ 4.9e-4): O within 4e-3 absolute,
  // LSE (from f32 accumulation of f16-rounded scores) within 4e-3 relative.
  for (const [s, causal] of [
    [{ batch: 1, heads: 2, seqQ: 65, seqK: 65, headDim: 64 }, true],
    [{ batch: 1, heads: 1, seqQ: 30, seqK: 47, headDim: 80 }, false],
    [{ batch: 1, heads: 1, seqQ: 5, seqK: 9, headDim: 6 }, false],
  ] as const) {
    it(`${s.seqQ}×${s.seqK}, d ${s.headDim}${causal ? ', causal' : ''}`, async () => {
      for (const impl of hasSubgroups8 ? [att, sg] : [att]) {
        const { outErr, lseErr } = await compare(s, causal, 3, 'f16', 1, impl);
        expect(outErr).toBeLessThanOrEqual(4e-3);
        expect(lseErr).toBeLessThanOrEqual(4e-3);
      }
    });
  }
});

describe('attention refuses bad input with clear errors', () => {
  const ok = { batch: 1, heads: 1, seqQ: 4, seqK: 4, headDim: 8 };
  const x = new Float32Array(32);
  it('zero, negative or fractional dims', async () => {
    for (const bad of [{ seqQ: 0 }, { seqK: -1 }, { heads: 1.5 }, { batch: 0 }, { headDim: 0 }]) {
      await expect(att.run({ ...ok, ...bad }, x, x, x)).rejects.toThrow(ShapeError);
    }
  });
  it('head dim over 256', () => {
    expect(() => att.check({ ...ok, headDim: 257 })).toThrow(/headDim 257 is over the supported maximum 256/);
  });
  it('host arrays too short', async () => {
    await expect(att.run(ok, new Float32Array(31), x, x)).rejects.toThrow(/Q has 31 elements, needs 32/);
  });
  it('sizes past the device limits', () => {
    expect(() => att.check({ batch: 64, heads: 64, seqQ: 4096, seqK: 4096, headDim: 64 })).toThrow(
      /storage binding limit/,
    );
  });
  it('GPU buffers too small, without STORAGE usage, or aliased', () => {
    const dev = gpu.device;
    const small = dev.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
    const big = dev.createBuffer({ size: 128, usage: GPUBufferUsage.STORAGE });
    const noStorage = dev.createBuffer({ size: 128, usage: GPUBufferUsage.COPY_DST });
    const enc = dev.createCommandEncoder();
    expect(() => att.encode(enc, ok, { q: small, k: big, v: big, out: big })).toThrow(
      /buffer q has 64 bytes, needs 128/,
    );
    expect(() => att.encode(enc, ok, { q: big, k: big, v: big, out: noStorage })).toThrow(/lacks STORAGE/);
    expect(() => att.encode(enc, ok, { q: big, k: big, v: big, out: big })).toThrow(/must not alias/);
    for (const b of [small, big, noStorage]) b.destroy();
  });
});

describe('quietly (GPU waits without a spinning main thread)', () => {
  it('throttles setImmediate only while waits are pending, nested or failing', async () => {
    const original = globalThis.setImmediate;
    let release!: () => void;
    const outer = quietly(new Promise<void>((r) => (release = r)));
    expect(globalThis.setImmediate).not.toBe(original);
    await expect(quietly(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(globalThis.setImmediate).not.toBe(original); // the outer wait is still pending
    await new Promise<void>((r) => setImmediate(r)); // still runs, at timer pace
    release();
    await outer;
    expect(globalThis.setImmediate).toBe(original);
  });
});
