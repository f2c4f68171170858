import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type CheckpointState,
} from '../../../shared/train/checkpoint.ts';
import { parseModelConfig } from '../../../shared/train/model-config.ts';
import { initParameters, parameterLayout, type Parameters } from '../../../shared/train/parameters.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsError,
  type Tensor,
} from '../../../shared/train/safetensors.ts';

const config = parseModelConfig({ vocabSize: 13, contextLength: 17, layers: 2, dModel: 8, heads: 2, dFF: 24 });

function state(): CheckpointState {
  const params = initParameters(config, 1);
  const m: Parameters = new Map([...params].map(([k, v]) => [k, v.map((x) => x * 0.5)]));
  const v: Parameters = new Map([...params].map(([k, x]) => [k, x.map((y) => y * y)]));
  return {
    config,
    step: 120,
    dataSeed: 7,
    optimizer: { name: 'adamw', beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 },
    params,
    moments: { m, v },
    extra: { task: JSON.stringify({ kind: 'sort', length: 8 }) },
  };
}

/**
 * A minimal safetensors reader written from the format's description, independent of ours:
 * u64 little-endian header size, a JSON header, raw little-endian data after it.
 */
function independentParse(bytes: Uint8Array) {
  let n = 0;
  for (let i = 7; i >= 0; i--) n = n * 256 + bytes[i];
  const headerText = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  const header = JSON.parse(headerText) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  > & {
    __metadata__?: Record<string, string>;
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = new Map<string, { shape: number[]; values: number[] }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = t as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const values: number[] = [];
    for (let at = 8 + n + info.data_offsets[0]; at < 8 + n + info.data_offsets[1]; at += 4)
      values.push(view.getFloat32(at, true));
    tensors.set(name, { shape: info.shape, values });
  }
  return { n, headerText, header, tensors, metadata: (header.__metadata__ ?? {}) as Record<string, string> };
}

