// Malformed, oversized, unroutable and unauthenticated requests against a real
// relay process over 127.0.0.1: each gets the right HTTP status or gRPC code and a
// google.rpc.Status whose message says what was wrong, is counted in
// agentrelay_receiver_bad_requests_total with its reason, and the relay keeps
// serving: the next good request succeeds and reaches the file exporter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { counterValue, freePort, readJsonLines, startRelay, type RunningRelay } from '../helpers/relay-process';
import { LOGS_METHOD, unary } from './delivery-helpers';

// The test's own protobuf types, loaded from the .proto files (not the relay's codec).
const PROTO_DIR = path.resolve(__dirname, '../../../proto');
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
root.loadSync(['google/rpc/status.proto', 'opentelemetry/proto/collector/logs/v1/logs_service.proto']);
const StatusType = root.lookupType('google.rpc.Status');
const LogsRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const LogsResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

const LIMIT = 64 * 1024;
const TOKEN = `tok-${crypto.randomBytes(12).toString('hex')}`;
const LOGS_PATH = LOGS_METHOD;
const TRACES_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

let relay: RunningRelay;
let httpPort: number;
let grpcPort: number;
let authHttpPort: number;
let authGrpcPort: number;
let grpcClient: grpc.Client;
let authGrpcClient: grpc.Client;
let outFile: string;

// ---------------------------------------------------------------------------------
// Requests

interface RecordSpec {
  body: string;
  traceId?: string;
}

function logsObject(records: (string | RecordSpec)[]) {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bad-requests-test' } }] },
        scopeLogs: [
          {
            scope: { name: 'e2e' },
            logRecords: records.map((r) => {
              const rec = typeof r === 'string' ? { body: r } : r;
              return {
                timeUnixNano: '1700000000000000000',
                body: { stringValue: rec.body },
                ...(rec.traceId !== undefined ? { traceId: rec.traceId } : {}),
              };
            }),
          },
        ],
      },
    ],
  };
}

function logsJson(records: (string | RecordSpec)[]): Buffer {
  return Buffer.from(JSON.stringify(logsObject(records)));
}

/** Protobuf encoding by the test's own protobufjs types (ids given as hex are turned into bytes). */
function logsProto(records: (string | RecordSpec)[]): Buffer {
  const obj = logsObject(records);
  for (const lr of obj.resourceLogs[0].scopeLogs[0].logRecords as { traceId?: string | Buffer }[]) {
    if (typeof lr.traceId === 'string') lr.traceId = Buffer.from(lr.traceId, 'hex');
  }
  return Buffer.from(LogsRequest.encode(LogsRequest.fromObject(obj)).finish());
}

interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string | number>; body?: Buffer | Buffer[] },
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/v1/logs', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = opts.body;
    if (Array.isArray(body)) {
      for (const c of body) req.write(c);
      req.end();
    } else {
      req.end(body);
    }
  });
}

const JSON_CT = { 'content-type': 'application/json' };
const PROTO_CT = { 'content-type': 'application/x-protobuf' };

/** The google.rpc.Status of an error answer, decoded per the answer's content type. */
function statusOf(r: Resp, format: 'json' | 'proto'): { code: number; message: string } {
  if (format === 'json') {
    assert.match(String(r.headers['content-type']), /^application\/json/, 'JSON request gets a JSON error body');
    const obj = JSON.parse(r.body.toString('utf8')) as { code: number; message: string };
    return obj;
  }
  assert.match(String(r.headers['content-type']), /^application\/x-protobuf/, 'protobuf request gets a protobuf error body');
  const st = StatusType.toObject(StatusType.decode(r.body), { defaults: true }) as { code: number; message: string };
  return st;
}

// ---------------------------------------------------------------------------------
// What the relay wrote and counted

function bodiesInFile(): string[] {
  const out: string[] = [];
  for (const line of readJsonLines(outFile) as { resourceLogs?: { scopeLogs?: { logRecords?: { body?: { stringValue?: string } }[] }[] }[] }[]) {
    for (const rl of line.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) out.push(lr.body?.stringValue ?? '');
  }
  return out;
}

async function badRequests(labels: Record<string, string>): Promise<number> {
  return counterValue(await relay.metrics(), 'agentrelay_receiver_bad_requests_total', labels);
}

