import { describe, expect, it } from 'vitest';
import { Embedding, tokenIndex } from '../../../kernels/ops/embedding.ts';
import { dot, embeddingRef, finiteDifferences } from '../../../kernels/ops/reference.ts';
import { ShapeError } from '../../../kernels/errors.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose, integers, uniform } from './op-check.ts';

const gpu = await testDevice();
const emb = new Embedding(gpu.device);

describe('embedding gather / scatter-add', () => {
  // [batch, seq, dim, vocab, posRows]: odd widths, a vocabulary with unused tokens, a
  // position table longer than the sequence.
  for (const [batch, seq, dim, vocab, posRows] of [
    [1, 1, 1, 1, 1],
    [3, 5, 7, 11, 5],
    [4, 9, 33, 6, 12],
  ]) {
    const rows = batch * seq;
    const s = { rows, dim, vocab, positions: seq, posRows };
    const ids = integers(rows, vocab, rows + dim);
    const table = uniform(vocab * dim, vocab);
    const pos = uniform(posRows * dim, posRows + 1);
    const dout = uniform(rows * dim, 7 * rows);

    it(`forward ${batch}×${seq}, dim ${dim}, vocab ${vocab}: gather is exact`, async () => {
      // One f32 addition: exactly the f32 rounding of the f64 reference.
      expect(await emb.runForward(s, ids, table, pos)).toEqual(
        Float32Array.from(embeddingRef(ids, table, dim, pos, seq)),
      );
      expect(await emb.runForward(s, ids, table)).toEqual(Float32Array.from(embeddingRef(ids, table, dim)));
    });

    it(`backward ${batch}×${seq}, dim ${dim}, vocab ${vocab} matches finite differences`, async () => {
      const got = await emb.runBackward(s, ids, dout, true);
      const fdTable = finiteDifferences((t) => dot(dout, embeddingRef(ids, t, dim, pos, seq)), table);
      const fdPos = finiteDifferences((p) => dot(dout, embeddingRef(ids, table, dim, p, seq)), pos);
      // Sums of at most `rows` f32 values of magnitude ≤ 1.
      expectClose(got.dtable, fdTable, { abs: 1e-6 * rows + 1e-7 }, 'dtable');
      expectClose(got.dpos!, fdPos, { abs: 1e-6 * rows + 1e-7 }, 'dpos');
    });
  }

  it('scatter-add is bit-for-bit repeatable with many repeats of few tokens', async () => {
    const s = { rows: 500, dim: 3, vocab: 2 };
    const ids = integers(500, 2, 9);
    const dout = uniform(1500, 10, -1e3, 1e3);
    const a = await emb.runBackward(s, ids, dout);
    const b = await emb.runBackward(s, ids, dout);
    expect(a.dtable).toEqual(b.dtable);
  });

  it('decoding one position at an offset reads that row of the position table', async () => {
    const table = uniform(5 * 3, 1);
    const pos = uniform(6 * 3, 2);
    const ids = new Int32Array([4, 0]);
    const s = { rows: 2, dim: 3, vocab: 5, positions: 1, posRows: 6, posOffset: 4 };
    const want = Float32Array.from(
      [...ids].flatMap((id) => [0, 1, 2].map((d) => Math.fround(table[id * 3 + d] + pos[4 * 3 + d]))),
    );
    expect(await emb.runForward(s, ids, table, pos)).toEqual(want);
    await expect(emb.runForward({ ...s, posOffset: 6 }, ids, table, pos)).rejects.toThrow(
      /positions 6…6 exceed the position table's 6 rows/,
    );
  });

  it('the inverse index is a stable counting sort', () => {
    const { offsets, order } = tokenIndex([2, 0, 2, 1, 0], 4);
    expect([...offsets]).toEqual([0, 2, 3, 5, 5]);
    expect([...order]).toEqual([1, 4, 3, 0, 2]);
    expect(() => tokenIndex([0, 4], 4)).toThrow(/ids\[1\] = 4 is outside the vocabulary/);
  });

  it('refuses bad shapes', async () => {
    const ids = new Int32Array(4);
    await expect(emb.runForward({ rows: 4, dim: 2, vocab: 3 }, ids, new Float32Array(5))).rejects.toThrow(
      /table holds 20 bytes, needs 24/,
    );
    await expect(
      emb.runForward(
        { rows: 4, dim: 2, vocab: 3, positions: 4, posRows: 2 },
        ids,
        new Float32Array(6),
        new Float32Array(4),
      ),
    ).rejects.toThrow(/positions 0…3 exceed the position table's 2 rows/);
    await expect(
      emb.runForward({ rows: 4, dim: 2, vocab: 3 }, ids, new Float32Array(6), new Float32Array(8)),
    ).rejects.toThrow(ShapeError);
  });
});
