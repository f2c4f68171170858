// The TF.js side of the matmul benchmark (loaded by kernels/bench/baselines/tfjs-child.ts).
import type { TfjsCore } from '../bench/baselines/tfjs-child.ts';

export function build(tf: TfjsCore, s: { m: number; n: number; k: number }) {
  const a = tf.randomUniform([s.m, s.k], -1, 1, 'float32', 1);
  const b = tf.randomUniform([s.k, s.n], -1, 1, 'float32', 2);
  return async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
}
