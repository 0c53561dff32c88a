// The limits over one request model. Like agent_normalize, every walk runs in two
// modes: write=false answers "is any limit exceeded?" (stopping at the first yes) so a
// batch within its limits is handed on untouched; write=true cuts, in the private
// model from batch.editRecords(), and tallies what it cut. Records it cut are encoded
// anew; the others keep the bytes they arrived with.
import type {
  AnyValue, KeyValue, LogsRequest, MetricsRequest, Resource, Scope, Span, TracesRequest,
} from '../../src/otlp/model';
import { dataPointsOf } from '../../src/otlp/model';
import { forgetBytes } from '../../src/otlp/record-bytes';
import { fitsUtf8, Utf8Cutter } from './utf8';

export interface Limits {
  /** UTF-8 bytes of a string value, bytes of a bytes value; 0: no limit. */
  attributeValueSize: number;
  /** Attributes per record, resource or scope; 0: no limit. */
  attributes: number;
  /** Elements of an array value, entries of a map value; 0: no limit. */
  arrayLength: number;
  /** UTF-8 bytes of a string log body, bytes of a bytes body; 0: no limit. */
  bodySize: number;
  spanEvents: number;
  spanLinks: number;
}

/** What one batch had cut, for the self-metrics. */
export interface Tally {
  valuesCut: number;
  valueBytes: number;
  bodiesCut: number;
  bodyBytes: number;
  arraysCut: number;
  attributes: number;
  arrayElements: number;
  spanEvents: number;
  spanLinks: number;
}

export const emptyTally = (): Tally => ({
  valuesCut: 0, valueBytes: 0, bodiesCut: 0, bodyBytes: 0, arraysCut: 0, attributes: 0, arrayElements: 0, spanEvents: 0, spanLinks: 0,
});

const hasOwn = Object.prototype.hasOwnProperty;
const own = (v: AnyValue, k: keyof AnyValue) => hasOwn.call(v, k) && v[k] != null;

type Holder = { attributes: KeyValue[]; droppedAttributesCount?: number };

export class Limiter {
  private readonly valueCutter?: Utf8Cutter;
  private readonly bodyCutter?: Utf8Cutter;
  tally: Tally = emptyTally();

  constructor(readonly limits: Limits) {
    if (limits.attributeValueSize > 0) this.valueCutter = new Utf8Cutter(limits.attributeValueSize);
    if (limits.bodySize > 0) this.bodyCutter = new Utf8Cutter(limits.bodySize);
  }

  /**
   * Cuts one value to `cutter`'s size (strings, bytes) and to the array length limit,
   * recursing into arrays and maps. Returns whether anything was (or would be) cut.
   */
  private value(v: AnyValue | null | undefined, cutter: Utf8Cutter | undefined, write: boolean, isBody: boolean): boolean {
    if (!v) return false;
    if (own(v, 'stringValue')) {
      if (!cutter) return false;
      if (!write) return !fitsUtf8(v.stringValue!, cutter.max);
      const c = cutter.cut(v.stringValue!);
      if (!c) return false;
      v.stringValue = c.text;
      if (isBody) {
        this.tally.bodiesCut++;
        this.tally.bodyBytes += c.removed;
      } else {
        this.tally.valuesCut++;
        this.tally.valueBytes += c.removed;
      }
      return true;
    }
    if (own(v, 'bytesValue')) {
      if (!cutter || v.bytesValue!.length <= cutter.max) return false;
      if (!write) return true;
      const removed = v.bytesValue!.length - cutter.max;
      v.bytesValue = v.bytesValue!.subarray(0, cutter.max);
      if (isBody) {
        this.tally.bodiesCut++;
        this.tally.bodyBytes += removed;
      } else {
        this.tally.valuesCut++;
        this.tally.valueBytes += removed;
      }
      return true;
    }
    // Inside a structured body, strings follow the attribute value limit: the body limit is for a body that is one text.
    const inner = isBody ? this.valueCutter : cutter;
    if (own(v, 'arrayValue')) {
      const av = v.arrayValue!;
      let changed = this.shorten(av, 'values', write);
      if (changed && !write) return true;
      for (const x of av.values ?? []) {
        if (this.value(x, inner, write, false)) {
          if (!write) return true;
          changed = true;
        }
      }
      return changed;
    }
    if (own(v, 'kvlistValue')) {
      const kv = v.kvlistValue!;
      let changed = this.shorten(kv, 'values', write);
      if (changed && !write) return true;
      for (const x of kv.values ?? []) {
        if (this.value(x.value, inner, write, false)) {
          if (!write) return true;
          changed = true;
        }
      }
      return changed;
    }
    return false;
  }

