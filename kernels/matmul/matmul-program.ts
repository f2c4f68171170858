// WGSL for C = A·B (row-major, f32), specialised per tile configuration.
// Each workgroup computes a TM×TN tile of C; each invocation a RM×RN block of it,
// accumulating in registers over K in steps of TK staged through workgroup memory.
// Ragged edges: loads outside A/B read 0, stores outside C are skipped.

export interface MatmulTile {
  /** Invocations per workgroup along N (x) and M (y). */
  wgX: number;
  wgY: number;
  /** Outputs per invocation along M and N. */
  rm: number;
  rn: number;
  /** K step staged in workgroup memory per iteration. */
  tk: number;
}

export const DEFAULT_TILE: MatmulTile = { wgX: 16, wgY: 16, rm: 4, rn: 4, tk: 16 };

export function tileM(t: MatmulTile): number {
  return t.wgY * t.rm;
}
export function tileN(t: MatmulTile): number {
  return t.wgX * t.rn;
}

export function matmulWgsl(t: MatmulTile): string {
  const TM = tileM(t);
  const TN = tileN(t);
  const threads = t.wgX * t.wgY;
  // Cooperative loads: each invocation loads ceil(tile elements / threads) values.
  const loadsA = Math.ceil((TM * t.tk) / threads);
  const loadsB = Math.ceil((t.tk * TN) / threads);
  return /* wgsl */ `
struct Dims { m: u32, n: u32, k: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> tileA: array<f32, ${TM * t.tk}>; // [TM][TK]
var<workgroup> tileB: array<f32, ${t.tk * TN}>; // [TK][TN]

@compute @workgroup_size(${t.wgX}, ${t.wgY}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let rowBase = wg.y * ${TM}u;
  let colBase = wg.x * ${TN}u;
  var acc: array<array<f32, ${t.rn}>, ${t.rm}>;
  let kTiles = (dims.k + ${t.tk - 1}u) / ${t.tk}u;
  for (var kt = 0u; kt < kTiles; kt++) {
    let k0 = kt * ${t.tk}u;
    for (var i = 0u; i < ${loadsA}u; i++) {
      let idx = li + i * ${threads}u;
      if (idx < ${TM * t.tk}u) {
        let r = rowBase + idx / ${t.tk}u;
        let kk = k0 + idx % ${t.tk}u;
        var v = 0.0;
        if (r < dims.m && kk < dims.k) { v = a[r * dims.k + kk]; }
        tileA[idx] = v;
      }
    }
    for (var i = 0u; i < ${loadsB}u; i++) {
      let idx = li + i * ${threads}u;
      if (idx < ${t.tk * TN}u) {
        let kk = k0 + idx / ${TN}u;
        let col = colBase + idx % ${TN}u;
        var v = 0.0;
        if (kk < dims.k && col < dims.n) { v = b[kk * dims.n + col]; }
        tileB[idx] = v;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${t.tk}u; kk++) {
      var bReg: array<f32, ${t.rn}>;
      for (var j = 0u; j < ${t.rn}u; j++) { bReg[j] = tileB[kk * ${TN}u + lid.x + j * ${t.wgX}u]; }
      for (var i = 0u; i < ${t.rm}u; i++) {
        let aVal = tileA[(lid.y + i * ${t.wgY}u) * ${t.tk}u + kk];
        for (var j = 0u; j < ${t.rn}u; j++) { acc[i][j] = fma(aVal, bReg[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${t.rm}u; i++) {
    let r = rowBase + lid.y + i * ${t.wgY}u;
    if (r >= dims.m) { continue; }
    for (var j = 0u; j < ${t.rn}u; j++) {
      let col = colBase + lid.x + j * ${t.wgX}u;
      if (col < dims.n) { c[r * dims.n + col] = acc[i][j]; }
    }
  }
}
`;
}
