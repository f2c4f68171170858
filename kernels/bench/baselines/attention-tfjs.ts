// The TF.js side of the attention benchmark (loaded by tfjs-child.ts): attention composed as
// matMul · softmax · matMul on [heads, seq, d] tensors, with an additive mask when causal.
import type { TfjsCore } from './tfjs-child.ts';

export function build(
  tf: TfjsCore,
  s: { batch: number; heads: number; seqQ: number; seqK: number; headDim: number; causal: boolean },
) {
  const bh = s.batch * s.heads;
  const q = tf.randomUniform([bh, s.seqQ, s.headDim], -1, 1, 'float32', 1);
  const k = tf.randomUniform([bh, s.seqK, s.headDim], -1, 1, 'float32', 2);
  const v = tf.randomUniform([bh, s.seqK, s.headDim], -1, 1, 'float32', 3);
  const scale = tf.scalar(1 / Math.sqrt(s.headDim));
  let mask: ReturnType<TfjsCore['tensor2d']> | undefined;
  if (s.causal) {
    const m = new Float32Array(s.seqQ * s.seqK);
    for (let i = 0; i < s.seqQ; i++)
      for (let j = 0; j < s.seqK; j++) if (j > i + s.seqK - s.seqQ) m[i * s.seqK + j] = -1e9;
    mask = tf.tensor2d(m, [s.seqQ, s.seqK]);
  }
  return async () => {
    const out = tf.tidy(() => {
      let scores = tf.mul(tf.matMul(q, k, false, true), scale);
      if (mask) scores = tf.add(scores, mask);
      return tf.matMul(tf.softmax(scores), v);
    });
    await out.data();
    out.dispose();
  };
}
