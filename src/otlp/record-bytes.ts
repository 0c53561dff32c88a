// Decoding that remembers each record's received bytes, and encoding that reuses them.
//
// Every OTLP request has the same three-level envelope: request{1: repeated ResourceX},
// ResourceX{1: resource, 2: repeated ScopeX, 3: schema_url}, ScopeX{1: scope, 2: repeated
// record, 3: schema_url}, where a record is a log record, a span or a metric. The envelope is
// walked here by hand; records are decoded by protobufjs one by one, and each keeps the
// slice of the request it came from. Encoding writes those slices back as they are for
// records nobody changed: re-encoding a record costs more than decoding it, and a processor
// that masks one attribute of one record should not pay for the other records.
//
// A slice is only trusted while its record is unchanged: code that changes a record's own
// fields calls forgetBytes(record), sets a scalar with setScalar(), adds attributes with
// addAttribute(), or gives the record a new attribute list with replaceAttributes()
// (Batch.editRecords() says who must; Batch.edit() forgets every record's bytes, for
// code that changes records without saying which). The slice is tied
// to the object it was decoded into, so a copy made with `{ ...record }` does not inherit
// it. With AGENTRELAY_CHECK_REUSE=1 (the test suite sets it) every reused slice is compared
// with a fresh encoding of its record, and a mismatch throws.
import * as protobuf from 'protobufjs';
import type { Signal } from './schema';
import { signalTypes } from './schema';
import type { RequestModel } from './model';

const ORIGINAL = Symbol('received bytes');

interface Original {
  owner: object;
  bytes: Uint8Array;
  /** Scalar fields changed since: written after the bytes, where they override the old values. */
  appended?: string[];
  /**
   * Attributes from this index on were added since: written after the bytes, where a
   * decoder appends them to the list the bytes hold (a repeated field's entries add up).
   */
  attrBase?: number;
  /**
   * Set by replaceAttributes(): the attributes as decoded from `bytes`, in order. The
   * record's list is then written entry by entry: an entry that is one of these (the same
   * object) is copied from the bytes, any other is encoded.
   */
  decodedAttrs?: unknown[];
}

type WithAttributes = { attributes?: unknown[] | null };

type Marked = { [ORIGINAL]?: Original };

/** Protobuf wire tags of the envelope's fields (field number << 3 | 2, length-delimited). */
const TAG_1 = (1 << 3) | 2;
const TAG_2 = (2 << 3) | 2;
const TAG_3 = (3 << 3) | 2;

interface Shape {
  /** The record's attributes field number (LogRecord 6, Span 9), if it has one. */
  attributesId?: number;
  keyValue?: protobuf.Type;
  request: protobuf.Type;
  resourceX: protobuf.Type;
  scopeX: protobuf.Type;
  resource: protobuf.Type;
  scope: protobuf.Type;
  record: protobuf.Type;
  /** Field names at each level: resourceLogs, scopeLogs, logRecords... */
  resources: string;
  scopes: string;
  records: string;
}

function shapeOf(signal: Signal): Shape {
  const request = signalTypes[signal].request;
  const resources = signalTypes[signal].resourceField;
  const resourceX = request.fields[resources].resolvedType as protobuf.Type;
  const scopes = resourceX.fieldsById[2].name;
  const scopeX = resourceX.fieldsById[2].resolvedType as protobuf.Type;
  const records = scopeX.fieldsById[2].name;
  const record = scopeX.fieldsById[2].resolvedType as protobuf.Type;
  const attributes = record.fields.attributes as protobuf.Field | undefined;
  return {
    attributesId: attributes?.id,
    keyValue: attributes?.resolvedType as protobuf.Type | undefined,
    request,
    resourceX,
    scopeX,
    resource: resourceX.fieldsById[1].resolvedType as protobuf.Type,
    scope: scopeX.fieldsById[1].resolvedType as protobuf.Type,
    record: scopeX.fieldsById[2].resolvedType as protobuf.Type,
    resources,
    scopes,
    records,
  };
}

const SHAPES: Record<Signal, Shape> = { logs: shapeOf('logs'), metrics: shapeOf('metrics'), traces: shapeOf('traces') };

let CHECK = process.env.AGENTRELAY_CHECK_REUSE === '1';

/** Turns the comparison of every reused record with a fresh encoding on or off (tests). */
export function checkReuse(on: boolean): void {
  CHECK = on;
}

