// Which tile configuration the attention kernel uses, by head dim. Measured on lavapipe
// (2 cores): K/V staged in workgroup memory with the head-dim loops unrolled into plain
// variables is several times faster than reading K/V from storage or indexing private arrays
// (lavapipe keeps dynamically indexed private arrays in per-lane scratch memory); larger key
// tiles or workgroups spill registers and lose. The table is policy; the program generator
// takes any valid tile.
import type { AttentionTile } from './attention-program.ts';

export const DEFAULT_ATTENTION_TILE: AttentionTile = { workgroupSize: 64, rows: 1, keyTile: 8, stageKV: true, unroll: true };

export function attentionTileFor(headDim: number): AttentionTile {
  // Past 128 the unrolled program gets large to compile; the looped one is correct and smaller.
  return { ...DEFAULT_ATTENTION_TILE, unroll: headDim <= 128 };
}
