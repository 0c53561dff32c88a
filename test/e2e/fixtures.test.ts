// Every recorded agent payload (../shared/fixtures/agents) through two relays:
//
//   POST /v1/<signal> (OTLP/JSON or protobuf, as recorded) --> relay A (no processors)
//   relay A --`otlp` exporter: protobuf over gRPC--> relay B --> file (one OTLP/JSON request per line)
//
// Each fixture is sent alone and its line awaited before the next, so line N of B's
// file belongs to fixture N. What arrived must equal what was sent, compared with
// firstDifference (no relay codec). The .pb fixtures have no JSON recording of the
// same run, so they are decoded here with protobufjs straight from the .proto files
// in proto/ (the OTLP spec), and their id bytes turned into hex by this file.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { counterValue, freePort, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';
import { firstDifference } from '../helpers/otlp-compare';
import { listFixtures } from '../helpers/fixtures';
import { decodePb, plainType } from '../helpers/plain-proto';
import type { Signal } from '../../src/otlp/schema';

for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'grpc_proxy', 'all_proxy', 'ALL_PROXY']) delete process.env[k];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// ---------------------------------------------------------------------------
// Items per request, counted the Collector's way (log records, spans, data points)

function countItems(signal: Signal, req: Json): number {
  let n = 0;
  if (signal === 'logs') {
    for (const rl of req.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) n += (sl.logRecords ?? []).length;
  } else if (signal === 'traces') {
    for (const rs of req.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += (ss.spans ?? []).length;
  } else {
    for (const rm of req.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? [])
          for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) n += (m[kind]?.dataPoints ?? []).length;
  }
  return n;
}

const TOP_KEY: Record<Signal, string> = { logs: 'resourceLogs', metrics: 'resourceMetrics', traces: 'resourceSpans' };

