// Which tile configuration the attention kernel uses, by head dim and device. Measured on
// lavapipe (2 cores): K/V staged in workgroup memory with the head-dim loops unrolled into plain
// variables is several times faster than reading K/V from storage or indexing private arrays
// (lavapipe keeps dynamically indexed private arrays in per-lane scratch memory); larger key
// tiles or workgroups spill registers and lose. Where the device has subgroups at least 8 wide,
// K/V shared by subgroup broadcast beats both (attention-subgroup-program.ts). The table is
// policy; the program generators take any valid tile.
import type { AttentionTile } from './attention-program.ts';

export const DEFAULT_ATTENTION_TILE: AttentionTile = { workgroupSize: 64, rows: 1, keyTile: 8, kv: 'workgroup', unroll: true };

/** What the device offers that the tile choice depends on. */
export interface AttentionCaps {
  /** The adapter's smallest subgroup size; 0 without the `subgroups` feature. */
  subgroupMinSize: number;
}

export function attentionTileFor(headDim: number, caps: AttentionCaps = { subgroupMinSize: 0 }): AttentionTile {
  // Unrolled programs past head dim 64 take lavapipe tens of seconds to minutes to compile; the
  // looped form (runtime loop bound, so the driver cannot unroll it) compiles in ~1-2 s but is
  // slower to run.
  // Up to 64: 8 query rows per invocation share each K/V load from workgroup memory; measured at
  // 8 heads × 1024 × 64 on lavapipe: rows 1 → 3.0 GFLOP/s, rows 2 → 5.9, rows 4 → 10.8, rows 8 → 16.8
  // (workgroup 32). Coarser rows make causal tile skipping coarser (256 rows per workgroup).
  // With subgroups of ≥ 8 (lavapipe: 8): one 8-lane subgroup per workgroup, K/V broadcast, no
  // barriers. 8 heads × 1024 × 64, f32, GPU time on a quiet lavapipe: the workgroup-memory tile
  // above 80.6 ms (26.7 GFLOP/s); subgroup rows 4 × key tile 4 84.6 ms, rows 4 × 8 58.0,
  // rows 8 × 4 46.8 (45.8 GFLOP/s), rows 8 × 8 47.6 (but 60+ s cold compile vs ~40 s).
  // 64 rows per workgroup also lets causal skip masked key tiles at a finer grain.
  if (headDim <= 64 && caps.subgroupMinSize >= 8) return { workgroupSize: 8, rows: 8, keyTile: 4, kv: 'subgroup', unroll: true };
  if (headDim <= 64) return { workgroupSize: 32, rows: 8, keyTile: 8, kv: 'workgroup', unroll: true };
  return { ...DEFAULT_ATTENTION_TILE, unroll: false };
}
