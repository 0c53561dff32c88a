// The `otlphttp` exporter: OTLP over HTTP (protobuf or JSON), as the Collector's
// exporter of that name. The body is the batch's cached encoding (toProto() or
// toJson()), shared with every other exporter that sends the same batch.
//
// Proxies: undici's EnvHttpProxyAgent honours HTTP_PROXY / HTTPS_PROXY / NO_PROXY
// (and their lowercase forms) per request URL.
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { s, type SchemaType } from '../config/schema';
import type { ComponentContext, Exporter, ExporterFactory } from '../pipeline/component';
import type { Batch } from '../otlp/batch';
import { signalTypes, type Signal } from '../otlp/schema';
import { safeUrl } from '../telemetry/logger';
import {
  ExportError,
  optional,
  parseRetryAfter,
  QueuedRetrySender,
  readTlsFiles,
  retrySchema,
  sendingQueueSchema,
  statusMessageOf,
  tlsSchema,
  truncate,
  USER_AGENT,
  type SendFn,
  type SendResult,
} from './sending';

const gzip = promisify(zlib.gzip);

const schema = s.object({
  /** Base URL; the signal's path (/v1/logs, /v1/metrics, /v1/traces) is appended. */
  endpoint: s.url({ default: 'http://localhost:4318' }),
  /** Full URLs, used as they are, instead of endpoint + path. */
  logs_endpoint: optional(s.url()),
  metrics_endpoint: optional(s.url()),
  traces_endpoint: optional(s.url()),
  encoding: s.oneOf(['proto', 'json'] as const, { default: 'proto' }),
  compression: s.oneOf(['gzip', 'none'] as const, { default: 'gzip' }),
  headers: s.map(s.string(), { default: {} }),
  /** Time limit of one attempt, response body included. */
  timeout: s.duration({ default: '30s' }),
  /** The URL's scheme decides between TLS and plaintext; `insecure` is accepted for compatibility and has no effect. */
  tls: tlsSchema,
  sending_queue: sendingQueueSchema,
  retry_on_failure: retrySchema,
});