let goodSeq = 0;
/** A good request right after a bad one: answered 200 and written to the file (the exporter writes before the answer). */
async function goodHttp(after: string, format: 'json' | 'proto' = 'json', port = httpPort, headers: Record<string, string> = {}): Promise<void> {
  const marker = `good-${++goodSeq}-after-${after}`;
  const r = await send(port, {
    headers: { ...(format === 'json' ? JSON_CT : PROTO_CT), ...headers },
    body: format === 'json' ? logsJson([marker]) : logsProto([marker]),
  });
  assert.equal(r.status, 200, `good request after ${after}: ${r.body.toString()}`);
  assert.equal(relay.proc.exitCode, null, 'relay still running');
  assert.ok(bodiesInFile().includes(marker), `good request after ${after} reached the file`);
}

async function goodGrpc(after: string, client = grpcClient, md = new grpc.Metadata()): Promise<void> {
  const marker = `good-${++goodSeq}-after-${after}`;
  const { err, res } = await unary(client, logsProto([marker]), md, LOGS_PATH);
  assert.equal(err, null, `good gRPC request after ${after}: ${err?.message}`);
  const resp = LogsResponse.toObject(LogsResponse.decode(res!)) as { partialSuccess?: unknown };
  assert.equal(resp.partialSuccess, undefined);
  assert.ok(bodiesInFile().includes(marker), `good gRPC request after ${after} reached the file`);
}

interface BadCase {
  name: string;
  request: () => Promise<Resp>;
  status: number;
  /** google.rpc.Code in the Status body. */
  code: number;
  format: 'json' | 'proto';
  reason: string;
  signal: string;
  message: RegExp;
  check?: (r: Resp) => void;
  next?: () => Promise<void>;
}

async function expectBad(c: BadCase): Promise<void> {
  const labels = { component: 'otlp', transport: 'http', signal: c.signal, reason: c.reason };
  const before = await badRequests(labels);
  const r = await c.request();
  assert.equal(r.status, c.status, `${c.name}: status (body: ${r.body.toString('utf8').slice(0, 200)})`);
  const st = statusOf(r, c.format);
  assert.match(st.message, c.message, `${c.name}: message`);
  assert.equal(st.code, c.code, `${c.name}: google.rpc.Code`);
  c.check?.(r);
  assert.equal(await badRequests(labels), before + 1, `${c.name}: counted once with reason=${c.reason}`);
  await (c.next ?? (() => goodHttp(c.name, c.format)))();
}

// ---------------------------------------------------------------------------------

before(async () => {
  [httpPort, grpcPort, authHttpPort, authGrpcPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  relay = await startRelay(
    `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${httpPort}
        max_request_body_size: 64KiB
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
        max_recv_msg_size_mib: 1
  otlp/auth:
    protocols:
      http:
        endpoint: 127.0.0.1:${authHttpPort}
        auth:
          bearer_token: \${env:TOKEN}
      grpc:
        endpoint: 127.0.0.1:${authGrpcPort}
        auth:
          bearer_token: \${env:TOKEN}
exporters:
  file:
    path: out.jsonl
service:
  pipelines:
    logs:
      receivers: [otlp, otlp/auth]
      exporters: [file]
`,
    { env: { TOKEN } },
  );
  outFile = path.join(relay.dir, 'out.jsonl');
  grpcClient = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  authGrpcClient = new grpc.Client(`127.0.0.1:${authGrpcPort}`, grpc.credentials.createInsecure());
});

after(async () => {
  grpcClient?.close();
  authGrpcClient?.close();
  if (relay) {
    const code = await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, relay.output());
  }
});

test('HTTP: a good request in each encoding is accepted and written (control)', async () => {
  await goodHttp('nothing', 'json');
  await goodHttp('nothing', 'proto');
  const gz = zlib.gzipSync(logsJson(['gzipped-good']));
  const r = await send(httpPort, { headers: { ...JSON_CT, 'content-encoding': 'gzip' }, body: gz });
  assert.equal(r.status, 200, r.body.toString());
  assert.ok(bodiesInFile().includes('gzipped-good'));
});

test('HTTP 400: undecodable protobuf body, answered in protobuf', async () => {
  await expectBad({
    name: 'garbage protobuf',
    request: () => send(httpPort, { headers: PROTO_CT, body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]) }),
    status: 400, code: 3, format: 'proto', reason: 'decode', signal: 'logs',
    message: /not a protobuf OTLP logs request/,
  });
});

