// Grants: how the leader's dispatch round (scheduler/dispatcher.ts) tells workers what to take
// (docs/design/dispatch.md, step 3). Per requirement class, one Redis list holds tenant names
// in fair-share order, one per slot the round plans to fill; a worker with free slots pops as
// many as it has and takes each tenant's next job from its own queues of that class. Each
// round rewrites the lists whole, so a grant is at most one round old.
//
// A worker that finds the lists dry blocks on them (BLMPOP): Redis hands the round's next grants
// to the workers waiting longest, each up to its free slots, and wakes no one else. With a pop
// on the round's news instead, every worker with a free slot popped after every round (W
// commands a round, most finding nothing: #14's stampede, at the round's pace).
//
// A grant is a hint, never a lock: the job itself is still taken with BullMQ's atomic move,
// so a stale or duplicate grant costs one empty take, never a job run twice. `grants-live`
// (a key with expiry, renewed by the round) says a round is writing grants, and every round
// publishes news (even an idle one, once a second): a worker takes grants once it heard news,
// until a take finds the key gone or the news stops (no scheduler, or its lease lapsed); then
// it plans for itself, as before step 3.
import type { ChainableCommander, Redis } from 'ioredis';
import type { BlockingConnection } from '../../shared/blocking-connection.ts';
import type { Keys } from './keys.ts';

/** How long grants stay authoritative without a round renewing them (the leader's tick is 1 s). */
export const GRANTS_LIVE_MS = 3000;

/** What the round announces with new grants: the tenant its plan put first. */
export interface GrantNews {
  /** The plan's first tenant, or null. */
  front: string | null;
  /** That tenant was the only one with queued work: nobody to be fair to until a submit. */
  alone: boolean;
  /** The classes with grants now. */
  classes: string[];
}

export interface Taken {
  /** Whether a round writes grants now (false: plan locally). */
  live: boolean;
  /** Granted tenants, with the class of the list each came from, in list order. */
  grants: { cls: string; tenant: string }[];
}

export class GrantBoard {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Replaces every class's list with the round's plan in one transaction, renews the live key
   * and announces it. `classes`: every class the round planned, including those now without
   * grants (their lists are emptied). `also` adds the caller's writes to the same transaction.
   */
  async write(plan: Map<string, string[]>, news: GrantNews, also?: (m: ChainableCommander) => void): Promise<void> {
    const m = this.redis.multi();
    also?.(m);
    for (const [cls, tenants] of plan) {
      m.del(this.keys.grants(cls));
      if (tenants.length) m.rpush(this.keys.grants(cls), ...tenants);
    }
    m.set(this.keys.grantsLive, '1', 'PX', GRANTS_LIVE_MS);
    m.publish(this.keys.grantsChannel, JSON.stringify(news));
    await m.exec();
  }

  /**
   * Renews the live key without a new plan (an idle round), and says so: workers then leave
   * wake-ups to the round, and poll the grants, not the queues.
   */
  async renew(): Promise<void> {
    await this.redis.set(this.keys.grantsLive, '1', 'PX', GRANTS_LIVE_MS);
    const idle: GrantNews = { front: null, alone: false, classes: [] };
    await this.redis.publish(this.keys.grantsChannel, JSON.stringify(idle));
  }

  /** Pops up to `n` grants over the classes a worker serves (in the order given), in one round trip. */
  async take(classes: string[], n: number): Promise<Taken> {
    const p = this.redis.pipeline().exists(this.keys.grantsLive);
    for (const cls of classes) p.lpop(this.keys.grants(cls), n);
    const res = (await p.exec()) ?? [];
    const live = Number(res[0]?.[1] ?? 0) === 1;
    const grants: Taken['grants'] = [];
    classes.forEach((cls, i) => {
      for (const tenant of (res[i + 1]?.[1] as string[] | null) ?? []) grants.push({ cls, tenant });
    });
    // More popped than slots (several classes): the extra go back to the front of their lists.
    const extra = grants.splice(n);
    if (extra.length) {
      const back = this.redis.pipeline();
      for (const g of extra.reverse()) back.lpush(this.keys.grants(g.cls), g.tenant);
      await back.exec();
    }
    return { live, grants };
  }

  /**
   * Waits on the classes' lists (BLMPOP on a connection of its own, with no time limit) until a
   * round writes grants: up to `n` of them, from the first list in `classes` that has any. Empty
   * when the wait was interrupted (BlockingConnection.interrupt) or its connection lost.
   */
  async wait(blocking: BlockingConnection, classes: string[], n: number): Promise<Taken['grants']> {
    if (!classes.length || n <= 0) return [];
    const keys = classes.map((cls) => this.keys.grants(cls));
    const popped = await blocking.block((conn) => conn.blmpop(0, keys.length, ...keys, 'LEFT', 'COUNT', n), null);
    if (!popped) return [];
    const cls = classes[keys.indexOf(popped[0])];
    return popped[1].map((tenant) => ({ cls, tenant }));
  }

  /**
   * Tells the round that grants were taken (or the lists were found dry: this worker has free
   * slots). Sent once the jobs of the grants are taken, not when they are popped: a round that
   * ran in between counted those jobs as still queued and granted them again, and a quarter of
   * the takes at 1,000 tenants found nothing (bench:scale, 2026-11-30).
   */
  async taken(n: number): Promise<void> {
    await this.redis.publish(this.keys.grantsTakenChannel, String(n));
  }
}