describe('checkpoint (safetensors layout)', () => {
  it('round-trips parameters, moments and metadata', () => {
    const s = state();
    const back = decodeCheckpoint(encodeCheckpoint(s), config);
    expect(back.config).toEqual(config);
    expect(back.step).toBe(120);
    expect(back.dataSeed).toBe(7);
    expect(back.optimizer).toEqual(s.optimizer);
    expect(back.extra).toEqual(s.extra);
    for (const p of parameterLayout(config)) {
      expect(back.params.get(p.name)).toEqual(s.params.get(p.name));
      expect(back.moments!.m.get(p.name)).toEqual(s.moments!.m.get(p.name));
      expect(back.moments!.v.get(p.name)).toEqual(s.moments!.v.get(p.name));
    }
    const noMoments = decodeCheckpoint(encodeCheckpoint({ ...s, moments: undefined }));
    expect(noMoments.moments).toBeUndefined();
    expect(noMoments.params.get('wte')).toEqual(s.params.get('wte'));
  });

  it('writes the layout the spec describes (checked by an independent parser)', () => {
    const s = state();
    const bytes = encodeCheckpoint(s);
    const f = independentParse(bytes);
    // Header: JSON object, padded with spaces so the data starts 8-byte aligned.
    expect(f.headerText.startsWith('{')).toBe(true);
    expect(f.headerText.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(f.headerText.slice(f.headerText.trimEnd().length))).toBe(true);
    expect((8 + f.n) % 8).toBe(0);
    // Metadata: strings only, holding the config, step, optimizer and data seed.
    for (const v of Object.values(f.metadata)) expect(typeof v).toBe('string');
    expect(JSON.parse(f.metadata.config)).toEqual(config);
    expect(f.metadata.step).toBe('120');
    expect(f.metadata.data_seed).toBe('7');
    expect(JSON.parse(f.metadata.optimizer)).toEqual(s.optimizer);
    // Tensors: F32, the config's shapes, offsets tiling the data to the end of the file.
    const entries = Object.entries(f.header).filter(([k]) => k !== '__metadata__') as [
      string,
      { dtype: string; data_offsets: [number, number] },
    ][];
    expect(entries).toHaveLength(3 * parameterLayout(config).length);
    const spans = entries.map(([, t]) => t.data_offsets).sort((a, b) => a[0] - b[0]);
    expect(spans[0][0]).toBe(0);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBe(spans[i - 1][1]);
    expect(8 + f.n + spans.at(-1)![1]).toBe(bytes.length);
    for (const [, t] of entries) expect(t.dtype).toBe('F32');
    for (const p of parameterLayout(config)) {
      expect(f.tensors.get(p.name)!.shape).toEqual(p.shape);
      expect(f.tensors.get(p.name)!.values).toEqual([...s.params.get(p.name)!]);
      expect(f.tensors.get(`adamw.v.${p.name}`)!.values).toEqual([...s.moments!.v.get(p.name)!]);
    }
  });

  it('reads a file built by hand from the spec (no padding, unaligned data)', () => {
    const header = JSON.stringify({
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    });
    const h = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + h.length + 12);
    new DataView(bytes.buffer).setUint32(0, h.length, true);
    bytes.set(h, 8);
    const dv = new DataView(bytes.buffer, 8 + h.length);
    [1.5, -2, 0.25].forEach((v, i) => dv.setFloat32(i * 4, v, true));
    const { tensors } = decodeSafetensors(bytes);
    expect([...tensors.get('a')!.data]).toEqual([1.5, -2]);
    expect([...tensors.get('b')!.data]).toEqual([0.25]);
  });

  it('refuses truncated files', () => {
    const bytes = encodeCheckpoint(state());
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(() => decodeCheckpoint(bytes.subarray(0, 5))).toThrow(
      /truncated: 5 bytes, fewer than the 8-byte header length/,
    );
    expect(() => decodeCheckpoint(bytes.subarray(0, 8 + n - 10))).toThrow(/truncated: the header needs/);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(
      /truncated: the tensors need \d+ data bytes, \d+ follow the header/,
    );
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(CheckpointError);
  });

  it('refuses bad headers', () => {
    const withHeader = (text: string, data = 0) => {
      const h = new TextEncoder().encode(text);
      const out = new Uint8Array(8 + h.length + data);
      new DataView(out.buffer).setUint32(0, h.length, true);
      out.set(h, 8);
      return out;
    };
    expect(() => decodeSafetensors(withHeader('not json'))).toThrow(/bad header: not a UTF-8 JSON object/);
    expect(() => decodeSafetensors(withHeader('[1]'))).toThrow(/bad header/);
    expect(() => decodeSafetensors(withHeader('{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', 8))).toThrow(
      /dtype "F64"/,
    );
    expect(() => decodeSafetensors(withHeader('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8))).toThrow(
      /needs 12 bytes, data_offsets span 8/,
    );
    expect(() => decodeSafetensors(withHeader('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8))).toThrow(
      /starts at byte 4, expected 0/,
    );
    expect(() => decodeSafetensors(withHeader('{"__metadata__":{"a":1}}'))).toThrow(/__metadata__.a must be a string/);
    expect(() => decodeSafetensors(withHeader('{}', 4))).toThrow(/4 bytes follow the last tensor/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => decodeSafetensors(huge)).toThrow(SafetensorsError);
    // A valid safetensors file that is not one of our checkpoints.
    expect(() => decodeCheckpoint(encodeSafetensors(new Map(), { format: 'other' }))).toThrow(
      /not a usine-transformer\/1 checkpoint/,
    );
  });

  it('refuses a checkpoint that does not match the model config', () => {
    const s = state();
    const bytes = encodeCheckpoint(s);
    const wider = parseModelConfig({ ...config, dModel: 16 });
    expect(() => decodeCheckpoint(bytes, wider)).toThrow(/another model shape: dModel 8 \(expected 16\)/);

    // Tensors re-labelled with a config they do not fit.
    const raw = decodeSafetensors(bytes);
    const lie = { ...raw.metadata, config: JSON.stringify({ ...config, dFF: 32 }) };
    expect(() => decodeCheckpoint(encodeSafetensors(raw.tensors, lie))).toThrow(
      /tensor h\.0\.mlp\.w1 has shape \[8,24\], the model config needs \[8,32\]/,
    );
    const bad = { ...raw.metadata, config: JSON.stringify({ ...config, heads: 3 }) };
    expect(() => decodeCheckpoint(encodeSafetensors(raw.tensors, bad))).toThrow(
      /bad model config: heads: must divide dModel/,
    );

    const missing = new Map<string, Tensor>([...raw.tensors].filter(([k]) => k !== 'lnf.bias'));
    expect(() => decodeCheckpoint(encodeSafetensors(missing, raw.metadata))).toThrow(/lacks tensor lnf.bias/);
    const stray = new Map<string, Tensor>([
      ...raw.tensors,
      ['extra', { dtype: 'F32', shape: [1], data: new Float32Array(1) }],
    ]);
    expect(() => decodeCheckpoint(encodeSafetensors(stray, raw.metadata))).toThrow(
      /tensors the model config does not: extra/,
    );
    expect(() =>
      encodeCheckpoint({ ...s, params: new Map([...s.params].map(([k, v]) => [k, k === 'wpe' ? v.subarray(1) : v])) }),
    ).toThrow(/parameter wpe has 135 values, the config's shape \[17,8\] needs 136/);
  });
});
