// Training checkpoints in the safetensors layout: the model's parameters, AdamW's moments,
// and in `__metadata__` (strings) the model config, the step, the optimizer settings and the
// data seed — everything a resumed run or an inference job needs, in a file any safetensors
// reader opens. Reading validates the file against its own config and, when given, the
// config the caller expects.
import { DEFAULT_ADAMW, type AdamWSettings } from '../../kernels/ops/limits.ts';
import { ModelConfigError, parseModelConfig, sameConfig, type ModelConfig } from './model-config.ts';
import { parameterLayout, type Parameters } from './parameters.ts';
import { SafetensorsError, decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.ts';
import { InputError } from '../../kernels/errors.ts';

export const CHECKPOINT_FORMAT = 'usine-transformer/1';
/** Metadata keys the format owns; callers' extra metadata may not use them. */
const RESERVED = ['format', 'config', 'step', 'data_seed', 'optimizer'];

export interface OptimizerSettings extends AdamWSettings {
  name: 'adamw';
}

export interface CheckpointState {
  config: ModelConfig;
  /** Optimizer steps completed. */
  step: number;
  /** Seed of the data stream, so a resumed run draws the batches the original would have. */
  dataSeed: number;
  optimizer: OptimizerSettings;
  params: Parameters;
  /** AdamW's first and second moments, by parameter name; absent in an inference-only export. */
  moments?: { m: Parameters; v: Parameters };
  /** Further string metadata (the task, the learning-rate schedule, …). */
  extra?: Record<string, string>;
}

export class CheckpointError extends InputError {
  override name = 'CheckpointError';
}

const M = 'adamw.m.';
const V = 'adamw.v.';

function same(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function encodeCheckpoint(s: CheckpointState): Uint8Array {
  const tensors = new Map<string, Tensor>();
  const layout = parameterLayout(s.config);
  const add = (prefix: string, from: Parameters, what: string) => {
    for (const p of layout) {
      const data = from.get(p.name);
      if (!data) throw new CheckpointError(`${what} ${p.name} is missing`);
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n)
        throw new CheckpointError(
          `${what} ${p.name} has ${data.length} values, the config's shape [${p.shape}] needs ${n}`,
        );
      tensors.set(prefix + p.name, { dtype: 'F32', shape: p.shape, data });
    }
  };
  add('', s.params, 'parameter');
  if (s.moments) {
    add(M, s.moments.m, 'AdamW first moment of');
    add(V, s.moments.v, 'AdamW second moment of');
  }
  for (const k of Object.keys(s.extra ?? {}))
    if (RESERVED.includes(k)) throw new CheckpointError(`extra metadata may not use the reserved key ${k}`);
  if (!Number.isSafeInteger(s.step) || s.step < 0)
    throw new CheckpointError(`step must be a non-negative integer, got ${s.step}`);
  return encodeSafetensors(tensors, {
    ...s.extra,
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(s.config),
    step: String(s.step),
    data_seed: String(s.dataSeed),
    optimizer: JSON.stringify(s.optimizer),
  });
}

/**
 * Reads a checkpoint; throws CheckpointError for a truncated or malformed file, tensors that
 * do not match the file's own config, or (when `expected` is given) a config other than it.
 */
export function decodeCheckpoint(file: Uint8Array, expected?: ModelConfig): CheckpointState {
  let parsed: ReturnType<typeof decodeSafetensors>;
  try {
    parsed = decodeSafetensors(file);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(`not a readable checkpoint: ${e.message}`);
    throw e;
  }
  const { tensors, metadata: md } = parsed;
  if (md.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `not a ${CHECKPOINT_FORMAT} checkpoint (metadata format is ${JSON.stringify(md.format)})`,
    );
  let config: ModelConfig;
  try {
    config = parseModelConfig(JSON.parse(md.config ?? 'null'));
  } catch (e) {
    throw new CheckpointError(
      `checkpoint has a bad model config: ${e instanceof ModelConfigError ? e.message : String(e)}`,
    );
  }
  if (expected && !sameConfig(config, expected)) {
    const diff = (Object.keys(config) as (keyof ModelConfig)[])
      .filter((k) => config[k] !== expected[k])
      .map((k) => `${k} ${config[k]} (expected ${expected[k]})`);
    throw new CheckpointError(`checkpoint is of another model shape: ${diff.join(', ')}`);
  }
  const step = Number(md.step);
  const dataSeed = Number(md.data_seed);
  if (!Number.isSafeInteger(step) || step < 0)
    throw new CheckpointError(`checkpoint has a bad step ${JSON.stringify(md.step)}`);
  if (!Number.isSafeInteger(dataSeed))
    throw new CheckpointError(`checkpoint has a bad data_seed ${JSON.stringify(md.data_seed)}`);
  let optimizer: OptimizerSettings;
  try {
    optimizer = { ...DEFAULT_ADAMW, name: 'adamw', ...JSON.parse(md.optimizer ?? '{}') };
  } catch {
    throw new CheckpointError('checkpoint has bad optimizer settings (not JSON)');
  }

  const layout = parameterLayout(config);
  const take = (prefix: string): Parameters => {
    const out: Parameters = new Map();
    for (const p of layout) {
      const t = tensors.get(prefix + p.name);
      if (!t) throw new CheckpointError(`checkpoint lacks tensor ${prefix + p.name}`);
      if (t.dtype !== 'F32') throw new CheckpointError(`tensor ${prefix + p.name} is ${t.dtype}, expected F32`);
      if (!same(t.shape, p.shape))
        throw new CheckpointError(
          `tensor ${prefix + p.name} has shape [${t.shape}], the model config needs [${p.shape}]`,
        );
      out.set(p.name, t.data as Float32Array);
    }
    return out;
  };
  const params = take('');
  const hasMoments = [...tensors.keys()].some((k) => k.startsWith(M) || k.startsWith(V));
  const moments = hasMoments ? { m: take(M), v: take(V) } : undefined;
  const known = layout.length * (hasMoments ? 3 : 1);
  if (tensors.size !== known) {
    const names = new Set(layout.flatMap((p) => [p.name, M + p.name, V + p.name]));
    const stray = [...tensors.keys()].filter((k) => !names.has(k));
    throw new CheckpointError(`checkpoint has tensors the model config does not: ${stray.slice(0, 5).join(', ')}`);
  }
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(md)) if (!RESERVED.includes(k)) extra[k] = v;
  return { config, step, dataSeed, optimizer, params, moments, extra };
}