type Fields = Record<string, unknown>;

/** The request decoded as protobufjs would, each record remembering its bytes. */
export function decodeKeepingBytes(signal: Signal, bytes: Uint8Array): RequestModel {
  const sh = SHAPES[signal];
  // A Buffer gets protobufjs's BufferReader, whose string reading schema.ts makes faster.
  const r = protobuf.Reader.create(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const req = new sh.request.ctor() as unknown as Fields;
  let list: unknown[] | undefined;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === TAG_1) {
      const len = r.uint32();
      (list ??= []).push(resourceX(sh, r, bytes, r.pos + len));
    } else r.skipType(tag & 7);
  }
  if (list) req[sh.resources] = list;
  return req as unknown as RequestModel;
}

function resourceX(sh: Shape, r: protobuf.Reader, bytes: Uint8Array, end: number): Fields {
  const m = new sh.resourceX.ctor() as unknown as Fields;
  let list: unknown[] | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === TAG_1) m.resource = sh.resource.decode(r, r.uint32());
    else if (tag === TAG_2) {
      const len = r.uint32();
      (list ??= []).push(scopeX(sh, r, bytes, r.pos + len));
    } else if (tag === TAG_3) m.schemaUrl = r.string();
    else r.skipType(tag & 7);
  }
  if (list) m[sh.scopes] = list;
  return m;
}

function scopeX(sh: Shape, r: protobuf.Reader, bytes: Uint8Array, end: number): Fields {
  const m = new sh.scopeX.ctor() as unknown as Fields;
  let list: unknown[] | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === TAG_1) m.scope = sh.scope.decode(r, r.uint32());
    else if (tag === TAG_2) {
      const len = r.uint32();
      const start = r.pos;
      const rec = sh.record.decode(r, len) as unknown as Marked;
      rec[ORIGINAL] = { owner: rec, bytes: bytes.subarray(start, start + len) };
      (list ??= []).push(rec);
    } else if (tag === TAG_3) m.schemaUrl = r.string();
    else r.skipType(tag & 7);
  }
  if (list) m[sh.records] = list;
  return m;
}

/** After this, `record` is encoded from its fields, not from the bytes it arrived with. */
export function forgetBytes(record: object): void {
  const m = record as Marked;
  if (m[ORIGINAL] !== undefined) m[ORIGINAL] = undefined;
}

/**
 * Sets `field` of `record`, a scalar field (a number, string, bool or enum: not a message,
 * not repeated). A record that keeps its bytes and had no value there keeps them, with the
 * new value written after them (cheaper than encoding the record anew: normalizing sets one
 * field on every record). One that had a value is encoded anew, so that the old value does
 * not ride along in the bytes, where a decoder would skip it but it would still be sent.
 */
export function setScalar<T extends object, K extends keyof T & string>(record: T, field: K, value: T[K]): void {
  const before = record[field];
  record[field] = value;
  const o = (record as Marked)[ORIGINAL];
  if (o === undefined || o.owner !== record) return;
  if (!isUnset(before)) {
    (record as Marked)[ORIGINAL] = undefined;
    return;
  }
  if (!o.appended) o.appended = [field];
  else if (!o.appended.includes(field)) o.appended.push(field);
}

/**
 * Adds `kv` at the end of `record`'s attributes. A record that keeps its bytes keeps them,
 * with the attribute written after them (cost, agent.name and upserts add one attribute to
 * many records; encoding each record anew for it would cost more than all the rest).
 */
export function addAttribute<K>(record: { attributes?: K[] | null }, kv: K): void {
  const list = (record.attributes ??= []);
  // Of the record's attributes only those from here on were added since it was decoded.
  const o = (record as Marked)[ORIGINAL];
  if (o !== undefined && o.owner === record && (o.attrBase === undefined || list.length < o.attrBase)) o.attrBase = list.length;
  list.push(kv);
}

/**
 * Gives a log record or span the attribute list `list`, where every entry that is unchanged
 * is the same object as before (new values in new KeyValue objects, never changed in
 * place). The record keeps its bytes for everything else, and for each unchanged
 * attribute: redaction masks one or two attributes of a record with twenty, and encoding
 * the whole record anew for it costs more than the masking. A list that only adds to the
 * old one is handled as addAttribute() would.
 */
