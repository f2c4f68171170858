// A Redis primary, its replica and three sentinels on a test's ports: the smallest setup in which
// Sentinel can fail over (a quorum of 2 out of 3), each process with its own temporary folder.
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startRedis, stopAll, type RedisProc } from './redis-servers.ts';

export const MASTER_NAME = 'usine';

export class SentinelSet {
  primary!: RedisProc;
  replica!: RedisProc;
  readonly sentinels: RedisProc[] = [];

  /** Ports: primary `port`, replica `port + 1`, sentinels `port + 2` to `port + 4`. */
  constructor(readonly port: number) {}

  /** REDIS_SENTINELS and REDIS_SENTINEL_MASTER for usine's processes. */
  get env(): Record<string, string> {
    return {
      REDIS_URL: `redis://127.0.0.1:${this.port}`,
      REDIS_SENTINELS: [2, 3, 4].map((i) => `127.0.0.1:${this.port + i}`).join(','),
      REDIS_SENTINEL_MASTER: MASTER_NAME,
    };
  }

  async start(): Promise<this> {
    const p = this.port;
    this.primary = await startRedis(p, ['--port', String(p)]);
    this.replica = await startRedis(p + 1, ['--port', String(p + 1), '--replicaof', '127.0.0.1', String(p)]);
    for (const s of [p + 2, p + 3, p + 4]) {
      // Down after 1 s without an answer; a failover attempt that stalls is retried after 5 s.
      const conf = [
        `port ${s}`,
        'bind 127.0.0.1',
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${p} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        '',
      ].join('\n');
      this.sentinels.push(await startRedis(s, [], { conf, sentinel: true }));
    }
    await this.untilReady();
    return this;
  }

  /** Until every sentinel knows the replica and the two other sentinels: only then can they fail over. */
  private async untilReady(): Promise<void> {
    const end = Date.now() + 20_000;
    for (const s of this.sentinels) {
      const r = new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        for (;;) {
          const m = (await r.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[];
          const f = Object.fromEntries(m.flatMap((v, i) => (i % 2 ? [] : [[v, m[i + 1]]])));
          if (f['num-other-sentinels'] === '2' && f['num-slaves'] === '1') break;
          if (Date.now() > end) throw new Error(`sentinel ${s.port} not ready: ${JSON.stringify(f)}`);
          await sleep(200);
        }
      } finally {
        r.disconnect();
      }
    }
  }

  /** Until the sentinels list the server on `port` as a replica whose link to the primary is up. */
  async untilReplicated(port: number): Promise<void> {
    const r = new Redis({ port: this.port + 2, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    try {
      for (const end = Date.now() + 20_000; ; await sleep(200)) {
        const list = (await r.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
        const ok = list.some((m) => {
          const f = Object.fromEntries(m.flatMap((v, i) => (i % 2 ? [] : [[v, m[i + 1]]])));
          return f.port === String(port) && f['master-link-status'] === 'ok' && !/down/.test(f.flags ?? '');
        });
        if (ok) return;
        if (Date.now() > end) throw new Error(`the sentinels never saw a healthy replica on ${port}`);
      }
    } finally {
      r.disconnect();
    }
  }

  /** Asks the sentinels for a failover now (the primary stays up, demoted); resolves once it moved. */
  async failover(): Promise<void> {
    const before = await this.primaryPort();
    const r = new Redis({ port: this.port + 2, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    try {
      await r.call('SENTINEL', 'FAILOVER', MASTER_NAME);
      for (const end = Date.now() + 20_000; (await this.primaryPort()) === before; await sleep(200))
        if (Date.now() > end) throw new Error('the sentinels did not fail over within 20 s');
    } finally {
      r.disconnect();
    }
  }

  /** The port the sentinels name as the primary now. */
  async primaryPort(): Promise<number> {
    const r = new Redis({ port: this.port + 2, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    try {
      const [, port] = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[];
      return Number(port);
    } finally {
      r.disconnect();
    }
  }

  async stop(): Promise<void> {
    await stopAll([this.primary, this.replica, ...this.sentinels]);
  }
}
