// OTLP/HTTP receiver: POST /v1/logs, /v1/metrics, /v1/traces with protobuf or
// JSON bodies, gzip or deflate encoded, over plain HTTP or TLS (optionally mutual).
// Answers in the request's encoding; errors carry a google.rpc.Status with a
// message that says what was wrong. Checks run cheapest first, and auth and the
// memory limiter before the body is read.
import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { Signal } from '../otlp/schema';
import { signalTypes, statusType } from '../otlp/schema';
import { toJson } from '../otlp/json';
import type { ComponentContext, ReceiverHost } from '../pipeline/component';
import { Batch } from '../otlp/batch';
import type { MemoryLimiter } from '../pipeline/memory-limiter';
import { Authenticator } from './auth';
import { closeBy } from './close';
import { DEFAULT_RETRY_AFTER_MS, Intake, type IntakeResult } from './intake';
import { isLoopback, pickMetadata, splitHostPort, type HttpConfig } from './otlp';
import { readServerTls } from './tls';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

const PATHS: Record<string, Signal> = { '/v1/logs': 'logs', '/v1/metrics': 'metrics', '/v1/traces': 'traces' };

// google.rpc.Code values for the Status body.
const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14 };

type Format = 'proto' | 'json';

/** The answer to a request taken whole: an empty Export*ServiceResponse (no partial_success). */
const EMPTY_PROTO = Buffer.alloc(0);
const EMPTY_JSON = Buffer.from('{}');

export class HttpReceiver {
  private server?: http.Server;
  private readonly intake: Intake;
  private readonly auth: Authenticator;

