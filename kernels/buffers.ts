// Moving data between host arrays and GPU buffers.

export function uploadF32(device: GPUDevice, data: Float32Array, usage = GPUBufferUsage.STORAGE): GPUBuffer {
  // Buffers must be a multiple of 4 bytes and non-empty.
  const size = Math.max(4, data.byteLength);
  const buf = device.createBuffer({ size, usage: usage | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  return buf;
}

export function storageBuffer(device: GPUDevice, bytes: number): GPUBuffer {
  return device.createBuffer({
    size: Math.max(4, bytes),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

export function uniformU32(device: GPUDevice, values: number[]): GPUBuffer {
  const data = new Uint32Array(Math.max(4, Math.ceil(values.length / 4) * 4));
  data.set(values);
  const buf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, data);
  return buf;
}

/** Copies `bytes` of `src` back to the host. */
export async function readF32(device: GPUDevice, src: GPUBuffer, bytes = src.size): Promise<Float32Array> {
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}
