// `usine doctor`: what this machine offers usine.
import { listAdaptersQuietly } from '../kernels/adapter-list.ts';
import type { ListedAdapter } from '../kernels/device.ts';
import { redactUrl, redisAnswers } from '../shared/redis.ts';
import type { UsineClient } from './client.ts';

export interface DoctorReport {
  ok: boolean;
  data: {
    adapters: ListedAdapter[];
    redis: { url: string; answers: boolean };
    scheduler: { url: string; answers: boolean };
  };
  text: string;
}

const GPU_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'];

export async function runDoctor(o: { redisUrl: string; client: UsineClient }): Promise<DoctorReport> {
  const [adapters, redis, scheduler] = await Promise.all([
    listAdaptersQuietly(),
    redisAnswers(o.redisUrl),
    o.client.health().then(
      () => true,
      () => false,
    ),
  ]);
  const lines: string[] = [];
  lines.push(`WebGPU adapters: ${adapters.length}`);
  for (const [i, a] of adapters.entries()) {
    lines.push(`  [${i}] ${a.description || a.device}`);
    lines.push(
      `      vendor ${a.vendor}, architecture ${a.architecture}, device ${a.device}, backend ${a.backend}${a.software ? ' (software)' : ''}`,
    );
    lines.push(
      `      features: ${GPU_FEATURES.map((f) => `${f} ${a.features.includes(f) ? 'yes' : 'no'}`).join(', ')}`,
    );
    lines.push(
      `      limits: ${Object.entries(a.limits)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  if (adapters.length === 0) {
    lines.push(
      '  none: install a Vulkan driver (without a GPU: Mesa lavapipe, see the README) or run `bash scripts/setup-system.sh` as root',
    );
  }
  lines.push(`Redis at ${redactUrl(o.redisUrl)}: ${redis ? 'answers' : 'does not answer (npm start starts one)'}`);
  lines.push(`scheduler at ${o.client.url}: ${scheduler ? 'answers' : 'does not answer (npm start starts it)'}`);
  return {
    ok: adapters.length > 0 && redis,
    data: {
      adapters,
      redis: { url: redactUrl(o.redisUrl), answers: redis },
      scheduler: { url: o.client.url, answers: scheduler },
    },
    text: lines.join('\n'),
  };
}
