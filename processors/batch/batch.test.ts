import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { batchProcessor } from './index';
import { Batch } from '../../src/otlp/batch';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import { DeliveryError, type Consumer } from '../../src/pipeline/component';

const logs = (...bodies: string[]) =>
  Batch.fromProto('logs', Batch.fromJsonObject('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b } })) }] }] }).toProto());

function setup(config: object) {
  const got: Batch[] = [];
  const next: Consumer = { consume: async (b) => void got.push(b) };
  const cfg = batchProcessor.schema.check(config, [], { issues: [] })!;
  const p = batchProcessor.create(cfg, { id: 'batch', logger: createLogger({ level: 'silent' }), telemetry: new Telemetry(), signal: 'logs', pipeline: 'logs' }, next);
  const bodies = () => got.map((b) => (JSON.parse(b.toJson().toString()).resourceLogs as any[]).flatMap((r) => r.scopeLogs[0].logRecords.map((l: any) => l.body.stringValue)));
  return { p, got, bodies };
}

test('sends when send_batch_size items are held, in arrival order', async () => {
  const { p, got, bodies } = setup({ send_batch_size: 3, timeout: '10s' });
  await p.consume(logs('a', 'b'));
  assert.equal(got.length, 0);
  await p.consume(logs('c'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(bodies(), [['a', 'b', 'c']]);
  await p.consume(logs('d'));
  await p.shutdown!(Date.now() + 1000);
  assert.deepEqual(bodies(), [['a', 'b', 'c'], ['d']], 'shutdown flushes what is held');
});

test('sends after the timeout', async () => {
  const { p, got, bodies } = setup({ timeout: '50ms' });
  await p.consume(logs('x'));
  assert.equal(got.length, 0);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(bodies(), [['x']]);
  await p.shutdown!(Date.now() + 1000);
});

test('sends when send_batch_max_bytes is reached', async () => {
  const { p, bodies } = setup({ send_batch_max_bytes: 50, timeout: '10s' });
  await p.consume(logs('0123456789'));
  await p.consume(logs('0123456789'));
  await p.consume(logs('0123456789'));
  await new Promise((r) => setImmediate(r));
  assert.equal(bodies().length, 1);
  assert.equal(bodies()[0].length, 3);
  await p.shutdown!(Date.now() + 1000);
});

test('the joined request reuses the received protobuf bytes without decoding', async () => {
  const { p, got } = setup({ send_batch_size: 2, timeout: '10s' });
  const a = logs('a');
  const b = logs('b');
  await p.consume(a);
  await p.consume(b);
  await new Promise((r) => setImmediate(r));
  assert.equal(got[0].isUndecoded(), true);
  assert.deepEqual(Buffer.from(got[0].toProto()), Buffer.concat([a.toProto(), b.toProto()]));
  assert.equal(got[0].itemCount(), 2);
  await p.shutdown!(Date.now() + 1000);
});

test('requests with different client metadata are never joined', async () => {
  const { p, got } = setup({ send_batch_size: 2, timeout: '10s' });
  const a = logs('a');
  a.metadata = { 'x-team': 'red' };
  const b = logs('b');
  b.metadata = { 'x-team': 'blue' };
  const c = logs('c');
  c.metadata = { 'x-team': 'red' };
  await p.consume(a);
  await p.consume(b);
  await p.consume(c);
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].metadata, { 'x-team': 'red' });
  assert.equal(got[0].itemCount(), 2);
  await p.shutdown!(Date.now() + 1000);
  assert.deepEqual(got[1].metadata, { 'x-team': 'blue' });
});

test('acknowledge: after_flush answers each sender once its flush is taken downstream, and passes refusals back', async () => {
  const got: Batch[] = [];
  let refuse = false;
  const next: Consumer = {
    consume: async (b) => {
      await new Promise((r) => setTimeout(r, 20));
      if (refuse) throw new DeliveryError('sending queue is full', true, 3000);
      got.push(b);
    },
  };
  const cfg = batchProcessor.schema.check({ timeout: '30ms', acknowledge: 'after_flush' }, [], { issues: [] })!;
  const p = batchProcessor.create(cfg, { id: 'batch', logger: createLogger({ level: 'silent' }), telemetry: new Telemetry(), signal: 'logs', pipeline: 'logs' }, next);
  await p.start!();
  let answered = 0;
  const a = p.consume(logs('a')).then(() => answered++);
  const b = p.consume(logs('b')).then(() => answered++);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(answered, 0, 'nobody is answered before the flush');
  await Promise.all([a, b]);
  assert.equal(got.length, 1, 'both requests went in one flush, taken before the answers');

  refuse = true;
  const c = p.consume(logs('c'));
  const d = p.consume(logs('d'));
  for (const x of [c, d]) await assert.rejects(x, (e: unknown) => e instanceof DeliveryError && e.retryable && e.retryAfterMs === 3000);
  await p.shutdown!(Date.now() + 1000);
});

test('acknowledge: auto answers on receipt when no exporter has a persistent queue', async () => {
  const cfg = batchProcessor.schema.check({}, [], { issues: [] })!;
  assert.equal(cfg.acknowledge, 'auto');
  const { p, got } = setup({ timeout: '10s' });
  await p.start?.();
  await p.consume(logs('x'));
  assert.equal(got.length, 0, 'answered while still held');
  await p.shutdown!(Date.now() + 1000);
  assert.equal(got.length, 1);
});
