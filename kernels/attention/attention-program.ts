// WGSL for fused multi-head attention O = softmax(Q·Kᵀ·scale + mask)·V, flash-attention style:
// each invocation owns `rows` query rows and walks the keys in tiles of `keyTile`, keeping a
// running max and sum (online softmax) so the seqQ×seqK score matrix never exists in memory.
//
// Layout: Q, O [batch·heads, seqQ, headDim]; K, V [batch·heads, seqK, headDim]; LSE [batch·heads, seqQ];
// all row-major and contiguous. Scores are kept in log2 units (Q is pre-scaled by scale·log2 e)
// so the exponentials are exp2; the LSE output is converted back to natural log.
//
// Causal mask, bottom-right aligned (FlashAttention-2): query i sees key j iff j ≤ i + (seqK − seqQ).
// With seqQ = seqK that is the usual lower triangle; with seqQ < seqK the queries are the last
// seqQ positions of the keys' sequence. A row that sees no key (seqQ > seqK) gets O = 0 and LSE = −∞.
// Key tiles past the last key any row of the workgroup can see are skipped entirely.
//
// Two ways to read K/V (`stageKV`): straight from storage (no barriers; on CPU drivers such as
// lavapipe the loads are uniform across the workgroup, so they become broadcasts) or staged
// cooperatively in workgroup memory (the GPU way: fewer global reads, two barriers per tile).

export type AttentionDtype = 'f32' | 'f16';

export interface AttentionTile {
  /** Invocations per workgroup. */
  workgroupSize: number;
  /** Query rows per invocation (they share each K/V load). */
  rows: number;
  /** Keys per online-softmax step. */
  keyTile: number;
  /** Stage K/V tiles in workgroup memory (else read from storage directly). */
  stageKV: boolean;
  /**
   * Unroll the loops over the head dim so the per-row Q and accumulator arrays are only
   * indexed by constants (lavapipe lowers dynamically indexed private arrays very slowly).
   */
  unroll: boolean;
}

export interface AttentionProgramSpec {
  headDim: number;
  dtype: AttentionDtype;
  causal: boolean;
  /** Also write the log-sum-exp of each query row's scaled, masked scores. */
  lse: boolean;
  tile: AttentionTile;
}

/** Query rows per workgroup. */
export function rowsPerWorkgroup(t: AttentionTile): number {
  return t.workgroupSize * t.rows;
}

/** Elements per vector lane of the Q/K/V/O arrays: vec4 when the head dim allows it. */
export function vectorWidth(headDim: number): 1 | 4 {
  return headDim % 4 === 0 ? 4 : 1;
}

/** Bytes of workgroup memory a tile needs (0 when K/V are not staged). */
export function workgroupBytes(headDim: number, t: AttentionTile): number {
  return t.stageKV ? 2 * t.keyTile * headDim * 4 : 0;
}

