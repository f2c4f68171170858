// Child process: times one ONNX node on ONNX Runtime's WebGPU execution provider, CPU fallback
// disabled so every figure is WebGPU. Wall time per session.run from host tensors to host
// tensors (ORT uploads inputs and reads outputs back inside run).
import * as ort from 'onnxruntime-node';
import { randomMatrix } from '../../random.ts';
import { toHalf } from '../../f16.ts';
import { oneNodeModel, type OneNodeGraph } from './onnx-graph.ts';
import { reply } from './child-process.ts';

export interface OrtRequest {
  graph: OneNodeGraph;
  warmup: number;
  repeats: number;
}

async function main() {
  const req = JSON.parse(process.argv[2]) as OrtRequest;
  const session = await ort.InferenceSession.create(oneNodeModel(req.graph), {
    executionProviders: ['webgpu'],
    extra: { session: { disable_cpu_ep_fallback: '1' } },
  });
  const feeds: Record<string, ort.Tensor> = {};
  let seed = 1;
  for (const i of req.graph.inputs) {
    const dims = i.dims.map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const data = randomMatrix(n, seed++);
    feeds[i.name] =
      i.type === 'float16' ? new ort.Tensor('float16', toHalf(data), dims) : new ort.Tensor('float32', data, dims);
  }
  const times: number[] = [];
  for (let r = 0; r < req.warmup + req.repeats; r++) {
    const t0 = performance.now();
    const out = await session.run(feeds);
    times.push(performance.now() - t0);
    for (const t of Object.values(out)) t.dispose?.();
  }
  await session.release();
  reply({ times, info: `onnxruntime-node ${ort.env.versions?.common ?? ''}`.trim() });
}

main().catch((e) => reply({ error: `ONNX Runtime WebGPU: ${(e as Error).message.split('\n')[0]}` }));
