// `usine usage`: device-seconds, jobs, FLOPs and the estimated energy per tenant, in units a person reads.
import { describe, expect, it } from 'vitest';
import { formatEnergy, formatUsage } from '../../client/format.ts';

describe('usine usage', () => {
  it('prints energy in J, kJ, Wh and kWh', () => {
    expect([0, 650, 1500, 36_000, 7_200_000].map(formatEnergy)).toEqual([
      '0 J',
      '650 J',
      '1.5 kJ',
      '10.0 Wh',
      '2.00 kWh',
    ]);
  });

  it("adds an ENERGY column, and '-' for a scheduler that reports none", () => {
    const text = formatUsage({
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-02T00:00:00.000Z',
      granularity: 'hour',
      tenants: [
        { tenant: 'a', deviceSeconds: 20, jobs: 3, flops: 2e9, joules: 1300 },
        { tenant: 'b', deviceSeconds: 1, jobs: 1, flops: 0 },
      ],
    });
    const [, header, a, b] = text.split('\n');
    expect(header.split(/\s+/)).toEqual(['TENANT', 'DEVICE-SECONDS', 'JOBS', 'GFLOP', 'ENERGY']);
    expect(a.split(/\s{2,}/)).toEqual(['a', '20.0', '3', '2.00', '1.3 kJ']);
    expect(b.split(/\s{2,}/)).toEqual(['b', '1.0', '1', '0.00', '-']);
  });
});
