// The otlp (gRPC) and otlphttp exporters against real servers on 127.0.0.1: a
// grpc-js server implementing LogsService and a node:http server.
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import pino from 'pino';
import { Batch, countItems } from '../../src/otlp/batch';
import type { RequestModel } from '../../src/otlp/model';
import { signalTypes, type Signal } from '../../src/otlp/schema';
import { createLogger } from '../../src/telemetry/logger';
import { Telemetry } from '../../src/telemetry/metrics';
import { DeliveryError, type ComponentContext, type Exporter, type ExporterFactory } from '../../src/pipeline/component';
import { otlpHttpExporter } from '../../src/exporters/otlp-http';
import { otlpGrpcExporter } from '../../src/exporters/otlp-grpc';
import { Backoff, failureReason, parseRetryAfter, retryInfoDelayMs } from '../../src/exporters/sending';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { firstDifference } from '../helpers/otlp-compare';

// Talk to the local servers directly whatever the environment says about proxies.
for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'grpc_proxy']) delete process.env[k];

const LOGS_FIXTURE = path.join(FIXTURES_DIR, 'claude-code/tool-call/01-logs.json');
const TRACES_FIXTURE = path.join(FIXTURES_DIR, 'codex/exec/01-traces.json');
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
const logsBatch = () => Batch.fromJsonObject('logs', readJson(LOGS_FIXTURE));

const FAST_RETRY = { initial_interval: '20ms', max_interval: '50ms', max_elapsed_time: '5s' };
const SECRET = 'Bearer s3cret-token-value';

// A self-signed certificate for localhost and 127.0.0.1, made for these tests
// only (valid until 2126); its key protects nothing.
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUUw82R6jIu+VQ7HuEw1lRT58SBY8wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNTEwMzkxN1oYDzIxMjYxMTAx
MTAzOTE3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQU3lA5427+ujxScmkeYNzDSxZ2qHkLqJQrlq7Sl/lesXS+TiyAl2dv
ggOI+b1KkTIBxGdIIFRKSHw9gN9niUbzo28wbTAdBgNVHQ4EFgQUk1XBDvn2V6pW
m2qzqu/WJ2tTuegwHwYDVR0jBBgwFoAUk1XBDvn2V6pWm2qzqu/WJ2tTuegwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIhAKaTtBUiw1P8V1DKeN2C2uyRSunJjzuXSV5dTsUe0TmFAiAL
dBumDC7xjWBMH4LNa6eHheqPX1j4ZXV5VqO+qPy0mA==
-----END CERTIFICATE-----
`;
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqx/pgTGcE1gdfiIy
ZYsDMEyHjlF5aFtQWN/T7YvFE2WhRANCAAQU3lA5427+ujxScmkeYNzDSxZ2qHkL
qJQrlq7Sl/lesXS+TiyAl2dvggOI+b1KkTIBxGdIIFRKSHw9gN9niUbz
-----END PRIVATE KEY-----
`;

