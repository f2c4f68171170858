// Exits 0 when Dawn finds at least one WebGPU adapter; prints it. Used by setup-system.sh.
import { create } from 'webgpu';
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
console.log(JSON.stringify(adapter.info));
process.exit(0);
