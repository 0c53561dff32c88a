// The on-disk half of a persistent sending queue: a write-ahead log in a
// directory of numbered segment files. A batch is appended as one record (its
// protobuf bytes, signal, item count and client metadata); delivering or dropping
// it appends an acknowledgement. On start the log is read back: every record
// without an acknowledgement is pending again, in sequence order.
//
// Durability: `append` resolves only after the record was written (and, with
// fsync `always`, synced), so a receiver that answers after it never acknowledges
// data a crash could lose. Appends that arrive together share one write and one
// fdatasync (group commit).
//
// Damage: every record carries a magic number, its length and a CRC32. A torn or
// corrupt stretch is skipped (the reader resynchronises on the next magic number)
// and counted; a torn tail is cut off. Nothing here ever refuses to start over a
// damaged file. Segments are deleted oldest first once all their records are
// acknowledged (an acknowledgement lives in the same or a later segment than its
// record, so deleting in order never resurrects acknowledged data).
//
// Format (all integers big-endian), version 1:
//   segment header (16 bytes): "AGRQWAL\n" | u16 version | u16 0 | u32 crc32 of the first 12 bytes
//   record: u32 RECORD_MAGIC | u32 payload length | u32 crc32(payload) | payload
//   data payload: u8 1 | u8 signal | u64 seq | u32 items | u32 metadata length | metadata JSON | protobuf request
//   ack payload:  u8 2 | u32 n | n x u64 seq
// A reader dispatches on the header's version, so a newer relay reads an older
// queue; a segment of a newer version than this relay knows is left untouched.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { Signal } from '../otlp/schema';

export const FORMAT_VERSION = 1;
const SEGMENT_MAGIC = Buffer.from('AGRQWAL\n', 'latin1');
const HEADER_SIZE = 16;
const RECORD_MAGIC = 0xa9e17a11;
const RECORD_MAGIC_BYTES = Buffer.from([0xa9, 0xe1, 0x7a, 0x11]);
const RECORD_HEAD = 12;
const KIND_DATA = 1;
const KIND_ACK = 2;
const DATA_FIXED = 1 + 1 + 8 + 4 + 4;
/** Acks written together; a longer list is split. */
const MAX_ACKS_PER_RECORD = 4096;
const SEGMENT_FILE = /^(\d{16})\.wal$/;

const SIGNAL_CODE: Record<Signal, number> = { logs: 0, metrics: 1, traces: 2 };
const SIGNAL_OF: Signal[] = ['logs', 'metrics', 'traces'];

const write = promisify(fs.write);
const writev = promisify(fs.writev);
const read = promisify(fs.read);
const fdatasync = promisify(fs.fdatasync);
const close = promisify(fs.close);

export type FsyncPolicy = 'always' | 'interval' | 'never';

/** Where one pending record is, and what it holds (for the queue's bounds). */
export interface WalEntry {
  readonly seq: number;
  readonly segment: number;
  /** Offset of the record (its head) in the segment file. */
  readonly offset: number;
  /** Record size on disk, head included. */
  readonly size: number;
  readonly items: number;
}

export interface WalRecord {
  signal: Signal;
  items: number;
  metadata: Record<string, string>;
  proto: Uint8Array;
}

export interface WalOptions {
  directory: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  segmentBytes: number;
  /** Called for each damaged stretch skipped while reading (file, offset, what). */
  onCorrupt?: (file: string, offset: number, what: string) => void;
}

interface Segment {
  num: number;
  file: string;
  /** Records of this segment not acknowledged yet. */
  live: number;
  size: number;
  readFd?: number;
  /** A segment of a format this relay does not know: never read, written or deleted. */
  foreign: boolean;
}

interface Job {
  buf: Buffer;
  seq: number;
  items: number;
  resolve: (e: WalEntry) => void;
  reject: (err: Error) => void;
}

export class WalCorruptError extends Error {}

export class WriteAheadLog {
  private readonly dir: string;
  private readonly opts: WalOptions;
  /** Oldest first. */
  private readonly segments: Segment[] = [];
  private active!: Segment;
  private fd = -1;
  private nextSeq = 1;
  /** Pending record positions by seq (recovered or appended, not acknowledged). */
  private readonly live = new Map<number, WalEntry>();
  private jobs: Job[] = [];
  private acks: number[] = [];
  private writing = false;
  private dirty = false;
  private syncWanted = false;
  private closed = false;
  private idle: (() => void)[] = [];
  private ackTimer?: NodeJS.Timeout;
  private syncTimer?: NodeJS.Timeout;
  private readonly lockFile: string;
  /** Damaged stretches skipped at open. */
  corrupt = 0;

