import { describe, expect, it } from 'vitest';
import { MAX_CONTEXT, checkDataFits, parseModelConfig } from '../../../shared/train/model-config.ts';
import { initParameters, parameterCount, parameterLayout } from '../../../shared/train/parameters.ts';
import { SyntheticTask } from '../../../shared/train/tasks.ts';

const base = { vocabSize: 13, contextLength: 32, layers: 2, dModel: 32, heads: 4, dFF: 128 };

describe('model config', () => {
  it('accepts a valid config and fills defaults', () => {
    expect(parseModelConfig(base)).toEqual({ ...base, lnEps: 1e-5 });
  });

  it('refuses heads that do not divide dModel, oversized context, unknown fields', () => {
    expect(() => parseModelConfig({ ...base, heads: 5 })).toThrow(
      /heads: must divide dModel: 5 heads do not divide dModel 32/,
    );
    expect(() => parseModelConfig({ ...base, contextLength: MAX_CONTEXT + 1 })).toThrow(
      /contextLength: must be at most 4096/,
    );
    expect(() => parseModelConfig({ ...base, vocabSize: 1 })).toThrow(/vocabSize: must be at least 2/);
    expect(() => parseModelConfig({ ...base, layers: 1.5 })).toThrow(/layers/);
    expect(() => parseModelConfig({ ...base, dropout: 0.1 })).toThrow(/dropout/);
  });

  it('checks that data fits the model', () => {
    const c = parseModelConfig(base);
    const task = new SyntheticTask({ kind: 'sort', length: 8 });
    expect(() => checkDataFits(c, task)).not.toThrow();
    expect(() => checkDataFits({ ...c, contextLength: 16 }, task)).toThrow(
      /sequences of 17 tokens are longer than the model's context of 16/,
    );
    expect(() => checkDataFits({ ...c, vocabSize: 10 }, task)).toThrow(
      /the data has 13 tokens, more than the model's vocabulary of 10/,
    );
  });

  it('lays out and initialises parameters deterministically', () => {
    const c = parseModelConfig(base);
    const layout = parameterLayout(c);
    expect(layout.map((p) => p.name).slice(0, 4)).toEqual(['wte', 'wpe', 'h.0.ln1.weight', 'h.0.ln1.bias']);
    // 2 embeddings + 12 per block + final LN (2) + head.
    expect(layout).toHaveLength(2 + 12 * 2 + 3);
    const d = 32;
    const perBlock = 4 * d + d * 3 * d + 3 * d + d * d + d + d * 128 + 128 + 128 * d + d;
    expect(parameterCount(c)).toBe(13 * d + 32 * d + 2 * perBlock + 2 * d + d * 13);
    const a = initParameters(c, 5);
    expect(a).toEqual(initParameters(c, 5));
    expect(a.get('wte')).not.toEqual(initParameters(c, 6).get('wte'));
    expect([...a.get('h.1.ln2.weight')!].every((v) => v === 1)).toBe(true);
    const w = a.get('h.0.mlp.w1')!;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
  });
});

describe('device fit', async () => {
  const { deviceFitProblems, trainingStateBytes } = await import('../../../shared/train/device-fit.ts');
  const limits = { maxStorageBufferBindingSize: 128 << 20, maxBufferSize: 256 << 20 };
  it('accepts a small model and names what does not fit', () => {
    const c = parseModelConfig(base);
    expect(deviceFitProblems(c, 64, 17, limits)).toEqual([]);
    expect(trainingStateBytes(c)).toBe(parameterCount(c) * 16);
    const wide = parseModelConfig({ ...base, dModel: 1024, heads: 2, dFF: 65536 / 4 });
    const p = deviceFitProblems(wide, 4096, 32, limits);
    expect(p.join('\n')).toMatch(/head dimension 512 \(dModel \/ heads\) is over the attention kernels' 256/);
    expect(p.join('\n')).toMatch(
      /MLP activations \(batch · seqLen · dFF\) needs \d+ bytes, over this device's 134217728-byte buffer limit/,
    );
  });
});
