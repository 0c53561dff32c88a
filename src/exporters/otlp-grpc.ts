// The `otlp` exporter: OTLP over gRPC, as the Collector's exporter of that name.
// The request bytes are the batch's cached protobuf encoding, handed to grpc-js
// by a pass-through serializer: nothing is re-encoded here, and several exporters
// sending the same batch share one encoding.
//
// Proxies: grpc-js itself honours the grpc_proxy, https_proxy and http_proxy
// environment variables (lowercase, in that order of preference) and no_grpc_proxy
// / no_proxy, tunnelling through an HTTP CONNECT proxy; nothing to do here.
import * as grpc from '@grpc/grpc-js';
import { s, type SchemaType } from '../config/schema';
import type { ComponentContext, Exporter, ExporterFactory } from '../pipeline/component';
import type { Batch } from '../otlp/batch';
import { signalTypes, type Signal } from '../otlp/schema';
import {
  ExportError,
  QueuedRetrySender,
  readTlsFiles,
  retryInfoDelayMs,
  retrySchema,
  sendingQueueSchema,
  tlsSchema,
  truncate,
  USER_AGENT,
  type SendFn,
  type SendResult,
} from './sending';

const schema = s.object({
  /** host:port, or http://host:port (plaintext by default) or https://host:port. */
  endpoint: s.endpoint({ default: 'localhost:4317' }),
  tls: tlsSchema,
  /** Sent as gRPC metadata with every request. */
  headers: s.map(s.string(), { default: {} }),
  compression: s.oneOf(['gzip', 'none'] as const, { default: 'gzip' }),
  /** Deadline of one attempt. */
  timeout: s.duration({ default: '5s' }),
  sending_queue: sendingQueueSchema,
  retry_on_failure: retrySchema,
});

export type OtlpGrpcExporterConfig = SchemaType<typeof schema>;

/** gRPC codes the OTLP spec lets a client retry (RESOURCE_EXHAUSTED only with RetryInfo, below). */
const RETRYABLE = new Set<number>([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

/** Splits `scheme://host:port` into the grpc-js target and the scheme (undefined when none). */
export function grpcTarget(endpoint: string): { target: string; scheme?: string } {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(endpoint);
  const target = (m ? m[2] : endpoint).replace(/\/+$/, '');
  return { target, scheme: m?.[1].toLowerCase() };
}

/** Turns a failed call into an ExportError per the OTLP spec's retry rules. */
export function classifyGrpcError(err: grpc.ServiceError): ExportError {
  const details = err.metadata?.get('grpc-status-details-bin')[0];
  const retryAfterMs = Buffer.isBuffer(details) ? retryInfoDelayMs(details) : undefined;
  const name = grpc.status[err.code] ?? String(err.code);
  const msg = `gRPC ${name}${err.details ? `: ${truncate(err.details)}` : ''}`;
  const retryable = RETRYABLE.has(err.code) || (err.code === grpc.status.RESOURCE_EXHAUSTED && retryAfterMs !== undefined);
  return new ExportError(msg, retryable, retryAfterMs);
}

function passThrough(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface ExportResponse {
  partialSuccess?: { errorMessage?: string } & Record<string, unknown> | null;
}

function create(config: OtlpGrpcExporterConfig, ctx: ComponentContext, signal: Signal): Exporter {
  const { target, scheme } = grpcTarget(config.endpoint);
  const insecure = config.tls.insecure ?? scheme === 'http';
  let credentials: grpc.ChannelCredentials;
  if (insecure) {
    credentials = grpc.credentials.createInsecure();
  } else {
    const files = readTlsFiles(config.tls);
    const skip = config.tls.insecure_skip_verify;
    credentials = grpc.credentials.createSsl(
      files.ca ?? null,
      files.key ?? null,
      files.cert ?? null,
      skip ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
    );
  }
  // One channel per exporter instance.
  const client = new grpc.Client(target, credentials, {
    'grpc.primary_user_agent': USER_AGENT,
    // 2 = gzip in grpc-js's CompressionAlgorithms; 0 = identity.
    'grpc.default_compression_algorithm': config.compression === 'gzip' ? 2 : 0,
  });

  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(config.headers)) {
    const key = k.toLowerCase();
    metadata.add(key, key.endsWith('-bin') ? Buffer.from(v) : v);
  }

  const types = signalTypes[signal];
  const method = `/${types.service}/Export`;
  const deserialize = (buf: Buffer) => types.response.decode(buf) as unknown as ExportResponse;
  const destination = `${insecure ? 'grpc' : 'grpcs'}://${target}`;

  const send: SendFn = (batch: Batch, abort: AbortSignal) =>
    new Promise<SendResult>((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = client.makeUnaryRequest<Uint8Array, ExportResponse>(
        method,
        passThrough,
        deserialize,
        batch.toProto(),
        metadata.clone(),
        { deadline: Date.now() + config.timeout },
        (err, res) => {
          abort.removeEventListener('abort', onAbort);
          if (err) return reject(classifyGrpcError(err));
          const ps = res?.partialSuccess;
          resolve({ rejected: ps ? Number(ps[types.rejectedField] ?? 0) : 0, errorMessage: ps?.errorMessage || undefined });
        },
      );
      abort.addEventListener('abort', onAbort, { once: true });
    });

  return new QueuedRetrySender({
    ctx,
    signal,
    queue: config.sending_queue,
    retry: config.retry_on_failure,
    destination,
    send,
    close: () => client.close(),
  });
}

export const otlpGrpcExporter: ExporterFactory<OtlpGrpcExporterConfig> = {
  type: 'otlp',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create,
};
