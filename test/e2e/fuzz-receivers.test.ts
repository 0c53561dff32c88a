// Fuzzing both receivers of a real relay process with fast-check: thousands of
// malformed, truncated, mutated, oversized, deeply nested and wrongly encoded
// requests over HTTP and gRPC. The relay must not crash or hang; every HTTP
// answer is 200 (a mutation that happens to be valid) or a proper 4xx with a
// google.rpc.Status body, never a 5xx; every gRPC answer is OK or one of the
// statuses a bad request earns; good requests before and after are delivered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import fc from 'fast-check';
import { freePort, readJsonLines, startRelay, type RunningRelay } from '../helpers/relay-process';
import { listFixtures } from '../helpers/fixtures';
import { logsJson, logsProto, unary } from './delivery-helpers';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const LIMIT = 64 * 1024;
const RUNS_HTTP = 2000;
const RUNS_GRPC = 1200;
const SEED = Number(process.env.FUZZ_SEED ?? 20240917);

let relay: RunningRelay;
let httpPort: number;
let grpcPort: number;
const clients: grpc.Client[] = [];

before(async () => {
  httpPort = await freePort();
  grpcPort = await freePort();
  relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}, max_request_body_size: ${LIMIT}, max_decompressed_body_size: ${4 * LIMIT}}
      grpc: {endpoint: 127.0.0.1:${grpcPort}, max_recv_msg_size_mib: 1}
exporters:
  file:
    path: out.jsonl
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [file]}
    metrics: {receivers: [otlp], exporters: [file]}
    traces: {receivers: [otlp], exporters: [file]}
`);
});

after(async () => {
  for (const c of clients) c.close();
  if (relay) {
    const code = await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, relay.output().slice(-3000));
  }
});

function delivered(): Set<string> {
  const out = new Set<string>();
  for (const line of readJsonLines(path.join(relay.dir, 'out.jsonl')) as Json[])
    for (const rl of line.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) out.add(lr.body?.stringValue);
  return out;
}

function alive(): void {
  assert.ok(relay.proc.exitCode === null && relay.proc.signalCode === null, `relay died:\n${relay.output().slice(-3000)}`);
}

// ---------------------------------------------------------------------------
// Inputs

/** Valid requests of every signal, protobuf and JSON, from the recorded fixtures. */
const seeds: { signal: string; format: 'json' | 'proto'; bytes: Buffer }[] = listFixtures().map((f) => ({
  signal: f.signal,
  format: f.format,
  bytes: fs.readFileSync(f.file),
}));

/** An AnyValue nested `depth` times (arrayValue in arrayValue), as protobuf bytes of a logs request. */
function nestedProto(depth: number): Buffer {
  let v = protobuf.Writer.create().uint32(10).string('leaf').finish(); // AnyValue { string_value }
  for (let i = 0; i < depth; i++) {
    const arr = protobuf.Writer.create().uint32(10).bytes(v).finish(); // ArrayValue { values }
    v = protobuf.Writer.create().uint32(42).bytes(arr).finish(); // AnyValue { array_value = 5 }
  }
  const record = protobuf.Writer.create().uint32(42).bytes(v).finish(); // LogRecord { body = 5 }
  const scope = protobuf.Writer.create().uint32(18).bytes(record).finish(); // ScopeLogs { log_records = 2 }
  const resource = protobuf.Writer.create().uint32(18).bytes(scope).finish(); // ResourceLogs { scope_logs = 2 }
  return Buffer.from(protobuf.Writer.create().uint32(10).bytes(resource).finish()); // ExportLogsServiceRequest
}

/** OTLP/JSON logs whose one body nests kvlistValue `depth` times. */
function nestedJson(depth: number): Buffer {
  let v = '{"stringValue":"leaf"}';
  for (let i = 0; i < depth; i++) v = `{"kvlistValue":{"values":[{"key":"k","value":${v}}]}}`;
  return Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${v}}]}]}]}`);
}

const mutate = (bytes: Buffer, edits: [number, number][], cut: number) => {
  const b = Buffer.from(bytes.subarray(0, Math.max(0, Math.min(bytes.length, cut))));
  for (const [at, x] of edits) if (b.length) b[at % b.length] ^= x || 1;
  return b;
};