export function replaceAttributes<K>(record: { attributes?: K[] | null }, list: K[]): void {
  const o = (record as Marked)[ORIGINAL];
  if (o !== undefined && o.owner === record && o.decodedAttrs === undefined) {
    const before = record.attributes ?? [];
    const decoded = o.attrBase ?? before.length;
    let same = list.length >= decoded;
    for (let i = 0; same && i < decoded; i++) same = list[i] === before[i];
    // Only added to: the cheaper way, the additions written after the bytes.
    if (same) o.attrBase = decoded;
    else o.decodedAttrs = before.slice(0, decoded);
  }
  record.attributes = list;
}

/** Protobuf's default for a scalar: absent from the bytes, or present with nothing in it. */
function isUnset(v: unknown): boolean {
  if (v == null || v === '' || v === 0 || v === false) return true;
  if (typeof v === 'object') {
    const l = v as { low?: unknown; high?: unknown };
    return l.low === 0 && l.high === 0;
  }
  return false;
}

/** forgetBytes() for every record of the request. */
export function forgetAllBytes(signal: Signal, model: RequestModel): void {
  const sh = SHAPES[signal];
  for (const rx of ((model as unknown as Fields)[sh.resources] as Fields[] | null | undefined) ?? [])
    for (const sx of (rx[sh.scopes] as Fields[] | null | undefined) ?? [])
      for (const rec of (sx[sh.records] as Marked[] | null | undefined) ?? []) if (rec[ORIGINAL] !== undefined) rec[ORIGINAL] = undefined;
}

/** The bytes `record` arrived with, while they are still what it will be sent with. */
export function receivedBytes(record: object): Uint8Array | undefined {
  const o = (record as Marked)[ORIGINAL];
  return o !== undefined && o.owner === record && !o.appended && o.attrBase === undefined && o.decodedAttrs === undefined ? o.bytes : undefined;
}

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The request encoded as protobufjs encodes it (empty strings left out), except that
 * records still holding their received bytes are written with those bytes.
 */
export function encodeReusingBytes(signal: Signal, model: RequestModel): Uint8Array {
  const sh = SHAPES[signal];
  const w = protobuf.Writer.create();
  const resources = (model as unknown as Fields)[sh.resources] as Fields[] | null | undefined;
  if (resources) {
    for (const rx of resources) {
      w.uint32(TAG_1).fork();
      if (rx.resource != null && has(rx, 'resource')) sh.resource.encode(rx.resource as object, w.uint32(TAG_1).fork()).ldelim();
      const scopes = rx[sh.scopes] as Fields[] | null | undefined;
      if (scopes) for (const sx of scopes) encodeScopeX(sh, sx, w);
      if (rx.schemaUrl) w.uint32(TAG_3).string(rx.schemaUrl as string);
      w.ldelim();
    }
  }
  return w.finish();
}

function encodeScopeX(sh: Shape, sx: Fields, w: protobuf.Writer): void {
  w.uint32(TAG_2).fork();
  if (sx.scope != null && has(sx, 'scope')) sh.scope.encode(sx.scope as object, w.uint32(TAG_1).fork()).ldelim();
  const records = sx[sh.records] as Marked[] | null | undefined;
  if (records) {
    for (const rec of records) {
      const o = rec[ORIGINAL];
      if (o === undefined || o.owner !== rec) sh.record.encode(rec, w.uint32(TAG_2).fork()).ldelim();
      else if (o.decodedAttrs !== undefined) writeSpliced(sh, rec, o, w);
      else if (!o.appended && o.attrBase === undefined) {
        if (CHECK) checkUnchanged(sh, rec, o.bytes);
        w.uint32(TAG_2).bytes(o.bytes);
      } else writeAppended(sh, rec, o, w);
    }
  }
  if (sx.schemaUrl) w.uint32(TAG_3).string(sx.schemaUrl as string);
  w.ldelim();
}

/**
 * The record's bytes with its changed scalars and added attributes encoded after them,
 * straight into `w`; a record with a scalar unset since, or with fewer attributes than it
 * had, is encoded anew instead (leaving it out would leave the old value in force).
 */