  private constructor(opts: WalOptions) {
    this.opts = opts;
    this.dir = opts.directory;
    this.lockFile = path.join(this.dir, 'LOCK');
  }

  /**
   * Opens (creating it if needed) the log in `directory` and reads back what is
   * pending. Throws only when the directory cannot be used at all (permissions, or
   * another live process holds it).
   */
  static open(opts: WalOptions): WriteAheadLog {
    const wal = new WriteAheadLog(opts);
    fs.mkdirSync(wal.dir, { recursive: true });
    wal.lock();
    try {
      wal.recover();
      wal.startSegment();
    } catch (e) {
      wal.unlock();
      throw e;
    }
    if (opts.fsync === 'interval') {
      wal.syncTimer = setInterval(() => {
        if (!wal.dirty) return;
        wal.syncWanted = true;
        wal.kick();
      }, Math.max(1, opts.fsyncIntervalMs));
      wal.syncTimer.unref();
    }
    return wal;
  }

  /** Pending records in sequence order. */
  pending(): WalEntry[] {
    return [...this.live.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Bytes of every segment file on disk (live or not yet compacted). */
  diskBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  /** On-disk size of a data record for a request of this many protobuf and metadata bytes. */
  static recordSize(protoBytes: number, metadataBytes: number): number {
    return RECORD_HEAD + DATA_FIXED + metadataBytes + protoBytes;
  }

  /** Appends a record; resolves once it is written and synced per the fsync policy. */
  append(rec: WalRecord): Promise<WalEntry> {
    if (this.closed) return Promise.reject(new Error('the queue is closed'));
    const meta = Object.keys(rec.metadata).length ? Buffer.from(JSON.stringify(rec.metadata)) : Buffer.alloc(0);
    const seq = this.nextSeq++;
    const payload = Buffer.allocUnsafe(DATA_FIXED + meta.length + rec.proto.length);
    let o = payload.writeUInt8(KIND_DATA, 0);
    o = payload.writeUInt8(SIGNAL_CODE[rec.signal], o);
    o = payload.writeBigUInt64BE(BigInt(seq), o);
    o = payload.writeUInt32BE(rec.items, o);
    o = payload.writeUInt32BE(meta.length, o);
    o += meta.copy(payload, o);
    payload.set(rec.proto, o);
    const buf = frame(payload);
    return new Promise<WalEntry>((resolve, reject) => {
      this.jobs.push({ buf, seq, items: rec.items, resolve, reject });
      this.kick();
    });
  }

  /** Marks records delivered (or given up on). Written soon; losing it in a crash only means a resend. */
  ack(seqs: Iterable<number>): void {
    for (const seq of seqs) {
      const e = this.live.get(seq);
      if (!e) continue;
      this.live.delete(seq);
      const seg = this.segmentOf(e.segment);
      if (seg) seg.live--;
      this.acks.push(seq);
    }
    this.compact();
    if (this.acks.length && !this.ackTimer && !this.closed) {
      // Acks ride along with the next data write; alone, they wait a moment to be grouped.
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        this.kick();
      }, 50);
      this.ackTimer.unref();
    }
  }

  /** Reads a pending record back. Throws WalCorruptError when its bytes no longer check out. */
  async read(e: WalEntry): Promise<WalRecord> {
    const seg = this.segmentOf(e.segment);
    if (!seg) throw new WalCorruptError(`segment ${e.segment} is gone`);
    seg.readFd ??= fs.openSync(seg.file, 'r');
    const buf = Buffer.allocUnsafe(e.size);
    const { bytesRead } = await read(seg.readFd, buf, 0, e.size, e.offset);
    const rec = bytesRead === e.size ? parseRecord(buf, 0, buf.length) : undefined;
    if (!rec) throw new WalCorruptError(`record ${e.seq} at ${seg.file}:${e.offset} fails its checksum`);
    const data = decodeData(rec.payload);
    if (!data || data.seq !== e.seq) throw new WalCorruptError(`record ${e.seq} at ${seg.file}:${e.offset} is not the expected record`);
    return data.record;
  }