const seedArb = fc.constantFrom(...seeds);
const bodyArb: fc.Arbitrary<{ body: Buffer; kind: string }> = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((u) => ({ body: Buffer.from(u), kind: 'random bytes' })),
  fc.tuple(seedArb, fc.nat()).map(([s, n]) => ({ body: s.bytes.subarray(0, n % (s.bytes.length + 1)), kind: 'truncated' })),
  fc.tuple(seedArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })).map(([s, e]) => ({
    body: mutate(s.bytes, e, s.bytes.length),
    kind: 'mutated',
  })),
  fc.jsonValue({ maxDepth: 6 }).map((j) => ({ body: Buffer.from(JSON.stringify(j) ?? 'null'), kind: 'random json' })),
  fc.record({ resourceLogs: fc.array(fc.anything({ maxDepth: 4 }), { maxLength: 3 }) }).map((o) => ({ body: Buffer.from(JSON.stringify(o)), kind: 'wrong json shape' })),
  fc.integer({ min: 10, max: 20000 }).map((d) => ({ body: nestedJson(d), kind: 'deep json' })),
  fc.integer({ min: 10, max: 3000 }).map((d) => ({ body: nestedProto(d), kind: 'deep protobuf' })),
  fc.integer({ min: 1, max: 200000 }).map((d) => ({ body: Buffer.from('['.repeat(d) + ']'.repeat(d)), kind: 'deep brackets' })),
  fc.constant({ body: Buffer.alloc(LIMIT + 1000, 7), kind: 'oversized' }),
  fc.constant({ body: Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"\xff\xfe bad utf8"}}]}]}]}', 'latin1'), kind: 'bad utf8' }),
  fc.string({ maxLength: 200 }).map((t) => ({ body: Buffer.from(t, 'utf16le'), kind: 'utf16' })),
);

// Mostly well-addressed requests, so that most bodies reach the decoders.
const httpArb = fc.record({
  path: fc.oneof(
    { arbitrary: fc.constantFrom('/v1/logs', '/v1/metrics', '/v1/traces'), weight: 9 },
    { arbitrary: fc.constantFrom('/', '/v1/log', '/v1/logs/', '/v1/traces?x=1', '//v1/logs'), weight: 1 },
  ),
  method: fc.oneof({ arbitrary: fc.constant('POST'), weight: 19 }, { arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE'), weight: 1 }),
  contentType: fc.oneof(
    { arbitrary: fc.constantFrom('application/x-protobuf', 'application/json', 'application/json; charset=utf-8', 'application/protobuf'), weight: 9 },
    { arbitrary: fc.constantFrom('text/plain', '', 'application/xml', 'multipart/form-data; boundary=x'), weight: 1 },
  ),
  encoding: fc.constantFrom('none', 'none', 'none', 'gzip', 'deflate', 'gzip-lie', 'br', 'gzip-bomb'),
  payload: bodyArb,
});

type HttpCase = typeof httpArb extends fc.Arbitrary<infer T> ? T : never;

function encodeBody(c: HttpCase): { body: Buffer; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  if (c.contentType) headers['content-type'] = c.contentType;
  let body = c.payload.body;
  switch (c.encoding) {
    case 'gzip':
      body = zlib.gzipSync(body);
      headers['content-encoding'] = 'gzip';
      break;
    case 'deflate':
      body = zlib.deflateSync(body);
      headers['content-encoding'] = 'deflate';
      break;
    case 'gzip-lie':
      headers['content-encoding'] = 'gzip';
      break;
    case 'br':
      headers['content-encoding'] = 'br';
      break;
    case 'gzip-bomb':
      body = zlib.gzipSync(Buffer.alloc(8 * LIMIT));
      headers['content-encoding'] = 'gzip';
      break;
  }
  return { body, headers };
}

const HTTP_ALLOWED = new Set([200, 400, 404, 405, 413, 415]);

function send(c: HttpCase): Promise<{ status: number; body: Buffer; contentType: string }> {
  const { body, headers } = encodeBody(c);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: httpPort, method: c.method, path: c.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (x: Buffer) => chunks.push(x));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), contentType: String(res.headers['content-type']) }));
    });
    req.setTimeout(10000, () => req.destroy(new Error(`no answer in 10 s to ${c.payload.kind}`)));
    // A relay that answers before reading a large body may close the connection under us: not a failure.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? resolve({ status: -1, body: Buffer.alloc(0), contentType: '' }) : reject(e)));
    req.end(body);
  });
}

