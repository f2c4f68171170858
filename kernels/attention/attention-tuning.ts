// Which tile configuration the attention kernel uses, by head dim and device. Measured on
// lavapipe (2 cores): K/V staged in workgroup memory with the head-dim loops unrolled into plain
// variables is several times faster than reading K/V from storage or indexing private arrays
// (lavapipe keeps dynamically indexed private arrays in per-lane scratch memory); larger key
// tiles or workgroups spill registers and lose. Where the device has subgroups at least 8 wide,
// K/V shared by subgroup broadcast beats both (attention-subgroup-program.ts). The table is
// policy; the program generators take any valid tile.
import type { AttentionTile } from './attention-program.ts';

export const DEFAULT_ATTENTION_TILE: AttentionTile = {
  workgroupSize: 64,
  rows: 1,
  keyTile: 8,
  kv: 'workgroup',
  unroll: true,
};

/** What the device offers that the tile choice depends on. */
export interface AttentionCaps {
  /** The adapter's smallest subgroup size; 0 without the `subgroups` feature. */
  subgroupMinSize: number;
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader): invocations are SIMD lanes. */
  software: boolean;
}

const NO_CAPS: AttentionCaps = { subgroupMinSize: 0, software: false };

/** Caps of a device, from its adapter info. */
export function attentionCaps(device: GPUDevice): AttentionCaps {
  const i = device.adapterInfo;
  const text = `${i?.vendor} ${i?.architecture} ${i?.device} ${i?.description}`.toLowerCase();
  return {
    subgroupMinSize: device.features.has('subgroups') ? (i?.subgroupMinSize ?? 0) : 0,
    software: Boolean(i?.isFallbackAdapter) || /llvmpipe|lavapipe|swiftshader|software/.test(text),
  };
}

export function attentionTileFor(headDim: number, caps: AttentionCaps = NO_CAPS): AttentionTile {
  // Subgroup tiles are CPU-driver tiles: 8-invocation workgroups would waste most of a GPU's
  // subgroup (32–64 wide) and are unmeasured there.
  const cpuSubgroups = caps.software && caps.subgroupMinSize >= 8;
  // Figures: 8 heads × 1024 × d, f32, GPU time on lavapipe (2 cores) with the host waiting
  // quietly (quiet-wait.ts); older figures taken while dawn.node's polling spun a core are marked.
  //
  // Subgroups ≥ 8 wide (lavapipe: 8): one 8-lane subgroup per workgroup, K/V shared by broadcast,
  // no barriers (attention-subgroup-program.ts). d 64: rows 8 × key tile 4 39.5–44 ms
  // (49–55 GFLOP/s) against 80.6 ms for the workgroup-memory tile below; with the earlier
  // key-outermost score loop: rows 4 × 4 84.6, rows 4 × 8 58.0, rows 8 × 4 46.8, rows 8 × 8 47.6
  // but a 60+ s cold compile (rows 8 × 4 now: 45–47 s cold at load ~1, 54 s on a busy machine).
  // 64 rows per workgroup also lets causal skip masked key tiles at a finer grain (1.85–1.92×
  // faster than non-causal in the bench, against 1.34–1.6× with 256 rows).
  if (headDim <= 64 && cpuSubgroups) return { workgroupSize: 8, rows: 8, keyTile: 4, kv: 'subgroup', unroll: true };
  // d 65–128: rows 4 × key tile 2 keeps the unrolled program's cold compile under a minute
  // (d 80 ~16 s, d 128 ~36–44 s). d 80: 541 → 63 ms, d 128: 901 → 120 ms (4.8 → 35.8 GFLOP/s)
  // against the looped workgroup tile at the end (same run, load ~1.5).
  if (headDim <= 128 && cpuSubgroups) return { workgroupSize: 8, rows: 4, keyTile: 2, kv: 'subgroup', unroll: true };
  // Without subgroups, up to 64: 8 query rows per invocation share each K/V load from workgroup
  // memory; rows 1 → 3.0 GFLOP/s, rows 2 → 5.9, rows 4 → 10.8, rows 8 → 16.8 (workgroup 32;
  // spinning host). Coarser rows make causal tile skipping coarser (256 rows per workgroup).
  if (headDim <= 64) return { workgroupSize: 32, rows: 8, keyTile: 8, kv: 'workgroup', unroll: true };
  // Unrolled programs past head dim 64 take lavapipe tens of seconds to minutes to compile; the
  // looped form (runtime loop bound, so the driver cannot unroll it) compiles in ~1-2 s but is
  // slower to run.
  return { ...DEFAULT_ATTENTION_TILE, unroll: false };
}
