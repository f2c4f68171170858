// Waiting for the GPU without spinning a CPU core.
//
// dawn.node (the npm `webgpu` package) completes mapAsync / onSubmittedWorkDone by polling:
// while anything is pending it re-queues a callback with the global `setImmediate` that calls
// ProcessEvents, so the Node main thread runs at 100% for the whole wait. On a CPU adapter
// (lavapipe) that core is taken from the threads running the shader: on this 2-core machine
// `Attention.run` at 8 heads × 1024 × 64 took 145–162 ms median spinning and 96–102 ms with
// the polling routed through a 1 ms timer (same process, same load). ONNX Runtime's own Dawn
// waits without spinning, so the spin alone cost us the comparison.
// Every wait for the GPU in kernels/ and worker/ goes through `quietly`. A browser has no
// `setImmediate` (and no such polling), so there `quietly` only awaits.

type Immediate = (fn: (...args: unknown[]) => void, ...args: unknown[]) => unknown;
const host = globalThis as { setImmediate?: Immediate };

let waiting = 0;
let saved: Immediate | undefined;

// dawn.node looks `setImmediate` up on the global object at every tick, so while a wait is in
// progress its ticks run at timer pace (≥ 1 ms apart) instead of back to back.
const throttled = ((fn: (...args: unknown[]) => void, ...args: unknown[]) =>
  setTimeout(fn, 1, ...args)) as unknown as Immediate;

/**
 * Awaits `work` (a WebGPU promise such as mapAsync) with dawn.node's event polling slowed to
 * about once per millisecond. Nested and concurrent waits share one patch; the global is
 * restored when the last one settles. Costs at most ~1 ms of latency per wait.
 */
export async function quietly<T>(work: Promise<T>): Promise<T> {
  if (typeof host.setImmediate !== 'function') return work;
  if (waiting++ === 0) {
    saved = host.setImmediate;
    host.setImmediate = throttled;
  }
  try {
    return await work;
  } finally {
    if (--waiting === 0) {
      host.setImmediate = saved!;
      saved = undefined;
    }
  }
}
