// Walks one request (logs, traces or metrics) and has each attribute list, log body,
// span name and status message redacted (values.ts), then notes on each changed record
// what was redacted (summary attributes) and hands the counts to the self-metrics.
//
// The same walk runs twice: first read-only on batch.read(), stopping at the first
// change (the first secret throws FOUND), so a batch that needs nothing is handed on
// with its original bytes; then, only if needed, on batch.edit(), assigning the new
// lists, and telling record-bytes.ts which records changed (the others keep the bytes
// they arrived with). Between records it lets the event loop run, every SLICE_MS at most.
import { performance } from 'node:perf_hooks';
import { eventNameOf } from '../../src/conditions';
import { anyValueKind } from '../../src/conditions/values';
import type { DataPoint, KeyValue, LogRecord, LogsRequest, MetricsRequest, Resource, Scope, Span, TracesRequest } from '../../src/otlp/model';
import { METRIC_DATA_KINDS } from '../../src/otlp/model';
import { forgetBytes, replaceAttributes } from '../../src/otlp/record-bytes';
import type { Signal } from '../../src/otlp/schema';
import { eventFields } from './content';
import type { Hasher } from './identity';
import type { Scrubber } from './scrubber';
import { FOUND, PROBE, RecordTally } from './tally';
import { DROP, SAME, ValueRedactor, type Outcome, type RedactorSettings, type RedactorSinks } from './values';

export type { RedactorSettings, RedactorSinks } from './values';

/** Longest stretch of work before the walk lets the event loop run. */
const SLICE_MS = 10;
const SUMMARY_PREFIX = 'redaction.';

export class Redactor {
  private lastYield = 0;
  private readonly values: ValueRedactor;

  constructor(
    private readonly cfg: RedactorSettings,
    scrubber: Scrubber,
    hasher: Hasher | undefined,
    private readonly sinks: RedactorSinks,
  ) {
    this.values = new ValueRedactor(cfg, scrubber, hasher, sinks);
  }

  /**
   * Runs over `model`. With apply false, nothing is changed and the answer is whether
   * anything would be (it stops at the first change); with apply true, changes are made.
   */
  async walk(signal: Signal, model: unknown, apply: boolean): Promise<boolean> {
    this.lastYield = performance.now();
    try {
      if (signal === 'logs') return await this.logs(model as LogsRequest, apply);
      if (signal === 'traces') return await this.traces(model as TracesRequest, apply);
      return await this.metrics(model as MetricsRequest, apply);
    } catch (e) {
      // The read-only pass stops at the first secret it meets.
      if (e === FOUND) return true;
      throw e;
    }
  }

