import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../kernels/random.ts';
import { generate } from '../../../worker/train/generate.ts';
import { GpuModel } from '../../../worker/train/gpu-model.ts';
import { KvDecoder } from '../../../worker/train/kv-decoder.ts';
import { parseModelConfig } from '../../../shared/train/model-config.ts';
import { initParameters } from '../../../shared/train/parameters.ts';
import { EOS, SEP, SyntheticTask } from '../../../shared/train/tasks.ts';
import { testDevice } from '../../support/gpu.ts';

const gpu = await testDevice();
const task = new SyntheticTask({ kind: 'reverse', length: 3 });
const config = parseModelConfig({
  vocabSize: 13,
  contextLength: task.seqLen,
  layers: 1,
  dModel: 32,
  heads: 2,
  dFF: 64,
});

describe('generation', () => {
  it('greedy answers are exact exactly when teacher-forced predictions are all right', async () => {
    const model = new GpuModel(gpu.device, config, initParameters(config, 1), {
      beta1: 0.9,
      beta2: 0.99,
      eps: 1e-8,
      weightDecay: 0,
    });
    try {
      const rnd = seededRandom(2);
      for (let s = 1; s <= 10; s++) await model.step(task.batch(rnd, 32, 'train'), s, 1e-2, 1);
      const examples = task.distinctExamples(seededRandom(3), 48, 'heldOut');
      const generated = await generate(
        model,
        examples.map((e) => [...e.prompt, SEP]),
        { maxNewTokens: task.answerLength + 1, stopToken: EOS },
      );
      const T = task.seqLen;
      const batch = {
        batchSize: examples.length,
        seqLen: T,
        inputs: new Int32Array(examples.length * T),
        targets: new Int32Array(examples.length * T).fill(-1),
      };
      examples.forEach((e, b) => {
        const seq = task.sequence(e);
        batch.inputs.set(seq.slice(0, T), b * T);
        for (let t = task.promptLength; t < T; t++) batch.targets[b * T + t] = seq[t + 1];
      });
      const { predictions } = await model.predict(batch);
      let exact = 0;
      examples.forEach((e, b) => {
        const forced = [...Array(T).keys()]
          .filter((t) => batch.targets[b * T + t] >= 0)
          .every((t) => predictions[b * T + t] === batch.targets[b * T + t]);
        expect(task.isExact(e, generated[b]), `example ${b}`).toBe(forced);
        if (forced) exact++;
      });
      // Trained enough that both outcomes occur (so the check above means something).
      expect(exact).toBeGreaterThan(0);
      expect(exact).toBeLessThan(examples.length);

      // The KV-cache decoder gives the same greedy tokens as re-running the prefix.
      const decoder = new KvDecoder(model);
      const prompts48 = examples.map((e) => [...e.prompt, SEP]);
      const kv = await decoder.decode(prompts48, { maxNewTokens: task.answerLength + 1, stopToken: EOS });
      expect(kv.tokens).toEqual(generated);
      expect(kv.tokensPerSecond).toBeGreaterThan(0);
      // Prompts of different lengths decode in groups; sampling is reproducible from the seed.
      const mixed = [
        [1, 2, 3, SEP],
        [4, SEP],
        [5, 6, 7, SEP],
      ];
      expect((await decoder.decode(mixed, { maxNewTokens: 3 })).tokens).toEqual(
        await generate(model, mixed, { maxNewTokens: 3 }),
      );
      const s1 = await decoder.decode(mixed, { maxNewTokens: 3, temperature: 1, seed: 4 });
      expect((await decoder.decode(mixed, { maxNewTokens: 3, temperature: 1, seed: 4 })).tokens).toEqual(s1.tokens);
      await expect(decoder.decode([[1, 2, 3]], { maxNewTokens: 20 })).rejects.toThrow(/exceeds the model's context/);
      decoder.destroy();

      // Sampling: reproducible from the seed.
      const prompts = examples.slice(0, 4).map((e) => [...e.prompt, SEP]);
      const a = await generate(model, prompts, { maxNewTokens: 4, temperature: 1, seed: 9 });
      expect(await generate(model, prompts, { maxNewTokens: 4, temperature: 1, seed: 9 })).toEqual(a);
      expect(a.every((s) => s.length === 4)).toBe(true);
      await expect(generate(model, [[1, 2, 3]], { maxNewTokens: 20 })).rejects.toThrow(/exceeds the model's context/);
    } finally {
      model.destroy();
    }
  });
});
