// Comparisons shared by the op tests: element-wise closeness with a stated tolerance,
// reporting the worst element so a failure says where and by how much.
import { expect } from 'vitest';
import { seededRandom } from '../../../kernels/random.ts';

/** Asserts |actual − expected| ≤ abs + rel·|expected| element-wise. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { abs: number; rel?: number },
  what = '',
): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const allowed = tol.abs + (tol.rel ?? 0) * Math.abs(expected[i]);
    if (!(err <= allowed) && (worst < 0 || err - allowed > worstExcess)) {
      worst = i;
      worstExcess = err - allowed;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (tolerance abs ${tol.abs}, rel ${tol.rel ?? 0})`,
    );
  }
}

/** `n` values uniform in [lo, hi) from `seed`, as f32. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rnd();
  return out;
}

/** `n` integers in [0, k) from `seed`. */
export function integers(n: number, k: number, seed: number): Int32Array {
  const rnd = seededRandom(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * k);
  return out;
}
