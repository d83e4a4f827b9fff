import onnxProto, { type onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS: its namespace arrives as the default export under Node's ESM loader.
const { onnx } = onnxProto;

/** ONNX element types used here (TensorProto.DataType). */
export const ElemType = { FLOAT: onnx.TensorProto.DataType.FLOAT, INT64: onnx.TensorProto.DataType.INT64 } as const;
export type ElemType = (typeof ElemType)[keyof typeof ElemType];

/** A dimension: a fixed size, or a name for a size known only at run time (`'batch'`). */
export type Dim = number | string;

export type GraphInput = Onnx.IValueInfoProto;
export type GraphNode = Onnx.INodeProto;
export type GraphTensor = Onnx.ITensorProto;
type Attribute = Onnx.IAttributeProto;

/** A graph input or output of tensor type. */
export function tensorValue(name: string, elemType: ElemType, shape: readonly Dim[]): GraphInput {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * A float32 initializer. The values go in `raw_data` (little-endian bytes, as ONNX requires):
 * one copy of the buffer instead of millions of varint-encoded floats, so a large matrix
 * encodes in milliseconds.
 */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array): GraphTensor {
  if (values.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${name}: ${values.length} values for shape [${dims.join(', ')}]`);
  return { name, dims: [...dims], dataType: ElemType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** An int64 initializer (shapes, axes, indices). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): GraphTensor {
  return { name, dims: [...dims], dataType: ElemType.INT64, int64Data: [...values] };
}

export const intAttr = (name: string, i: number): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
export const intsAttr = (name: string, ints: readonly number[]): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...ints] });

/** One operator of the default ONNX domain. */
export function node(opType: string, input: readonly string[], output: readonly string[], attribute: Attribute[] = []): GraphNode {
  return { opType, name: `${opType}_${output[0] ?? ''}`, input: [...input], output: [...output], attribute };
}

export interface ModelSpec {
  name: string;
  inputs: GraphInput[];
  outputs: GraphInput[];
  nodes: GraphNode[];
  initializers: GraphTensor[];
  /** Default-domain opset. 13 keeps `axes` as attributes of the Reduce* ops. */
  opset?: number;
  producer?: string;
  /** Recorded in the model's metadata, e.g. the embedder's name and parameters. */
  metadata?: Record<string, string>;
}

/**
 * Serialises a graph to ONNX ModelProto bytes, ready for `InferenceSession.create(bytes)`.
 *
 * @example
 * const bytes = encodeModel({ name: 'id', inputs: [x], outputs: [y], nodes: [node('Identity', ['x'], ['y'])], initializers: [] });
 */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const model: Onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    producerName: spec.producer ?? 'hearth',
    graph: { name: spec.name, input: spec.inputs, output: spec.outputs, node: spec.nodes, initializer: spec.initializers },
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(model).finish();
}