function writeTmp(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentrelay-exp-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function makeCtx(id: string, logger = createLogger({ level: 'silent' })): ComponentContext {
  return { id, logger, telemetry: new Telemetry() };
}

function configOf<C>(factory: ExporterFactory<C>, raw: unknown): C {
  const ctx = { issues: [] as { path: (string | number)[]; message: string }[] };
  const c = factory.schema.check(raw, [], ctx as never);
  assert.deepEqual(ctx.issues, []);
  return c!;
}

function make<C>(factory: ExporterFactory<C>, raw: unknown, ctx: ComponentContext, signal: Signal = 'logs'): Exporter {
  return factory.create(configOf(factory, raw), ctx, signal);
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A pino logger that keeps every line, to check that no secret is logged. */
function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

// ---------------------------------------------------------------------------
// HTTP

interface HttpSeen {
  url: string;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  at: number;
}
type HttpResponder = (req: HttpSeen, res: http.ServerResponse) => void;

class HttpBackend {
  readonly seen: HttpSeen[] = [];
  respond: HttpResponder = (_q, res) => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: HttpSeen = { url: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks), at: Date.now() };
      this.seen.push(s);
      this.respond(s, res);
    });
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  reset(): void {
    this.seen.length = 0;
    this.respond = (_q, res) => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

function body(s: HttpSeen): Buffer {
  return s.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(s.raw) : s.raw;
}

describe('otlphttp exporter', () => {
  const backend = new HttpBackend();
  before(() => backend.start());
  after(() => backend.stop());

  test('`{}` is a valid config with the documented defaults', () => {
    const c = configOf(otlpHttpExporter, {});
    assert.equal(c.endpoint, 'http://localhost:4318');
    assert.equal(c.encoding, 'proto');
    assert.equal(c.compression, 'gzip');
    assert.equal(c.timeout, 30000);
    assert.deepEqual(c.headers, {});
    assert.deepEqual(c.sending_queue, {
      enabled: true, queue_size: 1000, max_items: 0, max_bytes: 64 * 1024 * 1024, num_consumers: 10, when_full: 'refuse',
      persistent: { directory: '', fsync: 'always', fsync_interval: 1000, segment_size: 8 * 1024 * 1024 },
    });
    assert.deepEqual(c.retry_on_failure, {
      enabled: true, initial_interval: 5000, max_interval: 30000, max_elapsed_time: 300000, multiplier: 1.5, randomization_factor: 0.5,
    });
  });

  test('protobuf + gzip: the server gets the batch bytes, gzipped, with the headers', async () => {
    backend.reset();
    const ctx = makeCtx('otlphttp/t1');
    const exp = make(otlpHttpExporter, { endpoint: backend.url + '/base/', headers: { Authorization: SECRET }, sending_queue: { enabled: false } }, ctx);
    const batch = logsBatch();
    await exp.consume(batch);
    await exp.shutdown!(Date.now() + 1000);
    assert.equal(backend.seen.length, 1);
    const s = backend.seen[0];
    assert.equal(s.url, '/base/v1/logs');
    assert.equal(s.headers['authorization'], SECRET);
    assert.equal(s.headers['content-type'], 'application/x-protobuf');
    assert.equal(s.headers['content-encoding'], 'gzip');
    assert.deepEqual([...s.raw.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic');
    const got = zlib.gunzipSync(s.raw);
    assert.ok(Buffer.from(batch.toProto()).equals(got), 'bytes equal what was sent');
    const decoded = Batch.fromProto('logs', got);
    assert.equal(firstDifference(readJson(LOGS_FIXTURE), decoded.toJsonObject()), null);
    assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlphttp/t1', signal: 'logs' }), batch.itemCount());
  });

  for (const [what, queue] of [
    ['with the queue disabled', { enabled: false }],
    ['with 16 queue consumers', { num_consumers: 16 }],
  ] as const) {
  test(`${what}, many requests at once raise no "possible memory leak" warning`, async () => {
    backend.reset();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const ctx = makeCtx('otlphttp/many');
      const exp = make(otlpHttpExporter, { endpoint: backend.url, compression: 'none', sending_queue: queue }, ctx);
      await Promise.all(Array.from({ length: 30 }, () => exp.consume(logsBatch())));
      await exp.shutdown!(Date.now() + 1000);
      // The queue may merge requests: what counts is that every item went out.
      assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlphttp/many', signal: 'logs' }), 30 * logsBatch().itemCount());
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings.filter((n) => n === 'MaxListenersExceededWarning'), []);
    } finally {
      process.off('warning', onWarning);
    }
  });
  }

  test('a consumer waiting for more holds no request it has sent', async () => {
    backend.reset();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const ctx = makeCtx('otlphttp/idle');
    const exp = make(otlpHttpExporter, { endpoint: backend.url, compression: 'none', sending_queue: { num_consumers: 2 } }, ctx);
    // The request's bytes, watched: a batch, a fork of it or a request made from it keeps them alive.
    const sent = await (async () => {
      const bytes = Buffer.from(logsBatch().toProto());
      await exp.consume(Batch.fromProto('logs', bytes));
      return new WeakRef(bytes);
    })();
    for (let i = 0; i < 50 && backend.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(backend.seen.length, 1);
    await new Promise((r) => setTimeout(r, 20));
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    assert.equal(sent.deref(), undefined, 'the sent request was collected while the exporter idles');
    await exp.shutdown!(Date.now() + 1000);
  });

  test('JSON encoding sends OTLP/JSON with hex trace ids to the per-signal URL', async () => {
    backend.reset();
    const ctx = makeCtx('otlphttp/t2');
    const exp = make(
      otlpHttpExporter,
      { traces_endpoint: backend.url + '/custom/traces', encoding: 'json', compression: 'none', sending_queue: { enabled: false } },
      ctx,
      'traces',
    );
    const original = readJson(TRACES_FIXTURE);
    await exp.consume(Batch.fromJsonObject('traces', original));
    await exp.shutdown!(Date.now() + 1000);
    const s = backend.seen[0];
    assert.equal(s.url, '/custom/traces');
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(s.headers['content-encoding'], undefined);
    const sent = JSON.parse(s.raw.toString('utf8'));
    assert.equal(firstDifference(original, sent), null);
    const span = sent.resourceSpans[0].scopeSpans[0].spans[0];
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.match(span.spanId, /^[0-9a-f]{16}$/);
  });

  test('503 then 200 is retried and delivered once', async () => {
    backend.reset();
    backend.respond = (_q, res) => {
      if (backend.seen.length === 1) res.writeHead(503).end('busy');
      else res.writeHead(200).end();
    };
    const ctx = makeCtx('otlphttp/t3');
    const exp = make(otlpHttpExporter, { endpoint: backend.url, retry_on_failure: FAST_RETRY, sending_queue: { enabled: false } }, ctx);
    const batch = logsBatch();
    await exp.consume(batch);
    await exp.shutdown!(Date.now() + 1000);
    assert.equal(backend.seen.length, 2);
    assert.ok(body(backend.seen[1]).equals(Buffer.from(batch.toProto())));
    assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlphttp/t3' }), batch.itemCount());
    assert.equal(ctx.telemetry.total('exporter_failed_items'), 0);
  });

  test('Retry-After is a floor for the next attempt', async () => {
    backend.reset();
    backend.respond = (_q, res) => {
      if (backend.seen.length === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(200).end();
    };
    const ctx = makeCtx('otlphttp/t4');
    const exp = make(otlpHttpExporter, { endpoint: backend.url, retry_on_failure: FAST_RETRY, sending_queue: { enabled: false } }, ctx);
    await exp.consume(logsBatch());
    await exp.shutdown!(Date.now() + 1000);
    assert.equal(backend.seen.length, 2);
    const gap = backend.seen[1].at - backend.seen[0].at;
    assert.ok(gap >= 950, `retried after ${gap}ms`);
  });

  test('400 is not retried, is counted as dropped, and the log line carries no secret', async () => {
    backend.reset();
    backend.respond = (_q, res) =>
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 3, message: 'bad log record' }));
    const { logger, lines } = capturingLogger();
    const ctx = makeCtx('otlphttp/t5', logger);
    const exp = make(
      otlpHttpExporter,
      { endpoint: backend.url.replace('http://', 'http://user:pw@') + '/?token=abc', headers: { authorization: SECRET }, retry_on_failure: FAST_RETRY, sending_queue: { enabled: false } },
      ctx,
    );
    const batch = logsBatch();
    await assert.rejects(exp.consume(batch), (e: unknown) => e instanceof DeliveryError && !e.retryable && /bad log record/.test(e.message));
    await exp.shutdown!(Date.now() + 1000);
    assert.equal(backend.seen.length, 1);
    assert.equal(
      ctx.telemetry.total('exporter_dropped_items', { component: 'otlphttp/t5', signal: 'logs', reason: 'non_retryable' }),
      batch.itemCount(),
    );
    const errors = lines.filter((l) => JSON.parse(l).level === 50);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /HTTP 400: bad log record/);
    for (const l of lines) {
      assert.ok(!l.includes('s3cret'), `secret in log: ${l}`);
      assert.ok(!l.includes(':pw@') && !l.includes('token=abc'), `credentials in log: ${l}`);
    }
  });

  test('partial_success (protobuf and JSON answers) is counted and not retried', async () => {
    for (const encoding of ['proto', 'json'] as const) {
      backend.reset();
      backend.respond = (_q, res) => {
        if (encoding === 'json') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ partialSuccess: { rejectedLogRecords: '2', errorMessage: 'too old' } }));
        } else {
          const msg = signalTypes.logs.response.encode({ partialSuccess: { rejectedLogRecords: 2, errorMessage: 'too old' } }).finish();
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(msg));
        }
      };
      const ctx = makeCtx('otlphttp/t6');
      const exp = make(otlpHttpExporter, { endpoint: backend.url, encoding, sending_queue: { enabled: false } }, ctx);
      const batch = logsBatch();
      await exp.consume(batch);
      await exp.shutdown!(Date.now() + 1000);
      assert.equal(backend.seen.length, 1);
      assert.equal(ctx.telemetry.total('exporter_partial_success_items', { component: 'otlphttp/t6' }), 2, encoding);
      assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlphttp/t6' }), batch.itemCount() - 2);
    }
  });

  test('a full queue refuses with a retryable DeliveryError; shutdown drains the queue', async () => {
    backend.reset();
    const held: http.ServerResponse[] = [];
    backend.respond = (_q, res) => held.push(res);
    const ctx = makeCtx('otlphttp/t7');
    const exp = make(otlpHttpExporter, { endpoint: backend.url, sending_queue: { queue_size: 2, num_consumers: 1 } }, ctx);
    const batch = logsBatch();
    await exp.consume(batch); // taken by the one consumer
    await waitFor(() => held.length === 1);
    await exp.consume(batch.fork());
    await exp.consume(batch.fork());
    await assert.rejects(exp.consume(batch.fork()), (e: unknown) => e instanceof DeliveryError && e.retryable && /sending queue is full/.test(e.message));
    backend.respond = (_q, res) => res.writeHead(200).end();
    for (const r of held) r.writeHead(200).end();
    await exp.shutdown!(Date.now() + 5000);
    // The two batches that waited in the queue leave as one request.
    assert.equal(backend.seen.length, 2);
    const records = backend.seen.map((q) => {
      const body = q.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(q.raw) : q.raw;
      return countItems('logs', signalTypes.logs.request.decode(body) as unknown as RequestModel);
    });
    assert.deepEqual(records, [batch.itemCount(), 2 * batch.itemCount()]);
    assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlphttp/t7' }), 3 * batch.itemCount());
    await assert.rejects(exp.consume(batch.fork()), (e: unknown) => e instanceof DeliveryError && e.retryable);
  });

  test('shutdown gives up retrying at the deadline and counts the loss', async () => {
    backend.reset();
    backend.respond = (_q, res) => res.writeHead(503).end();
    const ctx = makeCtx('otlphttp/t8');
    const exp = make(otlpHttpExporter, { endpoint: backend.url, retry_on_failure: FAST_RETRY, sending_queue: { num_consumers: 2 } }, ctx);
    const batch = logsBatch();
    for (let i = 0; i < 4; i++) await exp.consume(batch.fork());
    await waitFor(() => backend.seen.length >= 2);
    const t0 = Date.now();
    await exp.shutdown!(t0 + 300);
    const took = Date.now() - t0;
    assert.ok(took < 1500, `shutdown took ${took}ms`);
    assert.equal(ctx.telemetry.total('exporter_failed_items', { component: 'otlphttp/t8', reason: 'shutdown' }), 4 * batch.itemCount());
    assert.equal(ctx.telemetry.total('exporter_sent_items'), 0);
  });

  test('https: tls.ca_file verifies the server, insecure_skip_verify skips verification', async () => {
    const seen: string[] = [];
    const server = https.createServer({ cert: TEST_CERT, key: TEST_KEY }, (req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const caFile = writeTmp('ca.pem', TEST_CERT);
    const batch = logsBatch();
    try {
      const run = async (tls: object) => {
        const exp = make(otlpHttpExporter, { endpoint, tls, retry_on_failure: { enabled: false }, sending_queue: { enabled: false } }, makeCtx('otlphttp/tls'));
        try {
          await exp.consume(batch);
        } finally {
          await exp.shutdown!(Date.now() + 1000);
        }
      };
      await run({ ca_file: caFile });
      await run({ insecure_skip_verify: true });
      assert.equal(seen.length, 2);
      await assert.rejects(run({}), (e: unknown) => e instanceof DeliveryError && /certificate/i.test(e.message));
      assert.equal(seen.length, 2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('connection refused is retried until max_elapsed_time, then refused as retryable', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const ctx = makeCtx('otlphttp/t9');
    const exp = make(
      otlpHttpExporter,
      { endpoint: `http://127.0.0.1:${port}`, retry_on_failure: { ...FAST_RETRY, max_elapsed_time: '200ms' }, sending_queue: { enabled: false } },
      ctx,
    );
    const batch = logsBatch();
    await assert.rejects(exp.consume(batch), (e: unknown) => e instanceof DeliveryError && e.retryable && /ECONNREFUSED/.test(e.message));
    await exp.shutdown!(Date.now() + 1000);
    assert.equal(ctx.telemetry.total('exporter_failed_items', { reason: 'retries_exhausted' }), batch.itemCount());
  });
});

// ---------------------------------------------------------------------------
// gRPC

interface GrpcSeen {
  bytes: Buffer;
  metadata: grpc.Metadata;
}
type GrpcHandler = (seen: GrpcSeen, cb: grpc.sendUnaryData<object>) => void;

class GrpcBackend {
  readonly seen: GrpcSeen[] = [];
  handle: GrpcHandler = (_s, cb) => cb(null, {});
  private server = new grpc.Server();
  endpoint = '';
  async start(): Promise<void> {
    const types = signalTypes.logs;
    const def: grpc.ServiceDefinition = {
      Export: {
        path: `/${types.service}/Export`,
        requestStream: false,
        responseStream: false,
        // Keep the raw request bytes; the test decodes them with signalTypes.
        requestDeserialize: (b: Buffer) => b,
        requestSerialize: (b: Buffer) => b,
        responseSerialize: (r: object) => Buffer.from(types.response.encode(types.response.fromObject(r)).finish()),
        responseDeserialize: (b: Buffer) => types.response.decode(b),
      },
    };
    this.server.addService(def, {
      Export: (call: grpc.ServerUnaryCall<Buffer, object>, cb: grpc.sendUnaryData<object>) => {
        const s = { bytes: call.request, metadata: call.metadata };
        this.seen.push(s);
        this.handle(s, cb);
      },
    });
    const port = await new Promise<number>((res, rej) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    this.endpoint = `127.0.0.1:${port}`;
  }
  reset(): void {
    this.seen.length = 0;
    this.handle = (_s, cb) => cb(null, {});
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.tryShutdown(() => r()));
  }
}

/** A grpc-status-details-bin value: google.rpc.Status with one google.rpc.RetryInfo. */
function statusWithRetryInfo(seconds: number, nanos: number): Buffer {
  const duration = protobuf.Writer.create().uint32(8).int64(seconds).uint32(16).int32(nanos).finish();
  const retryInfo = protobuf.Writer.create().uint32(10).bytes(duration).finish();
  const any = protobuf.Writer.create().uint32(10).string('type.googleapis.com/google.rpc.RetryInfo').uint32(18).bytes(retryInfo).finish();
  return Buffer.from(protobuf.Writer.create().uint32(8).int32(8).uint32(18).string('slow down').uint32(26).bytes(any).finish());
}

describe('otlp (gRPC) exporter', () => {
  const backend = new GrpcBackend();
  before(() => backend.start());
  after(() => backend.stop());

  test('`{}` is a valid config with the documented defaults', () => {
    const c = configOf(otlpGrpcExporter, {});
    assert.equal(c.endpoint, 'localhost:4317');
    assert.equal(c.compression, 'gzip');
    assert.equal(c.timeout, 5000);
    assert.equal(c.tls.insecure, undefined);
    assert.equal(c.tls.insecure_skip_verify, false);
    assert.equal(c.sending_queue.queue_size, 1000);
  });

  test('the server gets the batch bytes and the headers as metadata', async () => {
    backend.reset();
    const ctx = makeCtx('otlp/g1');
    // http:// scheme: plaintext without tls.insecure.
    const exp = make(otlpGrpcExporter, { endpoint: `http://${backend.endpoint}`, headers: { Authorization: SECRET, 'x-tenant': 'a' } }, ctx);
    const batch = logsBatch();
    await exp.consume(batch);
    await exp.shutdown!(Date.now() + 2000);
    assert.equal(backend.seen.length, 1);
    const s = backend.seen[0];
    assert.ok(s.bytes.equals(Buffer.from(batch.toProto())), 'bytes equal what was sent');
    assert.equal(firstDifference(readJson(LOGS_FIXTURE), Batch.fromProto('logs', s.bytes).toJsonObject()), null);
    assert.deepEqual(s.metadata.get('authorization'), [SECRET]);
    assert.deepEqual(s.metadata.get('x-tenant'), ['a']);
    assert.match(String(s.metadata.get('user-agent')[0]), /^agentrelay\//);
    assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlp/g1', signal: 'logs' }), batch.itemCount());
  });

  test('UNAVAILABLE then OK is retried and delivered once', async () => {
    backend.reset();
    backend.handle = (_s, cb) => (backend.seen.length === 1 ? cb({ code: grpc.status.UNAVAILABLE, details: 'restarting' }) : cb(null, {}));
    const ctx = makeCtx('otlp/g2');
    const exp = make(otlpGrpcExporter, { endpoint: backend.endpoint, tls: { insecure: true }, retry_on_failure: FAST_RETRY, sending_queue: { enabled: false } }, ctx);
    const batch = logsBatch();
    await exp.consume(batch);
    await exp.shutdown!(Date.now() + 2000);
    assert.equal(backend.seen.length, 2);
    assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlp/g2' }), batch.itemCount());
  });

  test('INVALID_ARGUMENT is dropped without retry', async () => {
    backend.reset();
    backend.handle = (_s, cb) => cb({ code: grpc.status.INVALID_ARGUMENT, details: 'bad data' });
    const ctx = makeCtx('otlp/g3');
    const exp = make(otlpGrpcExporter, { endpoint: backend.endpoint, tls: { insecure: true }, retry_on_failure: FAST_RETRY, sending_queue: { enabled: false } }, ctx);
    const batch = logsBatch();
    await assert.rejects(exp.consume(batch), (e: unknown) => e instanceof DeliveryError && !e.retryable && /INVALID_ARGUMENT: bad data/.test(e.message));
    await exp.shutdown!(Date.now() + 2000);
    assert.equal(backend.seen.length, 1);
    assert.equal(ctx.telemetry.total('exporter_dropped_items', { component: 'otlp/g3', signal: 'logs', reason: 'non_retryable' }), batch.itemCount());
  });

  test('RESOURCE_EXHAUSTED is retried after the RetryInfo delay, and dropped without RetryInfo', async () => {
    backend.reset();
    backend.handle = (_s, cb) => {
      if (backend.seen.length > 1) return cb(null, {});
      const md = new grpc.Metadata();
      md.set('grpc-status-details-bin', statusWithRetryInfo(0, 400e6));
      cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'slow down', metadata: md });
    };
    const ctx = makeCtx('otlp/g4');
    const cfg = { endpoint: backend.endpoint, tls: { insecure: true }, retry_on_failure: FAST_RETRY, sending_queue: { enabled: false } };
    const exp = make(otlpGrpcExporter, cfg, ctx);
    const t0 = Date.now();
    await exp.consume(logsBatch());
    assert.equal(backend.seen.length, 2);
    assert.ok(Date.now() - t0 >= 380, `retried after ${Date.now() - t0}ms`);

    backend.reset();
    backend.handle = (_s, cb) => cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'quota' });
    await assert.rejects(exp.consume(logsBatch()), (e: unknown) => e instanceof DeliveryError && !e.retryable);
    assert.equal(backend.seen.length, 1);
    await exp.shutdown!(Date.now() + 2000);
  });

  test('partial_success is counted', async () => {
    backend.reset();
    backend.handle = (_s, cb) => cb(null, { partialSuccess: { rejectedLogRecords: 3, errorMessage: 'dup' } });
    const ctx = makeCtx('otlp/g5');
    const exp = make(otlpGrpcExporter, { endpoint: backend.endpoint, tls: { insecure: true } }, ctx);
    const batch = logsBatch();
    await exp.consume(batch);
    await exp.shutdown!(Date.now() + 2000);
    assert.equal(backend.seen.length, 1);
    assert.equal(ctx.telemetry.total('exporter_partial_success_items', { component: 'otlp/g5' }), 3);
    assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlp/g5' }), batch.itemCount() - 3);
  });

  test('compression none and gzip both deliver the same request', async () => {
    for (const compression of ['none', 'gzip']) {
      backend.reset();
      const ctx = makeCtx('otlp/g6');
      const exp = make(otlpGrpcExporter, { endpoint: backend.endpoint, tls: { insecure: true }, compression }, ctx);
      const batch = logsBatch();
      await exp.consume(batch);
      await exp.shutdown!(Date.now() + 2000);
      assert.ok(backend.seen[0].bytes.equals(Buffer.from(batch.toProto())), compression);
    }
  });

  test('TLS: https:// endpoint with tls.ca_file, and insecure_skip_verify', async () => {
    const seen: Buffer[] = [];
    const server = new grpc.Server();
    const types = signalTypes.logs;
    server.addService(
      {
        Export: {
          path: `/${types.service}/Export`, requestStream: false, responseStream: false,
          requestDeserialize: (b: Buffer) => b, requestSerialize: (b: Buffer) => b,
          responseSerialize: () => Buffer.alloc(0), responseDeserialize: (b: Buffer) => b,
        },
      },
      { Export: (call: grpc.ServerUnaryCall<Buffer, object>, cb: grpc.sendUnaryData<object>) => (seen.push(call.request), cb(null, {})) },
    );
    const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(TEST_CERT), private_key: Buffer.from(TEST_KEY) }]);
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? rej(e) : res(p))));
    const caFile = writeTmp('ca.pem', TEST_CERT);
    const batch = logsBatch();
    try {
      const run = async (endpoint: string, tls: object) => {
        const exp = make(otlpGrpcExporter, { endpoint, tls, retry_on_failure: { enabled: false }, sending_queue: { enabled: false } }, makeCtx('otlp/tls'));
        try {
          await exp.consume(batch);
        } finally {
          await exp.shutdown!(Date.now() + 1000);
        }
      };
      await run(`https://localhost:${port}`, { ca_file: caFile });
      await run(`127.0.0.1:${port}`, { insecure_skip_verify: true });
      assert.equal(seen.length, 2);
      assert.ok(seen[0].equals(Buffer.from(batch.toProto())));
      await assert.rejects(run(`localhost:${port}`, {}), (e: unknown) => e instanceof DeliveryError && e.retryable);
      assert.equal(seen.length, 2);
    } finally {
      await new Promise<void>((r) => server.tryShutdown(() => r()));
    }
  });

  test('gzip is on the wire (seen by a bare HTTP/2 server)', async () => {
    // grpc-js servers decompress before the handler sees anything, so look at the frames.
    const seen: { encoding?: string; flag: number; length: number }[] = [];
    const h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const frame = Buffer.concat(chunks);
        seen.push({ encoding: headers['grpc-encoding'] as string | undefined, flag: frame[0], length: frame.readUInt32BE(1) });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `127.0.0.1:${(h2.address() as AddressInfo).port}`;
      const batch = logsBatch();
      for (const compression of ['gzip', 'none']) {
        const exp = make(otlpGrpcExporter, { endpoint, tls: { insecure: true }, compression, sending_queue: { enabled: false } }, makeCtx('otlp/g7'));
        await exp.consume(batch);
        await exp.shutdown!(Date.now() + 2000);
      }
      const size = batch.toProto().length;
      assert.equal(seen[0].encoding, 'gzip');
      assert.equal(seen[0].flag, 1);
      assert.ok(seen[0].length < size, `compressed ${seen[0].length} < ${size}`);
      assert.equal(seen[1].encoding, undefined);
      assert.equal(seen[1].flag, 0);
      assert.equal(seen[1].length, size);
    } finally {
      h2.close();
    }
  });
});