  /** Writes what is outstanding, syncs, and closes the files. Pending records stay for the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.syncTimer);
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.syncWanted = true;
    this.kick();
    await this.whenIdle();
    for (const s of this.segments) {
      if (s.readFd !== undefined) await close(s.readFd).catch(() => undefined);
      s.readFd = undefined;
    }
    if (this.fd >= 0) await close(this.fd).catch(() => undefined);
    this.fd = -1;
    this.unlock();
  }

  // -------------------------------------------------------------------------
  // Writing

  private kick(): void {
    if (this.writing) return;
    if (!this.jobs.length && !this.acks.length && !this.syncWanted) return;
    this.writing = true;
    void this.writeLoop();
  }

  private whenIdle(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.jobs.length || this.acks.length || this.syncWanted) {
        const jobs = this.jobs;
        this.jobs = [];
        const acks = this.acks;
        this.acks = [];
        const sync = this.syncWanted;
        this.syncWanted = false;
        try {
          await this.writeOnce(jobs, acks, sync);
        } catch (err) {
          for (const j of jobs) j.reject(err as Error);
          // A partly written record is skipped as damage when read back; new
          // records go to a fresh segment so that they never follow it.
          await this.rotate().catch(() => undefined);
        }
      }
    } finally {
      this.writing = false;
      for (const r of this.idle.splice(0)) r();
    }
  }

  private async writeOnce(jobs: Job[], acks: number[], sync: boolean): Promise<void> {
    if (jobs.length || acks.length) {
      if (this.active.size >= this.opts.segmentBytes) await this.rotate();
      const bufs: Buffer[] = [];
      for (let i = 0; i < acks.length; i += MAX_ACKS_PER_RECORD) bufs.push(encodeAcks(acks.slice(i, i + MAX_ACKS_PER_RECORD)));
      let off = this.active.size;
      for (const b of bufs) off += b.length;
      const entries: WalEntry[] = [];
      for (const j of jobs) {
        entries.push({ seq: j.seq, segment: this.active.num, offset: off, size: j.buf.length, items: j.items });
        off += j.buf.length;
        bufs.push(j.buf);
      }
      await writeAll(this.fd, bufs, this.active.size);
      this.active.size = off;
      this.dirty = true;
      if (jobs.length && this.opts.fsync === 'always') await this.sync();
      for (let i = 0; i < jobs.length; i++) {
        this.live.set(entries[i].seq, entries[i]);
        this.active.live++;
        jobs[i].resolve(entries[i]);
      }
    }
    if (sync && this.dirty) await this.sync();
  }

  private async sync(): Promise<void> {
    this.dirty = false;
    await fdatasync(this.fd);
  }

  private async rotate(): Promise<void> {
    if (this.fd >= 0) {
      if (this.dirty && this.opts.fsync !== 'never') await this.sync().catch(() => undefined);
      await close(this.fd).catch(() => undefined);
      this.fd = -1;
    }
    this.startSegment();
    this.compact();
  }

  /** Creates the next segment file and makes it the active one. */
  private startSegment(): void {
    const num = (this.segments.length ? this.segments[this.segments.length - 1].num : 0) + 1;
    const file = path.join(this.dir, `${String(num).padStart(16, '0')}.wal`);
    const header = Buffer.alloc(HEADER_SIZE);
    SEGMENT_MAGIC.copy(header, 0);
    header.writeUInt16BE(FORMAT_VERSION, 8);
    header.writeUInt32BE(zlib.crc32(header.subarray(0, 12)), 12);
    const fd = fs.openSync(file, 'wx');
    fs.writeSync(fd, header, 0, HEADER_SIZE, 0);
    if (this.opts.fsync !== 'never') {
      fs.fdatasyncSync(fd);
      syncDir(this.dir);
    }
    this.fd = fd;
    this.active = { num, file, live: 0, size: HEADER_SIZE, foreign: false };
    this.segments.push(this.active);
  }

  /** Deletes fully acknowledged segments, oldest first, stopping at the first one still needed. */
  private compact(): void {
    while (this.segments.length > 1) {
      const s = this.segments.find((x) => !x.foreign);
      if (!s || s === this.active || s.live > 0) return;
      if (s.readFd !== undefined) {
        try {
          fs.closeSync(s.readFd);
        } catch {
          // already closed
        }
      }
      try {
        fs.unlinkSync(s.file);
      } catch {
        // gone already
      }
      this.segments.splice(this.segments.indexOf(s), 1);
    }
  }

