// WGSL for C = act(op(A)·op(B) + bias), batched, generated per (tile config, flags) by small
// functions in the way TF.js's WebGPU backend specialises its programs.
//
// Each invocation computes RM rows × RN column groups of C, a column group being CW (1 or 4)
// adjacent columns held in one f32/vec4 accumulator. All loops over the block are unrolled
// here in TypeScript, so accumulators are plain registers. Two variants:
//  - 'direct': barrier-free, every invocation reads A and B straight from storage. When the
//    workgroup is one row high (wgY = 1) the A addresses are the same for every invocation of
//    a workgroup, which CPU implementations such as lavapipe turn into one scalar load.
//  - 'tiled': A and B tiles of TK along K are staged in workgroup memory between barriers
//    (the classic GPU design; each value read from storage once per workgroup).
// Ragged edges: workgroups wholly inside C run an unguarded loop; the others guard every load
// (index clamped into the buffer, then `select` zero — both sides of a select are evaluated, so
// the clamp is what keeps reads inside the buffer) and every store (with `if`).

export type MatmulDtype = 'f32' | 'f16';
export type Activation = 'none' | 'relu' | 'gelu';

/** One point of the tuning space. */
export interface MatmulConfig {
  variant: 'direct' | 'tiled';
  /** Invocations per workgroup along N (x) and M (y). */
  wgX: number;
  wgY: number;
  /** Rows of C per invocation. */
  rm: number;
  /** Column groups of C per invocation. */
  rn: number;
  /** Columns per group: 4 uses vec4 accumulators (and vec4 loads/stores where aligned). */
  cw: 1 | 4;
  /** 'tiled' only: K step staged in workgroup memory (a multiple of 4). */
  tk: number;
  /** Dispatch x walks row tiles instead of column tiles. */
  swapXY?: boolean;
  /**
   * 'direct' with one subgroup per workgroup (wgX = rm = subgroup size, wgY = 1): each
   * invocation loads one row of A and `subgroupBroadcast` hands it to the others, instead of
   * every invocation loading every row (a uniform load is several times dearer on lavapipe).
   */
  sgA?: boolean;
}

/** What a call needs besides the tile config; part of the pipeline cache key. */
export interface MatmulFlags {
  dtype: MatmulDtype;
  /** A is stored k×m (C = Aᵀ·B). */
  transA: boolean;
  /** B is stored n×k (C = A·Bᵀ). */
  transB: boolean;
  /** Bind A / B / C (and bias) as vec4 arrays: their contiguous dimension is a multiple of 4. */
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
  bias: boolean;
  activation: Activation;
}

export const DEFAULT_CONFIG: MatmulConfig = { variant: 'tiled', wgX: 16, wgY: 16, rm: 4, rn: 1, cw: 4, tk: 16 };

export function tileM(c: MatmulConfig): number {
  return c.wgY * c.rm;
}
export function tileN(c: MatmulConfig): number {
  return c.wgX * c.rn * c.cw;
}

export function configKey(c: MatmulConfig): string {
  return (
    `${c.variant}-${c.wgX}x${c.wgY}-r${c.rm}x${c.rn}-c${c.cw}` +
    (c.variant === 'tiled' ? `-k${c.tk}` : '') +
    (c.swapXY ? '-swap' : '') +
    (c.sgA ? '-sg' : '')
  );
}

/** Which operands can be bound as vec4 arrays for this shape (see MatmulFlags). */
export function vectorFlags(cfg: MatmulConfig, n: number, k: number, transA: boolean, transB: boolean) {
  return {
    // A is read along K as vec4 only in the normal layout (rows of A are contiguous along K).
    vecA: !transA && k % 4 === 0,
    // B normal: rows contiguous along N (vec4 only with vec4 column groups); B transposed:
    // rows contiguous along K.
    vecB: transB ? k % 4 === 0 : cfg.cw === 4 && n % 4 === 0,
    vecC: cfg.cw === 4 && n % 4 === 0,
  };
}

// ---- small generators -------------------------------------------------------------------

const f = (x: number) => `${x}u`;