  constructor(
    private readonly cfg: HttpConfig,
    private readonly ctx: ComponentContext,
    private readonly host: ReceiverHost,
    memory?: MemoryLimiter,
  ) {
    this.intake = new Intake(ctx, 'http', cfg, memory);
    this.auth = new Authenticator(cfg.auth, ctx.logger);
  }

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.cfg.endpoint);
    this.auth.start();
    const tls = readServerTls(this.cfg.tls);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((err) => {
        this.ctx.logger.error({ err: (err as Error).message }, 'unexpected error handling an OTLP/HTTP request');
        if (!res.headersSent) this.reply(res, 'json', 500, 'internal error');
      });
    };
    const server = tls
      ? https.createServer(
          {
            keepAliveTimeout: 30_000,
            cert: tls.cert,
            key: tls.key,
            ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
          },
          handler,
        )
      : http.createServer({ keepAliveTimeout: 30_000 }, handler);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.ctx.logger.info(
      { endpoint: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : this.cfg.endpoint, tls: !!tls, mtls: !!tls?.clientCa, auth: this.auth.enabled },
      'OTLP/HTTP receiver listening',
    );
    if (!isLoopback(host) && !this.auth.enabled)
      this.ctx.logger.warn({ endpoint: this.cfg.endpoint }, 'OTLP/HTTP receiver listens beyond this machine without auth: anyone who can reach it can send data');
  }

  /** The bound port (useful when the config asked for port 0). */
  port(): number | undefined {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : undefined;
  }

  async shutdown(deadline: number): Promise<void> {
    this.auth.stop();
    const server = this.server;
    if (!server) return;
    await closeBy(
      deadline,
      (done) => {
        server.close(() => done());
        server.closeIdleConnections();
      },
      () => server.closeAllConnections(),
    );
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    const signal = PATHS[url];
    const format = formatOf(req.headers['content-type']);
    if (!signal) {
      return this.refuse(req, res, format ?? 'json', 404, 'unknown', 'path', `unknown path ${url}: use POST /v1/logs, /v1/metrics or /v1/traces`);
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return this.refuse(req, res, format ?? 'json', 405, signal, 'method', `method ${req.method} is not allowed on ${url}: use POST`);
    }
    if (!this.auth.check(headerValue(req.headers[this.auth.header]))) {
      if (this.auth.header === 'authorization') res.setHeader('WWW-Authenticate', 'Bearer');
      const what = this.auth.header === 'authorization' ? 'bearer token' : `${this.auth.header} header`;
      return this.refuse(req, res, format ?? 'json', 401, signal, 'auth', `missing or wrong ${what}`);
    }
    const short = this.intake.memoryCheck(signal);
    if (short) {
      // A body refused for want of memory is drained, never held; the answer waits for
      // the end of it, so that the sender reads the 503 rather than a reset connection.
      const answer = () => this.answer(res, format ?? 'json', signal, short);
      if (req.complete) return answer();
      req.once('end', answer);
      req.once('error', () => res.destroy());
      req.resume();
      return;
    }
    if (!format) {
      return this.refuse(req, res, 'json', 415, signal, 'content_type',
        `unsupported content type ${JSON.stringify(req.headers['content-type'] ?? '')}: use application/x-protobuf or application/json`);
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
    if (!['gzip', 'deflate', 'identity', 'none', ''].includes(encoding)) {
      return this.refuse(req, res, format, 415, signal, 'content_encoding', `unsupported content encoding "${encoding}": use gzip, deflate or none`);
    }
    const consumer = this.host.consumerFor(signal);
    if (!consumer) return this.refuse(req, res, format, 404, signal, 'no_pipeline', `this receiver has no ${signal} pipeline`);

    const limit = this.cfg.max_request_body_size;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return this.refuse(req, res, format, 413, signal, 'too_large', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
    const raw = await readBody(req, limit);
    if (raw === 'too_large') return this.refuse(req, res, format, 413, signal, 'too_large', `request body exceeds the limit of ${limit} bytes`);
    if (raw === 'aborted') return;

    let body: Buffer = raw;
    if (encoding === 'gzip' || encoding === 'deflate') {
      const outLimit = this.cfg.max_decompressed_body_size || limit;
      try {
        body = await (encoding === 'gzip' ? gunzip : inflate)(raw, { maxOutputLength: outLimit });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
          return this.reply(res, format, 413, this.note(signal, 'too_large', `decompressed request body exceeds the limit of ${outLimit} bytes`));
        return this.reply(res, format, 400, this.note(signal, 'decompress', `request body is not valid ${encoding} data: ${(e as Error).message}`));
      }
    }

    const decoded = this.intake.decode(signal, body, format);
    if (!(decoded instanceof Batch)) return this.answer(res, format, signal, decoded);
    const over = this.intake.limitCheck(signal, decoded);
    if (over) return this.answer(res, format, signal, over);
    const md = pickMetadata(
      this.cfg,
      (k) => {
        const v = req.headers[k];
        return Array.isArray(v) ? v.join(',') : v;
      },
      this.auth.header,
    );
    if (md) decoded.metadata = md;
    this.answer(res, format, signal, await this.intake.deliver(signal, decoded, consumer));
  }

  private note(signal: Signal | 'unknown', reason: string, message: string): string {
    this.intake.badRequest(signal, reason, message);
    return message;
  }

  /** Answers an error before the body was read; the body is drained, and the connection closed if it is large. */
  private refuse(req: http.IncomingMessage, res: http.ServerResponse, format: Format, status: number, signal: Signal | 'unknown', reason: string, message: string): void {
    this.intake.badRequest(signal, reason, message);
    if (status === 413) res.setHeader('Connection', 'close');
    req.resume();
    this.reply(res, format, status, message);
  }

  private answer(res: http.ServerResponse, format: Format, signal: Signal, r: IntakeResult): void {
    if (r.kind === 'bad_request') return this.reply(res, format, 400, r.message);
    if (r.kind === 'too_large') return this.reply(res, format, 413, r.message);
    if (r.kind === 'refused') {
      if (!r.retryable) return this.reply(res, format, 400, r.message);
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((r.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS) / 1000))));
      return this.reply(res, format, 503, r.message);
    }
    if (r.rejected === 0) return this.send(res, format, 200, format === 'proto' ? EMPTY_PROTO : EMPTY_JSON);
    const t = signalTypes[signal];
    const msg = { partialSuccess: { [t.rejectedField]: r.rejected, errorMessage: r.message } };
    const payload = format === 'proto' ? Buffer.from(t.response.encode(msg).finish()) : Buffer.from(JSON.stringify(toJson(t.response, msg)));
    this.send(res, format, 200, payload);
  }

  private reply(res: http.ServerResponse, format: Format, status: number, message: string): void {
    const st = { code: GRPC_CODE[status] ?? 2, message };
    const payload = format === 'proto' ? Buffer.from(statusType.encode(st).finish()) : Buffer.from(JSON.stringify(st));
    this.send(res, format, status, payload);
  }

  private send(res: http.ServerResponse, format: Format, status: number, payload: Buffer): void {
    res.statusCode = status;
    res.setHeader('Content-Type', format === 'proto' ? 'application/x-protobuf' : 'application/json');
    res.setHeader('Content-Length', payload.length);
    res.end(payload);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function formatOf(contentType: string | undefined): Format | undefined {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (media === 'application/x-protobuf' || media === 'application/protobuf') return 'proto';
  if (media === 'application/json') return 'json';
  return undefined;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too_large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        resolve('too_large');
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      }
    });
    req.on('aborted', () => {
      if (!done) {
        done = true;
        resolve('aborted');
      }
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        resolve('aborted');
      }
    });
  });
}
