// A one-node ONNX model built in code (a few lines of protobuf writing, no dependency), for
// baselines that run a single operator in ONNX Runtime: `MatMul`, `com.microsoft`
// `MultiHeadAttention`, …  Field numbers from onnx.proto (ModelProto, GraphProto, NodeProto,
// AttributeProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).

export type OnnxElemType = 'float32' | 'float16' | 'int32' | 'int64' | 'bool';

const ELEM_TYPE: Record<OnnxElemType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10 };

export interface OnnxValue {
  name: string;
  type: OnnxElemType;
  /** Numbers are fixed sizes, strings symbolic dimensions. */
  dims: (number | string)[];
}

export type OnnxAttribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] };

export interface OneNodeGraph {
  opType: string;
  /** '' (default ONNX domain) or e.g. 'com.microsoft'. */
  domain?: string;
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** The node's input names in order, '' for a skipped optional input (default: inputs' names). */
  nodeInputs?: string[];
  attributes?: Record<string, OnnxAttribute>;
  /** Default-domain opset (default 17). */
  opset?: number;
}

// ---- protobuf writing ------------------------------------------------------------------

class Writer {
  private parts: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.parts.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensor = new Writer().int(1, ELEM_TYPE[v.type]).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensor));
}

function attribute(name: string, a: OnnxAttribute): Writer {
  const w = new Writer().string(1, name);
  switch (a.type) {
    case 'float':
      return w.float(2, a.value).int(20, 1);
    case 'int':
      return w.int(3, a.value).int(20, 2);
    case 'string':
      return w.string(4, a.value).int(20, 3);
    case 'floats':
      for (const x of a.value) w.float(7, x);
      return w.int(20, 6);
    case 'ints':
      for (const x of a.value) w.int(8, x);
      return w.int(20, 7);
  }
}

/** The serialized ModelProto, ready for `InferenceSession.create(bytes, …)`. */
export function oneNodeModel(g: OneNodeGraph): Uint8Array {
  const node = new Writer();
  for (const name of g.nodeInputs ?? g.inputs.map((i) => i.name)) node.string(1, name);
  for (const o of g.outputs) node.string(2, o.name);
  node.string(3, `${g.opType.toLowerCase()}_0`).string(4, g.opType);
  for (const [name, a] of Object.entries(g.attributes ?? {})) node.message(5, attribute(name, a));
  if (g.domain) node.string(7, g.domain);

  const graph = new Writer().message(1, node).string(2, `${g.opType}_graph`);
  for (const i of g.inputs) graph.message(11, valueInfo(i));
  for (const o of g.outputs) graph.message(12, valueInfo(o));

  const model = new Writer().int(1, 8).string(2, 'usine-bench');
  model.message(8, new Writer().string(1, '').int(2, g.opset ?? 17));
  if (g.domain) model.message(8, new Writer().string(1, g.domain).int(2, 1));
  return model.message(7, graph).finish();
}
