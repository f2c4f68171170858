// WGSL pieces both attention program generators share (attention-program.ts with K/V in
// workgroup memory or storage, attention-subgroup-program.ts with K/V in subgroup broadcasts):
// the bindings and constants, each query row's state, the online-softmax step and the
// epilogue. Names are the generators' own: row r keeps m{r} (running max, log2 units),
// l{r} (running sum), row{r}, end{r} (keys it may see); a tile's scores are s{r}_{t}.

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Elements per vector lane of the Q/K/V/O arrays: vec4 when the head dim allows it. */
export function vectorWidth(headDim: number): 1 | 4 {
  return headDim % 4 === 0 ? 4 : 1;
}

/** The vector types: W elements per vector, DV vectors per row; V32 in registers, VS in memory. */
export function vectorTypes(headDim: number, dtype: 'f32' | 'f16') {
  const W = vectorWidth(headDim);
  const vec = (s: string) => (W === 1 ? s : `vec4<${s}>`);
  return { W, DV: headDim / W, V32: vec('f32'), VS: vec(dtype) };
}

/** Params struct, bindings (LSE output when asked) and the NEG / DV constants. */
export function attentionHeader(o: {
  f16: boolean;
  subgroups: boolean;
  vs: string;
  lse: boolean;
  dv: number;
}): string[] {
  const lines: string[] = [];
  if (o.f16) lines.push('enable f16;');
  if (o.subgroups) lines.push('enable subgroups;');
  lines.push(`struct Params { sq: u32, sk: u32, bh: u32, groupsY: u32, causalOffset: i32, scaleLog2: f32, negInfBits: u32, dv: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<${o.vs}>;
@group(0) @binding(2) var<storage, read> k: array<${o.vs}>;
@group(0) @binding(3) var<storage, read> v: array<${o.vs}>;
@group(0) @binding(4) var<storage, read_write> o: array<${o.vs}>;`);
  if (o.lse) lines.push('@group(0) @binding(5) var<storage, read_write> lseOut: array<f32>;');
  lines.push(`const NEG = -3.0e38; // "no key seen yet": finite so that NEG − NEG = 0, never NaN
const DV = ${o.dv}u;`);
  return lines;
}

/** Row r's running max and sum, its index, and the keys it sees: [0, end). Rows past seqQ see none. */
export function rowState(r: number, causal: boolean): string[] {
  return [
    `  var m${r} = NEG;
  var l${r} = 0.0;
  let row${r} = rowBase + ${r}u;`,
    causal
      ? `  let end${r} = select(0u, u32(clamp(i32(row${r}) + P.causalOffset + 1, 0, i32(P.sk))), row${r} < P.sq);`
      : `  let end${r} = select(0u, P.sk, row${r} < P.sq);`,
  ];
}

/**
 * The online-softmax step of row r over a tile of T keys starting at k0: new running max,
 * the rescale factor alpha{r} for what was accumulated so far, the tile's weights p{r}_{t}
 * (0 for keys the row may not see) and the running sum.
 */
export function softmaxStep(r: number, T: number): string[] {
  const lines = range(T).map((t) => `    let ok${r}_${t} = k0 + ${t}u < end${r};`);
  const masked = range(T).map((t) => `select(NEG, s${r}_${t}, ok${r}_${t})`);
  lines.push(`    let mNew${r} = max(m${r}, ${masked.reduce((a, b) => `max(${a}, ${b})`)});
    let alpha${r} = exp2(m${r} - mNew${r});`);
  for (const t of range(T)) lines.push(`    let p${r}_${t} = select(0.0, exp2(s${r}_${t} - mNew${r}), ok${r}_${t});`);
  lines.push(`    l${r} = l${r} * alpha${r} + ${range(T)
    .map((t) => `p${r}_${t}`)
    .join(' + ')};
    m${r} = mNew${r};`);
  return lines;
}

/**
 * Row r's epilogue: `writes(inv)` stores the accumulator times `inv` (1 / sum; 0 for a row that
 * saw no key), then the LSE in natural log (−∞ for such a row) when asked.
 */
export function rowEpilogue(r: number, lse: boolean, writes: (inv: string) => string[]): string[] {
  const lines = [
    `  if (row${r} < P.sq) {
    let inv${r} = select(0.0, 1.0 / l${r}, l${r} > 0.0);`,
    ...writes(`inv${r}`),
  ];
  if (lse)
    lines.push(
      `    lseOut[bh * P.sq + row${r}] = select(bitcast<f32>(P.negInfBits), (m${r} + log2(l${r})) * ${Math.LN2}, l${r} > 0.0);`,
    );
  lines.push('  }');
  return lines;
}
