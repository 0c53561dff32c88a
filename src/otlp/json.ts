// OTLP/JSON <-> model, following the OTLP spec's JSON mapping: lowerCamelCase keys
// (snake_case accepted too), trace and span ids as hex, other bytes as base64,
// int64 as decimal strings (numbers accepted), enums as integers (names accepted),
// unknown fields ignored. The mapping is driven by the protobufjs reflection types,
// compiled once per message type into a table of field plans.
import * as protobuf from 'protobufjs';
import Long from 'long';

type Kind = 'message' | 'enum' | 'int64' | 'uint64' | 'bytes' | 'hex' | 'double' | 'int' | 'bool' | 'string';

interface FieldPlan {
  name: string;
  kind: Kind;
  repeated: boolean;
  oneof: boolean;
  type?: protobuf.Type;
  enumValues?: Record<string, number>;
}

interface TypePlan {
  fields: FieldPlan[];
  byJsonKey: Map<string, FieldPlan>;
  ctor: new () => Record<string, unknown>;
}

const HEX_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
const plans = new Map<protobuf.Type, TypePlan>();

function kindOf(f: protobuf.Field): Kind {
  if (f.resolvedType instanceof protobuf.Type) return 'message';
  if (f.resolvedType instanceof protobuf.Enum) return 'enum';
  switch (f.type) {
    case 'int64': case 'sint64': case 'sfixed64': return 'int64';
    case 'uint64': case 'fixed64': return 'uint64';
    case 'bytes': return HEX_FIELDS.has(f.name) ? 'hex' : 'bytes';
    case 'double': case 'float': return 'double';
    case 'bool': return 'bool';
    case 'string': return 'string';
    default: return 'int';
  }
}

function planFor(type: protobuf.Type): TypePlan {
  let plan = plans.get(type);
  if (plan) return plan;
  const fields: FieldPlan[] = [];
  const byJsonKey = new Map<string, FieldPlan>();
  for (const f of type.fieldsArray) {
    const fp: FieldPlan = {
      name: f.name,
      kind: kindOf(f),
      repeated: f.repeated,
      oneof: f.partOf != null,
      type: f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined,
      enumValues: f.resolvedType instanceof protobuf.Enum ? f.resolvedType.values : undefined,
    };
    fields.push(fp);
    byJsonKey.set(f.name, fp);
    byJsonKey.set(f.name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), fp);
  }
  plan = { fields, byJsonKey, ctor: type.ctor as unknown as new () => Record<string, unknown> };
  plans.set(type, plan);
  return plan;
}

/** A JSON body that does not have the shape of the OTLP message; `path` names the bad field. */
export class JsonShapeError extends Error {
  constructor(public readonly reason: string, public readonly path: string[] = []) {
    // No message argument: Error would store it as an own property and hide the getter below.
    super();
  }
  override get message(): string {
    return this.path.length ? `${this.path.join('')}: ${this.reason}` : this.reason;
  }
}

const INT_RE = /^-?\d+$/;
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

function scalarFromJson(fp: FieldPlan, v: unknown): unknown {
  switch (fp.kind) {
    case 'string':
      if (typeof v !== 'string') throw new JsonShapeError('expected a string');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new JsonShapeError('expected true or false');
      return v;
    case 'int64': case 'uint64': {
      const unsigned = fp.kind === 'uint64';
      // Long wraps or clamps out-of-range input silently; the Collector refuses it, and so do we.
      const range = unsigned ? 'an unsigned 64-bit integer' : 'a signed 64-bit integer';
      if (typeof v === 'number' && Number.isInteger(v)) {
        if (unsigned ? v < 0 || v >= 2 ** 64 : v < -(2 ** 63) || v >= 2 ** 63) throw new JsonShapeError(`${v} is out of range for ${range}`);
        return Long.fromNumber(v, unsigned);
      }
      if (typeof v === 'string' && INT_RE.test(v)) {
        const l = Long.fromString(v, unsigned, 10);
        if (l.toString() !== v.replace(/^(-?)0+(?=\d)/, '$1').replace(/^-0$/, '0')) throw new JsonShapeError(`${v} is out of range for ${range}`);
        return l;
      }
      throw new JsonShapeError('expected an integer (number or decimal string)');
    }
    case 'int':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (typeof v === 'string' && INT_RE.test(v)) return Number(v);
      throw new JsonShapeError('expected an integer');
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        if (v === 'NaN') return NaN;
        if (v === 'Infinity') return Infinity;
        if (v === '-Infinity') return -Infinity;
        const n = Number(v);
        if (v.trim() !== '' && !Number.isNaN(n)) return n;
      }
      throw new JsonShapeError('expected a number');
    case 'enum':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (typeof v === 'string' && fp.enumValues && v in fp.enumValues) return fp.enumValues[v];
      throw new JsonShapeError('expected an enum value (integer)');
    case 'hex':
      if (typeof v !== 'string' || !HEX_RE.test(v)) throw new JsonShapeError('expected a hex-encoded id');
      return Buffer.from(v, 'hex');
    case 'bytes':
      if (typeof v !== 'string') throw new JsonShapeError('expected base64-encoded bytes');
      return Buffer.from(v, 'base64');
    case 'message':
      return messageFromJson(fp.type!, v);
  }
}

