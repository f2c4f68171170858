// f32 <-> IEEE half conversion on the host (Node 20 has no Float16Array), for every kernel's f16 path.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds one f32 to the nearest half (ties to even), as raw bits. */
export function toHalfBits(x: number): number {
  f32[0] = x;
  const v = u32[0];
  const sign = (v >>> 16) & 0x8000;
  const exp = (v >>> 23) & 0xff;
  let mant = v & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> ±0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let h = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: still right
  e = h;
  return sign | e;
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Values as f16 bits; `padToEven` adds a zero so the byte length is a multiple of 4 (writeBuffer). */
export function toHalf(src: ArrayLike<number>, padToEven = false): Uint16Array {
  const out = new Uint16Array(src.length + (padToEven ? src.length & 1 : 0));
  for (let i = 0; i < src.length; i++) out[i] = toHalfBits(src[i]);
  return out;
}

/** The first `n` f16 values as f32. */
export function fromHalf(src: Uint16Array, n = src.length): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = fromHalfBits(src[i]);
  return out;
}

/** The f32 values rounded through f16 (what an f16 kernel actually sees). */
export function roundToHalf(src: Float32Array): Float32Array {
  return fromHalf(toHalf(src));
}
