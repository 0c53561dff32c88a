// Compares OTLP/JSON documents without the relay's codec: a plain walk that treats
// int64 as string-or-number, ids as case-insensitive hex and an absent field as
// equal to its proto3 default. AnyValue members (stringValue, intValue, ...) and
// asInt/asDouble are kept even at their default, since their presence is the value.
const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);
const PRESENCE_KEYS = new Set([
  'stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue', 'arrayValue', 'kvlistValue', 'asInt', 'asDouble',
]);

function snakeToCamel(k: string): string {
  return k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function isDefault(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === '0' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

export function normalize(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => normalize(x));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k0, x] of Object.entries(v as Record<string, unknown>)) {
      const k = snakeToCamel(k0);
      const n = normalize(x, k);
      if (!PRESENCE_KEYS.has(k) && isDefault(n)) continue;
      out[k] = n;
    }
    return out;
  }
  if (ID_KEYS.has(key) && typeof v === 'string') return v.toLowerCase();
  if (typeof v === 'number') return String(v);
  return v;
}

/** Returns the first difference as a path and the two values, or null when equal. */
export function firstDifference(a: unknown, b: unknown, path = '$'): string | null {
  return diff(normalize(a), normalize(b), path);
}

function diff(a: unknown, b: unknown, path: string): string | null {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`;
    if (a.length !== b.length) return `${path}: length ${a.length} != ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = diff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a !== null && typeof a === 'object' && b !== null && typeof b === 'object') {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      const d = diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`;
}