/** Reads the lines appended to `file` since `offset` (bytes); returns them and the new offset. */
function readNewLines(file: string, offset: number): { lines: string[]; offset: number } {
  if (!fs.existsSync(file)) return { lines: [], offset };
  const size = fs.statSync(file).size;
  if (size <= offset) return { lines: [], offset };
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    const end = buf.lastIndexOf(0x0a);
    if (end < 0) return { lines: [], offset };
    return { lines: buf.subarray(0, end).toString('utf8').split('\n'), offset: offset + end + 1 };
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------

const fixtures = listFixtures();

describe('agent fixtures through relay A (OTLP/HTTP in) and relay B (OTLP/gRPC in, file out)', () => {
  let relayA: RunningRelay | undefined;
  let relayB: RunningRelay | undefined;
  let outDir = '';
  let outFile = '';
  let aHttp = 0;
  let offset = 0;
  const sentItems: Record<Signal, number> = { logs: 0, metrics: 0, traces: 0 };

  before(async () => {
    const dir = (outDir = tempDir('agentrelay-fixtures-e2e-'));
    outFile = path.join(dir, 'out.jsonl');
    const [bGrpc, bHttp, aGrpc] = await Promise.all([freePort(), freePort(), freePort()]);
    aHttp = await freePort();
    relayB = await startRelay(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:${bGrpc}}
      http: {endpoint: 127.0.0.1:${bHttp}}
exporters:
  file: {path: ${JSON.stringify(outFile)}}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [file]}
    metrics: {receivers: [otlp], exporters: [file]}
    traces: {receivers: [otlp], exporters: [file]}
`);
    relayA = await startRelay(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:${aGrpc}}
      http: {endpoint: 127.0.0.1:${aHttp}}
exporters:
  otlp:
    endpoint: 127.0.0.1:${bGrpc}
    tls: {insecure: true}
    retry_on_failure: {initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 10s}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [otlp]}
    metrics: {receivers: [otlp], exporters: [otlp]}
    traces: {receivers: [otlp], exporters: [otlp]}
`);
  });

  after(async () => {
    await relayA?.stop();
    await relayB?.stop();
    for (const d of [outDir, relayA?.dir, relayB?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  test('the fixture set is there: JSON and protobuf, all three signals', () => {
    assert.ok(fixtures.length >= 20, `only ${fixtures.length} fixtures found`);
    for (const format of ['json', 'proto'] as const)
      for (const signal of ['logs', 'metrics', 'traces'] as const)
        assert.ok(fixtures.some((f) => f.format === format && f.signal === signal), `no ${format} ${signal} fixture`);
  });

  for (const fx of fixtures) {
    test(`${fx.name} arrives unchanged`, async () => {
      const body = fs.readFileSync(fx.file);
      const original = fx.format === 'json' ? (JSON.parse(body.toString('utf8')) as Json) : decodePb(fx.signal, body);
      const items = countItems(fx.signal, original);
      assert.ok(items > 0, `${fx.name}: a fixture without items proves nothing`);

      const contentType = fx.format === 'json' ? 'application/json' : 'application/x-protobuf';
      const res = await fetch(`http://127.0.0.1:${aHttp}/v1/${fx.signal}`, { method: 'POST', headers: { 'content-type': contentType }, body });
      const answer = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, `${fx.name}: HTTP ${res.status}: ${answer.toString('utf8')}`);
      assert.equal(res.headers.get('content-type'), contentType, `${fx.name}: the answer is in the request's encoding`);
      if (fx.format === 'json') {
        const ps = (JSON.parse(answer.toString('utf8') || '{}') as Json).partialSuccess;
        assert.ok(!ps || Object.keys(ps).length === 0, `${fx.name}: partial success ${JSON.stringify(ps)}`);
      } else {
        const resp = plainType(fx.signal, 'Response');
        const obj = resp.toObject(resp.decode(answer), { longs: String });
        assert.ok(!obj.partialSuccess, `${fx.name}: partial success ${JSON.stringify(obj.partialSuccess)}`);
      }
      sentItems[fx.signal] += items;

      let got: string[] = [];
      await waitFor(
        () => {
          const r = readNewLines(outFile, offset);
          offset = r.offset;
          got = got.concat(r.lines);
          return got.length > 0;
        },
        10_000,
        `${fx.name} to reach relay B's file`,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\nrelay A:\n${relayA?.output().slice(-3000)}\nrelay B:\n${relayB?.output().slice(-3000)}`);
      });
      assert.equal(got.length, 1, `${fx.name}: one request in, ${got.length} requests out`);
      const received = JSON.parse(got[0]) as Json;
      assert.deepEqual(Object.keys(received), [TOP_KEY[fx.signal]], `${fx.name}: the line holds ${fx.signal}`);
      assert.equal(countItems(fx.signal, received), items, `${fx.name}: item count`);
      const diff = firstDifference(original, received);
      assert.equal(diff, null, `${fx.name}: changed on the way: ${diff}`);
    });
  }

  test("relay A's and relay B's counters count every item", async () => {
    const aText = await relayA!.metrics();
    const bText = await relayB!.metrics();
    for (const signal of ['logs', 'metrics', 'traces'] as const) {
      assert.ok(sentItems[signal] > 0, `no ${signal} were sent`);
      assert.equal(
        counterValue(aText, 'agentrelay_receiver_accepted_items_total', { component: 'otlp', transport: 'http', signal }),
        sentItems[signal],
        `A accepted ${signal} items`,
      );
      assert.equal(counterValue(aText, 'agentrelay_exporter_sent_items_total', { component: 'otlp', signal }), sentItems[signal], `A sent ${signal} items`);
      assert.equal(
        counterValue(bText, 'agentrelay_receiver_accepted_items_total', { component: 'otlp', transport: 'grpc', signal }),
        sentItems[signal],
        `B accepted ${signal} items`,
      );
      assert.equal(counterValue(bText, 'agentrelay_exporter_sent_items_total', { component: 'file', signal }), sentItems[signal], `B wrote ${signal} items`);
    }
    for (const text of [aText, bText]) {
      for (const bad of ['receiver_refused_items', 'receiver_bad_requests', 'exporter_failed_items', 'exporter_dropped_items', 'exporter_partial_success_items'])
        assert.equal(counterValue(text, `agentrelay_${bad}_total`), 0, bad);
    }
    assert.equal(await relayA!.stop(), 0, `relay A exit code; output:\n${relayA!.output()}`);
    assert.equal(await relayB!.stop(), 0, `relay B exit code; output:\n${relayB!.output()}`);
  });
});

