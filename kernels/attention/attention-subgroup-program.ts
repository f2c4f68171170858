// WGSL for fused attention with K/V shared through subgroup broadcasts instead of workgroup
// memory: the CPU-driver form (lavapipe/llvmpipe). Same maths, layout, causal alignment,
// params and bindings as attention-program.ts (flash attention, online softmax in log2 units).
//
// Why: lavapipe (Mesa 25.0) runs a workgroup's invocations as SIMD lanes (8 × f32) and only
// turns a load into one scalar load + broadcast when its address is a compile-time constant and,
// for workgroup memory, outside all control flow. Inside the key loop every K/V read from
// workgroup memory or storage becomes, per component, a loop over the 8 lanes with a branch, a
// scalar load and a blend each: in the disassembled workgroup-memory kernel most instructions
// of the loop body were these reads (rows per invocation helped only by sharing them).
// Here a workgroup is one subgroup of `workgroupSize` invocations: each lane loads a distinct
// slice of the K/V tile once, and every use is a `subgroupBroadcast` with a constant lane,
// which lavapipe compiles to an extract + broadcast. No barriers, no workgroup memory; the
// head dim is always unrolled into plain variables (no private arrays).
//
// Needs the `subgroups` feature and a subgroup size ≥ `workgroupSize` (the workgroup must be
// one subgroup); the host checks the adapter's subgroupMinSize. Unrolled code grows with
// rows × keyTile × headDim: lavapipe compiles rows 8 × key tile 4 at d 64 in ~40 s cold.

import type { AttentionProgramSpec } from './attention-program.ts';
import { attentionHeader, range, vectorTypes, rowEpilogue, rowState, softmaxStep } from './attention-wgsl.ts';

/** Sum of the terms as a balanced binary tree (short dependency chains). */
function tree(terms: string[]): string {
  if (terms.length === 1) return terms[0];
  const h = terms.length >> 1;
  return `(${tree(terms.slice(0, h))} + ${tree(terms.slice(h))})`;
}

export function attentionSubgroupWgsl(spec: AttentionProgramSpec): string {
  const { headDim: D, dtype, causal, lse, tile } = spec;
  const { workgroupSize: L, rows: R, keyTile: T } = tile;
  const { W, DV, V32, VS } = vectorTypes(D, dtype);
  // Vectors per tile and per lane: vector f of the tile (key f / DV, dim f % DV) lives in lane f % L, slot f / L.
  const NV = T * DV;
  const slots = Math.ceil(NV / L);
  const bcast = (buf: 'k' | 'v', t: number, d: number) => {
    const f = t * DV + d;
    return `subgroupBroadcast(${buf}s${Math.floor(f / L)}, ${f % L}u)`;
  };
  const q = (r: number, d: number) => `q_${r}_${d}`;
  const acc = (r: number, d: number) => `a_${r}_${d}`;

  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  for (const l of attentionHeader({ f16: dtype === 'f16', subgroups: true, vs: VS, lse, dv: DV })) emit(l);
  emit(`
@compute @workgroup_size(${L})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let bh = wg.y + wg.z * P.groupsY;
  if (bh >= P.bh) { return; }
  let qOff = bh * P.sq * DV;
  let kOff = bh * P.sk * DV;
`);
  if (causal) {
    // Causal blocks cost in proportion to their position: run the heaviest first, so the last
    // workgroups a CPU driver hands out (in dispatch order) are the light ones and no thread
    // is left finishing a long block while the others idle.
    emit(`  let blk = (P.sq + ${L * R - 1}u) / ${L * R}u - 1u - wg.x;`);
  } else {
    emit('  let blk = wg.x;');
  }
  emit(`  let rowBase = blk * ${L * R}u + li * ${R}u;`);
  if (causal) {
    emit(`  let lastRow = i32(min(P.sq, (blk + 1u) * ${L * R}u)) - 1;
  let kEnd = u32(clamp(lastRow + P.causalOffset + 1, 0, i32(P.sk)));`);
  } else {
    emit('  let kEnd = P.sk;');
  }
  // Where this lane's slots sit in a tile: key offset and vector within the key row.
  for (const j of range(slots)) {
    emit(`  let f${j} = min(${j * L}u + lane, ${NV - 1}u);
  let fk${j} = f${j} / DV;
  let fd${j} = f${j} % DV;`);
  }
  for (const r of range(R)) {
    for (let i = 0; i < DV; i += 8)
      emit(
        `  ${range(Math.min(8, DV - i))
          .map((j) => `var ${q(r, i + j)}: ${V32}; var ${acc(r, i + j)}: ${V32};`)
          .join(' ')}`,
      );
    for (const l of rowState(r, causal)) emit(l);
    emit(`  if (row${r} < P.sq) {`);
    for (const d of range(DV)) emit(`    ${q(r, d)} = ${V32}(q[qOff + row${r} * DV + ${d}u]) * P.scaleLog2;`);
    emit('  }');
  }

  emit(`  for (var k0 = 0u; k0 < kEnd; k0 += ${T}u) {`);
  // Each lane loads its slots of the K and V tiles (ragged keys clamped to the last one; masked below).
  for (const j of range(slots)) {
    emit(`    let src${j} = kOff + min(k0 + fk${j}, P.sk - 1u) * DV + fd${j};
    let ks${j} = ${V32}(k[src${j}]);
    let vs${j} = ${V32}(v[src${j}]);`);
  }
  // Scores, head dim outermost: R×T running sums, each K vector broadcast once per tile and used
  // by every row. Measured on lavapipe (8 heads × 1024 × 64, rows 8, key tile 4, 15 interleaved
  // runs): 38.5–39.5 ms min against 43.2–43.5 for one vec4 running sum per score (key outermost);
  // a balanced tree per score 88 ms and 4 interleaved partial sums 72 ms (more live values,
  // more spills). lavapipe lowers fma to a multiply and an add, so `fma()` gains nothing.
  for (const r of range(R))
    emit(
      `    ${range(T)
        .map((t) => `var s${r}_${t} = 0.0;`)
        .join(' ')}`,
    );
  for (const d of range(DV)) {
    for (const t of range(T)) emit(`    let kb${t}_${d} = ${bcast('k', t, d)};`);
    for (const r of range(R))
      for (const t of range(T))
        emit(`    s${r}_${t} += ${W === 1 ? `${q(r, d)} * kb${t}_${d}` : `dot(${q(r, d)}, kb${t}_${d})`};`);
  }
  for (const r of range(R)) for (const l of softmaxStep(r, T)) emit(l);
  for (const d of range(DV)) {
    for (const t of range(T)) emit(`    let vb${t}_${d} = ${bcast('v', t, d)};`);
    for (const r of range(R)) {
      emit(`    ${acc(r, d)} = ${acc(r, d)} * alpha${r} + ${tree(range(T).map((t) => `p${r}_${t} * vb${t}_${d}`))};`);
    }
  }
  emit('  }');

  for (const r of range(R)) {
    for (const l of rowEpilogue(r, lse, (inv) =>
      range(DV).map((d) => `    o[qOff + row${r} * DV + ${d}u] = ${VS}(${acc(r, d)} * ${inv});`),
    ))
      emit(l);
  }
  emit('}');
  return lines.join('\n');
}