  private async pause(): Promise<void> {
    if (performance.now() - this.lastYield < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
  }

  private tally(apply: boolean): RecordTally {
    return apply ? new RecordTally(this.sinks.secret) : PROBE;
  }

  // -------------------------------------------------------------------------------
  // Signals

  private async logs(req: LogsRequest, apply: boolean): Promise<boolean> {
    let changed = false;
    for (const rl of req.resourceLogs ?? []) {
      if (this.resourceAndScope(rl.resource, apply)) {
        if (!apply) return true;
        changed = true;
      }
      for (const sl of rl.scopeLogs ?? []) {
        if (this.resourceAndScope(undefined, apply, sl.scope)) {
          if (!apply) return true;
          changed = true;
        }
        for (const lr of sl.logRecords ?? []) {
          if (this.logRecord(lr, apply)) {
            if (!apply) return true;
            changed = true;
          }
          await this.pause();
        }
      }
    }
    return changed;
  }

  private async traces(req: TracesRequest, apply: boolean): Promise<boolean> {
    let changed = false;
    for (const rs of req.resourceSpans ?? []) {
      if (this.resourceAndScope(rs.resource, apply)) {
        if (!apply) return true;
        changed = true;
      }
      for (const ss of rs.scopeSpans ?? []) {
        if (this.resourceAndScope(undefined, apply, ss.scope)) {
          if (!apply) return true;
          changed = true;
        }
        for (const sp of ss.spans ?? []) {
          if (this.span(sp, apply)) {
            if (!apply) return true;
            changed = true;
          }
          await this.pause();
        }
      }
    }
    return changed;
  }

  private async metrics(req: MetricsRequest, apply: boolean): Promise<boolean> {
    let changed = false;
    for (const rm of req.resourceMetrics ?? []) {
      if (this.resourceAndScope(rm.resource, apply)) {
        if (!apply) return true;
        changed = true;
      }
      for (const sm of rm.scopeMetrics ?? []) {
        if (this.resourceAndScope(undefined, apply, sm.scope)) {
          if (!apply) return true;
          changed = true;
        }
        for (const m of sm.metrics ?? []) {
          const t = this.tally(apply);
          const meta = this.values.attrs(m.metadata, 'point', undefined, t);
          t.flush();
          if (meta) {
            if (!apply) return true;
            m.metadata = meta;
            forgetBytes(m);
            changed = true;
          }
          for (const kind of METRIC_DATA_KINDS) {
            const data = m[kind];
            if (!data) continue;
            for (const dp of data.dataPoints ?? []) {
              if (this.dataPoint(dp, apply)) {
                if (!apply) return true;
                forgetBytes(m);
                changed = true;
              }
            }
          }
          await this.pause();
        }
      }
    }
    return changed;
  }

  /** Resource attributes (with `resource`) or scope attributes (with `scope`). Not summarised on records. */
  private resourceAndScope(resource: Resource | null | undefined, apply: boolean, scope?: Scope | null): boolean {
    const holder = resource ?? scope;
    if (!holder) return false;
    const t = this.tally(apply);
    const next = this.values.attrs(holder.attributes, resource ? 'resource' : 'scope', undefined, t);
    t.flush();
    if (!next) return false;
    if (apply) holder.attributes = next;
    return true;
  }

  // -------------------------------------------------------------------------------
  // Records

  private logRecord(lr: LogRecord, apply: boolean): boolean {
    const t = this.tally(apply);
    const fields = eventFields(eventNameOf(lr) ?? bodyEventName(lr));
    const attrs = this.values.attrs(lr.attributes, 'record', fields, t);
    let body: Outcome = SAME;
    if (lr.body) {
      t.setField('body');
      body = this.values.scrubAny(lr.body, undefined, t);
      if (body !== SAME) t.noteMasked('body');
    }
    const eventName = this.values.scrubField(lr.eventName, 'event_name', t);
    t.flush();
    if (!attrs && body === SAME && eventName === undefined) return false;
    if (!apply) return true;
    const list = this.withSummary(attrs ?? lr.attributes ?? [], t);
    // Only attributes changed: the record keeps its received bytes for the rest.
    if (body === SAME && eventName === undefined) {
      replaceAttributes(lr, list);
      return true;
    }
    forgetBytes(lr);
    if (body !== SAME && body !== DROP) lr.body = body;
    if (eventName !== undefined) lr.eventName = eventName;
    lr.attributes = list;
    return true;
  }

  private span(sp: Span, apply: boolean): boolean {
    const t = this.tally(apply);
    let changed = false;
    /** Something besides the span's own attributes changed: it is encoded anew. */
    let others = false;
    const attrs = this.values.attrs(sp.attributes, 'record', undefined, t);
    const name = this.values.scrubField(sp.name, 'name', t);
    const status = this.values.scrubField(sp.status?.message, 'status.message', t);
    if (attrs || name !== undefined || status !== undefined) {
      if (!apply) return true;
      if (name !== undefined) sp.name = name;
      if (status !== undefined) sp.status = { ...sp.status, message: status };
      others = name !== undefined || status !== undefined;
      changed = true;
    }
    for (const ev of sp.events ?? []) {
      const evAttrs = this.values.attrs(ev.attributes, 'record', undefined, t);
      const evName = this.values.scrubField(ev.name, 'event.name', t);
      if (evAttrs || evName !== undefined) {
        if (!apply) return true;
        if (evAttrs) ev.attributes = evAttrs;
        if (evName !== undefined) ev.name = evName;
        changed = others = true;
      }
    }
    for (const link of sp.links ?? []) {
      const linkAttrs = this.values.attrs(link.attributes, 'link', undefined, t);
      if (linkAttrs) {
        if (!apply) return true;
        link.attributes = linkAttrs;
        changed = others = true;
      }
    }
    if (changed) {
      t.flush();
      const list = this.withSummary(attrs ?? sp.attributes ?? [], t);
      if (others) {
        forgetBytes(sp);
        sp.attributes = list;
      } else replaceAttributes(sp, list);
    }
    return changed;
  }

  /** Data point and exemplar attributes. No summary attributes: they would split the series. */
  private dataPoint(dp: DataPoint, apply: boolean): boolean {
    const t = this.tally(apply);
    let changed = false;
    const attrs = this.values.attrs(dp.attributes, 'point', undefined, t);
    if (attrs) {
      if (!apply) return true;
      dp.attributes = attrs;
      changed = true;
    }
    const exemplars = dp.exemplars as { filteredAttributes?: KeyValue[] }[] | undefined;
    for (const ex of exemplars ?? []) {
      const exAttrs = this.values.attrs(ex.filteredAttributes, 'point', undefined, t);
      if (exAttrs) {
        if (!apply) return true;
        ex.filteredAttributes = exAttrs;
        changed = true;
      }
    }
    t.flush();
    return changed;
  }

  private withSummary(list: KeyValue[], t: RecordTally): KeyValue[] {
    if (this.cfg.summary === 'silent') return list;
    const out = list.filter((kv) => !kv.key.startsWith(SUMMARY_PREFIX));
    if (t.empty) return out.length === list.length ? list : out;
    const int = (key: string, n: number) => n > 0 && out.push({ key: SUMMARY_PREFIX + key, value: { intValue: n } });
    const str = (key: string, xs: ReadonlySet<string>) =>
      xs.size > 0 && out.push({ key: SUMMARY_PREFIX + key, value: { stringValue: [...xs].sort().join(',') } });
    if (this.cfg.summary === 'debug') {
      str('redacted.keys', t.dropped);
      str('masked.keys', t.masked);
      str('secrets.detectors', t.detectors);
    }
    int('redacted.count', t.dropped.size);
    int('masked.count', t.masked.size);
    int('secrets.count', t.secrets);
    return out;
  }
}

/** The event name Claude Code also puts in the body, for records without event.name. */
function bodyEventName(lr: LogRecord): string | undefined {
  const b = lr.body;
  if (!b || anyValueKind(b) !== 'stringValue') return undefined;
  const s = b.stringValue!;
  return s.length > 0 && s.length < 128 && !/\s/.test(s) ? s : undefined;
}
