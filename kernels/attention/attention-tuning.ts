// Which tile configuration the attention kernel uses, by head dim. Measured on lavapipe
// (2 cores): K/V staged in workgroup memory with the head-dim loops unrolled into plain
// variables is several times faster than reading K/V from storage or indexing private arrays
// (lavapipe keeps dynamically indexed private arrays in per-lane scratch memory); larger key
// tiles or workgroups spill registers and lose. The table is policy; the program generator
// takes any valid tile.
import type { AttentionTile } from './attention-program.ts';

export const DEFAULT_ATTENTION_TILE: AttentionTile = { workgroupSize: 64, rows: 1, keyTile: 8, stageKV: true, unroll: true };

export function attentionTileFor(headDim: number): AttentionTile {
  // Unrolled programs past head dim 64 take lavapipe tens of seconds to minutes to compile; the
  // looped form (runtime loop bound, so the driver cannot unroll it) compiles in ~1-2 s but is
  // slower to run.
  // Up to 64: 8 query rows per invocation share each K/V load from workgroup memory; measured at
  // 8 heads × 1024 × 64 on lavapipe: rows 1 → 3.0 GFLOP/s, rows 2 → 5.9, rows 4 → 10.8, rows 8 → 16.8
  // (workgroup 32). Coarser rows make causal tile skipping coarser (256 rows per workgroup).
  if (headDim <= 64) return { workgroupSize: 32, rows: 8, keyTile: 8, stageKV: true, unroll: true };
  return { ...DEFAULT_ATTENTION_TILE, unroll: false };
}
