// Configuration from the environment: one error naming every bad variable, defaults otherwise.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, schedulerEnv } from '../../shared/config.ts';

describe('config', () => {
  it('has preemption on by default, with a 120 s minimum run time, a 30 s grace, 30 min before rounding swaps', () => {
    const cfg = loadConfig(schedulerEnv, {});
    expect([
      cfg.USINE_PREEMPTION,
      cfg.USINE_PREEMPTION_MIN_RUNTIME_SECONDS,
      cfg.USINE_PREEMPTION_GRACE_SECONDS,
      cfg.USINE_PREEMPTION_ROUNDING_RUNTIME_SECONDS,
    ]).toEqual(['on', 120, 30, 1800]);
    expect(loadConfig(schedulerEnv, { USINE_PREEMPTION: 'off' }).USINE_PREEMPTION).toBe('off');
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig(schedulerEnv, {
        USINE_PREEMPTION: 'maybe',
        USINE_PREEMPTION_GRACE_SECONDS: '-5',
        USINE_PREEMPTION_MIN_RUNTIME_SECONDS: 'two minutes',
        USINE_PREEMPTION_ROUNDING_RUNTIME_SECONDS: '-1',
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
      'USINE_PREEMPTION_ROUNDING_RUNTIME_SECONDS=',
    ])
      expect(msg).toContain(name);
    expect(msg).not.toContain('USINE_PORT');
  });

  it('names every bad Redis setting, and shows no secret', () => {
    let msg = '';
    try {
      loadConfig(schedulerEnv, {
        REDIS_URL: 'http://user:url-secret@h:1',
        REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2',
        REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
        REDIS_TLS_CA_FILE: '/no/such/ca.pem',
        USINE_ADMIN_TOKEN: 'admin-secret',
      });
    } catch (e) {
      msg = (e as Error).message;
    }
    for (const name of [
      'REDIS_URL=',
      'REDIS_SENTINELS=',
      'REDIS_SENTINEL_MASTER=',
      'REDIS_TLS_CA_FILE=',
      'USINE_ADMIN_TOKEN=',
    ])
      expect(msg).toContain(name);
    expect(msg).toContain('http://***@h:1');
    for (const secret of ['url-secret', 'sentinel-secret', 'admin-secret']) expect(msg).not.toContain(secret);
  });

  it('takes sentinels with their master, and a durability timeout below the command timeout', () => {
    const cfg = loadConfig(schedulerEnv, { REDIS_SENTINELS: 'a:26379, b:26380', REDIS_SENTINEL_MASTER: 'usine' });
    expect(cfg.REDIS_SENTINELS).toBe('a:26379, b:26380');
    expect(cfg.USINE_SUBMIT_DURABILITY).toBe('none');
    expect(() => loadConfig(schedulerEnv, { REDIS_SENTINEL_MASTER: 'usine' })).toThrow(/REDIS_SENTINELS=/);
    expect(() =>
      loadConfig(schedulerEnv, { USINE_SUBMIT_DURABILITY: 'replica', USINE_SUBMIT_DURABILITY_TIMEOUT_MS: '900' }),
    ).toThrow(/USINE_SUBMIT_DURABILITY_TIMEOUT_MS=.*below USINE_REDIS_COMMAND_TIMEOUT_MS/);
  });
});
