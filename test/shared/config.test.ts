// Configuration from the environment: one error naming every bad variable, defaults otherwise.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, schedulerEnv } from '../../shared/config.ts';

describe('config', () => {
  it('has preemption on by default, with a 120 s minimum run time and a 30 s grace', () => {
    const cfg = loadConfig(schedulerEnv, {});
    expect([
      cfg.USINE_PREEMPTION,
      cfg.USINE_PREEMPTION_MIN_RUNTIME_SECONDS,
      cfg.USINE_PREEMPTION_GRACE_SECONDS,
    ]).toEqual(['on', 120, 30]);
    expect(loadConfig(schedulerEnv, { USINE_PREEMPTION: 'off' }).USINE_PREEMPTION).toBe('off');
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig(schedulerEnv, {
        USINE_PREEMPTION: 'maybe',
        USINE_PREEMPTION_GRACE_SECONDS: '-5',
        USINE_PREEMPTION_MIN_RUNTIME_SECONDS: 'two minutes',
        USINE_PORT: '8700',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of [
      'USINE_PREEMPTION=',
      'USINE_PREEMPTION_GRACE_SECONDS=',
      'USINE_PREEMPTION_MIN_RUNTIME_SECONDS=',
    ])
      expect(msg).toContain(name);
    expect(msg).not.toContain('USINE_PORT');
  });
});
