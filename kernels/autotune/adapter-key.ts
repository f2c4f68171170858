// A stable name for "the same adapter": workers whose devices share it share tuning results.

export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export function adapterInfoOf(device: GPUDevice): AdapterIdentity {
  const i = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return {
    vendor: i?.vendor ?? '',
    architecture: i?.architecture ?? '',
    device: i?.device ?? '',
    description: i?.description ?? '',
  };
}

/** e.g. "mesa-software-llvmpipe-llvm-15-0-6-256-bits" — lower case, [a-z0-9-] only. */
export function adapterKey(a: AdapterIdentity): string {
  const raw = [a.vendor, a.architecture, a.device || a.description].filter(Boolean).join('-') || 'unknown-adapter';
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 120);
}

export function isSoftwareAdapter(a: AdapterIdentity): boolean {
  return /llvmpipe|lavapipe|swiftshader|software/i.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
}
