// A small schema language for component configs. A schema checks a YAML value,
// applies defaults and reports every problem with its path, so that validation
// can print all errors at once ("exporters.otlphttp/x.endpoint: not a URL").
export interface Issue {
  path: (string | number)[];
  message: string;
  severity: 'error' | 'warning';
}

export interface Ctx {
  issues: Issue[];
}

export interface Schema<T> {
  /** Returns the checked value with defaults applied; on a problem pushes an issue and returns undefined. */
  check(value: unknown, path: (string | number)[], ctx: Ctx): T | undefined;
  /** One-line description for docs and error messages. */
  describe: string;
  default?: T;
}

/** Warnings do not make a value invalid; only errors do. */
function errorCount(ctx: Ctx): number {
  let n = 0;
  for (const i of ctx.issues) if (i.severity === 'error') n++;
  return n;
}

function fail(ctx: Ctx, path: (string | number)[], message: string): undefined {
  ctx.issues.push({ path, message, severity: 'error' });
  return undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

export const s = {
  string(opts: { default?: string; nonEmpty?: boolean } = {}): Schema<string> {
    return {
      describe: 'string',
      default: opts.default,
      check(v, path, ctx) {
        if (typeof v === 'number' || typeof v === 'boolean') v = String(v);
        if (typeof v !== 'string') return fail(ctx, path, `expected a string, got ${typeName(v)}`);
        if (opts.nonEmpty && v === '') return fail(ctx, path, 'must not be empty');
        return v;
      },
    };
  },

  bool(opts: { default?: boolean } = {}): Schema<boolean> {
    return {
      describe: 'boolean',
      default: opts.default,
      check(v, path, ctx) {
        if (v === 'true') return true;
        if (v === 'false') return false;
        if (typeof v !== 'boolean') return fail(ctx, path, `expected true or false, got ${typeName(v)}`);
        return v;
      },
    };
  },

  number(opts: { default?: number; min?: number; max?: number; integer?: boolean } = {}): Schema<number> {
    return {
      describe: opts.integer ? 'integer' : 'number',
      default: opts.default,
      check(v, path, ctx) {
        const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
        if (typeof n !== 'number' || Number.isNaN(n)) return fail(ctx, path, `expected a number, got ${typeName(v)}`);
        if (opts.integer && !Number.isInteger(n)) return fail(ctx, path, `expected an integer, got ${n}`);
        if (opts.min !== undefined && n < opts.min) return fail(ctx, path, `must be at least ${opts.min}, got ${n}`);
        if (opts.max !== undefined && n > opts.max) return fail(ctx, path, `must be at most ${opts.max}, got ${n}`);
        return n;
      },
    };
  },

  /** A duration such as 5s, 200ms, 1m30s or 1h, or a number of milliseconds. Checked value: milliseconds. */
  duration(opts: { default?: string | number } = {}): Schema<number> {
    const sch: Schema<number> = {
      describe: 'duration (e.g. 5s, 200ms, 1m)',
      check(v, path, ctx) {
        if (typeof v === 'number' && v >= 0) return v;
        const ms = typeof v === 'string' ? parseDuration(v) : undefined;
        if (ms === undefined) return fail(ctx, path, `expected a duration such as 5s or 200ms, got ${typeName(v)}`);
        return ms;
      },
    };
    if (opts.default !== undefined) sch.default = typeof opts.default === 'number' ? opts.default : parseDuration(opts.default);
    return sch;
  },

  /** A byte size such as 4MiB, 512KiB, 10MB or a number of bytes. Checked value: bytes. */
  bytes(opts: { default?: number } = {}): Schema<number> {
    return {
      describe: 'size (e.g. 4MiB, 512KiB, or bytes)',
      default: opts.default,
      check(v, path, ctx) {
        if (typeof v === 'number' && v >= 0 && Number.isInteger(v)) return v;
        const n = typeof v === 'string' ? parseBytes(v) : undefined;
        if (n === undefined) return fail(ctx, path, `expected a size such as 4MiB or 1048576, got ${typeName(v)}`);
        return n;
      },
    };
  },

  oneOf<T extends string>(values: readonly T[], opts: { default?: T } = {}): Schema<T> {
    return {
      describe: values.join(' | '),
      default: opts.default,
      check(v, path, ctx) {
        if (typeof v !== 'string' || !values.includes(v as T))
          return fail(ctx, path, `expected one of ${values.join(', ')}, got ${typeName(v)}`);
        return v as T;
      },
    };
  },

  url(opts: { default?: string; schemes?: string[] } = {}): Schema<string> {
    const schemes = opts.schemes ?? ['http:', 'https:'];
    return {
      describe: 'URL',
      default: opts.default,
      check(v, path, ctx) {
        if (typeof v !== 'string') return fail(ctx, path, `expected a URL, got ${typeName(v)}`);
        let u: URL;
        try {
          u = new URL(v);
        } catch {
          return fail(ctx, path, `not a URL: ${JSON.stringify(v)}`);
        }
        if (!schemes.includes(u.protocol))
          return fail(ctx, path, `not a URL with scheme ${schemes.map((x) => x.replace(':', '')).join(' or ')}: ${JSON.stringify(v)}`);
        return v;
      },
    };
  },

  /** host:port, as receivers listen on and the gRPC exporter dials (a scheme is allowed and kept). */
  endpoint(opts: { default?: string } = {}): Schema<string> {
    return {
      describe: 'host:port',
      default: opts.default,
      check(v, path, ctx) {
        if (typeof v !== 'string') return fail(ctx, path, `expected host:port, got ${typeName(v)}`);
        const hostPort = v.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');
        if (!/^(\[[0-9a-fA-F:.]+\]|[^:/\s]*):\d{1,5}$/.test(hostPort))
          return fail(ctx, path, `not a host:port endpoint: ${JSON.stringify(v)}`);
        return v;
      },
    };
  },

  list<T>(item: Schema<T>, opts: { default?: T[]; minItems?: number } = {}): Schema<T[]> {
    return {
      describe: `list of ${item.describe}`,
      default: opts.default,
      check(v, path, ctx) {
        if (!Array.isArray(v)) return fail(ctx, path, `expected a list, got ${typeName(v)}`);
        if (opts.minItems !== undefined && v.length < opts.minItems)
          return fail(ctx, path, `needs at least ${opts.minItems} item(s)`);
        const before = errorCount(ctx);
        const out = v.map((x, i) => item.check(x, [...path, i], ctx));
        return errorCount(ctx) === before ? (out as T[]) : undefined;
      },
    };
  },

  /** A map with free keys and values of one schema (headers, attributes). */
  map<T>(value: Schema<T>, opts: { default?: Record<string, T> } = {}): Schema<Record<string, T>> {
    return {
      describe: `map of ${value.describe}`,
      default: opts.default,
      check(v, path, ctx) {
        if (v === null || v === undefined) return {};
        if (typeof v !== 'object' || Array.isArray(v)) return fail(ctx, path, `expected a map, got ${typeName(v)}`);
        const out: Record<string, T> = {};
        const before = errorCount(ctx);
        for (const [k, x] of Object.entries(v)) out[k] = value.check(x, [...path, k], ctx) as T;
        return errorCount(ctx) === before ? out : undefined;
      },
    };
  },

  /**
   * A map with known keys. Unknown keys are errors; a missing key takes its schema's
   * default (a nested object schema defaults to its own defaults). `null` and `{}` mean "all defaults".
   */
  object<P extends Record<string, Schema<any>>>(
    props: P,
    opts: { required?: (keyof P)[]; validate?: (v: { [K in keyof P]: SchemaType<P[K]> }, path: (string | number)[], ctx: Ctx) => void } = {},
  ): Schema<{ [K in keyof P]: SchemaType<P[K]> }> {
    const sch: Schema<{ [K in keyof P]: SchemaType<P[K]> }> = {
      describe: 'map',
      check(v, path, ctx) {
        if (v === null || v === undefined) v = {};
        if (typeof v !== 'object' || Array.isArray(v)) return fail(ctx, path, `expected a map, got ${typeName(v)}`);
        const before = errorCount(ctx);
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v as object)) {
          if (!(k in props)) {
            const known = Object.keys(props);
            fail(ctx, [...path, k], `unknown key${known.length ? ` (known: ${known.join(', ')})` : ''}`);
          }
        }
        for (const [k, p] of Object.entries(props)) {
          const x = (v as Record<string, unknown>)[k];
          if (x === undefined || (x === null && p.describe !== 'map')) {
            if (opts.required?.includes(k)) fail(ctx, [...path, k], 'is required');
            else out[k] = p.default !== undefined ? structuredClone(p.default) : p.describe === 'map' ? p.check({}, [...path, k], ctx) : undefined;
          } else {
            out[k] = p.check(x, [...path, k], ctx);
          }
        }
        if (errorCount(ctx) !== before) return undefined;
        const typed = out as { [K in keyof P]: SchemaType<P[K]> };
        opts.validate?.(typed, path, ctx);
        return errorCount(ctx) === before ? typed : undefined;
      },
    };
    return sch;
  },

  /** Any value, checked by a function that pushes its own issues (conditions use this). */
  custom<T>(describe: string, check: (v: unknown, path: (string | number)[], ctx: Ctx) => T | undefined, def?: T): Schema<T> {
    return { describe, check, default: def };
  },
};

export type SchemaType<S> = S extends Schema<infer T> ? T : never;

export function parseDuration(v: string): number | undefined {
  const str = v.trim();
  if (/^\d+(\.\d+)?$/.test(str)) return Number(str);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  while ((m = re.exec(str)) !== null) {
    total += Number(m[1]) * unit[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === str.length && consumed > 0 ? total : undefined;
}

export function parseBytes(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$/i.exec(v);
  if (!m) return undefined;
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1048576, gb: 1e9, gib: 1073741824 };
  return Math.floor(Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()]);
}