test('HTTP 400: invalid JSON', async () => {
  await expectBad({
    name: 'invalid JSON',
    request: () => send(httpPort, { headers: JSON_CT, body: Buffer.from('{"resourceLogs": [{"scopeLogs": [') }),
    status: 400, code: 3, format: 'json', reason: 'decode', signal: 'logs',
    message: /not valid JSON/,
  });
});

test('HTTP 400: JSON of the wrong shape names the bad field path', async () => {
  const bad = logsObject(['x']) as { resourceLogs: { scopeLogs: { logRecords: Record<string, unknown>[] }[] }[] };
  bad.resourceLogs[0].scopeLogs[0].logRecords.push({ timeUnixNano: 'yesterday' });
  await expectBad({
    name: 'wrong shape (deep)',
    request: () => send(httpPort, { headers: JSON_CT, body: Buffer.from(JSON.stringify(bad)) }),
    status: 400, code: 3, format: 'json', reason: 'decode', signal: 'logs',
    message: /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[1\]\.timeUnixNano: expected an integer/,
  });
  await expectBad({
    name: 'wrong shape (top)',
    request: () => send(httpPort, { headers: JSON_CT, body: Buffer.from('{"resourceLogs": {"scopeLogs": []}}') }),
    status: 400, code: 3, format: 'json', reason: 'decode', signal: 'logs',
    message: /resourceLogs: expected an array/,
  });
  // Nothing of the refused requests was written.
  assert.ok(!bodiesInFile().includes('x'));
});

test('HTTP 404: unknown path', async () => {
  await expectBad({
    name: 'unknown path',
    request: () => send(httpPort, { path: '/v1/log', headers: JSON_CT, body: logsJson(['never-404']) }),
    status: 404, code: 5, format: 'json', reason: 'path', signal: 'unknown',
    message: /unknown path \/v1\/log\b/,
  });
  assert.ok(!bodiesInFile().includes('never-404'));
});

test('HTTP 404: a signal with no pipeline (POST /v1/traces when only logs are configured)', async () => {
  await expectBad({
    name: 'no traces pipeline',
    request: () => send(httpPort, { path: '/v1/traces', headers: PROTO_CT, body: Buffer.alloc(0) }),
    status: 404, code: 5, format: 'proto', reason: 'no_pipeline', signal: 'traces',
    message: /has no traces pipeline/,
  });
});

test('HTTP 405: GET /v1/logs, with an Allow header', async () => {
  await expectBad({
    name: 'GET',
    request: () => send(httpPort, { method: 'GET', headers: JSON_CT }),
    status: 405, code: 12, format: 'json', reason: 'method', signal: 'logs',
    message: /method GET is not allowed on \/v1\/logs/,
    check: (r) => assert.equal(r.headers.allow, 'POST'),
  });
});

test('HTTP 413: raw body over max_request_body_size (declared length, protobuf)', async () => {
  const big = logsProto([`big-${'x'.repeat(LIMIT + 1024)}`]);
  assert.ok(big.length > LIMIT);
  await expectBad({
    name: 'too large (content-length)',
    request: () => send(httpPort, { headers: { ...PROTO_CT, 'content-length': big.length }, body: big }),
    status: 413, code: 8, format: 'proto', reason: 'too_large', signal: 'logs',
    message: new RegExp(`^request body of ${big.length} bytes exceeds the limit of ${LIMIT} bytes`),
    check: (r) => assert.equal(r.headers.connection, 'close'),
  });
});

test('HTTP 413: raw body over the limit sent chunked (no declared length)', async () => {
  const big = logsJson([`big-${'y'.repeat(LIMIT + 1024)}`]);
  const chunks = [big.subarray(0, 30_000), big.subarray(30_000, 60_000), big.subarray(60_000)];
  await expectBad({
    name: 'too large (chunked)',
    request: () => send(httpPort, { headers: JSON_CT, body: chunks }),
    status: 413, code: 8, format: 'json', reason: 'too_large', signal: 'logs',
    message: new RegExp(`^request body exceeds the limit of ${LIMIT} bytes`),
  });
});

