// The same decoder-only transformer written in TF.js ops (autograd + tf.train.adam): the
// peer a JavaScript user would pick today, for the training benchmark. Same architecture
// and parameter layout as reference-model.ts (pre-LN, causal MHA, GELU tanh MLP, final LN,
// untied LM head); Adam without decoupled weight decay (TF.js has no AdamW).
import type * as tfType from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../../shared/train/model-config.ts';
import type { Parameters } from '../../../shared/train/parameters.ts';
import { parameterLayout } from '../../../shared/train/parameters.ts';

type Tf = typeof tfType;
type Tensor = tfType.Tensor;

export class TfjsTransformer {
  readonly vars = new Map<string, tfType.Variable>();
  private readonly optimizer: tfType.AdamOptimizer;

  constructor(
    readonly tf: Tf,
    readonly config: ModelConfig,
    params: Parameters,
    lr = 1e-3,
  ) {
    for (const p of parameterLayout(config))
      this.vars.set(p.name, tf.variable(tf.tensor(params.get(p.name)!, p.shape), true, p.name));
    this.optimizer = tf.train.adam(lr, 0.9, 0.99, 1e-8);
  }

  private w(name: string): Tensor {
    return this.vars.get(name)!;
  }

  private layerNorm(x: Tensor, prefix: string): Tensor {
    const tf = this.tf;
    const { mean, variance } = tf.moments(x, -1, true);
    const xh = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.config.lnEps)));
    return tf.add(tf.mul(xh, this.w(`${prefix}.weight`)), this.w(`${prefix}.bias`));
  }

  private gelu(x: Tensor): Tensor {
    const tf = this.tf;
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  }

  /** Logits [B·T, vocab] of a batch of ids [B, T]. */
  logits(ids: Tensor, B: number, T: number): Tensor {
    const tf = this.tf;
    const c = this.config;
    const d = c.dModel;
    const H = c.heads;
    const hd = d / H;
    const N = B * T;
    const pos = tf.slice(this.w('wpe'), [0, 0], [T, d]);
    let x = tf.reshape(tf.add(tf.reshape(tf.gather(this.w('wte'), tf.reshape(ids, [N])), [B, T, d]), pos), [N, d]);
    const mask = tf.mul(-1e9, tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)));
    for (let l = 0; l < c.layers; l++) {
      const p = `h.${l}.`;
      const a = this.layerNorm(x, `${p}ln1`);
      const qkv = tf.add(tf.matMul(a, this.w(`${p}attn.wqkv`)), this.w(`${p}attn.bqkv`));
      const heads = (part: number) =>
        tf.transpose(tf.reshape(tf.slice(qkv, [0, part * d], [N, d]), [B, T, H, hd]), [0, 2, 1, 3]);
      const [q, k, v] = [heads(0), heads(1), heads(2)];
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), mask);
      const o = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [0, 2, 1, 3]), [N, d]);
      x = tf.add(x, tf.add(tf.matMul(o, this.w(`${p}attn.wo`)), this.w(`${p}attn.bo`)));
      const m = this.layerNorm(x, `${p}ln2`);
      const h = this.gelu(tf.add(tf.matMul(m, this.w(`${p}mlp.w1`)), this.w(`${p}mlp.b1`)));
      x = tf.add(x, tf.add(tf.matMul(h, this.w(`${p}mlp.w2`)), this.w(`${p}mlp.b2`)));
    }
    return tf.matMul(this.layerNorm(x, 'lnf'), this.w('head.w'));
  }

  /** Mean masked cross-entropy (targets −1 ignored). */
  loss(ids: Tensor, targets: Tensor, B: number, T: number): tfType.Scalar {
    const tf = this.tf;
    const logits = this.logits(ids, B, T);
    const flat = tf.reshape(targets, [B * T]);
    const mask = tf.cast(tf.greaterEqual(flat, 0), 'float32');
    const onehot = tf.oneHot(tf.cast(tf.maximum(flat, 0), 'int32'), this.config.vocabSize);
    const nll = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1));
    return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)) as tfType.Scalar;
  }

  /** The loss of a batch, without a step. */
  async loss0(inputs: Int32Array, targets: Int32Array, B: number, T: number): Promise<number> {
    const tf = this.tf;
    const l = tf.tidy(() =>
      this.loss(tf.tensor2d(inputs, [B, T], 'int32'), tf.tensor2d(targets, [B, T], 'int32'), B, T),
    );
    const v = (await l.data())[0];
    l.dispose();
    return v;
  }

  /** One Adam step; reads back the loss (as our step does). */
  async step(inputs: Int32Array, targets: Int32Array, B: number, T: number): Promise<number> {
    const tf = this.tf;
    const ids = tf.tensor2d(inputs, [B, T], 'int32');
    const tg = tf.tensor2d(targets, [B, T], 'int32');
    const cost = this.optimizer.minimize(() => this.loss(ids, tg, B, T), true, [...this.vars.values()]);
    const value = (await cost!.data())[0];
    tf.dispose([ids, tg, cost!]);
    return value;
  }

  /** Greedy decoding by re-running the prefix (TF.js has no KV cache of its own). */
  async greedy(prompts: number[][], maxNewTokens: number): Promise<number[][]> {
    const tf = this.tf;
    const seqs = prompts.map((p) => [...p]);
    for (let s = 0; s < maxNewTokens; s++) {
      const T = seqs[0].length;
      const next = tf.tidy(() => {
        const logits = this.logits(
          tf.tensor2d(Int32Array.from(seqs.flat()), [seqs.length, T], 'int32'),
          seqs.length,
          T,
        );
        return tf.argMax(
          tf.slice(
            tf.reshape(logits, [seqs.length, T, this.config.vocabSize]),
            [0, T - 1, 0],
            [seqs.length, 1, this.config.vocabSize],
          ),
          -1,
        );
      });
      const ids = await next.data();
      next.dispose();
      seqs.forEach((q, b) => q.push(ids[b]));
    }
    return seqs.map((q, b) => q.slice(prompts[b].length));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.optimizer.dispose();
  }
}
