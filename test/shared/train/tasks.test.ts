import { describe, expect, it } from 'vitest';
import { CharDataset } from '../../../shared/train/char-dataset.ts';
import { EOS, SEP, SyntheticTask, TASK_VOCABULARY } from '../../../shared/train/tasks.ts';
import { seededRandom } from '../../../kernels/random.ts';

const text = (ids: ArrayLike<number>) => TASK_VOCABULARY.decode(ids);

describe('synthetic tasks', () => {
  const sort = new SyntheticTask({ kind: 'sort', length: 8 });
  const reverse = new SyntheticTask({ kind: 'reverse', length: 9 });
  const add = new SyntheticTask({ kind: 'add', length: 5 });

  it('answers are exact', () => {
    const rnd = seededRandom(1);
    for (let i = 0; i < 200; i++) {
      const s = sort.example(rnd, 'train');
      const digits = text(s.prompt).split('');
      expect(text(s.answer)).toBe([...digits].sort().join(''));
      const r = reverse.example(rnd, 'train');
      expect(text(r.answer)).toBe(text(r.prompt).split('').reverse().join(''));
      const a = add.example(rnd, 'heldOut');
      const [x, y] = text(a.prompt).split('+');
      expect(x).toHaveLength(5);
      // Least significant digit first, with the carry out last.
      expect(text(a.answer)).toBe([...String(Number(x) + Number(y)).padStart(6, '0')].reverse().join(''));
    }
    expect(text(add.solve(TASK_VOCABULARY.encode('99999+00001')))).toBe('000001');
    expect(text(add.solve(TASK_VOCABULARY.encode('12345+00010')))).toBe('553210');
    expect(() => add.solve(TASK_VOCABULARY.encode('1234512345'))).toThrow(/prompt has 10 tokens, expected 11/);
  });

  it("add's operands have 1 to `length` digits, each length about as often, zero-padded", () => {
    const rnd = seededRandom(11);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 4000; i++) {
      const [x, y] = text(add.example(rnd, 'train').prompt).split('+');
      expect(x).toHaveLength(5);
      for (const n of [x, y]) counts[n.replace(/^0+/, '').length]++;
    }
    // 8,000 operands over 5 lengths (a shorter one may start with a 0 digit of its own: a little extra at the short end).
    for (let len = 1; len <= 5; len++) expect(counts[len] / 8000).toBeGreaterThan(0.15);
    expect(counts[5] / 8000).toBeGreaterThan(0.16);
    expect(add.readable(add.solve(TASK_VOCABULARY.encode('00012+00034')))).toBe('46');
    expect(add.readable(add.solve(TASK_VOCABULARY.encode('00000+00000')))).toBe('0');
    expect(sort.readable([1, 2, 3])).toBe('123');
  });

  it('batches are `prompt = answer .` with the loss on the answer and end mark only', () => {
    const b = sort.batch(seededRandom(3), 4, 'train');
    expect(b.seqLen).toBe(8 + 1 + 8);
    expect(b.inputs).toHaveLength(4 * 17);
    for (let r = 0; r < 4; r++) {
      const inp = [...b.inputs.subarray(r * 17, r * 17 + 17)];
      const tgt = [...b.targets.subarray(r * 17, r * 17 + 17)];
      expect(inp[8]).toBe(SEP);
      // The first 8 positions predict prompt tokens or the separator: masked.
      expect(tgt.slice(0, 8)).toEqual(Array(8).fill(-1));
      const answer = tgt.slice(8, 16);
      expect(answer).toEqual(sort.solve(inp.slice(0, 8)));
      expect(tgt[16]).toBe(EOS);
      // Targets are the inputs shifted by one where counted.
      for (let j = 8; j < 16; j++) expect(tgt[j]).toBe(inp[j + 1]);
    }
  });

  it('is deterministic from the seed and differs across seeds', () => {
    const a = add.batch(seededRandom(42), 8, 'train');
    const b = add.batch(seededRandom(42), 8, 'train');
    const c = add.batch(seededRandom(43), 8, 'train');
    expect(a.inputs).toEqual(b.inputs);
    expect(a.targets).toEqual(b.targets);
    expect(a.inputs).not.toEqual(c.inputs);
  });

  it('the held-out split is disjoint from training and about the requested size', () => {
    for (const task of [sort, reverse, add]) {
      const train = new Set(
        Array.from({ length: 3000 }, (_, i) => task.example(seededRandom(i), 'train').prompt.join('')),
      );
      const held = task.distinctExamples(seededRandom(7), 300, 'heldOut');
      for (const e of held) {
        expect(task.isHeldOut(e.prompt)).toBe(true);
        expect(train.has(e.prompt.join(''))).toBe(false);
      }
      // The split is a property of the prompt: about 10% of uniform prompts are held out.
      const rnd = seededRandom(99);
      let heldOut = 0;
      for (let i = 0; i < 5000; i++)
        if (
          task.isHeldOut(
            Array.from({ length: task.promptLength }, (_, j) =>
              task.spec.kind === 'add' && j === 5 ? 10 : Math.floor(rnd() * 10),
            ),
          )
        )
          heldOut++;
      expect(heldOut / 5000).toBeGreaterThan(0.08);
      expect(heldOut / 5000).toBeLessThan(0.12);
    }
  });

  it('distinct held-out examples are distinct and exact-match checks the end mark', () => {
    const ex = sort.distinctExamples(seededRandom(5), 50, 'heldOut');
    expect(new Set(ex.map((e) => e.prompt.join(''))).size).toBe(50);
    const e = ex[0];
    expect(sort.isExact(e, [...e.answer, EOS])).toBe(true);
    expect(sort.isExact(e, [...e.answer])).toBe(false);
    expect(sort.isExact(e, [...e.answer.slice(0, -1), (e.answer.at(-1)! + 1) % 10, EOS])).toBe(false);
  });

  it('refuses bad specs', () => {
    expect(() => new SyntheticTask({ kind: 'sort', length: 1 })).toThrow(/at least 2/);
    // @ts-expect-error: an unknown kind is refused at run time too
    expect(() => new SyntheticTask({ kind: 'multiply', length: 4 })).toThrow();
    expect(() => sort.batch(seededRandom(1), 0, 'train')).toThrow(/batch size must be a positive integer/);
  });
});

