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
  return { ...DEFAULT_ATTENTION_TILE, unroll: headDim <= 64 };
}