test('HTTP 413: a small gzip body that inflates past the limit', async () => {
  const inflated = logsJson([`bomb-${' '.repeat(1024 * 1024)}`]);
  const gz = zlib.gzipSync(inflated);
  assert.ok(gz.length < LIMIT / 8, `gzip body is small (${gz.length} bytes)`);
  await expectBad({
    name: 'too large after gunzip',
    request: () => send(httpPort, { headers: { ...JSON_CT, 'content-encoding': 'gzip' }, body: gz }),
    status: 413, code: 8, format: 'json', reason: 'too_large', signal: 'logs',
    message: new RegExp(`decompressed request body exceeds the limit of ${LIMIT} bytes`),
    // The next request is gzipped too: the decompression path still works.
    next: async () => {
      const r = await send(httpPort, { headers: { ...JSON_CT, 'content-encoding': 'gzip' }, body: zlib.gzipSync(logsJson(['gzip-after-bomb'])) });
      assert.equal(r.status, 200, r.body.toString());
      assert.ok(bodiesInFile().includes('gzip-after-bomb'));
    },
  });
});

test('HTTP 400: body that is not valid gzip', async () => {
  await expectBad({
    name: 'bad gzip',
    request: () => send(httpPort, { headers: { ...PROTO_CT, 'content-encoding': 'gzip' }, body: Buffer.from('definitely not gzip') }),
    status: 400, code: 3, format: 'proto', reason: 'decompress', signal: 'logs',
    message: /not valid gzip data/,
  });
});

test('HTTP 415: unsupported content type', async () => {
  await expectBad({
    name: 'text/plain',
    request: () => send(httpPort, { headers: { 'content-type': 'text/plain' }, body: Buffer.from('hello') }),
    status: 415, code: 3, format: 'json', reason: 'content_type', signal: 'logs',
    message: /unsupported content type "text\/plain"/,
  });
});

test('HTTP 415: unsupported content encoding', async () => {
  await expectBad({
    name: 'br',
    request: () => send(httpPort, { headers: { ...JSON_CT, 'content-encoding': 'br' }, body: zlib.brotliCompressSync(logsJson(['never-br'])) }),
    status: 415, code: 3, format: 'json', reason: 'content_encoding', signal: 'logs',
    message: /unsupported content encoding "br"/,
  });
  assert.ok(!bodiesInFile().includes('never-br'));
});

test('HTTP partial success: a record with a 3-byte traceId is rejected, the two good ones are written', async () => {
  const m = await relay.metrics();
  const refusedBefore = counterValue(m, 'agentrelay_receiver_refused_items_total', { transport: 'http', reason: 'invalid' });
  const r = await send(httpPort, {
    headers: JSON_CT,
    body: logsJson(['ps-good-1', { body: 'ps-bad', traceId: 'abcdef' }, 'ps-good-2']),
  });
  assert.equal(r.status, 200, r.body.toString());
  const resp = JSON.parse(r.body.toString()) as { partialSuccess?: { rejectedLogRecords?: string; errorMessage?: string } };
  assert.equal(resp.partialSuccess?.rejectedLogRecords, '1');
  assert.match(resp.partialSuccess?.errorMessage ?? '', /trace_id/);
  const bodies = bodiesInFile();
  assert.ok(bodies.includes('ps-good-1') && bodies.includes('ps-good-2'), 'both good records written');
  assert.ok(!bodies.includes('ps-bad'), 'the bad record is not written');
  assert.equal(
    counterValue(await relay.metrics(), 'agentrelay_receiver_refused_items_total', { transport: 'http', reason: 'invalid' }),
    refusedBefore + 1,
  );
});

test('gRPC: garbage bytes -> INVALID_ARGUMENT with a message; the next request succeeds', async () => {
  await goodGrpc('nothing');
  const labels = { component: 'otlp', transport: 'grpc', signal: 'logs', reason: 'decode' };
  const before = await badRequests(labels);
  const { err } = await unary(grpcClient, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), undefined, LOGS_PATH);
  assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, err?.message);
  assert.match(err!.details, /not a protobuf OTLP logs request/);
  assert.equal(await badRequests(labels), before + 1);
  await goodGrpc('grpc garbage');
});

test('gRPC: a message over max_recv_msg_size_mib -> RESOURCE_EXHAUSTED; the next request succeeds', async () => {
  const big = logsProto([`grpc-big-${'z'.repeat(1024 * 1024 + 100)}`]);
  assert.ok(big.length > 1024 * 1024);
  const labels = { component: 'otlp', transport: 'grpc', signal: 'logs', reason: 'too_large' };
  const before = await badRequests(labels);
  const { err } = await unary(grpcClient, big, undefined, LOGS_PATH);
  assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED, err?.message);
  assert.match(err!.details, /exceeds the limit of 1048576 bytes/);
  assert.equal(await badRequests(labels), before + 1);
  assert.ok(!bodiesInFile().some((b) => b.startsWith('grpc-big-')));
  await goodGrpc('grpc too large');
});