function header(fl: MatmulFlags, cfg: MatmulConfig): string {
  const T = fl.dtype;
  const arr = (vec: boolean) => (vec ? `array<vec4<${T}>>` : `array<${T}>`);
  const lines = [
    fl.dtype === 'f16' ? 'enable f16;' : '',
    cfg.sgA ? 'enable subgroups;' : '',
    'struct Params { m: u32, n: u32, k: u32, batch: u32, strideA: u32, strideB: u32, strideC: u32, _pad: u32 }',
    '@group(0) @binding(0) var<uniform> p: Params;',
    `@group(0) @binding(1) var<storage, read> a: ${arr(fl.vecA)};`,
    `@group(0) @binding(2) var<storage, read> b: ${arr(fl.vecB)};`,
    `@group(0) @binding(3) var<storage, read_write> c: ${arr(fl.vecC)};`,
    fl.bias ? `@group(0) @binding(4) var<storage, read> bias: ${arr(fl.vecC)};` : '',
    // Guarded loads: the index is clamped into the buffer, so nothing outside it is ever read
    // (`select` evaluates both sides, hence the clamp), and entries outside the matrix read 0.
    // No control flow: lavapipe compiles and runs this far faster than an `if` per load.
    guardedLoad('ldA', 'a', fl.vecA),
    guardedLoad('ldB', 'b', fl.vecB),
    activationFn(fl.activation, cfg.cw),
  ];
  return lines.filter(Boolean).join('\n');
}

function guardedLoad(name: string, buf: string, vec: boolean): string {
  const V = vec ? 'vec4<f32>' : 'f32';
  return `fn ${name}(i: u32, ok: bool) -> ${V} { return select(${V}(0.0), ${V}(${buf}[min(i, arrayLength(&${buf}) - 1u)]), ok); }`;
}

function activationFn(act: Activation, cw: number): string {
  const V = cw === 4 ? 'vec4<f32>' : 'f32';
  if (act === 'none') return `fn act(v: ${V}) -> ${V} { return v; }`;
  if (act === 'relu') return `fn act(v: ${V}) -> ${V} { return max(v, ${V}(0.0)); }`;
  // GELU, tanh approximation. The argument is clamped: some tanh implementations return NaN
  // for large inputs (exp overflow), and tanh(±10) is ±1 in f32 anyway.
  return `fn act(v: ${V}) -> ${V} {
  let u = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), ${V}(-10.0), ${V}(10.0));
  return 0.5 * v * (1.0 + tanh(u));
}`;
}

const lanes = ['x', 'y', 'z', 'w'];

interface Guards {
  m: boolean;
  n: boolean;
  k: boolean;
}

function and(...conds: (string | false)[]): string {
  const c = conds.filter(Boolean) as string[];
  return c.length ? c.join(' && ') : 'true';
}

/**
 * Expressions for one K chunk of 4 (k .. k+3) read from storage: `aAt(i, kk)` is A[row i][k+kk]
 * as f32, `bAt(kk, j)` is B[k+kk][column group j] as f32 or vec4<f32>. Emits the loads into `out`.
 */
