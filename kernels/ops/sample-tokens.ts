// Picking the next token from logits, on the device: greedy (argmax, the lowest index on
// ties) or sampling at a temperature with one uniform number per row that the host draws
// from the job's seed — so a seeded decode is reproducible and reads back only token ids.
// Greedy over every position of a teacher-forced batch also gives evaluation accuracy.
import { OpKernel, WG, positiveInt, withArrays } from './op-kernel.ts';

export function sampleTokensWgsl(): string {
  return /* wgsl */ `
struct Dims { rows: u32, vocab: u32, temperature: f32, _a: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> uniforms: array<f32>;
@group(0) @binding(3) var<storage, read_write> ids: array<i32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= dims.rows) { return; }
  let base = r * dims.vocab;
  var best = 0u;
  var mx = logits[base];
  for (var v = 1u; v < dims.vocab; v++) {
    if (logits[base + v] > mx) { mx = logits[base + v]; best = v; }
  }
  if (dims.temperature > 0.0) {
    var z = 0.0;
    for (var v = 0u; v < dims.vocab; v++) { z += exp((logits[base + v] - mx) / dims.temperature); }
    let goal = uniforms[r] * z;
    var c = 0.0;
    // Falls back to the argmax if rounding leaves the target above the last partial sum.
    for (var v = 0u; v < dims.vocab; v++) {
      c += exp((logits[base + v] - mx) / dims.temperature);
      if (c > goal) { best = v; break; }
    }
  }
  ids[r] = i32(best);
}`;
}

export interface SampleShape {
  rows: number;
  vocab: number;
}

export class SampleTokens {
  private readonly k: OpKernel;
  private readonly zeros: GPUBuffer;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'sample tokens');
    this.zeros = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'sample tokens: no uniforms' });
  }

  /**
   * ids[r] = the token picked from row r of logits: argmax when temperature is 0, else a
   * draw from softmax(logits / temperature) using uniforms[r] ∈ [0, 1).
   */
  encode(
    encoder: GPUCommandEncoder,
    s: SampleShape,
    b: { logits: GPUBuffer; ids: GPUBuffer; uniforms?: GPUBuffer },
    temperature = 0,
  ): void {
    positiveInt('sample tokens', 'rows', s.rows);
    positiveInt('sample tokens', 'vocab', s.vocab);
    if (!(temperature >= 0) || !Number.isFinite(temperature))
      throw new Error(`sample tokens: temperature must be finite and ≥ 0, got ${temperature}`);
    if (temperature > 0 && !b.uniforms)
      throw new Error('sample tokens: sampling at a temperature needs one uniform number per row');
    this.k.need('logits', b.logits, s.rows * s.vocab);
    this.k.need('ids', b.ids, s.rows);
    if (b.uniforms) this.k.need('uniforms', b.uniforms, s.rows);
    const u = this.k.uniform([{ u32: s.rows }, { u32: s.vocab }, { f32: temperature }]);
    this.k.dispatch(
      encoder,
      this.k.pipeline('sample', sampleTokensWgsl),
      [u, b.logits, b.uniforms ?? this.zeros, b.ids],
      s.rows,
    );
  }

  async run(s: SampleShape, logits: Float32Array, temperature = 0, uniforms?: Float32Array): Promise<Int32Array> {
    return withArrays(this.device, async (run) => {
      const ids = run.output(s.rows);
      this.encode(
        run.encoder,
        s,
        { logits: run.upload(logits), ids, uniforms: uniforms && run.upload(uniforms) },
        temperature,
      );
      const [out] = await run.finish([{ buffer: ids, elements: s.rows }]);
      return new Int32Array(out.buffer, out.byteOffset, out.length);
    });
  }
}
