// The write-ahead log and the persistent sending queue on a real directory:
// records come back in order after a close and after an unclean stop (no close),
// acknowledged records do not, damaged bytes (torn tail, flipped bits in the
// middle, a torn segment header, garbage files) are skipped and counted without
// refusing to open, segments are deleted as records are acknowledged, the bounds
// apply with each when_full policy, and a segment of an unknown newer format is
// left alone.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../../src/otlp/batch';
import { DeliveryError } from '../../src/pipeline/component';
import { FORMAT_VERSION, WriteAheadLog, type WalOptions } from '../../src/exporters/persistent-queue';
import { PersistentQueue, type QueueBounds, type QueueEvents } from '../../src/exporters/queues';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'agentrelay-wal-'));

function logs(...bodies: string[]): Batch {
  const json = Batch.fromJsonObject('logs', {
    resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'wal-test' } }] }, scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b } })) }] }],
  });
  return Batch.fromProto('logs', json.toProto());
}

function bodiesOf(proto: Uint8Array): string[] {
  const b = Batch.fromProto('logs', proto);
  return (b.toJsonObject().resourceLogs as any[]).flatMap((r) => r.scopeLogs.flatMap((s: any) => s.logRecords.map((l: any) => l.body.stringValue)));
}

function openWal(dir: string, extra: Partial<WalOptions> = {}): { wal: WriteAheadLog; damage: string[] } {
  const damage: string[] = [];
  const wal = WriteAheadLog.open({ directory: dir, fsync: 'always', fsyncIntervalMs: 100, segmentBytes: 1 << 20, onCorrupt: (_f, _o, what) => damage.push(what), ...extra });
  return { wal, damage };
}

async function appendAll(wal: WriteAheadLog, n: number, prefix = 'r'): Promise<number[]> {
  const entries = await Promise.all(
    Array.from({ length: n }, (_, i) => wal.append({ signal: 'logs', items: 1, metadata: i % 2 ? { tenant: `t${i}` } : {}, proto: logs(`${prefix}${i}`).toProto() })),
  );
  return entries.map((e) => e.seq);
}

async function pendingBodies(wal: WriteAheadLog): Promise<string[]> {
  const out: string[] = [];
  for (const e of wal.pending()) out.push(...bodiesOf((await wal.read(e)).proto));
  return out;
}

/** Forgets an open log without closing it, as a killed process would (its lock is left behind too). */
function abandon(wal: WriteAheadLog): void {
  for (const fd of [(wal as any).fd, ...((wal as any).segments as any[]).map((s) => s.readFd)]) {
    if (typeof fd === 'number' && fd >= 0) fs.closeSync(fd);
  }
  clearInterval((wal as any).syncTimer);
  clearTimeout((wal as any).ackTimer);
  (wal as any).closed = true;
}

test('records come back in order with their metadata after close; acknowledged ones do not', async () => {
  const dir = tmp();
  const { wal } = openWal(dir);
  const seqs = await appendAll(wal, 20);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'sequence numbers grow');
  wal.ack(seqs.filter((_, i) => i % 3 === 0));
  await wal.close();

  const { wal: again, damage } = openWal(dir);
  assert.deepEqual(damage, []);
  const want = Array.from({ length: 20 }, (_, i) => `r${i}`).filter((_, i) => i % 3 !== 0);
  assert.deepEqual(await pendingBodies(again), want);
  const withMeta = again.pending().find((e) => e.seq === seqs[1])!;
  assert.deepEqual((await again.read(withMeta)).metadata, { tenant: 't1' });
  // New records continue the sequence after the recovered ones.
  const [next] = await appendAll(again, 1, 'late');
  assert.ok(next > Math.max(...seqs));
  await again.close();
});

test('an unclean stop (no close, lock left behind) loses nothing that append resolved', async () => {
  const dir = tmp();
  const { wal } = openWal(dir, { fsync: 'never' });
  await appendAll(wal, 50);
  abandon(wal);
  // A lock naming a process that is gone is taken over.
  fs.writeFileSync(path.join(dir, 'LOCK'), '999999999');
  const { wal: again, damage } = openWal(dir);
  assert.deepEqual(damage, []);
  assert.equal(again.pending().length, 50);
  assert.deepEqual(await pendingBodies(again), Array.from({ length: 50 }, (_, i) => `r${i}`));
  await again.close();
});

test('a live process holding the directory is refused with a clear message', async () => {
  const dir = tmp();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'LOCK'), String(process.ppid));
  assert.throws(() => openWal(dir), /in use by process/);
});