function storageLoads(cfg: MatmulConfig, fl: MatmulFlags, g: Guards, out: string[]) {
  const { rm, rn, cw } = cfg;
  const aAt: string[][] = [];
  if (cfg.sgA) {
    // This invocation's row of A (lane L holds row L of the tile), then broadcast row by row.
    const ok = (kk: number | null) => and(g.m && 'rL < p.m', kk !== null && g.k && `k + ${f(kk)} < p.k`);
    if (fl.vecA) out.push(`let aL = ldA((oA + rL * p.k + k) / 4u, ${ok(null)});`);
    else {
      for (let kk = 0; kk < 4; kk++) {
        const idx = fl.transA ? `oA + (k + ${f(kk)}) * p.m + rL` : `oA + rL * p.k + k + ${f(kk)}`;
        out.push(`let aL${kk} = ldA(${idx}, ${ok(kk)});`);
      }
      out.push('let aL = vec4<f32>(aL0, aL1, aL2, aL3);');
    }
    for (let i = 0; i < rm; i++) {
      out.push(`let a${i} = subgroupBroadcast(aL, ${f(i)});`);
      aAt.push([0, 1, 2, 3].map((kk) => `a${i}.${lanes[kk]}`));
    }
  }
  for (let i = 0; i < (cfg.sgA ? 0 : rm); i++) {
    aAt.push([]);
    if (fl.vecA) {
      // A normal, K % 4 == 0: one vec4 along K; k is 4-aligned so no K guard is needed.
      out.push(`let a${i} = ldA((oA + r${i} * p.k + k) / 4u, ${and(g.m && `r${i} < p.m`)});`);
      for (let kk = 0; kk < 4; kk++) aAt[i].push(`a${i}.${lanes[kk]}`);
    } else {
      for (let kk = 0; kk < 4; kk++) {
        const idx = fl.transA ? `oA + (k + ${f(kk)}) * p.m + r${i}` : `oA + r${i} * p.k + k + ${f(kk)}`;
        out.push(`let a${i}_${kk} = ldA(${idx}, ${and(g.m && `r${i} < p.m`, g.k && `k + ${f(kk)} < p.k`)});`);
        aAt[i].push(`a${i}_${kk}`);
      }
    }
  }
  const bAt: string[][] = [[], [], [], []];
  for (let j = 0; j < rn; j++) {
    if (cw === 1) {
      if (fl.transB && fl.vecB) {
        out.push(`let bt${j} = ldB((oB + c${j} * p.k + k) / 4u, ${and(g.n && `c${j} < p.n`)});`);
        for (let kk = 0; kk < 4; kk++) bAt[kk].push(`bt${j}.${lanes[kk]}`);
      } else {
        for (let kk = 0; kk < 4; kk++) {
          const idx = fl.transB ? `oB + c${j} * p.k + k + ${f(kk)}` : `oB + (k + ${f(kk)}) * p.n + c${j}`;
          out.push(`let b${kk}_${j} = ldB(${idx}, ${and(g.n && `c${j} < p.n`, g.k && `k + ${f(kk)} < p.k`)});`);
          bAt[kk].push(`b${kk}_${j}`);
        }
      }
      continue;
    }
    // cw == 4: a vec4 of 4 adjacent columns per kk.
    if (!fl.transB && fl.vecB) {
      for (let kk = 0; kk < 4; kk++) {
        out.push(
          `let b${kk}_${j} = ldB((oB + (k + ${f(kk)}) * p.n + c${j}) / 4u, ${and(g.n && `c${j} < p.n`, g.k && `k + ${f(kk)} < p.k`)});`,
        );
        bAt[kk].push(`b${kk}_${j}`);
      }
    } else if (fl.transB && fl.vecB) {
      // Bᵀ rows are contiguous along K: one vec4 per column, transposed in registers.
      for (let q = 0; q < 4; q++) {
        out.push(
          `let bt${j}_${q} = ldB((oB + (c${j} + ${f(q)}) * p.k + k) / 4u, ${and(g.n && `c${j} + ${f(q)} < p.n`)});`,
        );
      }
      for (let kk = 0; kk < 4; kk++) {
        bAt[kk].push(`vec4<f32>(${[0, 1, 2, 3].map((q) => `bt${j}_${q}.${lanes[kk]}`).join(', ')})`);
      }
    } else {
      for (let kk = 0; kk < 4; kk++) {
        const parts: string[] = [];
        for (let q = 0; q < 4; q++) {
          const col = `c${j} + ${f(q)}`;
          const idx = fl.transB ? `oB + (${col}) * p.k + k + ${f(kk)}` : `oB + (k + ${f(kk)}) * p.n + ${col}`;
          out.push(`let b${kk}_${j}_${q} = ldB(${idx}, ${and(g.n && `${col} < p.n`, g.k && `k + ${f(kk)} < p.k`)});`);
          parts.push(`b${kk}_${j}_${q}`);
        }
        bAt[kk].push(`vec4<f32>(${parts.join(', ')})`);
      }
    }
  }
  return { aAt, bAt };
}

function fmas(cfg: MatmulConfig, aAt: string[][], bAt: string[][], out: string[]) {
  for (let kk = 0; kk < aAt[0].length; kk++) {
    for (let i = 0; i < cfg.rm; i++) {
      for (let j = 0; j < cfg.rn; j++)
        out.push(
          `acc${i}_${j} = fma(${cfg.cw === 4 ? `vec4<f32>(${aAt[i][kk]})` : aAt[i][kk]}, ${bAt[kk][j]}, acc${i}_${j});`,
        );
    }
  }
}

function indent(lines: string[], n: number): string {
  const pad = ' '.repeat(n);
  return lines.map((l) => pad + l).join('\n');
}

function rowColDecls(cfg: MatmulConfig): string[] {
  const out: string[] = [];
  // With one row of invocations the rows depend on the workgroup only (uniform addresses).
  const ly = cfg.wgY === 1 ? '' : ' + lid.y';
  for (let i = 0; i < cfg.rm; i++) out.push(`let r${i} = tRow * ${f(tileM(cfg))}${ly} + ${f(i * cfg.wgY)};`);
  if (cfg.sgA) out.push(`let rL = tRow * ${f(tileM(cfg))} + lid.x;`);
  // Likewise with one column of invocations the columns are uniform (B loads become scalar).
  const lx = cfg.wgX === 1 ? '' : ` + lid.x * ${f(cfg.cw)}`;
  for (let j = 0; j < cfg.rn; j++) out.push(`let c${j} = tCol * ${f(tileN(cfg))}${lx} + ${f(j * cfg.wgX * cfg.cw)};`);
  const V = cfg.cw === 4 ? 'vec4<f32>' : 'f32';
  for (let i = 0; i < cfg.rm; i++) for (let j = 0; j < cfg.rn; j++) out.push(`var acc${i}_${j}: ${V};`);
  return out;
}

