// The live worker table: workers heartbeat their device and jobs; dead ones drop out.
import type { Redis } from 'ioredis';
import type { DeviceCaps, WorkerRecord } from '../../shared/worker-view.ts';
import type { Keys } from './keys.ts';

// What a worker heartbeats is what GET /v1/workers shows: its schema is in shared/worker-view.ts.
export type { RunningJob, WorkerRecord } from '../../shared/worker-view.ts';

/** One key per device class: same vendor/device/backend/region/features/limits. */
export function deviceClassKey(c: DeviceCaps): string {
  return JSON.stringify([c.region, c.vendor, c.architecture, c.device, c.backend, [...c.features].sort(), c.limits]);
}

export class WorkerRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly timeoutMs: number,
  ) {}

  async heartbeat(w: WorkerRecord): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.workers, w.id, JSON.stringify({ ...w, lastHeartbeat: new Date().toISOString() }))
      .hset(this.keys.workerClasses, deviceClassKey(w.caps), JSON.stringify(w.caps))
      .exec();
  }

  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.keys.workers, id);
  }

  /** Live workers; entries silent for longer than the timeout are dropped. */
  async live(now = Date.now()): Promise<WorkerRecord[]> {
    const all = await this.redis.hgetall(this.keys.workers);
    const live: WorkerRecord[] = [];
    const dead: string[] = [];
    for (const [id, json] of Object.entries(all)) {
      const w = JSON.parse(json) as WorkerRecord;
      if (now - Date.parse(w.lastHeartbeat) <= this.timeoutMs) live.push(w);
      else dead.push(id);
    }
    if (dead.length) await this.redis.hdel(this.keys.workers, ...dead);
    return live.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every device class seen (live or not): what admission judges a job against. */
  async classes(): Promise<DeviceCaps[]> {
    return Object.values(await this.redis.hgetall(this.keys.workerClasses)).map((j) => JSON.parse(j) as DeviceCaps);
  }
}
