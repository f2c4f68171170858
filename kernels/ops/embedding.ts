// Token (+ position) embedding: forward gather, backward scatter-add.
// The backward is deterministic without float atomics: the host, which builds each batch,
// also builds its inverse index (for each token, the rows where it occurs, in order), and
// the device sums each token's rows in that fixed order. Cost O(rows · dim), not O(vocab · rows · dim).
import { ELEMENTWISE_MAIN, OpKernel, positiveInt, withArrays } from './op-kernel.ts';
import { ShapeError } from '../errors.ts';

const HEADER = /* wgsl */ `
struct Dims { rows: u32, dim: u32, vocab: u32, positions: u32, posRows: u32, posOffset: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
`;

/** out[n, d] = table[ids[n], d] (+ pos[posOffset + n mod positions, d]); an id outside [0, vocab) reads zeros. */
export function embeddingForwardWgsl(withPositions: boolean): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${withPositions ? '@group(0) @binding(4) var<storage, read> pos: array<f32>;' : ''}
fn apply(i: u32) {
  if (i >= dims.rows * dims.dim) { return; }
  let n = i / dims.dim;
  let d = i % dims.dim;
  let id = ids[n];
  var v = 0.0;
  if (id >= 0 && u32(id) < dims.vocab) { v = table[u32(id) * dims.dim + d]; }
  ${withPositions ? 'v += pos[(dims.posOffset + n % dims.positions) * dims.dim + d];' : ''}
  out[i] = v;
}
${ELEMENTWISE_MAIN}`;
}

/** dtable[v, d] = Σ over rows n with ids[n] = v (in index order) of dout[n, d]. */
export function embeddingBackwardTokensWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dtable: array<f32>;
fn apply(i: u32) {
  if (i >= dims.vocab * dims.dim) { return; }
  let v = i / dims.dim;
  let d = i % dims.dim;
  var s = 0.0;
  for (var j = offsets[v]; j < offsets[v + 1u]; j++) { s += dout[order[j] * dims.dim + d]; }
  dtable[i] = s;
}
${ELEMENTWISE_MAIN}`;
}

