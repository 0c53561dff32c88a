// The relay's own metrics can also be pushed over OTLP (service.telemetry.metrics.otlp),
// e.g. to the same backend as the agents' data: a second relay receives them here.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { freePort, readJsonLines, startRelay, waitFor } from '../helpers/relay-process';

test('own metrics pushed over OTLP/HTTP carry the counts of what the relay accepted', async () => {
  const bPort = await freePort();
  const aPort = await freePort();
  const backend = await startRelay(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${bPort}}
exporters:
  file: {path: ./own-metrics.jsonl}
service:
  pipelines:
    metrics: {receivers: [otlp], exporters: [file]}
`);
  const relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${aPort}}
exporters:
  debug: {}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [debug]}
  telemetry:
    logs: {format: json}
    health: {endpoint: 127.0.0.1:HEALTH}
    metrics: {address: 127.0.0.1:METRICS, otlp: {endpoint: "http://127.0.0.1:${bPort}/v1/metrics", interval: 300ms}}
`);
  try {
    const body = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'a' } }, { body: { stringValue: 'b' } }, { body: { stringValue: 'c' } }] }] }] };
    const r = await fetch(`http://127.0.0.1:${aPort}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200);
    const file = path.join(backend.dir, 'own-metrics.jsonl');
    const accepted = await waitFor(
      () => {
        let last: number | undefined;
        for (const line of readJsonLines(file)) {
          for (const rm of (line.resourceMetrics as any[]) ?? [])
            for (const sm of rm.scopeMetrics ?? [])
              for (const m of sm.metrics ?? []) {
                if (m.name !== 'agentrelay_receiver_accepted_items') continue;
                for (const dp of m.sum?.dataPoints ?? []) {
                  const attrs = Object.fromEntries((dp.attributes ?? []).map((a: any) => [a.key, a.value.stringValue]));
                  if (attrs.component === 'otlp' && attrs.signal === 'logs') last = Number(dp.asInt ?? dp.asDouble);
                }
              }
        }
        return last === 3 ? last : undefined;
      },
      15000,
      'agentrelay_receiver_accepted_items = 3 at the backend',
    );
    assert.equal(accepted, 3);
  } finally {
    assert.equal(await relay.stop(), 0);
    assert.equal(await backend.stop(), 0);
  }
});
