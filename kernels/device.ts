// Opening and closing WebGPU devices through Dawn (the npm package `webgpu`).
// Node stays alive while Dawn's GPU object is referenced, so every open has a close.
import { create, globals } from 'webgpu';

process.env.XDG_RUNTIME_DIR ??= '/tmp'; // Mesa warns without it.
Object.assign(globalThis, globals); // GPUBufferUsage, GPUMapMode, … as in a browser

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  /** True for CPU implementations such as lavapipe/llvmpipe or SwiftShader. */
  software: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface OpenOptions {
  /** Adapter name (substring), as listed by listAdapters(). */
  adapter?: string;
  backend?: string;
  /** Features to enable when the adapter has them. */
  wantFeatures?: GPUFeatureName[];
}

export interface OpenDevice {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  info: AdapterDescription;
  close(): void;
}

const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

const DEFAULT_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups'];

function dawnOptions(o: OpenOptions): string[] {
  const opts = ['disable-dawn-features=timestamp_quantization'];
  if (o.adapter) opts.push(`adapter=${o.adapter}`);
  if (o.backend) opts.push(`backend=${o.backend}`);
  return opts;
}

export function describeAdapter(adapter: GPUAdapter, backend = ''): AdapterDescription {
  const i = adapter.info;
  const limits: Record<string, number> = {};
  for (const k of KEY_LIMITS) limits[k] = Number(adapter.limits[k]);
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  return {
    vendor: i.vendor || 'unknown',
    architecture: i.architecture || 'unknown',
    device: i.device || 'unknown',
    description: i.description || '',
    backend: backend || 'unknown',
    software: /llvmpipe|lavapipe|swiftshader|software/.test(text),
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

/**
 * Adapters Dawn can open, as `{ backend, name }`. WebGPU has no enumeration call; Dawn
 * lists its adapters in the error it raises for an unknown `adapter=` name, so we ask
 * for one that cannot exist and read the list.
 */
export async function listAdapterNames(): Promise<{ backend: string; name: string }[]> {
  const gpu = create(['adapter=\u0001usine-enumerate']);
  try {
    await gpu.requestAdapter();
    return [];
  } catch (e) {
    const out: { backend: string; name: string }[] = [];
    for (const m of String(e).matchAll(/backend: '([^']*)', name: '([^']*)'/g)) out.push({ backend: m[1], name: m[2] });
    return out;
  }
}

/** An adapter as listAdapters() gives it: described, and the `name` that opens it (OpenOptions.adapter). */
export interface ListedAdapter extends AdapterDescription {
  name: string;
}

/** Every adapter Dawn can open, described (vendor, architecture, features, limits). */
export async function listAdapters(): Promise<ListedAdapter[]> {
  const out: ListedAdapter[] = [];
  for (const { backend, name } of await listAdapterNames()) {
    const gpu = create(dawnOptions({ adapter: name, backend }));
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (adapter) out.push({ name, ...describeAdapter(adapter, backend) });
  }
  return out;
}

export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

/** Opens a device on the chosen (or default) adapter with the useful features it has. */
export async function openDevice(o: OpenOptions = {}): Promise<OpenDevice> {
  const gpu = create(dawnOptions(o));
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new NoAdapterError(`no WebGPU adapter${o.adapter ? ` named "${o.adapter}"` : ''}: ${String(e)}`);
  }
  if (!adapter) {
    throw new NoAdapterError(
      'no WebGPU adapter found. Install a Vulkan driver (on a machine without a GPU: ' +
        "Mesa's lavapipe, `mesa-vulkan-drivers` from bookworm-backports) or run `npx usine doctor`.",
    );
  }
  const backend =
    o.backend || (await listAdapterNames()).find((a) => !o.adapter || a.name.includes(o.adapter))?.backend || '';
  const want = o.wantFeatures ?? DEFAULT_FEATURES;
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const k of KEY_LIMITS) requiredLimits[k] = Number(adapter.limits[k]);
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = describeAdapter(adapter, backend);
  let closed = false;
  return {
    gpu,
    adapter,
    device,
    info,
    close() {
      if (closed) return;
      closed = true;
      device.destroy();
    },
  };
}

/** Short human name of an adapter, e.g. "llvmpipe (mesa, vulkan)". */
export function adapterLabel(a: AdapterDescription): string {
  const name = a.description || a.device;
  return `${name} (${a.vendor}, ${a.backend})`;
}