/** dpos[t, d] = Σ over rows n ≡ t (mod positions) of dout[n, d]; rows t ≥ positions get 0. */
export function embeddingBackwardPositionsWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> dpos: array<f32>;
fn apply(i: u32) {
  if (i >= dims.posRows * dims.dim) { return; }
  let t = i / dims.dim;
  let d = i % dims.dim;
  var s = 0.0;
  if (t < dims.positions) {
    for (var n = t; n < dims.rows; n += dims.positions) { s += dout[n * dims.dim + d]; }
  }
  dpos[i] = s;
}
${ELEMENTWISE_MAIN}`;
}

export interface EmbeddingShape {
  /** Rows looked up (batch · sequence length). */
  rows: number;
  dim: number;
  vocab: number;
  /** Sequence length: row n takes position n mod positions. Needed with a position table. */
  positions?: number;
  /** Rows of the position table (the model's context); default `positions`. */
  posRows?: number;
  /**
   * Forward only: position of the first row (decoding one token at position t with a KV
   * cache: positions 1, posOffset t). Default 0.
   */
  posOffset?: number;
}

/** Inverse index of a batch's ids: rows of token v are order[offsets[v] .. offsets[v+1]). */
export interface TokenIndex {
  offsets: Uint32Array;
  order: Uint32Array;
}

/** Builds the inverse index of `ids` (a counting sort, stable): O(rows + vocab). */
export function tokenIndex(ids: ArrayLike<number>, vocab: number): TokenIndex {
  const offsets = new Uint32Array(vocab + 1);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (!Number.isInteger(id) || id < 0 || id >= vocab)
      throw new ShapeError(`embedding: ids[${n}] = ${id} is outside the vocabulary [0, ${vocab})`);
    offsets[id + 1]++;
  }
  for (let v = 0; v < vocab; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, vocab);
  const order = new Uint32Array(ids.length);
  for (let n = 0; n < ids.length; n++) order[next[ids[n]]++] = n;
  return { offsets, order };
}

export class Embedding {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'embedding');
  }

  private uniform(s: EmbeddingShape, withPositions: boolean): GPUBuffer {
    positiveInt('embedding', 'rows', s.rows);
    positiveInt('embedding', 'dim', s.dim);
    positiveInt('embedding', 'vocab', s.vocab);
    const positions = s.positions ?? 1;
    const posRows = s.posRows ?? positions;
    if (withPositions) {
      if (s.positions === undefined)
        throw new ShapeError('embedding: a position table needs `positions` (the sequence length)');
      positiveInt('embedding', 'positions', positions);
      const off = s.posOffset ?? 0;
      if (!Number.isInteger(off) || off < 0)
        throw new ShapeError(`embedding: posOffset must be a non-negative integer, got ${off}`);
      if (posRows < positions + off) {
        throw new ShapeError(
          `embedding: positions ${off}…${off + positions - 1} exceed the position table's ${posRows} rows`,
        );
      }
    }
    return this.k.uniform([
      { u32: s.rows },
      { u32: s.dim },
      { u32: s.vocab },
      { u32: positions },
      { u32: posRows },
      { u32: s.posOffset ?? 0 },
    ]);
  }

  /** out = table[ids] (+ pos[row mod positions]). `ids` holds i32 values. */
  forward(
    encoder: GPUCommandEncoder,
    s: EmbeddingShape,
    b: { ids: GPUBuffer; table: GPUBuffer; out: GPUBuffer; pos?: GPUBuffer },
  ): void {
    const u = this.uniform(s, !!b.pos);
    this.k.need('ids', b.ids, s.rows);
    this.k.need('table', b.table, s.vocab * s.dim);
    this.k.need('out', b.out, s.rows * s.dim);
    if (b.pos) this.k.need('pos', b.pos, (s.posRows ?? s.positions!) * s.dim);
    const p = this.k.pipeline(b.pos ? 'forward+pos' : 'forward', () => embeddingForwardWgsl(!!b.pos));
    this.k.dispatchElements(
      encoder,
      p,
      b.pos ? [u, b.ids, b.table, b.out, b.pos] : [u, b.ids, b.table, b.out],
      s.rows * s.dim,
    );
  }

  /**
   * dtable = scatter-add of dout by token (overwrites dtable), and dpos = dout summed per
   * position when `dpos` is given. `offsets` (vocab+1) and `order` (rows) are u32 buffers
   * holding `tokenIndex(ids)`.
   */
  backward(
    encoder: GPUCommandEncoder,
    s: EmbeddingShape,
    b: { offsets: GPUBuffer; order: GPUBuffer; dout: GPUBuffer; dtable: GPUBuffer; dpos?: GPUBuffer },
  ): void {
    if (s.posOffset)
      throw new ShapeError('embedding: posOffset is for the forward (decoding); the backward takes whole sequences');
    const u = this.uniform(s, !!b.dpos);
    this.k.need('offsets', b.offsets, s.vocab + 1);
    this.k.need('order', b.order, s.rows);
    this.k.need('dout', b.dout, s.rows * s.dim);
    this.k.need('dtable', b.dtable, s.vocab * s.dim);
    this.k.dispatchElements(
      encoder,
      this.k.pipeline('tokens', embeddingBackwardTokensWgsl),
      [u, b.offsets, b.order, b.dout, b.dtable],
      s.vocab * s.dim,
    );
    if (b.dpos) {
      const posRows = s.posRows ?? s.positions!;
      this.k.need('dpos', b.dpos, posRows * s.dim);
      this.k.dispatchElements(
        encoder,
        this.k.pipeline('positions', embeddingBackwardPositionsWgsl),
        [u, b.dout, b.dpos],
        posRows * s.dim,
      );
    }
  }

  async runForward(s: EmbeddingShape, ids: Int32Array, table: Float32Array, pos?: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const out = run.output(s.rows * s.dim);
      this.forward(run.encoder, s, {
        ids: run.upload(ids),
        table: run.upload(table),
        out,
        pos: pos && run.upload(pos),
      });
      return (await run.finish([{ buffer: out, elements: s.rows * s.dim }]))[0];
    });
  }

  async runBackward(s: EmbeddingShape, ids: Int32Array, dout: Float32Array, withPositions = false) {
    return withArrays(this.device, async (run) => {
      const { offsets, order } = tokenIndex(ids, s.vocab);
      const dtable = run.output(s.vocab * s.dim);
      const posElems = withPositions ? (s.posRows ?? s.positions ?? 1) * s.dim : 0;
      const dpos = withPositions ? run.output(posElems) : undefined;
      this.backward(run.encoder, s, {
        offsets: run.upload(offsets),
        order: run.upload(order),
        dout: run.upload(dout),
        dtable,
        dpos,
      });
      const outs = [{ buffer: dtable, elements: s.vocab * s.dim }];
      if (dpos) outs.push({ buffer: dpos, elements: posElems });
      const [dt, dp] = await run.finish(outs);
      return { dtable: dt, dpos: dp };
    });
  }
}