async function goodHttp(marker: string): Promise<void> {
  const r = await send({ path: '/v1/logs', method: 'POST', contentType: 'application/json', encoding: 'none', payload: { body: logsJson([marker]), kind: 'good' } });
  assert.equal(r.status, 200, r.body.toString());
  assert.ok(delivered().has(marker), `${marker} delivered`);
}

async function goodGrpc(client: grpc.Client, marker: string): Promise<void> {
  const { err } = await unary(client, logsProto([marker]));
  assert.equal(err, null, err?.message);
  assert.ok(delivered().has(marker), `${marker} delivered`);
}

test(`HTTP receiver: ${RUNS_HTTP} fuzzed requests, each answered 200 or a proper 4xx; good requests still delivered`, async (t) => {
  await goodHttp('http-before');
  const seen = new Map<number, number>();
  let resets = 0;
  await fc.assert(
    fc.asyncProperty(httpArb, async (c) => {
      const r = await send(c);
      if (r.status === -1) {
        // Only an oversized or bomb body may see its connection closed early.
        assert.ok(c.payload.kind === 'oversized' || c.encoding === 'gzip-bomb' || c.payload.body.length > LIMIT, `reset on ${c.payload.kind}`);
        resets++;
        return;
      }
      seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
      assert.ok(HTTP_ALLOWED.has(r.status), `${r.status} for ${c.payload.kind} ${c.method} ${c.path} (${c.encoding}): ${r.body.toString().slice(0, 300)}`);
      if (r.status !== 200) {
        const st = r.contentType.includes('json') ? (JSON.parse(r.body.toString()) as { message?: string }) : { message: r.body.length ? 'protobuf status' : undefined };
        assert.ok(st.message, `an error answer carries a message (${r.status})`);
      }
    }),
    { numRuns: RUNS_HTTP, seed: SEED, endOnFailure: true },
  );
  t.diagnostic(`HTTP answers: ${JSON.stringify(Object.fromEntries(seen))}, early closes: ${resets}`);
  alive();
  await goodHttp('http-after');
  assert.equal((await fetch(`http://127.0.0.1:${relay.healthPort}/healthz`)).status, 200);
});

const GRPC_ALLOWED = new Set([grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]);

test(`gRPC receiver: ${RUNS_GRPC} fuzzed messages, each answered OK or INVALID_ARGUMENT / RESOURCE_EXHAUSTED`, async (t) => {
  const plain = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  const gzip = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
  clients.push(plain, gzip);
  await goodGrpc(plain, 'grpc-before');
  const seen = new Map<number, number>();
  const methods = ['logs.v1.LogsService', 'metrics.v1.MetricsService', 'trace.v1.TraceService'].map((s) => `/opentelemetry.proto.collector.${s}/Export`);
  await fc.assert(
    fc.asyncProperty(bodyArb, fc.constantFrom(...methods), fc.boolean(), async (p, method, compressed) => {
      const { err } = await unary(compressed ? gzip : plain, p.body, new grpc.Metadata(), method);
      const code = err?.code ?? grpc.status.OK;
      seen.set(code, (seen.get(code) ?? 0) + 1);
      assert.ok(GRPC_ALLOWED.has(code), `${grpc.status[code]} for ${p.kind}: ${err?.details}`);
    }),
    { numRuns: RUNS_GRPC, seed: SEED, endOnFailure: true },
  );
  t.diagnostic(`gRPC answers: ${JSON.stringify(Object.fromEntries([...seen].map(([k, v]) => [grpc.status[k], v])))}`);
  alive();
  await goodGrpc(plain, 'grpc-after');
  await goodHttp('http-after-grpc');
});
