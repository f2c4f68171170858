// Built-in synthetic tasks with exact answers: sorting digits, reversing them, adding two
// numbers (answered least significant digit first). Each example is the token sequence
// `prompt = answer .`; the loss counts only the answer and its end mark. Examples come from a seeded generator, and a hash of the prompt
// decides once and for all whether it is held out, so the held-out split never meets training.
import { z } from 'zod';
import type { Batch, Dataset, Split } from './batch.ts';
import { Vocabulary } from './vocabulary.ts';

/** One vocabulary for every task: digits, '+', the separator '=', the end mark '.'. */
export const TASK_VOCABULARY = new Vocabulary(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '=', '.']);
export const SEP = TASK_VOCABULARY.id('=');
export const EOS = TASK_VOCABULARY.id('.');
const PLUS = TASK_VOCABULARY.id('+');

export const TASK_KINDS = ['sort', 'reverse', 'add'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const syntheticTaskSpec = z
  .object({
    kind: z.enum(TASK_KINDS),
    /** Digits in the sequence (sort, reverse) or in each operand (add: 1 to `length` digits, zero-padded). */
    length: z.number().int().min(2, 'must be at least 2').max(32, 'must be at most 32'),
    /** Fraction of all prompts held out for evaluation (never trained on). */
    heldOutFraction: z.number().gt(0).lt(1).default(0.1),
  })
  .strict();
export type SyntheticTaskSpec = z.input<typeof syntheticTaskSpec>;

export interface Example {
  prompt: number[];
  answer: number[];
}

/** FNV-1a over the prompt's ids, salted by the task: a stable split independent of any seed. */
function promptHash(kind: TaskKind, length: number, prompt: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const v of [...Array.from(kind, (c) => c.charCodeAt(0)), length, ...prompt]) {
    h ^= v;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche (murmur3's fmix32): FNV's low bits alone split poorly.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

function digits(random: () => number, n: number): number[] {
  return Array.from({ length: n }, () => Math.floor(random() * 10));
}

/**
 * An operand of `add`: a number of 1 to `n` digits (each as likely), padded with zeros to `n`.
 * Where one operand is shorter, its columns are 0 and the answer digit copies the other's: a
 * signal attention learns at once, as in `reverse`. With only full-length operands every
 * answer digit needs both digits of its column together, and the model sat on a plateau
 * (0 % exact after 1,000 steps of add-8, 250 steps of add-3).
 */
function operand(random: () => number, n: number): number[] {
  const used = 1 + Math.floor(random() * n);
  return [...new Array<number>(n - used).fill(0), ...digits(random, used)];
}

/**
 * The sum of two equal-length numbers (digits most significant first), as length + 1 digits
 * *least* significant first: each answer digit then depends on two prompt digits and the
 * carry out of the digit just written, so a small model learns it. Written most significant
 * first, every digit depends on all the digits below it and the demo's model never learned.
 */
function addDigits(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let carry = 0;
  for (let i = a.length - 1; i >= 0; i--) {
    const s = a[i] + b[i] + carry;
    out.push(s % 10);
    carry = s >= 10 ? 1 : 0;
  }
  out.push(carry);
  return out;
}

export class SyntheticTask implements Dataset {
  readonly spec: z.output<typeof syntheticTaskSpec>;
  readonly vocab = TASK_VOCABULARY;
  readonly vocabSize = TASK_VOCABULARY.size;
  readonly promptLength: number;
  readonly answerLength: number;
  /** prompt + separator + answer + end mark − 1: the inputs predict the next token. */
  readonly seqLen: number;

  constructor(spec: SyntheticTaskSpec) {
    this.spec = syntheticTaskSpec.parse(spec);
    const L = this.spec.length;
    this.promptLength = this.spec.kind === 'add' ? 2 * L + 1 : L;
    this.answerLength = this.spec.kind === 'add' ? L + 1 : L;
    this.seqLen = this.promptLength + 1 + this.answerLength;
  }

  /** The exact answer to a prompt, or an error if the prompt is not one of this task's. */
  solve(prompt: readonly number[]): number[] {
    const L = this.spec.length;
    if (prompt.length !== this.promptLength)
      throw new Error(`${this.spec.kind}: prompt has ${prompt.length} tokens, expected ${this.promptLength}`);
    switch (this.spec.kind) {
      case 'sort':
        return [...prompt].sort((x, y) => x - y);
      case 'reverse':
        return [...prompt].reverse();
      case 'add':
        if (prompt[L] !== PLUS) throw new Error(`add: prompt must be ${L} digits, '+', ${L} digits`);
        return addDigits(prompt.slice(0, L), prompt.slice(L + 1));
    }
  }

  /** An answer as a person reads it: add's sum most significant digit first, without leading zeros. */
  readable(answer: readonly number[]): string {
    if (this.spec.kind !== 'add') return this.vocab.decode(answer);
    return this.vocab.decode([...answer].reverse()).replace(/^0+(?=.)/, '');
  }

  isHeldOut(prompt: readonly number[]): boolean {
    return promptHash(this.spec.kind, this.spec.length, prompt) / 2 ** 32 < this.spec.heldOutFraction;
  }

  private randomPrompt(random: () => number): number[] {
    const L = this.spec.length;
    return this.spec.kind === 'add' ? [...operand(random, L), PLUS, ...operand(random, L)] : digits(random, L);
  }

  /** The next example of `split` drawn with `random` (rejection sampling on the split hash). */
  example(random: () => number, split: Split): Example {
    for (let attempt = 0; attempt < 100_000; attempt++) {
      const prompt = this.randomPrompt(random);
      if (this.isHeldOut(prompt) === (split === 'heldOut')) return { prompt, answer: this.solve(prompt) };
    }
    throw new Error(
      `${this.spec.kind}: no ${split} example found; heldOutFraction ${this.spec.heldOutFraction} leaves that split (nearly) empty`,
    );
  }

  /** `prompt = answer .` as token ids. */
  sequence(e: Example): number[] {
    return [...e.prompt, SEP, ...e.answer, EOS];
  }

  batch(random: () => number, batchSize: number, split: Split): Batch {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batch size must be a positive integer, got ${batchSize}`);
    const T = this.seqLen;
    const inputs = new Int32Array(batchSize * T);
    const targets = new Int32Array(batchSize * T);
    for (let b = 0; b < batchSize; b++) {
      const seq = this.sequence(this.example(random, split));
      for (let j = 0; j < T; j++) {
        inputs[b * T + j] = seq[j];
        // Position j predicts seq[j+1]; only the answer and its end mark count.
        targets[b * T + j] = j >= this.promptLength ? seq[j + 1] : -1;
      }
    }
    return { batchSize, seqLen: T, inputs, targets };
  }

  /** `count` distinct examples of `split` (for evaluation), in a seeded order. */
  distinctExamples(random: () => number, count: number, split: Split): Example[] {
    const seen = new Set<string>();
    const out: Example[] = [];
    for (let tries = 0; out.length < count; tries++) {
      if (tries > count * 100 + 10_000)
        throw new Error(`${this.spec.kind}: could not find ${count} distinct ${split} examples`);
      const e = this.example(random, split);
      const key = e.prompt.join(',');
      if (!seen.has(key)) {
        seen.add(key);
        out.push(e);
      }
    }
    return out;
  }

  /** True when `generated` starts with the exact answer followed by the end mark. */
  isExact(e: Example, generated: readonly number[]): boolean {
    return e.answer.every((t, i) => generated[i] === t) && generated[e.answer.length] === EOS;
  }
}
