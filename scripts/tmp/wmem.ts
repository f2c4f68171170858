import { Redis } from 'ioredis';
import { QueueWorkerFactory } from '../../scheduler/queue/queue-workers.ts';
const r = new Redis('redis://127.0.0.1:6416', { maxRetriesPerRequest: null });
await r.ping();
const f = new QueueWorkerFactory({ redis: r, prefix: 'wb', workerName: 'w', lockMs: 30000 });
const ws = [];
(globalThis as any).gc?.();
const h0 = process.memoryUsage().heapUsed;
for (let i = 0; i < 1000; i++) { const w = f.create(`q${i}`, async () => {}); w.startManual(); ws.push(w); }
await new Promise((r) => setTimeout(r, 500));
(globalThis as any).gc?.();
console.log(`1000 queue workers: ${((process.memoryUsage().heapUsed - h0) / 1e6).toFixed(1)} MB heap`);
process.exit(0);