test('a torn tail is cut off and counted; every whole record before it survives', async () => {
  const dir = tmp();
  const { wal } = openWal(dir);
  await appendAll(wal, 10);
  await wal.close();
  const seg = fs.readdirSync(dir).filter((f) => f.endsWith('.wal'))[0];
  const file = path.join(dir, seg);
  const size = fs.statSync(file).size;
  fs.truncateSync(file, size - 7); // the last record loses its end

  const { wal: again, damage } = openWal(dir);
  assert.deepEqual(damage, ['torn or corrupt tail']);
  assert.deepEqual(await pendingBodies(again), Array.from({ length: 9 }, (_, i) => `r${i}`));
  assert.ok(fs.statSync(file).size < size - 7, 'the torn record was cut off');
  await appendAll(again, 1, 'after');
  await again.close();

  // Cut once: the next open finds no damage.
  const { wal: third, damage: none } = openWal(dir);
  assert.deepEqual(none, []);
  assert.deepEqual(await pendingBodies(third), [...Array.from({ length: 9 }, (_, i) => `r${i}`), 'after0']);
  await third.close();
});

test('flipped bytes in the middle skip one record; the reader resynchronises on the next', async () => {
  const dir = tmp();
  const { wal } = openWal(dir);
  const seqs = await appendAll(wal, 5);
  const victim = wal.pending().find((e) => e.seq === seqs[2])!;
  await wal.close();
  const file = path.join(dir, fs.readdirSync(dir).filter((f) => f.endsWith('.wal'))[0]);
  const buf = fs.readFileSync(file);
  buf[victim.offset + 30] ^= 0xff;
  fs.writeFileSync(file, buf);

  const { wal: again, damage } = openWal(dir);
  assert.deepEqual(damage, ['corrupt record']);
  assert.deepEqual(await pendingBodies(again), ['r0', 'r1', 'r3', 'r4']);
  await again.close();
});

test('garbage segment files, an empty one and a torn header never stop the open', async () => {
  const dir = tmp();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, '0000000000000001.wal'), Buffer.from('this is not a queue at all, just text'));
  fs.writeFileSync(path.join(dir, '0000000000000002.wal'), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, '0000000000000003.wal'), Buffer.from('AGRQW', 'latin1'));
  const { wal, damage } = openWal(dir);
  assert.ok(damage.includes('bad segment header'), damage.join());
  assert.ok(damage.includes('torn segment header'), damage.join());
  assert.equal(wal.pending().length, 0);
  await appendAll(wal, 3);
  await wal.close();
  const { wal: again } = openWal(dir);
  assert.deepEqual(await pendingBodies(again), ['r0', 'r1', 'r2']);
  await again.close();
});

test('segments roll over and are deleted oldest first once acknowledged', async () => {
  const dir = tmp();
  const segs = () => fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).length;
  const { wal } = openWal(dir, { segmentBytes: 400 });
  const seqs: number[] = [];
  for (let i = 0; i < 40; i++) seqs.push(...(await appendAll(wal, 1, `s${i}-`)));
  assert.ok(segs() >= 5, `rolled over into ${segs()} segments`);
  const before = wal.diskBytes();
  // Acknowledge all but the newest record: every older segment goes.
  wal.ack(seqs.slice(0, -1));
  assert.ok(segs() <= 2, `${segs()} segments left`);
  assert.ok(wal.diskBytes() < before);
  // An unacknowledged record in an old segment keeps that segment and every later one.
  await wal.close();
  const { wal: again } = openWal(dir, { segmentBytes: 400 });
  assert.deepEqual(await pendingBodies(again), ['s39-0']);
  await again.close();
});

test('a segment of a newer format version is left untouched', async () => {
  const dir = tmp();
  const { wal } = openWal(dir);
  await appendAll(wal, 2);
  await wal.close();
  const file = path.join(dir, fs.readdirSync(dir).filter((f) => f.endsWith('.wal'))[0]);
  const buf = fs.readFileSync(file);
  buf.writeUInt16BE(FORMAT_VERSION + 1, 8);
  const zlib = require('node:zlib') as typeof import('node:zlib');
  buf.writeUInt32BE(zlib.crc32(buf.subarray(0, 12)), 12);
  fs.writeFileSync(file, buf);
  const { wal: again, damage } = openWal(dir);
  assert.deepEqual(damage, []);
  assert.equal(again.pending().length, 0);
  await again.close();
  assert.ok(fs.existsSync(file), 'the newer segment is kept for a newer relay');
});

// ---------------------------------------------------------------------------
// The queue on top

function events() {
  const dropped: [number, string][] = [];
  const refused: [number, string][] = [];
  const ev: QueueEvents = { dropped: (n, r) => void dropped.push([n, r]), refused: (n, r) => void refused.push([n, r]) };
  return { ev, dropped, refused };
}

const bounds = (b: Partial<QueueBounds>): QueueBounds => ({ requests: 3, items: 0, bytes: 0, whenFull: 'refuse', retryAfterMs: 1500, ...b });
const opts = (dir: string) => ({ directory: dir, fsync: 'always' as const, fsyncIntervalMs: 100, segmentBytes: 1 << 20 });