function messageFromJson(type: protobuf.Type, obj: unknown): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new JsonShapeError('expected an object');
  const plan = planFor(type);
  const out = new plan.ctor();
  for (const key in obj) {
    const fp = plan.byJsonKey.get(key);
    if (fp === undefined) continue;
    const v = (obj as Record<string, unknown>)[key];
    if (v === null || v === undefined) continue;
    try {
      if (fp.repeated) {
        if (!Array.isArray(v)) throw new JsonShapeError('expected an array');
        const arr = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          try {
            arr[i] = scalarFromJson(fp, v[i]);
          } catch (e) {
            if (e instanceof JsonShapeError) e.path.unshift(`[${i}]`);
            throw e;
          }
        }
        out[fp.name] = arr;
      } else {
        out[fp.name] = scalarFromJson(fp, v);
      }
    } catch (e) {
      if (e instanceof JsonShapeError) e.path.unshift(`.${key}`);
      throw e;
    }
  }
  return out;
}

/** Builds the model of `type` from a parsed OTLP/JSON object. Throws JsonShapeError. */
export function fromJson(type: protobuf.Type, obj: unknown): Record<string, unknown> {
  try {
    return messageFromJson(type, obj);
  } catch (e) {
    if (e instanceof JsonShapeError && e.path[0]?.startsWith('.')) e.path[0] = e.path[0].slice(1);
    throw e;
  }
}

function isDefault(fp: FieldPlan, v: unknown): boolean {
  switch (fp.kind) {
    case 'string': return v === '';
    case 'bool': return v === false;
    case 'int': case 'enum': case 'double': return v === 0 && !Object.is(v, -0);
    case 'int64': case 'uint64':
      return typeof v === 'number' ? v === 0 : typeof v === 'string' ? v === '0' : (v as Long).isZero();
    case 'bytes': case 'hex': return (v as Uint8Array).length === 0;
    default: return false;
  }
}

function scalarToJson(fp: FieldPlan, v: unknown): unknown {
  switch (fp.kind) {
    case 'int64': case 'uint64':
      return typeof v === 'object' ? (v as Long).toString() : String(v);
    case 'double':
      return Number.isFinite(v as number) ? v : String(v);
    case 'hex':
      return Buffer.from(v as Uint8Array).toString('hex');
    case 'bytes':
      return Buffer.from(v as Uint8Array).toString('base64');
    case 'message':
      return messageToJson(fp.type!, v as Record<string, unknown>);
    default:
      return v;
  }
}

function messageToJson(type: protobuf.Type, msg: Record<string, unknown>): Record<string, unknown> {
  const plan = planFor(type);
  const out: Record<string, unknown> = {};
  for (const fp of plan.fields) {
    const v = msg[fp.name];
    if (v === null || v === undefined) continue;
    if (fp.repeated) {
      const arr = v as unknown[];
      if (arr.length === 0) continue;
      const o = new Array(arr.length);
      for (let i = 0; i < arr.length; i++) o[i] = scalarToJson(fp, arr[i]);
      out[fp.name] = o;
    } else if (fp.oneof) {
      // A oneof member (or proto3 optional) is present because it is set, even at its default.
      if (!Object.prototype.hasOwnProperty.call(msg, fp.name)) continue;
      out[fp.name] = scalarToJson(fp, v);
    } else {
      if (fp.kind !== 'message' && isDefault(fp, v)) continue;
      out[fp.name] = scalarToJson(fp, v);
    }
  }
  return out;
}

/** The OTLP/JSON object of a model message of `type`. */
export function toJson(type: protobuf.Type, msg: object): Record<string, unknown> {
  return messageToJson(type, msg as Record<string, unknown>);
}