// ---------------------------------------------------------------------------
// Helpers of sending.ts

test('parseRetryAfter reads seconds and HTTP-dates', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', now), 10000);
  assert.equal(parseRetryAfter('garbage'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('retryInfoDelayMs decodes google.rpc.RetryInfo', () => {
  assert.equal(retryInfoDelayMs(statusWithRetryInfo(2, 500e6)), 2500);
  assert.equal(retryInfoDelayMs(Buffer.from([8, 8, 18, 1, 65])), undefined);
  assert.equal(retryInfoDelayMs(Buffer.from([0xff, 0xff])), undefined);
});

test('backoff grows by the multiplier within the jitter and stops at max_interval', () => {
  const cfg = { enabled: true, initial_interval: 100, max_interval: 300, max_elapsed_time: 0, multiplier: 2, randomization_factor: 0.5 };
  const lo = new Backoff(cfg, () => 0);
  assert.deepEqual([lo.next(), lo.next(), lo.next(), lo.next()], [50, 100, 150, 150]);
  const hi = new Backoff(cfg, () => 1);
  assert.deepEqual([hi.next(), hi.next(), hi.next()], [150, 300, 450]);
});

test('failureReason labels attempts by HTTP status, gRPC code, timeout or socket error', () => {
  assert.equal(failureReason('HTTP 503: busy'), 'http_503');
  assert.equal(failureReason('gRPC RESOURCE_EXHAUSTED: slow down'), 'grpc_resource_exhausted');
  assert.equal(failureReason('request timed out after 30000ms'), 'timeout');
  assert.equal(failureReason('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1'), 'econnrefused');
  assert.equal(failureReason('something else'), 'other');
});

describe('sending queue bounds (in memory)', () => {
  const backend = new HttpBackend();
  before(() => backend.start());
  after(() => backend.stop());

  test('max_items and max_bytes bound the queue like queue_size; a lone large batch is still taken', async () => {
    const held: http.ServerResponse[] = [];
    backend.respond = (_q, res) => held.push(res);
    const batch = logsBatch();
    const n = batch.itemCount();
    const size = batch.toProto().length;
    for (const [key, value] of [['max_items', 2 * n], ['max_bytes', 2 * size]] as const) {
      const ctx = makeCtx(`otlphttp/${key}`);
      const exp = make(otlpHttpExporter, { endpoint: backend.url, sending_queue: { queue_size: 100, num_consumers: 1, max_bytes: 0, [key]: value } }, ctx);
      await exp.consume(batch.fork()); // in flight
      await waitFor(() => held.length > 0);
      await exp.consume(batch.fork());
      await exp.consume(batch.fork());
      await assert.rejects(exp.consume(batch.fork()), (e: unknown) => e instanceof DeliveryError && e.retryable && e.retryAfterMs === 5000, key);
      assert.equal(ctx.telemetry.total('exporter_refused_items', { component: `otlphttp/${key}`, reason: 'queue_full' }), n);
      backend.respond = (_q, res) => res.writeHead(200).end();
      for (const r of held.splice(0)) r.writeHead(200).end();
      await exp.shutdown!(Date.now() + 5000);
      assert.equal(ctx.telemetry.total('exporter_sent_items', { component: `otlphttp/${key}` }), 3 * n, key);
      backend.respond = (_q, res) => held.push(res);
    }
    // A batch larger than max_bytes alone, into an empty queue: taken.
    const ctx = makeCtx('otlphttp/lone');
    backend.respond = (_q, res) => res.writeHead(200).end();
    const exp = make(otlpHttpExporter, { endpoint: backend.url, sending_queue: { max_bytes: 10 } }, ctx);
    await exp.consume(batch.fork());
    await exp.shutdown!(Date.now() + 5000);
    assert.equal(ctx.telemetry.total('exporter_sent_items', { component: 'otlphttp/lone' }), n);
  });

  test('a persistent queue is opened at start, survives a restart of the exporter, and delivers in order', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentrelay-pq-exp-'));
    const order: string[] = [];
    backend.respond = (_q, res) => res.writeHead(503).end();
    const cfg = { endpoint: backend.url, compression: 'none', encoding: 'json', retry_on_failure: FAST_RETRY, sending_queue: { num_consumers: 1, persistent: { directory: dir } } };
    const first = make(otlpHttpExporter, cfg, makeCtx('otlphttp/pq'));
    await first.start!();
    const bodies = ['one', 'two', 'three'];
    for (const b of bodies) await first.consume(Batch.fromJsonObject('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: b } }] }] }] }));
    await first.shutdown!(Date.now() + 2000);
    assert.ok(fs.existsSync(path.join(dir, 'otlphttp_pq', 'logs')), 'one directory per exporter id and signal');

    backend.seen.length = 0;
    backend.respond = (q, res) => {
      order.push(JSON.parse(q.raw.toString()).resourceLogs[0].scopeLogs[0].logRecords[0].body.stringValue);
      res.writeHead(200).end();
    };
    const ctx = makeCtx('otlphttp/pq');
    const second = make(otlpHttpExporter, cfg, ctx);
    await second.start!();
    await waitFor(() => order.length === 3);
    assert.deepEqual(order, bodies);
    assert.equal(ctx.telemetry.total('persistent_queue_recovered_items'), 3);
    await second.shutdown!(Date.now() + 2000);
  });
});
