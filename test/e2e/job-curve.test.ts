// GET /v1/jobs/:id/curve against a real cluster (a scheduler and a worker on lavapipe): a tiny
// train job's points arrive while it runs, polled with after=next they add up to the whole curve
// read after it ends, `limit` pages it, and another tenant's job is "not found".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient, UsineApiError } from '../../client/client.ts';
import { jobCurveSchema, type CurvePoint } from '../../shared/job-curve.ts';
import { Cluster } from '../support/cluster.ts';

const cluster = new Cluster({ port: 8580, tenants: [{ name: 'a' }, { name: 'b' }], workers: [{}] });
const as = (tenant: string) => new UsineClient({ url: cluster.url, token: Cluster.token(tenant) });
beforeAll(() => cluster.start(), 120_000);
afterAll(() => cluster.stop());

const STEPS = 80;
const spec = {
  type: 'train' as const,
  params: {
    model: { vocabSize: 13, contextLength: 12, layers: 1, dModel: 32, heads: 2, dFF: 64 },
    data: { source: 'task' as const, task: { kind: 'sort' as const, length: 4 } },
    steps: STEPS,
    batchSize: 16,
    schedule: { lr: 0.01, warmupSteps: 3 },
    seed: 7,
    evalEvery: 20,
    evalExamples: 32,
  },
};

describe('GET /v1/jobs/:id/curve', () => {
  it('serves the points as they are trained, then the whole curve; isolated per tenant', async () => {
    const a = as('a');
    const { id } = await a.submit(spec);
    // Nothing yet, but the job is there: an empty curve, not a 404.
    const first = jobCurveSchema.parse(await a.curve(id));
    expect(first.next).toBe(0);

    const polled: CurvePoint[] = [];
    const whileRunning: number[] = []; // points seen while the job was not finished
    let after = 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const c = jobCurveSchema.parse(await a.curve(id, { after }));
      polled.push(...c.points);
      after = c.next;
      if (c.state === 'running' && c.points.length) whileRunning.push(c.points.at(-1)!.step);
      if (['succeeded', 'failed', 'cancelled'].includes(c.state) && !c.more) {
        expect(c.state).toBe('succeeded');
        expect(c.steps).toBe(STEPS);
        break;
      }
      if (Date.now() > deadline) throw new Error(`the train job did not end; curve at step ${after}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // Live: points were served while the job ran, the first of them before its last step. (Not
    // "in more than one batch": the worker writes at most once a second, and this run takes about
    // one, so its second batch may be its last, written as the job ends.)
    expect(whileRunning.length).toBeGreaterThanOrEqual(1);
    expect(whileRunning[0]).toBeLessThan(STEPS);

    const all = jobCurveSchema.parse(await a.curve(id));
    expect(all.points.map((p) => p.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(all.more).toBe(false);
    expect(all.next).toBe(STEPS);
    expect(polled).toEqual(all.points);
    expect(all.points.filter((p) => p.eval).map((p) => p.step)).toEqual([20, 40, 60, 80]);
    for (const p of all.points) expect(p.tokensPerSecond).toBeGreaterThan(0);
    // The same run as the result reports.
    const result = (await a.get(id)).result as { losses: number[]; evaluations: { exactMatch: number }[] };
    expect(all.points.map((p) => p.loss)).toEqual(result.losses);
    expect(all.points.at(-1)!.eval!.exactMatch).toBe(result.evaluations.at(-1)!.exactMatch);

    // Paged with limit: the first 30, then the rest from next.
    const page = await a.curve(id, { limit: 30 });
    expect([page.points.length, page.next, page.more]).toEqual([30, 30, true]);
    const rest = await a.curve(id, { after: page.next });
    expect(rest.points[0].step).toBe(31);
    expect(rest.more).toBe(false);

    // Another tenant: not found, like the job itself; a bad query is refused with what to fix.
    const err = await as('b')
      .curve(id)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsineApiError);
    expect((err as UsineApiError).status).toBe(404);
    const bad = await a.curve(id, { after: -1 }).catch((e: unknown) => e);
    expect((bad as UsineApiError).status).toBe(400);
    expect((bad as UsineApiError).message).toMatch(/after/);
  }, 180_000);
});
