// One WebGPU device per test file, closed afterwards (Dawn keeps Node alive otherwise).
import { afterAll } from 'vitest';
import { openDevice, type OpenDevice } from '../../kernels/device.ts';

export async function testDevice(): Promise<OpenDevice> {
  const d = await openDevice();
  afterAll(() => d.close());
  return d;
}
