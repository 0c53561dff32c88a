// Adding enrich's attributes to one request model. As in the other processors of this
// relay, the walk runs first with write=false ("would anything change?", stopping at
// the first yes) and, only then, with write=true on the private model from
// batch.editRecords(): records that only gain attributes keep their received bytes.
import type { AnyValue, KeyValue, LogsRequest, MetricsRequest, Resource, TracesRequest } from '../../src/otlp/model';
import { dataPointsOf } from '../../src/otlp/model';
import type { Signal } from '../../src/otlp/schema';
import { findAttribute, plainValue, scalarOf, stringOf } from '../../src/conditions';
import { addAttribute, forgetBytes, replaceAttributes } from '../../src/otlp/record-bytes';
import type { Row, Table } from './table';

type Holder = { attributes: KeyValue[] };
type Attrs = ReadonlyMap<string, AnyValue>;

export interface EnrichPlan {
  target: 'resource' | 'record';
  overwrite: boolean;
  lookupKeys: readonly string[];
}

export interface Walk {
  /** Static and header attributes for this batch (header values win over static ones). */
  base: Attrs;
  table?: Table;
  /** Lookups whose key attribute was present but matched no row. */
  misses: number;
}

/** A record's attribute holder (a log record, span or data point) and the record whose bytes hold it. */
interface Rec {
  h: Holder;
  owner: object;
}

interface Group {
  owner: { resource?: Resource | null };
  /** Listed only when needed: with target resource and no lookup, records are never visited. */
  records: () => Rec[];
}

const own = (h: Holder): Rec => ({ h, owner: h });

function groupsOf(signal: Signal, model: unknown): Group[] {
  const out: Group[] = [];
  if (signal === 'logs') {
    for (const rl of (model as LogsRequest).resourceLogs ?? [])
      out.push({ owner: rl, records: () => (rl.scopeLogs ?? []).flatMap((sl) => (sl.logRecords ?? []).map(own)) });
  } else if (signal === 'traces') {
    for (const rs of (model as TracesRequest).resourceSpans ?? [])
      out.push({ owner: rs, records: () => (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map(own)) });
  } else {
    for (const rm of (model as MetricsRequest).resourceMetrics ?? [])
      out.push({
        owner: rm,
        records: () => (rm.scopeMetrics ?? []).flatMap((sm) => (sm.metrics ?? []).flatMap((m) => dataPointsOf(m).map((h) => ({ h, owner: m })))),
      });
  }
  return out;
}

function sameValue(a: AnyValue | null | undefined, b: AnyValue): boolean {
  const x = scalarOf(a);
  const y = scalarOf(b);
  if (typeof x === 'object' && x !== null) return JSON.stringify(plainValue(a)) === JSON.stringify(plainValue(b));
  return x === y;
}

/**
 * Puts `attrs` on `h`: absent keys are added; present ones are replaced only with overwrite.
 * `owner` is the record whose bytes hold `h` (none for a resource). A record that holds its
 * own attributes keeps its bytes for all but a replaced one; a metric whose data point
 * changes is encoded anew.
 */
function put(h: Holder, attrs: Attrs, overwrite: boolean, write: boolean, owner?: object): boolean {
  let changed = false;
  for (const [key, value] of attrs) {
    const list = h.attributes ?? [];
    let idx = -1;
    for (let i = 0; i < list.length; i++) if (list[i].key === key) { idx = i; break; }
    if (idx >= 0 && (!overwrite || sameValue(list[idx].value, value))) continue;
    if (!write) return true;
    // Values are shared between records; the encoders only read them.
    if (idx >= 0 && owner === h) {
      const next = list.slice();
      next[idx] = { key, value };
      replaceAttributes(h, next);
    } else if (idx >= 0) {
      list[idx] = { key, value };
      if (owner) forgetBytes(owner);
    } else if (owner === h) addAttribute(h, { key, value });
    else {
      (h.attributes ??= []).push({ key, value });
      if (owner) forgetBytes(owner);
    }
    changed = true;
  }
  return changed;
}

function merge(a: Attrs, b: Row | undefined): Attrs {
  if (!b || b.size === 0) return a;
  if (a.size === 0) return b;
  return new Map([...a, ...b]);
}

/** The row for the first lookup key that is present and in the table; counts a miss when keys were present but none matched. */
function rowFor(plan: EnrichPlan, w: Walk, first: KeyValue[] | undefined, second: KeyValue[] | undefined): Row | undefined {
  const table = w.table;
  if (!table || table.size === 0) return undefined;
  let present = false;
  for (const key of plan.lookupKeys) {
    const v = findAttribute(first, key) ?? findAttribute(second, key);
    const s = typeof scalarOf(v) === 'object' ? undefined : stringOf(v);
    if (s === undefined || s === '') continue;
    present = true;
    const row = table.get(s.toLowerCase());
    if (row) return row;
  }
  if (present) w.misses++;
  return undefined;
}

export function enrichModel(signal: Signal, model: unknown, plan: EnrichPlan, w: Walk, write: boolean): boolean {
  let changed = false;
  const step = (did: boolean) => {
    if (did) changed = true;
    return did && !write;
  };
  for (const g of groupsOf(signal, model)) {
    const resAttrs = g.owner.resource?.attributes;
    if (plan.target === 'record') {
      for (const r of g.records()) if (step(put(r.h, merge(w.base, rowFor(plan, w, r.h.attributes, resAttrs)), plan.overwrite, write, r.owner))) return true;
      continue;
    }
    // Target resource: a key on the resource decides; else the records' keys, if they agree.
    let row = rowFor(plan, w, resAttrs, undefined);
    let perRecord: Row[] | undefined;
    let records: Rec[] = [];
    if (!row && w.table && w.table.size > 0 && !plan.lookupKeys.some((k) => findAttribute(resAttrs, k) !== undefined)) {
      records = g.records();
      const rows = records.map((r) => rowFor(plan, w, r.h.attributes, undefined));
      const distinct = new Set(rows.filter((x): x is Row => !!x));
      if (distinct.size === 1) row = [...distinct][0];
      // Records of one resource that belong to different rows: each record gets its own.
      else if (distinct.size > 1) perRecord = rows as Row[];
    }
    const attrs = merge(w.base, row);
    if (attrs.size > 0) {
      let did: boolean;
      if (write) {
        const owner = g.owner;
        if (!owner.resource) owner.resource = { attributes: [] };
        did = put(owner.resource, attrs, plan.overwrite, true);
      } else {
        did = put(g.owner.resource ?? { attributes: [] }, attrs, plan.overwrite, false);
      }
      if (step(did)) return true;
    }
    if (perRecord) {
      for (let i = 0; i < records.length; i++) {
        const r = perRecord[i];
        if (r && step(put(records[i].h, r, plan.overwrite, write, records[i].owner))) return true;
      }
    }
  }
  return changed;
}
