// The otlp receiver: OTLP over gRPC (default localhost:4317) and HTTP (default
// localhost:4318). With no `protocols` key both run; with one, only those listed.
// Both protocols share one memory limiter; each has its own auth, TLS and limits.
import { s, type SchemaType } from '../config/schema';
import type { ReceiverFactory } from '../pipeline/component';
import { MemoryLimiter, memoryLimiterSchema } from '../pipeline/memory-limiter';
import { authSchema } from './auth';
import { GrpcReceiver } from './grpc';
import { HttpReceiver } from './http';
import { serverTlsSchema } from './tls';

/**
 * Request headers (gRPC metadata) kept with the data, for processors such as enrich:
 * include_metadata turns it on; metadata_keys lists the headers (lower-case) to keep.
 */
const metadata = {
  include_metadata: s.bool({ default: false }),
  metadata_keys: s.list(s.string({ nonEmpty: true }), { default: [] }),
};

/** Off (0) by default: requests with more items or attributes are refused as too large. */
const limits = {
  max_items_per_request: s.number({ default: 0, min: 0, integer: true }),
  max_attributes_per_request: s.number({ default: 0, min: 0, integer: true }),
};

const grpc = s.object({
  ...metadata,
  ...limits,
  endpoint: s.endpoint({ default: 'localhost:4317' }),
  /** Largest message after decompression. */
  max_recv_msg_size_mib: s.number({ default: 4, min: 1 }),
  auth: authSchema,
  tls: serverTlsSchema,
});

const http = s.object({
  ...metadata,
  ...limits,
  endpoint: s.endpoint({ default: 'localhost:4318' }),
  /** Largest body as sent (compressed or not). */
  max_request_body_size: s.bytes({ default: 20 * 1024 * 1024 }),
  /** Largest body after decompression; 0: the same as max_request_body_size. */
  max_decompressed_body_size: s.bytes({ default: 0 }),
  auth: authSchema,
  tls: serverTlsSchema,
});

const schema = s.object({
  protocols: s.custom<{ grpc?: SchemaType<typeof grpc>; http?: SchemaType<typeof http> }>(
    'map with grpc and/or http',
    (v, path, ctx) => {
      if (v === null || v === undefined) return undefined;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        ctx.issues.push({ path, severity: 'error', message: 'expected a map with grpc and/or http' });
        return undefined;
      }
      const out: { grpc?: SchemaType<typeof grpc>; http?: SchemaType<typeof http> } = {};
      for (const k of Object.keys(v)) {
        if (k === 'grpc') out.grpc = grpc.check((v as Record<string, unknown>).grpc ?? {}, [...path, 'grpc'], ctx);
        else if (k === 'http') out.http = http.check((v as Record<string, unknown>).http ?? {}, [...path, 'http'], ctx);
        else ctx.issues.push({ path: [...path, k], severity: 'error', message: 'unknown protocol (known: grpc, http)' });
      }
      if (Object.keys(v).length === 0) ctx.issues.push({ path, severity: 'error', message: 'needs grpc and/or http' });
      return out;
    },
    undefined,
  ),
  /** Refuse new data (retryable) while memory is short; on by default. */
  memory_limiter: memoryLimiterSchema,
});

export type OtlpReceiverConfig = SchemaType<typeof schema>;
export type GrpcConfig = SchemaType<typeof grpc>;
export type HttpConfig = SchemaType<typeof http>;

export const otlpReceiver: ReceiverFactory<OtlpReceiverConfig> = {
  type: 'otlp',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, host) {
    const protocols = config.protocols ?? { grpc: grpc.check({}, [], { issues: [] })!, http: http.check({}, [], { issues: [] })! };
    const memory = new MemoryLimiter(config.memory_limiter, ctx.logger, ctx.telemetry, ctx.id);
    const parts = [
      protocols.grpc && new GrpcReceiver(protocols.grpc, ctx, host, memory),
      protocols.http && new HttpReceiver(protocols.http, ctx, host, memory),
    ].filter((x): x is GrpcReceiver | HttpReceiver => !!x);
    return {
      async start() {
        memory.start();
        for (const p of parts) await p.start();
      },
      async shutdown(deadline) {
        await Promise.all(parts.map((p) => p.shutdown(deadline)));
        memory.stop();
      },
    };
  },
};

/** Splits host:port (a scheme, if any, is ignored); `[::1]:4317` keeps its brackets off. */
export function splitHostPort(endpoint: string): { host: string; port: number } {
  const hp = endpoint.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');
  const i = hp.lastIndexOf(':');
  const host = hp.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host || '0.0.0.0', port: Number(hp.slice(i + 1)) };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * The headers a receiver keeps with a request. Authorization, the auth header and cookies are never kept,
 * whatever the config says: they would travel with the data into processors and logs.
 */
export function pickMetadata(
  cfg: { include_metadata: boolean; metadata_keys: string[] },
  get: (key: string) => string | undefined,
  /** The header that carries the auth token, when it is not Authorization. */
  authHeader = 'authorization',
): Record<string, string> | undefined {
  if (!cfg.include_metadata || cfg.metadata_keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of cfg.metadata_keys) {
    const key = k.toLowerCase();
    if (key === 'authorization' || key === 'cookie' || key === 'proxy-authorization' || key === authHeader) continue;
    const v = get(key);
    if (v !== undefined) out[key] = v;
  }
  return out;
}
