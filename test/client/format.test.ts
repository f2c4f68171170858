// The CLI's text for a job: a training run is a summary with a sparkline, never its whole losses array.
import { describe, expect, it } from 'vitest';
import { formatJob } from '../../client/format.ts';
import { sparkline } from '../../client/sparkline.ts';
import type { JobView } from '../../shared/job-view.ts';

const view = (type: JobView['type'], result: unknown): JobView => ({
  id: 'a.any.1',
  type,
  tenant: 'a',
  state: 'succeeded',
  priority: 0,
  progress: { percent: 100 },
  result,
  error: null,
  attempts: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:01.000Z',
  finishedAt: '2026-01-01T00:05:00.000Z',
  worker: 'w0',
  preemptions: 0,
  lastPreemption: null,
});

describe('sparkline', () => {
  it('draws a falling curve from █ down to ▁, at most `width` characters', () => {
    const falling = Array.from({ length: 600 }, (_, i) => 3 * Math.exp(-i / 100));
    const s = sparkline(falling);
    expect([...s]).toHaveLength(40);
    expect(s[0]).toBe('█');
    expect(s.at(-1)).toBe('▁');
    // Each character is the mean of its bucket: a falling curve never rises.
    const levels = [...s].map((c) => '▁▂▃▄▅▆▇█'.indexOf(c));
    for (let i = 1; i < levels.length; i++) expect(levels[i]).toBeLessThanOrEqual(levels[i - 1]);
  });

  it('is as long as the data when shorter than the width; flat is ▁; nothing is empty', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([2, 2, 2])).toBe('▁▁▁');
    expect(sparkline([])).toBe('');
    expect(sparkline([1, Number.NaN, 2], 10)).toBe('▁█');
  });

  it('averages buckets: one spike among 100 values barely lifts its bucket', () => {
    const values = Array.from({ length: 100 }, (_, i) => (i === 50 ? 100 : i % 2));
    const s = sparkline(values, 10);
    expect(s).toHaveLength(10);
    expect(s[5]).toBe('█');
    expect(s.replace('█', '')).toMatch(/^▁+$/);
  });
});

describe('formatJob', () => {
  const losses = Array.from({ length: 600 }, (_, i) => 2.5 * Math.exp(-i / 120) + 0.01);
  const train = {
    steps: 600,
    resumedFrom: 0,
    seconds: 312.4,
    tokensPerSecond: 6696.4,
    finalLoss: losses.at(-1),
    losses,
    evaluations: [
      { step: 300, loss: 0.4, tokenAccuracy: 0.8, exactMatch: 0.3 },
      { step: 600, loss: 0.015, tokenAccuracy: 0.998, exactMatch: 0.984 },
    ],
    checkpoint: 'ckpt-1',
  };

  it('summarises a train result: steps, losses, curve, held-out figures, checkpoint', () => {
    const text = formatJob(view('train', train));
    expect(text).toContain('trained 600 steps in 312.4 s, 6696 tokens/s');
    expect(text).toContain(`loss: 2.5100 at step 1 → ${losses.at(-1)!.toFixed(4)} at step 600`);
    expect(text).toMatch(/curve: █[▁-█]{38}▁\n/);
    expect(text).toContain('held-out at step 600: loss 0.0150, token accuracy 99.8%, exact match 98.4%');
    expect(text).toContain('checkpoint: artifact ckpt-1; usine download ckpt-1');
    // Not the 600 numbers: a dozen short lines.
    expect(text).not.toContain(String(losses[1]));
    expect(text.split('\n').length).toBeLessThan(12);
    expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThan(120);
  });

  it('counts steps from the checkpoint a resumed run started at', () => {
    const text = formatJob(view('train', { ...train, resumedFrom: 200, losses: losses.slice(200) }));
    expect(text).toContain('trained 600 steps (resumed from step 200)');
    expect(text).toContain('at step 201 →');
    expect(text).toContain('at step 600');
  });

  it('shows the first answers of an infer job, and says how many more there are', () => {
    const outputs = Array.from({ length: 25 }, (_, i) => ({ prompt: `${i}=`, text: `${i}.` }));
    const text = formatJob(view('infer', { checkpoint: 'ckpt-1', tokensPerSecond: 120.2, outputs }));
    expect(text).toContain('25 answers from checkpoint ckpt-1, 120 tokens/s');
    expect(text).toContain('"9=" → "9."');
    expect(text).not.toContain('"10="');
    expect(text).toContain('… 15 more (all of them: --json)');
  });

  it('still prints an unknown result as JSON', () => {
    expect(formatJob(view('noop', { slept: 5 }))).toContain('result: {"slept":5}');
  });
});
