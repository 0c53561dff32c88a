// The OTLP messages decoded by plain protobufjs from the .proto files, without the
// relay's codec, and written the way OTLP/JSON writes them (hex ids): what a test
// compares the relay's output with when its input was protobuf.
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import type { Signal } from '../../src/otlp/schema';

const PROTO_DIR = path.resolve(__dirname, '../../../proto');
const PKG: Record<Signal, [string, string]> = { logs: ['logs', 'Logs'], metrics: ['metrics', 'Metrics'], traces: ['trace', 'Trace'] };

const root = (() => {
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  r.loadSync(Object.values(PKG).map(([p]) => `opentelemetry/proto/collector/${p}/v1/${p}_service.proto`));
  r.resolveAll();
  return r;
})();

/** The export request or response type of a signal. */
export function plainType(signal: Signal, which: 'Request' | 'Response'): protobuf.Type {
  const [pkg, name] = PKG[signal];
  return root.lookupType(`opentelemetry.proto.collector.${pkg}.v1.Export${name}Service${which}`);
}

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** base64 ids (protobufjs's `bytes: String`) as the hex of OTLP/JSON. */
function idsToHex(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => idsToHex(x));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, idsToHex(x, k)]));
  if (ID_KEYS.has(key) && typeof v === 'string') return Buffer.from(v, 'base64').toString('hex');
  return v;
}

/** A protobuf export request as OTLP/JSON. */
export function decodePb(signal: Signal, bytes: Uint8Array): any {
  const type = plainType(signal, 'Request');
  return idsToHex(type.toObject(type.decode(bytes), { longs: String, bytes: String, enums: Number, json: true }));
}