  private shorten<K extends string>(holder: { [k in K]: unknown[] }, key: K, write: boolean): boolean {
    const max = this.limits.arrayLength;
    const list = holder[key];
    if (max === 0 || !list || list.length <= max) return false;
    if (write) {
      this.tally.arraysCut++;
      this.tally.arrayElements += list.length - max;
      holder[key] = list.slice(0, max) as never;
    }
    return true;
  }

  /** The attribute count limit (first ones kept, droppedAttributesCount raised) and each value's limits. */
  attributes(h: Holder | null | undefined, write: boolean): boolean {
    if (!h || !h.attributes) return false;
    let changed = false;
    const max = this.limits.attributes;
    if (max > 0 && h.attributes.length > max) {
      if (!write) return true;
      const dropped = h.attributes.length - max;
      h.attributes = h.attributes.slice(0, max);
      h.droppedAttributesCount = (h.droppedAttributesCount ?? 0) + dropped;
      this.tally.attributes += dropped;
      changed = true;
    }
    const attrs = h.attributes;
    for (let i = 0; i < attrs.length; i++) {
      if (this.value(attrs[i].value, this.valueCutter, write, false)) {
        if (!write) return true;
        changed = true;
      }
    }
    return changed;
  }

  private resourceAndScopes(resource: Resource | null | undefined, scopes: (Scope | null | undefined)[], write: boolean): boolean {
    let changed = this.attributes(resource, write);
    if (changed && !write) return true;
    for (const sc of scopes) {
      if (this.attributes(sc, write)) {
        if (!write) return true;
        changed = true;
      }
    }
    return changed;
  }

  logs(model: LogsRequest, write: boolean): boolean {
    let changed = false;
    for (const rl of model.resourceLogs ?? []) {
      if (this.resourceAndScopes(rl.resource, (rl.scopeLogs ?? []).map((s) => s.scope), write)) {
        if (!write) return true;
        changed = true;
      }
      for (const sl of rl.scopeLogs ?? [])
        for (const log of sl.logRecords ?? []) {
          const a = this.attributes(log, write);
          if (a && !write) return true;
          const b = this.value(log.body, this.bodyCutter, write, true);
          if (b && !write) return true;
          if (a || b) {
            forgetBytes(log);
            changed = true;
          }
        }
    }
    return changed;
  }

  private span(span: Span, write: boolean): boolean {
    let changed = this.attributes(span, write);
    if (changed && !write) return true;
    const { spanEvents, spanLinks } = this.limits;
    if (spanEvents > 0 && span.events && span.events.length > spanEvents) {
      if (!write) return true;
      const dropped = span.events.length - spanEvents;
      span.events = span.events.slice(0, spanEvents);
      span.droppedEventsCount = (span.droppedEventsCount ?? 0) + dropped;
      this.tally.spanEvents += dropped;
      changed = true;
    }
    for (const ev of span.events ?? []) {
      if (this.attributes(ev, write)) {
        if (!write) return true;
        changed = true;
      }
    }
    if (spanLinks > 0 && span.links && span.links.length > spanLinks) {
      if (!write) return true;
      const dropped = span.links.length - spanLinks;
      span.links = span.links.slice(0, spanLinks);
      span.droppedLinksCount = (span.droppedLinksCount ?? 0) + dropped;
      this.tally.spanLinks += dropped;
      changed = true;
    }
    for (const link of span.links ?? []) {
      if (this.attributes(link, write)) {
        if (!write) return true;
        changed = true;
      }
    }
    return changed;
  }

  traces(model: TracesRequest, write: boolean): boolean {
    let changed = false;
    for (const rs of model.resourceSpans ?? []) {
      if (this.resourceAndScopes(rs.resource, (rs.scopeSpans ?? []).map((s) => s.scope), write)) {
        if (!write) return true;
        changed = true;
      }
      for (const ss of rs.scopeSpans ?? [])
        for (const span of ss.spans ?? []) {
          if (this.span(span, write)) {
            if (!write) return true;
            forgetBytes(span);
            changed = true;
          }
        }
    }
    return changed;
  }

  metrics(model: MetricsRequest, write: boolean): boolean {
    let changed = false;
    for (const rm of model.resourceMetrics ?? []) {
      if (this.resourceAndScopes(rm.resource, (rm.scopeMetrics ?? []).map((s) => s.scope), write)) {
        if (!write) return true;
        changed = true;
      }
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? [])
          for (const dp of dataPointsOf(m)) {
            if (this.attributes(dp, write)) {
              if (!write) return true;
              forgetBytes(m);
              changed = true;
            }
          }
    }
    return changed;
  }
}