test('persistent queue: refuse when full with a retryable error that carries a wait', async () => {
  const dir = tmp();
  const { ev, refused } = events();
  const { queue } = PersistentQueue.open(opts(dir), bounds({}), 'logs', ev);
  for (const b of ['a', 'b', 'c']) await queue.offer(logs(b));
  await assert.rejects(queue.offer(logs('d')), (e: unknown) => e instanceof DeliveryError && e.retryable && e.retryAfterMs === 1500);
  assert.deepEqual(refused, [[1, 'queue_full']]);
  // Taking does not free room (the record is on disk until delivered); done() does.
  const stop = new AbortController();
  const t = (await queue.take(stop.signal))!;
  await assert.rejects(queue.offer(logs('d')));
  queue.done(t);
  await queue.offer(logs('d'));
  await queue.close();
  const { queue: again, fresh } = PersistentQueue.open(opts(dir), bounds({}), 'logs', events().ev);
  assert.equal(fresh, true);
  const got: string[] = [];
  stop.abort();
  for (let x = await again.take(stop.signal); x; x = await again.take(stop.signal)) got.push(...bodiesOf(x.batch.toProto()));
  assert.deepEqual(got, ['b', 'c', 'd']);
  await again.close();
});

test('persistent queue: drop_newest and drop_oldest count what they drop and never refuse', async () => {
  for (const whenFull of ['drop_newest', 'drop_oldest'] as const) {
    const dir = tmp();
    const { ev, dropped, refused } = events();
    const { queue } = PersistentQueue.open(opts(dir), bounds({ whenFull, requests: 2 }), 'logs', ev);
    for (const b of ['a', 'b', 'c', 'd']) await queue.offer(logs(b));
    assert.deepEqual(refused, []);
    assert.deepEqual(dropped, [[1, 'queue_full'], [1, 'queue_full']]);
    const stop = new AbortController();
    stop.abort();
    const got: string[] = [];
    for (let x = await queue.take(stop.signal); x; x = await queue.take(stop.signal)) {
      got.push(...bodiesOf(x.batch.toProto()));
      queue.done(x);
    }
    assert.deepEqual(got, whenFull === 'drop_newest' ? ['a', 'b'] : ['c', 'd'], whenFull);
    await queue.close();
  }
});

test('persistent queue: released batches are taken again in order; bounds by items and bytes', async () => {
  const dir = tmp();
  const { ev } = events();
  const { queue } = PersistentQueue.open(opts(dir), bounds({ requests: 100, items: 5 }), 'logs', ev);
  await queue.offer(logs('a', 'b'));
  await queue.offer(logs('c', 'd'));
  await assert.rejects(queue.offer(logs('e', 'f')), /full/);
  const stop = new AbortController();
  const first = (await queue.take(stop.signal))!;
  const second = (await queue.take(stop.signal))!;
  queue.release(second);
  queue.release(first);
  const again = (await queue.take(stop.signal))!;
  assert.deepEqual(bodiesOf(again.batch.toProto()), ['a', 'b']);
  queue.done(again);
  await queue.close();

  const dir2 = tmp();
  const size = WriteAheadLog.recordSize(logs('x').toProto().length, 0);
  const { queue: byBytes } = PersistentQueue.open(opts(dir2), bounds({ requests: 100, bytes: 2 * size }), 'logs', events().ev);
  await byBytes.offer(logs('x'));
  await byBytes.offer(logs('y'));
  await assert.rejects(byBytes.offer(logs('z')), /full/);
  await byBytes.close();
});

test('persistent queue: two handles on one directory in one process share it (config reload)', async () => {
  const dir = tmp();
  const a = PersistentQueue.open(opts(dir), bounds({ requests: 10 }), 'logs', events().ev);
  await a.queue.offer(logs('one'));
  const b = PersistentQueue.open(opts(dir), bounds({ requests: 10 }), 'logs', events().ev);
  assert.equal(b.fresh, false);
  const stop = new AbortController();
  const t = (await b.queue.take(stop.signal))!;
  assert.deepEqual(bodiesOf(t.batch.toProto()), ['one']);
  b.queue.done(t);
  await a.queue.close();
  await b.queue.offer(logs('two'));
  await b.queue.close();
  const c = PersistentQueue.open(opts(dir), bounds({ requests: 10 }), 'logs', events().ev);
  assert.equal(c.fresh, true);
  const u = (await c.queue.take(stop.signal))!;
  assert.deepEqual(bodiesOf(u.batch.toProto()), ['two']);
  await c.queue.close();
});

test('many concurrent appends with fsync always get distinct sequence numbers and all come back', async () => {
  const dir = tmp();
  const { wal } = openWal(dir);
  const seqs = await appendAll(wal, 500);
  assert.equal(new Set(seqs).size, 500);
  await wal.close();
  const { wal: again } = openWal(dir);
  assert.equal(again.pending().length, 500);
  await again.close();
});
