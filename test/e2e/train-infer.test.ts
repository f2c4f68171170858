// Training and inference as jobs: a transformer trained on a worker's device with its
// checkpoints in the artifact store, an infer job that waits for it, resume after a killed
// worker, failing dependants, and refusals at submit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import type { JobSpecInput } from '../../shared/job-spec.ts';
import type { JobView } from '../../shared/job-view.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';

const cluster = new Cluster({ port: 8850, workers: [{}, {}], env: { USINE_WORKER_LOCK_SECONDS: '2' } });
const c = () => new UsineClient({ url: cluster.url });
beforeAll(() => cluster.start());
afterAll(() => cluster.stop());

const task = { kind: 'sort' as const, length: 4 };
const model = { vocabSize: 13, contextLength: 12, layers: 1, dModel: 32, heads: 2, dFF: 64 };
const train = (steps: number, extra: object = {}): JobSpecInput => ({
  type: 'train',
  params: {
    model,
    data: { source: 'task', task },
    steps,
    batchSize: 16,
    schedule: { lr: 0.01, warmupSteps: 3 },
    seed: 7,
    evalEvery: 10,
    evalExamples: 64,
    checkpointEvery: 10,
    ...extra,
  },
});

const until = (id: string, pred: (v: JobView) => boolean, timeoutMs = 60_000) => jobUntil(c(), id, pred, timeoutMs);

interface TrainResult {
  steps: number;
  resumedFrom: number;
  losses: number[];
  evaluations: { step: number; exactMatch: number }[];
  checkpoint: string;
}

describe('train and infer jobs', () => {
  it('trains (loss falls, live progress, checkpoints), then an infer job submitted before it finishes answers from its checkpoint', async () => {
    const t = await c().submit(train(40));
    // Submitted at once: it waits for the training job.
    const prompts = ['3142=', '9070=', '5555='];
    const i = await c().submit({ type: 'infer', params: { checkpoint: { job: t.id }, prompts, maxNewTokens: 5 } });
    const waiting = await c().get(i.id);
    expect(waiting.state).toBe('queued');
    expect(waiting.waitingFor).toMatch(new RegExp(`waiting for job ${t.id}`));

    const figures: number[] = [];
    const v = await c().wait(t.id, {
      intervalMs: 50,
      timeoutMs: 120_000,
      onUpdate: (u) => typeof u.progress?.step === 'number' && figures.push(u.progress.step as number),
    });
    expect(v.state).toBe('succeeded');
    expect(figures.length).toBeGreaterThan(2); // progress was live, not only at the end
    const r = v.result as TrainResult;
    expect(r.steps).toBe(40);
    const early = r.losses.slice(0, 5).reduce((s, x) => s + x, 0) / 5;
    const late = r.losses.slice(-5).reduce((s, x) => s + x, 0) / 5;
    expect(late).toBeLessThan(early * 0.8);
    const ckpts = (await c().jobArtifacts(t.id)).artifacts.filter((a) => a.kind === 'checkpoint');
    expect(ckpts.map((a) => a.info?.step)).toEqual([10, 20, 30, 40]);
    expect(r.checkpoint).toBe(ckpts.at(-1)!.id);

    const inf = await c().wait(i.id, { timeoutMs: 60_000 });
    expect(inf.state).toBe('succeeded');
    const out = inf.result as {
      checkpoint: string;
      outputs: { prompt: string; text: string }[];
      tokensPerSecond: number;
    };
    expect(out.checkpoint).toBe(r.checkpoint);
    expect(out.outputs.map((o) => o.prompt)).toEqual(prompts);
    for (const o of out.outputs) expect(o.text).toMatch(/^[0-9+=.]{1,5}$/);
    expect(out.tokensPerSecond).toBeGreaterThan(0);
    // Greedy decoding is deterministic: the same request gives the same answers.
    const again = await c().submit({
      type: 'infer',
      params: { checkpoint: { artifact: r.checkpoint }, prompts, maxNewTokens: 5 },
    });
    expect(((await c().wait(again.id, { timeoutMs: 60_000 })).result as typeof out).outputs).toEqual(out.outputs);
  });

  it('resumes from the last checkpoint when its worker is killed mid-run', async () => {
    const t = await c().submit(train(60));
    const running = await until(t.id, (v) => v.state === 'running' && Number(v.progress?.step ?? 0) >= 14);
    await cluster.stopWorker(running.worker === 'w0' ? 0 : 1, 'SIGKILL');
    const v = await until(t.id, (x) => ['succeeded', 'failed'].includes(x.state), 120_000);
    expect(v.state).toBe('succeeded');
    const r = v.result as TrainResult;
    expect(r.resumedFrom).toBeGreaterThanOrEqual(10);
    expect(r.steps).toBe(60);
    expect(v.worker).not.toBe(running.worker);
    // Its curve is the run once: steps 1–60, the resumed attempt's points from its checkpoint on.
    const curve = await c().curve(t.id);
    expect(curve.points.map((p) => p.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(curve.points.slice(r.resumedFrom).map((p) => p.loss)).toEqual(r.losses);
    await cluster.startWorker(running.worker === 'w0' ? 0 : 1);
  });

  it('fails a dependant with the reason when its dependency does not succeed', async () => {
    const blocker = await c().submit({ type: 'noop', params: { sleepMs: 30_000 } });
    const dep = await c().submit({ type: 'noop', params: {}, dependsOn: blocker.id });
    await c().cancel(blocker.id);
    const v = await until(dep.id, (x) => x.state === 'failed', 10_000);
    expect(v.error).toBe(`dependency ${blocker.id} cancelled: cancelled`);
  });

  it('refuses bad configs at submit with the reason', async () => {
    const bad: [JobSpecInput, RegExp][] = [
      [
        { ...train(5), params: { ...(train(5).params as object), model: { ...model, heads: 3 } } } as JobSpecInput,
        /heads/,
      ],
      [
        {
          ...train(5),
          params: { ...(train(5).params as object), model: { ...model, contextLength: 6 } },
        } as JobSpecInput,
        /longer than model.contextLength/,
      ],
      [
        {
          ...train(5),
          params: { ...(train(5).params as object), data: { source: 'text', artifact: 'nope', seqLen: 8 } },
        } as JobSpecInput,
        /no artifact nope/,
      ],
      [
        {
          type: 'infer',
          params: {
            checkpoint: { artifact: '00000000-0000-4000-8000-000000000000' },
            prompts: ['1='],
            maxNewTokens: 2,
          },
        },
        /no checkpoint artifact/,
      ],
      [{ type: 'noop', params: {}, dependsOn: 'no-such-job' }, /dependsOn: no job/],
    ];
    for (const [spec, why] of bad) await expect(c().submit(spec)).rejects.toMatchObject({ status: 400, message: why });
    const m = await c().submit({ type: 'matmul', params: { m: 4, n: 4, k: 4 } });
    await expect(
      c().submit({ type: 'infer', params: { checkpoint: { job: m.id }, prompts: ['1='], maxNewTokens: 2 } }),
    ).rejects.toMatchObject({ status: 400, message: /not a train job/ });
  });
});