test('gRPC: a signal with no pipeline -> UNIMPLEMENTED; the next request succeeds', async () => {
  const labels = { component: 'otlp', transport: 'grpc', signal: 'traces', reason: 'no_pipeline' };
  const before = await badRequests(labels);
  const { err } = await unary(grpcClient, Buffer.alloc(0), undefined, TRACES_PATH);
  assert.equal(err?.code, grpc.status.UNIMPLEMENTED, err?.message);
  assert.match(err!.details, /no traces pipeline/);
  assert.equal(await badRequests(labels), before + 1);
  await goodGrpc('grpc unimplemented');
});

test('gRPC partial success: a record with a 3-byte traceId is rejected', async () => {
  const { err, res } = await unary(grpcClient, logsProto(['gps-good', { body: 'gps-bad', traceId: 'abcdef' }]), undefined, LOGS_PATH);
  assert.equal(err, null, err?.message);
  const resp = LogsResponse.toObject(LogsResponse.decode(res!), { longs: String }) as { partialSuccess?: { rejectedLogRecords?: string } };
  assert.equal(resp.partialSuccess?.rejectedLogRecords, '1');
  const bodies = bodiesInFile();
  assert.ok(bodies.includes('gps-good') && !bodies.includes('gps-bad'));
});

test('auth: HTTP without or with a wrong token -> 401; with it -> 200', async () => {
  const labels = { component: 'otlp/auth', transport: 'http', signal: 'logs', reason: 'auth' };
  const before = await badRequests(labels);
  const variants: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }];
  for (const headers of variants) {
    const r = await send(authHttpPort, { headers: { ...JSON_CT, ...headers }, body: logsJson(['never-unauthenticated']) });
    assert.equal(r.status, 401, r.body.toString());
    assert.equal(r.headers['www-authenticate'], 'Bearer');
    const st = statusOf(r, 'json');
    assert.equal(st.code, 16);
    assert.match(st.message, /bearer token/);
  }
  assert.equal(await badRequests(labels), before + 3);
  assert.ok(!bodiesInFile().includes('never-unauthenticated'));
  await goodHttp('auth', 'json', authHttpPort, { authorization: `Bearer ${TOKEN}` });
  await goodHttp('auth', 'proto', authHttpPort, { authorization: `Bearer ${TOKEN}` });
  // The receiver without auth still takes requests without a token.
  await goodHttp('auth', 'json', httpPort);
});

test('auth: gRPC without or with a wrong token -> UNAUTHENTICATED; with it -> OK', async () => {
  const labels = { component: 'otlp/auth', transport: 'grpc', signal: 'logs', reason: 'auth' };
  const before = await badRequests(labels);
  const wrong = new grpc.Metadata();
  wrong.set('authorization', 'Bearer nope');
  for (const md of [new grpc.Metadata(), wrong]) {
    const { err } = await unary(authGrpcClient, logsProto(['never-grpc-unauthenticated']), md, LOGS_PATH);
    assert.equal(err?.code, grpc.status.UNAUTHENTICATED, err?.message);
  }
  assert.equal(await badRequests(labels), before + 2);
  assert.ok(!bodiesInFile().includes('never-grpc-unauthenticated'));
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  await goodGrpc('grpc auth', authGrpcClient, md);
});

test('the token never appears in the relay output or metrics, and every bad request was counted', async () => {
  assert.ok(relay.output().length > 0, 'the relay logged something');
  assert.ok(!relay.output().includes(TOKEN), 'token absent from the relay output');
  const m = await relay.metrics();
  assert.ok(!m.includes(TOKEN), 'token absent from metrics');
  // Reasons seen over the whole file, HTTP receiver without auth.
  for (const reason of ['decode', 'path', 'method', 'too_large', 'decompress', 'content_type', 'content_encoding']) {
    assert.ok(counterValue(m, 'agentrelay_receiver_bad_requests_total', { component: 'otlp', reason }) > 0, reason);
  }
  assert.equal(counterValue(m, 'agentrelay_receiver_bad_requests_total', { component: 'otlp', transport: 'http', reason: 'too_large' }), 3);
  assert.equal(counterValue(m, 'agentrelay_receiver_bad_requests_total', { component: 'otlp', transport: 'http', reason: 'decode' }), 4);
});
