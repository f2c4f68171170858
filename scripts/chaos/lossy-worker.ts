// A worker process for the chaos suite whose device SIGUSR2 loses, as a driver reset would:
// the real worker (worker/worker.ts) over the real device, with the device's `lost` promise
// resolved on the signal (test/worker/device-lost.test.ts does the same in process). Exits 3
// after the device-loss grace period, as worker/main.ts does.
import { openDevice, type OpenDevice, type OpenOptions } from '../../kernels/device.ts';
import { loadConfig, workerEnv } from '../../shared/config.ts';
import { createWorker } from '../../worker/worker.ts';

let lose = () => {};
const open = async (o: OpenOptions): Promise<OpenDevice> => {
  const d = await openDevice(o);
  const lost = new Promise<GPUDeviceLostInfo>((resolve) => {
    lose = () => resolve({ reason: 'unknown', message: 'chaos: device lost (SIGUSR2)' } as GPUDeviceLostInfo);
  });
  Object.defineProperty(d.device, 'lost', { value: lost });
  return d;
};
const worker = createWorker(loadConfig(workerEnv), {
  openDevice: open,
  deviceLostGraceMs: 1000,
  onDeviceLost: () => process.exit(3),
});
process.on('SIGUSR2', () => lose());
process.on(
  'SIGTERM',
  () =>
    void worker.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    ),
);
const ready = await worker.start();
worker.log.info(`worker ready on ${ready.label} (device loss on SIGUSR2)`);
worker.log.flush();