export type OtlpHttpExporterConfig = SchemaType<typeof schema>;

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Most of a response body we read: enough for a Status or a partial_success. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The URL a signal is posted to. */
export function signalUrl(config: OtlpHttpExporterConfig, signal: Signal): string {
  const specific = config[`${signal}_endpoint`];
  if (specific) return specific;
  const u = new URL(config.endpoint);
  u.pathname = u.pathname.replace(/\/+$/, '') + signalTypes[signal].httpPath;
  return u.toString();
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > MAX_RESPONSE_BYTES) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function header(h: Record<string, string | string[] | undefined>, name: string): string {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

type Json = Record<string, unknown>;

/** partial_success of a 2xx answer, in protobuf or OTLP/JSON per its content-type. */
function partialSuccessOf(signal: Signal, contentType: string, body: Buffer): SendResult {
  if (body.length === 0) return { rejected: 0 };
  const field = signalTypes[signal].rejectedField;
  let ps: Json | null | undefined;
  if (contentType.includes('json')) {
    const obj = JSON.parse(body.toString('utf8')) as Json;
    ps = (obj.partialSuccess ?? obj.partial_success) as Json | undefined;
    if (!ps) return { rejected: 0 };
    const snake = field.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
    const msg = ps.errorMessage ?? ps.error_message;
    return { rejected: Number(ps[field] ?? ps[snake] ?? 0) || 0, errorMessage: typeof msg === 'string' && msg ? msg : undefined };
  }
  // Only a body that says it is protobuf is decoded as one: a plain "OK" must not read as a partial success.
  if (!contentType.includes('protobuf')) return { rejected: 0 };
  ps = (signalTypes[signal].response.decode(body) as unknown as Json).partialSuccess as Json | null | undefined;
  if (!ps) return { rejected: 0 };
  return { rejected: Number(ps[field] ?? 0) || 0, errorMessage: (ps.errorMessage as string) || undefined };
}

/** The server's reason in an error answer: a google.rpc.Status (protobuf or JSON), or plain text. */
function errorMessageOf(contentType: string, body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  try {
    if (contentType.includes('json')) {
      const obj = JSON.parse(body.toString('utf8')) as Json;
      if (typeof obj.message === 'string') return obj.message;
    } else if (contentType.includes('protobuf')) {
      return statusMessageOf(body);
    }
  } catch {
    // fall through to text
  }
  if (contentType === '' || contentType.startsWith('text/') || contentType.includes('json')) return body.toString('utf8');
  return undefined;
}

function create(config: OtlpHttpExporterConfig, ctx: ComponentContext, signal: Signal): Exporter {
  const url = signalUrl(config, signal);
  const destination = safeUrl(url);
  const files = readTlsFiles(config.tls);
  const tls = {
    ...(files.ca ? { ca: files.ca } : {}),
    ...(files.cert ? { cert: files.cert, key: files.key } : {}),
    rejectUnauthorized: !config.tls.insecure_skip_verify,
  };
  // `connect` is the TLS of direct connections; `requestTls` that of the
  // connection tunnelled through a proxy to the backend.
  const dispatcher = new EnvHttpProxyAgent({ connect: tls, requestTls: tls });

  const json = config.encoding === 'json';
  const baseHeaders: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [k, v] of Object.entries(config.headers)) baseHeaders[k.toLowerCase()] = v;
  baseHeaders['content-type'] = json ? 'application/json' : 'application/x-protobuf';
  if (config.compression === 'gzip') baseHeaders['content-encoding'] = 'gzip';

  const send: SendFn = async (batch: Batch, abort: AbortSignal) => {
    const raw = json ? batch.toJson() : batch.toProto();
    // Compressed per request for now. The gzip of one batch's encoding could be
    // cached on the Batch (beside toProto()/toJson()) for exporters that send it
    // to several backends.
    const body = config.compression === 'gzip' ? await gzip(raw) : raw;

    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, config.timeout);
    const onAbort = () => ac.abort();
    abort.addEventListener('abort', onAbort, { once: true });
    try {
      let res: Dispatcher.ResponseData;
      let resBody: Buffer;
      try {
        res = await request(url, { method: 'POST', dispatcher, headers: baseHeaders, body, signal: ac.signal });
        resBody = await readBody(res.body);
      } catch (e) {
        if (timedOut) throw new ExportError(`request timed out after ${config.timeout}ms`, true);
        const err = e as Error & { code?: string };
        throw new ExportError(`${err.code ?? err.name}: ${err.message}`, true);
      }
      if (header(res.headers, 'content-encoding').toLowerCase() === 'gzip') {
        try {
          resBody = zlib.gunzipSync(resBody);
        } catch {
          resBody = Buffer.alloc(0);
        }
      }
      const contentType = header(res.headers, 'content-type').toLowerCase();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        try {
          return partialSuccessOf(signal, contentType, resBody);
        } catch (e) {
          ctx.logger.debug({ signal, destination }, `unreadable success response: ${(e as Error).message}`);
          return { rejected: 0 };
        }
      }
      const reason = errorMessageOf(contentType, resBody);
      const msg = `HTTP ${res.statusCode}${reason ? `: ${truncate(reason)}` : ''}`;
      const retryable = RETRYABLE_STATUS.has(res.statusCode);
      throw new ExportError(msg, retryable, retryable ? parseRetryAfter(res.headers['retry-after']) : undefined);
    } finally {
      clearTimeout(timer);
      abort.removeEventListener('abort', onAbort);
    }
  };

  return new QueuedRetrySender({
    ctx,
    signal,
    queue: config.sending_queue,
    retry: config.retry_on_failure,
    destination,
    send,
    close: () => dispatcher.close(),
  });
}

export const otlpHttpExporter: ExporterFactory<OtlpHttpExporterConfig> = {
  type: 'otlphttp',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create,
};