/** Layout of the uniform block, shared with the host code. */
export const PARAMS_BYTES = 32;
export function packParams(p: { seqQ: number; seqK: number; bh: number; groupsY: number; scale: number; headDim: number }): ArrayBuffer {
  const buf = new ArrayBuffer(PARAMS_BYTES);
  const u = new Uint32Array(buf);
  const i = new Int32Array(buf);
  const f = new Float32Array(buf);
  u[0] = p.seqQ;
  u[1] = p.seqK;
  u[2] = p.bh;
  u[3] = p.groupsY;
  i[4] = p.seqK - p.seqQ; // causal offset (bottom-right alignment)
  f[5] = p.scale * Math.LOG2E;
  u[6] = 0xff800000; // −∞ as f32 bits: WGSL has no −∞ constant
  u[7] = p.headDim / vectorWidth(p.headDim);
  return buf;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export function attentionWgsl(spec: AttentionProgramSpec): string {
  const { headDim: D, dtype, causal, lse, tile } = spec;
  const { workgroupSize: WG, rows: R, keyTile: T, stageKV } = tile;
  const W = vectorWidth(D);
  const DV = D / W;
  const store = dtype === 'f16' ? 'f16' : 'f32';
  const vec = (s: string) => (W === 1 ? s : `vec4<${s}>`);
  const V32 = vec('f32');
  const VS = vec(store);
  const dotf = (a: string, b: string) => (W === 1 ? `(${a} * ${b})` : `dot(${a}, ${b})`);
  // Load a K/V vector for key slot t at vector index d, as f32.
  const kv = (buf: 'k' | 'v', t: number, d: string) =>
    stageKV ? `${buf}Tile[${t * DV}u + ${d}]` : `${V32}(${buf}[keyRow${t} + ${d}])`;

  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  // A loop over the head dim's vectors, or its unrolled body with constant indices.
  const loopD = (indent: string, body: (d: string) => string[]) => {
    if (tile.unroll) {
      for (const i of range(DV)) for (const l of body(`${i}u`)) emit(indent + l);
    } else {
      // The bound comes from the uniform block (same value as DV) so the driver cannot unroll
      // the loop: lavapipe takes minutes to compile a fully unrolled large head dim.
      emit(`${indent}for (var d = 0u; d < P.dv; d++) {`);
      for (const l of body('d')) emit(`${indent}  ${l}`);
      emit(`${indent}}`);
    }
  };
  // Element `d` of row r's Q or accumulator: an array element in the looped form, a plain
  // variable each when unrolled (no private arrays at all, so the driver keeps them in registers).
  const reg = (name: 'qr' | 'acc', r: number, d: string) =>
    d === 'd' ? `${name}[${r * DV}u + d]` : `${name}_${r}_${parseInt(d)}`;

  if (dtype === 'f16') emit('enable f16;');
  emit(`struct Params { sq: u32, sk: u32, bh: u32, groupsY: u32, causalOffset: i32, scaleLog2: f32, negInfBits: u32, dv: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<${VS}>;
@group(0) @binding(2) var<storage, read> k: array<${VS}>;
@group(0) @binding(3) var<storage, read> v: array<${VS}>;
@group(0) @binding(4) var<storage, read_write> o: array<${VS}>;`);
  if (lse) emit('@group(0) @binding(5) var<storage, read_write> lseOut: array<f32>;');
  emit(`const NEG = -3.0e38; // "no key seen yet": finite so that NEG − NEG = 0, never NaN
const DV = ${DV}u;`);
  if (stageKV) emit(`var<workgroup> kTile: array<${V32}, ${T * DV}>;\nvar<workgroup> vTile: array<${V32}, ${T * DV}>;`);

  emit(`
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let bh = wg.y + wg.z * P.groupsY;
  if (bh >= P.bh) { return; }
  let qOff = bh * P.sq * DV;
  let kOff = bh * P.sk * DV;
  let rowBase = wg.x * ${WG * R}u + li * ${R}u;`);

  // Keys this workgroup needs at all (uniform, so the tile loop and its barriers stay uniform).
  if (causal) {
    emit(`  let lastRow = i32(min(P.sq, (wg.x + 1u) * ${WG * R}u)) - 1;
  let kEnd = u32(clamp(lastRow + P.causalOffset + 1, 0, i32(P.sk)));`);
  } else {
    emit('  let kEnd = P.sk;');
  }

  if (tile.unroll) {
    for (const r of range(R)) {
      for (const name of ['qr', 'acc'] as const) {
        for (let i = 0; i < DV; i += 8) emit(`  ${range(Math.min(8, DV - i)).map((j) => `var ${reg(name, r, `${i + j}u`)}: ${V32};`).join(' ')}`);
      }
    }
  } else {
    emit(`  var qr: array<${V32}, ${R * DV}>;
  var acc: array<${V32}, ${R * DV}>;`);
  }
  for (const r of range(R)) {
    emit(`  var m${r} = NEG;
  var l${r} = 0.0;
  let row${r} = rowBase + ${r}u;`);
    // Keys visible to this row: [0, end). Rows past seqQ see none and are never written.
    if (causal) {
      emit(`  let end${r} = select(0u, u32(clamp(i32(row${r}) + P.causalOffset + 1, 0, i32(P.sk))), row${r} < P.sq);`);
    } else {
      emit(`  let end${r} = select(0u, P.sk, row${r} < P.sq);`);
    }
    emit(`  if (row${r} < P.sq) {`);
    loopD('    ', (d) => [`${reg('qr', r, d)} = ${V32}(q[qOff + row${r} * DV + ${d}]) * P.scaleLog2;`]);
    emit('  }');
  }

  emit(`  for (var k0 = 0u; k0 < kEnd; k0 += ${T}u) {`);
  if (stageKV) {
    emit(`    for (var idx = li; idx < ${T * DV}u; idx += ${WG}u) {
      let key = min(k0 + idx / DV, P.sk - 1u);
      let src = kOff + key * DV + idx % DV;
      kTile[idx] = ${V32}(k[src]);
      vTile[idx] = ${V32}(v[src]);
    }
    workgroupBarrier();`);
  } else {
    // Clamp ragged-tile keys to the last one: in bounds, and masked below anyway.
    for (const t of range(T)) emit(`    let keyRow${t} = kOff + min(k0 + ${t}u, P.sk - 1u) * DV;`);
  }
  // Scores s[r][t] for this tile: each K vector is loaded once and used for all R rows.
  for (const r of range(R)) emit(`    ${range(T).map((t) => `var s${r}_${t} = 0.0;`).join(' ')}`);
  loopD('    ', (d) => {
    const out: string[] = [];
    for (const t of range(T)) {
      const kt = `kv${t}_${d.replace('u', '')}`;
      out.push(`let ${kt} = ${kv('k', t, d)};`);
      for (const r of range(R)) out.push(`s${r}_${t} += ${dotf(reg('qr', r, d), kt)};`);
    }
    return out;
  });
  // Online softmax update per row.
  for (const r of range(R)) {
    for (const t of range(T)) emit(`    let ok${r}_${t} = k0 + ${t}u < end${r};`);
    const masked = range(T).map((t) => `select(NEG, s${r}_${t}, ok${r}_${t})`);
    emit(`    let mNew${r} = max(m${r}, ${masked.reduce((a, b) => `max(${a}, ${b})`)});
    let alpha${r} = exp2(m${r} - mNew${r});`);
    for (const t of range(T)) emit(`    let p${r}_${t} = select(0.0, exp2(s${r}_${t} - mNew${r}), ok${r}_${t});`);
    emit(`    l${r} = l${r} * alpha${r} + ${range(T).map((t) => `p${r}_${t}`).join(' + ')};
    m${r} = mNew${r};`);
  }
  loopD('    ', (d) => {
    const sfx = d.replace('u', '');
    const out = range(T).map((t) => `let vv${t}_${sfx} = ${kv('v', t, d)};`);
    for (const r of range(R)) {
      const terms = range(T).map((t) => `p${r}_${t} * vv${t}_${sfx}`).join(' + ');
      out.push(`${reg('acc', r, d)} = ${reg('acc', r, d)} * alpha${r} + ${terms};`);
    }
    return out;
  });
  if (stageKV) emit('    workgroupBarrier();');
  emit('  }');

  // Epilogue: normalise and write; rows that saw no key get 0 (and LSE −∞).
  for (const r of range(R)) {
    emit(`  if (row${r} < P.sq) {
    let inv${r} = select(0.0, 1.0 / l${r}, l${r} > 0.0);`);
    loopD('    ', (d) => [`o[qOff + row${r} * DV + ${d}] = ${VS}(${reg('acc', r, d)} * inv${r});`]);
    if (lse) {
      emit(`    lseOut[bh * P.sq + row${r}] = select(bitcast<f32>(P.negInfBits), (m${r} + log2(l${r})) * ${Math.LN2}, l${r} > 0.0);`);
    }
    emit('  }');
  }
  emit('}');
  return lines.join('\n');
}