  private segmentOf(num: number): Segment | undefined {
    return this.segments.find((s) => s.num === num);
  }

  // -------------------------------------------------------------------------
  // Reading back at open

  private recover(): void {
    const names = fs
      .readdirSync(this.dir)
      .filter((n) => SEGMENT_FILE.test(n))
      .sort();
    const acked = new Set<number>();
    let maxSeq = 0;
    for (const name of names) {
      const num = Number(SEGMENT_FILE.exec(name)![1]);
      const file = path.join(this.dir, name);
      const seg: Segment = { num, file, live: 0, size: 0, foreign: false };
      const buf = fs.readFileSync(file);
      seg.size = buf.length;
      const version = headerVersion(buf);
      if (version !== undefined && version > FORMAT_VERSION) {
        seg.foreign = true;
        this.segments.push(seg);
        continue;
      }
      let start = HEADER_SIZE;
      if (version === undefined) {
        if (buf.length < HEADER_SIZE && SEGMENT_MAGIC.subarray(0, Math.min(buf.length, 8)).equals(buf.subarray(0, Math.min(buf.length, 8)))) {
          // Created but its header never fully written: nothing in it.
          if (buf.length > 0) this.damaged(file, 0, 'torn segment header');
          fs.rmSync(file, { force: true });
          continue;
        }
        this.damaged(file, 0, 'bad segment header');
        start = 0;
      }
      const end = this.scanSegment(buf, start, file, (payload, offset, size) => {
        const kind = payload[0];
        if (kind === KIND_DATA) {
          const d = decodeData(payload);
          if (!d) return false;
          maxSeq = Math.max(maxSeq, d.seq);
          if (!this.live.has(d.seq)) this.live.set(d.seq, { seq: d.seq, segment: num, offset, size, items: d.record.items });
          return true;
        }
        if (kind === KIND_ACK) {
          const seqs = decodeAcks(payload);
          if (!seqs) return false;
          for (const s of seqs) {
            acked.add(s);
            maxSeq = Math.max(maxSeq, s);
          }
          return true;
        }
        return false;
      });
      if (end < buf.length && version !== undefined) {
        // A torn tail: cut it off so that the file ends on a whole record.
        fs.truncateSync(file, end);
        seg.size = end;
      }
      this.segments.push(seg);
    }
    for (const s of acked) this.live.delete(s);
    for (const e of this.live.values()) this.segmentOf(e.segment)!.live++;
    this.nextSeq = maxSeq + 1;
    this.compactAll();
  }

  /** At open every segment's state is known: delete the leading run of fully acknowledged ones. */
  private compactAll(): void {
    for (;;) {
      const s = this.segments.find((x) => !x.foreign);
      if (!s || s.live > 0) return;
      fs.rmSync(s.file, { force: true });
      this.segments.splice(this.segments.indexOf(s), 1);
    }
  }

  /**
   * Walks the records of one segment, calling `onRecord` for each whole one; skips
   * damaged stretches (resynchronising on the next record magic). Returns the end of
   * the last good record when only damage follows it (a torn tail), else the length.
   */
  private scanSegment(
    buf: Buffer,
    start: number,
    file: string,
    onRecord: (payload: Buffer, offset: number, size: number) => boolean,
  ): number {
    let pos = start;
    let lastGood = start;
    while (pos < buf.length) {
      const rec = parseRecord(buf, pos, buf.length);
      if (rec && onRecord(rec.payload, pos, rec.size)) {
        pos += rec.size;
        lastGood = pos;
        continue;
      }
      const next = buf.indexOf(RECORD_MAGIC_BYTES, pos + 1);
      this.damaged(file, pos, next < 0 ? 'torn or corrupt tail' : 'corrupt record');
      if (next < 0) return lastGood;
      pos = next;
    }
    return buf.length;
  }

  private damaged(file: string, offset: number, what: string): void {
    this.corrupt++;
    this.opts.onCorrupt?.(file, offset, what);
  }

