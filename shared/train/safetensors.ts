// The safetensors file layout (huggingface/safetensors): an 8-byte little-endian u64 header
// length N, N bytes of UTF-8 JSON — { name: { dtype, shape, data_offsets: [begin, end] },
// "__metadata__": { string: string } } — then the tensors' raw little-endian bytes, offsets
// relative to the end of the header. We write the header padded with spaces to a multiple of
// 8 bytes (as the reference writer does) so the data is aligned, and on reading we check
// everything the reference reader checks: sizes, offsets that tile the data with no gap or
// overlap, a file that is not truncated.
import { InputError } from '../../kernels/errors.ts';

export type DType = 'F32' | 'I32';
export type TensorData = Float32Array | Int32Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export class SafetensorsError extends InputError {
  override name = 'SafetensorsError';
}

/** The reference implementation refuses headers over 100 MB. */
const MAX_HEADER = 100_000_000;
const BYTES: Record<DType, number> = { F32: 4, I32: 4 };

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Typed arrays use the host's byte order; every supported Node platform is little-endian.
  throw new Error('safetensors: this module assumes a little-endian host');
}

function elements(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises tensors (in the given order) and string metadata into one safetensors file. */
export function encodeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('a tensor may not be named __metadata__');
    const n = elements(t.shape);
    if (t.data.length !== n)
      throw new SafetensorsError(`tensor ${name}: shape [${t.shape}] needs ${n} values, data has ${t.data.length}`);
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json);
  const padded = Math.ceil(raw.length / 8) * 8;
  json += ' '.repeat(padded - raw.length);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses a safetensors file; throws SafetensorsError saying what is wrong with it. */
export function decodeSafetensors(file: Uint8Array): {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
} {
  if (file.length < 8)
    throw new SafetensorsError(`file is truncated: ${file.length} bytes, fewer than the 8-byte header length`);
  const n64 = new DataView(file.buffer, file.byteOffset, file.byteLength).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER))
    throw new SafetensorsError(`bad header: its length ${n64} is over the ${MAX_HEADER}-byte limit`);
  const n = Number(n64);
  if (8 + n > file.length)
    throw new SafetensorsError(`file is truncated: the header needs ${n} bytes, ${file.length - 8} follow its length`);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + n));
    if (!text.startsWith('{')) throw new Error('it does not start with "{"');
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`bad header: not a UTF-8 JSON object (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new SafetensorsError('bad header: not a JSON object');

  const dataStart = 8 + n;
  const dataLength = file.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new SafetensorsError('bad header: __metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string')
          throw new SafetensorsError(`bad header: __metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) throw new SafetensorsError(`bad header: tensor ${name} is not an object`);
    if (t.dtype !== 'F32' && t.dtype !== 'I32')
      throw new SafetensorsError(
        `bad header: tensor ${name} has dtype ${JSON.stringify(t.dtype)}; supported: F32, I32`,
      );
    if (!Array.isArray(t.shape) || !t.shape.every(isNonNegInt))
      throw new SafetensorsError(
        `bad header: tensor ${name} has shape ${JSON.stringify(t.shape)}, not a list of non-negative integers`,
      );
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isNonNegInt) || off[1] < off[0]) {
      throw new SafetensorsError(
        `bad header: tensor ${name} has data_offsets ${JSON.stringify(off)}, not [begin, end] with begin ≤ end`,
      );
    }
    const bytes = elements(t.shape) * BYTES[t.dtype];
    if (off[1] - off[0] !== bytes)
      throw new SafetensorsError(
        `bad header: tensor ${name} of shape [${t.shape}] needs ${bytes} bytes, data_offsets span ${off[1] - off[0]}`,
      );
    entries.push({ name, dtype: t.dtype, shape: t.shape, begin: off[0], end: off[1] });
  }
  // The tensors must tile the data exactly, in offset order.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at)
      throw new SafetensorsError(
        `bad header: tensor ${e.name} starts at byte ${e.begin}, expected ${at} (gap or overlap)`,
      );
    at = e.end;
  }
  if (at > dataLength)
    throw new SafetensorsError(`file is truncated: the tensors need ${at} data bytes, ${dataLength} follow the header`);
  if (at < dataLength) throw new SafetensorsError(`bad file: ${dataLength - at} bytes follow the last tensor`);

  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    // Copy: the data may not be 4-byte aligned in `file`, and callers keep the arrays.
    const bytes = file.slice(dataStart + e.begin, dataStart + e.end);
    const data = e.dtype === 'F32' ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}
