// Naive unfused attention in WGSL, the "what you write first" baseline: one invocation per score
// writes the whole seqQ×seqK matrix to global memory, one per row applies the softmax, one per
// output element multiplies by V. f32, [b·h, seq, d] layout like ours, causal bottom-right.

function scoresWgsl(causal: boolean): string {
  return /* wgsl */ `
struct P { sq: u32, sk: u32, d: u32, bh: u32, scale: f32, off: i32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> s: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let j = g.x; let i = g.y; let h = g.z;
  if (j >= p.sk || i >= p.sq) { return; }
  var acc = 0.0;
  for (var d = 0u; d < p.d; d++) { acc += q[(h * p.sq + i) * p.d + d] * k[(h * p.sk + j) * p.d + d]; }
  var v = acc * p.scale;
  ${causal ? 'if (i32(j) > i32(i) + p.off) { v = -3.0e38; }' : ''}
  s[(h * p.sq + i) * p.sk + j] = v;
}`;
}

const SOFTMAX = /* wgsl */ `
struct P { sq: u32, sk: u32, d: u32, bh: u32, scale: f32, off: i32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> s: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let row = g.x;
  if (row >= p.sq * p.bh) { return; }
  let base = row * p.sk;
  var m = -3.0e38;
  for (var j = 0u; j < p.sk; j++) { m = max(m, s[base + j]); }
  var sum = 0.0;
  for (var j = 0u; j < p.sk; j++) { let e = exp(s[base + j] - m); s[base + j] = e; sum += e; }
  for (var j = 0u; j < p.sk; j++) { s[base + j] = s[base + j] / sum; }
}`;

const PV = /* wgsl */ `
struct P { sq: u32, sk: u32, d: u32, bh: u32, scale: f32, off: i32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let c = g.x; let i = g.y; let h = g.z;
  if (c >= p.d || i >= p.sq) { return; }
  var acc = 0.0;
  for (var j = 0u; j < p.sk; j++) { acc += s[(h * p.sq + i) * p.sk + j] * v[(h * p.sk + j) * p.d + c]; }
  o[(h * p.sq + i) * p.d + c] = acc;
}`;

export class NaiveAttention {
  private readonly params: GPUBuffer;
  private readonly scores: GPUBuffer;
  private readonly pipes: GPUComputePipeline[];

  constructor(
    private readonly device: GPUDevice,
    private readonly s: { bh: number; seqQ: number; seqK: number; headDim: number; causal: boolean },
  ) {
    const bytes = s.bh * s.seqQ * s.seqK * 4;
    if (bytes > device.limits.maxStorageBufferBindingSize)
      throw new Error(`naive attention: the ${bytes}-byte score matrix is over the binding limit`);
    this.scores = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE });
    this.params = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const buf = new ArrayBuffer(32);
    new Uint32Array(buf).set([s.seqQ, s.seqK, s.headDim, s.bh]);
    new Float32Array(buf)[4] = 1 / Math.sqrt(s.headDim);
    new Int32Array(buf)[5] = s.seqK - s.seqQ;
    device.queue.writeBuffer(this.params, 0, buf);
    this.pipes = [scoresWgsl(s.causal), SOFTMAX, PV].map((code) =>
      device.createComputePipeline({
        layout: 'auto',
        compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
      }),
    );
  }

  encode(
    enc: GPUCommandEncoder,
    q: GPUBuffer,
    k: GPUBuffer,
    v: GPUBuffer,
    o: GPUBuffer,
    tw?: GPUComputePassTimestampWrites,
  ): void {
    const { bh, seqQ, seqK, headDim } = this.s;
    const bind = (i: number, bufs: GPUBuffer[]) =>
      this.device.createBindGroup({
        layout: this.pipes[i].getBindGroupLayout(0),
        entries: [this.params, ...bufs].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
    // One pass for the three dispatches, so timestamp writes span all of them.
    const pass = enc.beginComputePass(tw ? { timestampWrites: tw } : {});
    pass.setPipeline(this.pipes[0]);
    pass.setBindGroup(0, bind(0, [q, k, this.scores]));
    pass.dispatchWorkgroups(Math.ceil(seqK / 64), seqQ, bh);
    pass.setPipeline(this.pipes[1]);
    pass.setBindGroup(0, bind(1, [this.scores]));
    pass.dispatchWorkgroups(Math.ceil((seqQ * bh) / 64));
    pass.setPipeline(this.pipes[2]);
    pass.setBindGroup(0, bind(2, [this.scores, v, o]));
    pass.dispatchWorkgroups(Math.ceil(headDim / 64), seqQ, bh);
    pass.end();
  }

  destroy(): void {
    this.scores.destroy();
    this.params.destroy();
  }
}