  // -------------------------------------------------------------------------
  // Lock: one process per directory

  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(this.lockFile, 'wx');
        fs.writeSync(fd, String(process.pid));
        fs.closeSync(fd);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number(fs.readFileSync(this.lockFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new Error(`queue directory ${this.dir} is in use by process ${pid} (delete ${this.lockFile} if that process is not a relay)`);
      }
      // Left by a process that is gone (a crash, or this same pid in a restarted container).
      fs.rmSync(this.lockFile, { force: true });
    }
    throw new Error(`cannot lock queue directory ${this.dir}`);
  }

  private unlock(): void {
    try {
      if (fs.readFileSync(this.lockFile, 'utf8').trim() === String(process.pid)) fs.rmSync(this.lockFile, { force: true });
    } catch {
      // not there
    }
  }
}

// ---------------------------------------------------------------------------
// Encoding

function frame(payload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEAD + payload.length);
  buf.writeUInt32BE(RECORD_MAGIC, 0);
  buf.writeUInt32BE(payload.length, 4);
  buf.writeUInt32BE(zlib.crc32(payload), 8);
  payload.copy(buf, RECORD_HEAD);
  return buf;
}

function encodeAcks(seqs: number[]): Buffer {
  const payload = Buffer.allocUnsafe(5 + 8 * seqs.length);
  payload.writeUInt8(KIND_ACK, 0);
  payload.writeUInt32BE(seqs.length, 1);
  let o = 5;
  for (const s of seqs) o = payload.writeBigUInt64BE(BigInt(s), o);
  return frame(payload);
}

/** The record at `pos` when its magic, length and checksum check out. */
function parseRecord(buf: Buffer, pos: number, end: number): { payload: Buffer; size: number } | undefined {
  if (end - pos < RECORD_HEAD) return undefined;
  if (buf.readUInt32BE(pos) !== RECORD_MAGIC) return undefined;
  const len = buf.readUInt32BE(pos + 4);
  if (len === 0 || len > end - pos - RECORD_HEAD) return undefined;
  const payload = buf.subarray(pos + RECORD_HEAD, pos + RECORD_HEAD + len);
  if (zlib.crc32(payload) !== buf.readUInt32BE(pos + 8)) return undefined;
  return { payload, size: RECORD_HEAD + len };
}

function decodeData(p: Buffer): { seq: number; record: WalRecord } | undefined {
  if (p.length < DATA_FIXED || p[0] !== KIND_DATA) return undefined;
  const signal = SIGNAL_OF[p[1]];
  if (!signal) return undefined;
  const seq = Number(p.readBigUInt64BE(2));
  const items = p.readUInt32BE(10);
  const metaLen = p.readUInt32BE(14);
  if (DATA_FIXED + metaLen > p.length) return undefined;
  let metadata: Record<string, string> = {};
  if (metaLen > 0) {
    try {
      metadata = JSON.parse(p.subarray(DATA_FIXED, DATA_FIXED + metaLen).toString('utf8')) as Record<string, string>;
    } catch {
      return undefined;
    }
  }
  return { seq, record: { signal, items, metadata, proto: p.subarray(DATA_FIXED + metaLen) } };
}

function decodeAcks(p: Buffer): number[] | undefined {
  if (p.length < 5) return undefined;
  const n = p.readUInt32BE(1);
  if (p.length !== 5 + 8 * n) return undefined;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Number(p.readBigUInt64BE(5 + 8 * i)));
  return out;
}

/** The header's format version, or undefined when the header is missing or damaged. */
function headerVersion(buf: Buffer): number | undefined {
  if (buf.length < HEADER_SIZE) return undefined;
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) return undefined;
  if (zlib.crc32(buf.subarray(0, 12)) !== buf.readUInt32BE(12)) return undefined;
  return buf.readUInt16BE(8);
}

async function writeAll(fd: number, bufs: Buffer[], position: number): Promise<void> {
  let pos = position;
  let rest = bufs;
  while (rest.length) {
    const { bytesWritten } = rest.length === 1 ? await write(fd, rest[0], 0, rest[0].length, pos) : await writev(fd, rest, pos);
    pos += bytesWritten;
    // Short writes are rare (full disk, signals); continue with what is left.
    let skip = bytesWritten;
    const left: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      left.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    if (bytesWritten === 0 && left.length) throw new Error('write made no progress');
    rest = left;
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some filesystems cannot sync a directory; the file's own sync still holds.
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