function epilogue(cfg: MatmulConfig, fl: MatmulFlags): string[] {
  const out: string[] = [];
  const T = fl.dtype;
  for (let j = 0; j < cfg.rn; j++) {
    if (!fl.bias) continue;
    if (cfg.cw === 4 && fl.vecC)
      out.push(`var bias${j} = vec4<f32>(); if (c${j} < p.n) { bias${j} = vec4<f32>(bias[c${j} / 4u]); }`);
    else if (cfg.cw === 4) {
      out.push(`var bias${j} = vec4<f32>();`);
      for (let q = 0; q < 4; q++)
        out.push(`if (c${j} + ${f(q)} < p.n) { bias${j}.${lanes[q]} = f32(bias[c${j} + ${f(q)}]); }`);
    } else out.push(`var bias${j} = 0.0; if (c${j} < p.n) { bias${j} = f32(bias[c${j}]); }`);
  }
  for (let i = 0; i < cfg.rm; i++) {
    out.push(`if (r${i} < p.m) {`);
    for (let j = 0; j < cfg.rn; j++) {
      const v = `act(acc${i}_${j}${fl.bias ? ` + bias${j}` : ''})`;
      if (cfg.cw === 4 && fl.vecC) {
        out.push(`  if (c${j} < p.n) { c[(oC + r${i} * p.n + c${j}) / 4u] = vec4<${T}>(${v}); }`);
      } else if (cfg.cw === 4) {
        out.push(`  { let v = ${v};`);
        for (let q = 0; q < 4; q++)
          out.push(`    if (c${j} + ${f(q)} < p.n) { c[oC + r${i} * p.n + c${j} + ${f(q)}] = ${T}(v.${lanes[q]}); }`);
        out.push('  }');
      } else {
        out.push(`  if (c${j} < p.n) { c[oC + r${i} * p.n + c${j}] = ${T}(${v}); }`);
      }
    }
    out.push('}');
  }
  return out;
}

function directBody(cfg: MatmulConfig, fl: MatmulFlags): string[] {
  const chunk = (g: Guards) => {
    const out: string[] = [];
    const { aAt, bAt } = storageLoads(cfg, fl, g, out);
    fmas(cfg, aAt, bAt, out);
    return out;
  };
  return [
    `let interior = (tRow + 1u) * ${f(tileM(cfg))} <= p.m && (tCol + 1u) * ${f(tileN(cfg))} <= p.n;`,
    // Interior tiles run the unguarded body over whole chunks of 4; the ragged K tail and
    // edge tiles run the guarded one. Two copies of the body, not three: lavapipe spends
    // seconds compiling each (it expands every per-invocation load).
    'var kFull = 0u;',
    'if (interior) { kFull = p.k / 4u * 4u; }',
    'for (var k = 0u; k < kFull; k += 4u) {',
    indent(chunk({ m: false, n: false, k: false }), 2),
    '}',
    'for (var k = kFull; k < p.k; k += 4u) {',
    indent(chunk({ m: true, n: true, k: true }), 2),
    '}',
  ];
}

/**
 * 'tiled': each K step of TK, the workgroup copies A[TM×TK] and B[TK×TN] into workgroup memory
 * (as f32, guarded element loads that handle both layouts), then every invocation accumulates
 * its block from there.
 */