function writeAppended(sh: Shape, rec: Marked, o: Original, w: protobuf.Writer): void {
  const changed: Record<string, unknown> = {};
  for (const f of o.appended ?? []) {
    const v = (rec as Record<string, unknown>)[f];
    if (v == null) {
      sh.record.encode(rec, w.uint32(TAG_2).fork()).ldelim();
      return;
    }
    changed[f] = v;
  }
  if (o.attrBase !== undefined) {
    const list = (rec as WithAttributes).attributes;
    if (!list || list.length < o.attrBase) {
      sh.record.encode(rec, w.uint32(TAG_2).fork()).ldelim();
      return;
    }
    changed.attributes = list.slice(o.attrBase);
  }
  if (CHECK) checkUnchanged(sh, rec, Buffer.concat([o.bytes, sh.record.encode(changed).finish()]));
  sh.record.encode(changed, w.uint32(TAG_2).fork().raw(o.bytes)).ldelim();
}

/**
 * A record given a new attribute list (replaceAttributes): its bytes without their
 * attributes, then its changed scalars, then its attributes, each copied from the bytes
 * when it is one of those decoded from them and encoded otherwise.
 */
function writeSpliced(sh: Shape, rec: Marked, o: Original, w: protobuf.Writer): void {
  const changed: Record<string, unknown> = {};
  for (const f of o.appended ?? []) changed[f] = (rec as Record<string, unknown>)[f];
  const ranges = sh.attributesId === undefined ? [] : attributeRanges(o.bytes, sh.attributesId);
  if (sh.attributesId === undefined || ranges.length !== o.decodedAttrs!.length * 2 || Object.values(changed).some((v) => v == null)) {
    sh.record.encode(rec, w.uint32(TAG_2).fork()).ldelim();
    return;
  }
  if (CHECK) {
    const own = protobuf.Writer.create();
    splicedBody(sh, rec, o, ranges, changed, own);
    const bytes = own.finish();
    checkUnchanged(sh, rec, bytes);
    w.uint32(TAG_2).bytes(bytes);
    return;
  }
  w.uint32(TAG_2).fork();
  splicedBody(sh, rec, o, ranges, changed, w);
  w.ldelim();
}

function splicedBody(sh: Shape, rec: Marked, o: Original, ranges: number[], changed: Record<string, unknown>, w: protobuf.Writer): void {
  const decoded = o.decodedAttrs!;
  const bytes = o.bytes;
  // Adjacent slices are written as one: each write costs a view and a queued copy.
  let runStart = 0;
  let runEnd = 0;
  const copy = (a: number, b: number) => {
    if (a === runEnd && runEnd > runStart) runEnd = b;
    else {
      if (runEnd > runStart) w.raw(bytes.subarray(runStart, runEnd));
      runStart = a;
      runEnd = b;
    }
  };
  const flush = () => {
    if (runEnd > runStart) w.raw(bytes.subarray(runStart, runEnd));
    runStart = runEnd = 0;
  };
  let at = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i] > at) copy(at, ranges[i]);
    at = ranges[i + 1];
  }
  if (at < bytes.length) copy(at, bytes.length);
  if (o.appended) {
    flush();
    sh.record.encode(changed, w);
  }
  const tag = (sh.attributesId! << 3) | 2;
  let next = 0;
  for (const kv of (rec as WithAttributes).attributes ?? []) {
    // Unchanged entries keep their order: look from after the last one found.
    let j = next;
    while (j < decoded.length && decoded[j] !== kv) j++;
    if (j < decoded.length) {
      copy(ranges[2 * j], ranges[2 * j + 1]);
      next = j + 1;
    } else {
      flush();
      sh.keyValue!.encode(kv as object, w.uint32(tag).fork()).ldelim();
    }
  }
  flush();
}

/** Start and end of each attribute entry (tag to end of value) in a record's bytes, in order. */
function attributeRanges(bytes: Uint8Array, id: number): number[] {
  const out: number[] = [];
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const at = r.pos;
    const tag = r.uint32();
    r.skipType(tag & 7);
    if (tag >>> 3 === id) out.push(at, r.pos);
  }
  return out;
}

function checkUnchanged(sh: Shape, rec: object, bytes: Uint8Array): void {
  const now = Buffer.from(sh.record.encode(rec).finish());
  const then = Buffer.from(sh.record.encode(sh.record.decode(bytes)).finish());
  if (!now.equals(then)) {
    throw new Error(`a ${sh.record.name} was changed without forgetBytes(): its received bytes would have been sent`);
  }
}