describe('character-level text dataset', () => {
  const corpus = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
  const ds = new CharDataset(corpus, { seqLen: 16, heldOutFraction: 0.2 });

  it('vocabulary is the sorted set of characters and round-trips', () => {
    expect(ds.vocab.tokens.join('')).toBe([...new Set(corpus)].sort().join(''));
    expect(ds.vocab.decode(ds.ids)).toBe(corpus);
  });

  it('windows are next-token pairs from their own split, deterministic from the seed', () => {
    const a = ds.batch(seededRandom(1), 32, 'train');
    expect(a).toEqual(ds.batch(seededRandom(1), 32, 'train'));
    const held = ds.batch(seededRandom(1), 32, 'heldOut');
    const trainText = ds.vocab.decode(ds.ids.subarray(0, ds.splitAt));
    const heldText = ds.vocab.decode(ds.ids.subarray(ds.splitAt));
    for (let r = 0; r < 32; r++) {
      const inp = ds.vocab.decode(a.inputs.subarray(r * 16, r * 16 + 16));
      const tgt = ds.vocab.decode(a.targets.subarray(r * 16, r * 16 + 16));
      expect(inp.slice(1)).toBe(tgt.slice(0, 15));
      expect(trainText.includes(inp + tgt.at(-1))).toBe(true);
      const hi = ds.vocab.decode(held.inputs.subarray(r * 16, r * 16 + 16));
      const ht = ds.vocab.decode(held.targets.subarray(r * 16, r * 16 + 16));
      expect(heldText.includes(hi + ht.at(-1))).toBe(true);
    }
  });

  it('refuses a text too short for the window', () => {
    expect(() => new CharDataset('abcdefghij', { seqLen: 8 })).toThrow(
      /held-out part has 1 characters, fewer than seqLen \+ 1 = 9/,
    );
  });
});