function tiledParts(cfg: MatmulConfig, fl: MatmulFlags) {
  const TM = tileM(cfg);
  const TN = tileN(cfg);
  const TK = cfg.tk;
  const threads = cfg.wgX * cfg.wgY;
  // Element loaders from storage (scalar; vec4-bound arrays are indexed by component), clamped
  // into the buffer like ldA/ldB.
  const elem = (name: string, buf: string, vec: boolean) =>
    vec
      ? `fn ${name}(i: u32, ok: bool) -> f32 { let j = min(i, arrayLength(&${buf}) * 4u - 1u); return select(0.0, f32(${buf}[j / 4u][j % 4u]), ok); }`
      : `fn ${name}(i: u32, ok: bool) -> f32 { return select(0.0, f32(${buf}[min(i, arrayLength(&${buf}) - 1u)]), ok); }`;
  const decl = [
    `var<workgroup> tA: array<f32, ${TM * TK}>; // [TK][TM]`,
    `var<workgroup> tB: array<f32, ${TK * TN}>; // [TK][TN]`,
    elem('elA', 'a', fl.vecA),
    elem('elB', 'b', fl.vecB),
  ].join('\n');
  const body: string[] = [];
  body.push(`for (var k0 = 0u; k0 < p.k; k0 += ${f(TK)}) {`);
  // A tile: element e -> (kk = e / TM, row = e % TM) when A is transposed (contiguous along M),
  // (row = e / TK, kk = e % TK) otherwise, so neighbouring invocations read neighbouring words.
  body.push(`  for (var e = li; e < ${f(TM * TK)}; e += ${f(threads)}) {`);
  if (fl.transA) body.push(`    let kk = e / ${f(TM)}; let rr = e % ${f(TM)};`);
  else body.push(`    let rr = e / ${f(TK)}; let kk = e % ${f(TK)};`);
  body.push(`    let gr = tRow * ${f(TM)} + rr; let gk = k0 + kk;`);
  body.push(
    `    tA[kk * ${f(TM)} + rr] = elA(${fl.transA ? 'oA + gk * p.m + gr' : 'oA + gr * p.k + gk'}, gr < p.m && gk < p.k);`,
  );
  body.push('  }');
  body.push(`  for (var e = li; e < ${f(TK * TN)}; e += ${f(threads)}) {`);
  if (fl.transB) body.push(`    let cc = e / ${f(TK)}; let kk = e % ${f(TK)};`);
  else body.push(`    let kk = e / ${f(TN)}; let cc = e % ${f(TN)};`);
  body.push(`    let gc = tCol * ${f(TN)} + cc; let gk = k0 + kk;`);
  body.push(
    `    tB[kk * ${f(TN)} + cc] = elB(${fl.transB ? 'oB + gc * p.k + gk' : 'oB + gk * p.n + gc'}, gc < p.n && gk < p.k);`,
  );
  body.push('  }');
  body.push('  workgroupBarrier();');
  body.push(`  for (var kk = 0u; kk < ${f(TK)}; kk++) {`);
  const inner: string[] = [];
  const ly = cfg.wgY === 1 ? '' : 'lid.y + ';
  for (let i = 0; i < cfg.rm; i++) inner.push(`let a${i} = tA[kk * ${f(TM)} + ${ly}${f(i * cfg.wgY)}];`);
  for (let j = 0; j < cfg.rn; j++) {
    const base = `kk * ${f(TN)}${cfg.wgX === 1 ? '' : ` + lid.x * ${f(cfg.cw)}`} + ${f(j * cfg.wgX * cfg.cw)}`;
    if (cfg.cw === 4)
      inner.push(`let b${j} = vec4<f32>(${[0, 1, 2, 3].map((q) => `tB[${base} + ${f(q)}]`).join(', ')});`);
    else inner.push(`let b${j} = tB[${base}];`);
  }
  fmas(
    cfg,
    Array.from({ length: cfg.rm }, (_, i) => [`a${i}`]),
    [Array.from({ length: cfg.rn }, (_, j) => `b${j}`)],
    inner,
  );
  body.push(indent(inner, 4));
  body.push('  }');
  body.push('  workgroupBarrier();');
  body.push('}');
  return { decl, body };
}

/** The whole WGSL module for one (config, flags). */
export function matmulWgsl(cfg: MatmulConfig, fl: MatmulFlags): string {
  const tiled = cfg.variant === 'tiled' ? tiledParts(cfg, fl) : null;
  const body = tiled ? tiled.body : directBody(cfg, fl);
  return `${header(fl, cfg)}
${tiled ? tiled.decl : ''}

@compute @workgroup_size(${cfg.wgX}, ${cfg.wgY}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  // Batch offsets in elements; a stride of 0 broadcasts that operand over the batch.
  let oA = wg.z * p.strideA;
  let oB = wg.z * p.strideB;
  let oC = wg.z * p.strideC;
  // Which tile of C: with swapXY, consecutive workgroups walk down a column of tiles (they
  // share B, the operand each workgroup streams the most of, in cache).
  let tRow = wg.${cfg.swapXY ? 'x' : 'y'};
  let tCol = wg.${cfg.swapXY ? 'y' : 'x'};
${indent(rowColDecls(cfg), 2)}
${indent(body, 2)}
${indent(epilogue(cfg, fl), 2)}
}
`;
}
