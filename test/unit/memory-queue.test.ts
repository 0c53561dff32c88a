// The in-memory sending queue's wake policy: batches that arrive in one event-loop
// turn go to one consumer as one request; while a request is in flight, new batches
// wait for it unless a full request's worth is waiting; nothing is ever left behind.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { Batch } from '../../src/otlp/batch';
import { LINGER_MS, MemoryQueue, MERGE_MAX_BYTES, MERGE_MAX_ITEMS, type QueueBounds, type Taken } from '../../src/exporters/queues';

const bounds: QueueBounds = { requests: 100_000, items: 0, bytes: 0, whenFull: 'refuse', retryAfterMs: 1000 };
const events = { dropped: () => undefined, refused: () => undefined };

function logs(n: number, tag = 'x'): Batch {
  const json = Batch.fromJsonObject('logs', {
    resourceLogs: [{ scopeLogs: [{ logRecords: Array.from({ length: n }, (_, i) => ({ body: { stringValue: `${tag}${i}` } })) }] }],
  });
  return Batch.fromProto('logs', json.toProto());
}

/** A consumer as the sender runs one: take, then whatever else fits, then "send" until `release` is called. */
function consumer(q: MemoryQueue, stop: AbortSignal, log: number[][]) {
  let release: () => void = () => undefined;
  const state = { sending: false, release: () => release() };
  const run = async () => {
    for (;;) {
      const t = await q.take(stop);
      if (!t) return;
      const more = q.takeWaiting(MERGE_MAX_ITEMS - t.items, MERGE_MAX_BYTES - t.batch.toProto().length);
      log.push([t, ...more].map((x: Taken) => x.items));
      state.sending = true;
      await new Promise<void>((r) => (release = r));
      state.sending = false;
    }
  };
  return { state, done: run() };
}

/** A queue with four consumers parked on it, and the way to stop them. */
async function rig(b: QueueBounds = bounds) {
  const q = new MemoryQueue(b, events, 4);
  const stop = new AbortController();
  const log: number[][] = [];
  const cs = [0, 1, 2, 3].map(() => consumer(q, stop.signal, log));
  await turn();
  const sending = () => cs.filter((c) => c.state.sending);
  const end = async () => {
    stop.abort();
    for (const c of cs) c.state.release();
    await q.close();
  };
  return { q, log, sending, end };
}

/** Lets the queue's wake (setImmediate) and the woken consumers run. */
async function turns(): Promise<void> {
  await turn();
  await turn();
}

test('batches offered in one turn go out as one request to one consumer', async () => {
  const { q, log, sending, end } = await rig();
  await Promise.all([q.offer(logs(1)), q.offer(logs(2)), q.offer(logs(3))]);
  await turns();
  assert.deepEqual(log, [[1, 2, 3]]);
  assert.equal(sending().length, 1);
  await end();
});

test('while a request is in flight, new batches wait for it and then go out together', async () => {
  const { q, log, sending, end } = await rig();
  await q.offer(logs(5));
  await turns();
  assert.deepEqual(log, [[5]]);
  // Two more turns' worth arrive while the first is being sent: no other consumer starts.
  await q.offer(logs(6));
  await turn();
  await q.offer(logs(7));
  await turns();
  assert.deepEqual(log, [[5]]);
  assert.equal(q.stats().requests, 2);
  sending()[0].state.release();
  await turns();
  assert.deepEqual(log, [[5], [6, 7]]);
  assert.equal(q.stats().requests, 0);
  await end();
});

test('a full request waiting behind one in flight wakes another consumer', async () => {
  const { q, log, sending, end } = await rig();
  await q.offer(logs(1));
  await turns();
  // MERGE_MAX_ITEMS and a bit: one full request, and the rest waits.
  const big = Math.ceil(MERGE_MAX_ITEMS / 2);
  await Promise.all([q.offer(logs(big)), q.offer(logs(big)), q.offer(logs(3))]);
  await turns();
  assert.deepEqual(log, [[1], [big, big]], 'the full request went out at once; the 3 items wait');
  assert.equal(sending().length, 2);
  for (const c of sending()) c.state.release();
  await turns();
  assert.equal(log.flat().reduce((a, b) => a + b, 0), 1 + 2 * big + 3, 'every item was taken');
  await end();
});

test('batches waiting behind a request that does not finish (a slow backend, a retry) go out after LINGER_MS', async () => {
  const { q, log, sending, end } = await rig();
  await q.offer(logs(1));
  await turns();
  await q.offer(logs(2));
  await q.offer(logs(3));
  await turns();
  assert.deepEqual(log, [[1]], 'they wait for the request in flight at first');
  await new Promise((r) => setTimeout(r, LINGER_MS + 30));
  assert.deepEqual(log, [[1], [2, 3]], 'after LINGER_MS another consumer took them, the first still in flight');
  assert.equal(sending().length, 2);
  await end();
});

test('a queue half full by its request bound starts another consumer at once', async () => {
  const { q, log, sending, end } = await rig({ ...bounds, requests: 6 });
  await q.offer(logs(1));
  await turns();
  await q.offer(logs(1));
  await q.offer(logs(1));
  await turns();
  assert.deepEqual(log, [[1]], 'two of six: they wait');
  await q.offer(logs(1));
  await turns();
  assert.deepEqual(log, [[1], [1, 1, 1]], 'three of six: another consumer took them without waiting LINGER_MS');
  await end();
});
