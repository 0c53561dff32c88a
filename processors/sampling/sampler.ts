// The per-batch decision. Each record goes through, in order:
//   1. keep rules (always kept, untouched),
//   2. drop rules (always dropped),
//   3. consistent probability sampling: kept when its randomness R >= the threshold T
//      of its percentage; kept records carry T (spans in tracestate `ot=th`, log
//      records in the attribute sampling.threshold) so backends can extrapolate.
// R is shared by everything that belongs together: the spans of one trace, and the
// records of one prompt cycle (see keys.ts), so those are kept or dropped whole.
// A batch in which nothing is dropped or annotated is handed on as it came.
import { Batch } from '../../src/otlp/batch';
import { replaceAttributes, setScalar } from '../../src/otlp/record-bytes';
import type { KeyValue, LogRecord, LogsRequest, Resource, Span, TracesRequest } from '../../src/otlp/model';
import type { RecordContext } from '../../src/conditions';
import { eventNameOf, eventNameTest, findAttribute, int64Value, scalarOf, stringOf } from '../../src/conditions';
import {
  builtinRules, DEFAULT_DROP_RULES, DEFAULT_KEEP_RULES, firstMatch, type Rule,
} from './rules';
import {
  betterKey, KeyReader, keyText, randomnessOfText, RecentMap, traceIdHex, traceRandomness, type KeySpec, type OwnKey,
} from './keys';
import {
  decodeRandomness, decodeThreshold, encodeThreshold, keepsAll, maxThreshold, probabilityOf, readOt, thresholdFor,
  writeOt, type OtValues,
} from './threshold';

export interface SamplerConfig {
  sampling_percentage: number;
  event_percentages: Record<string, number>;
  keep_defaults: boolean;
  keep: Rule[];
  drop_defaults: boolean;
  drop: Rule[];
  sampling_key: KeySpec;
}

/** Log record attributes that carry the threshold and randomness (as the Collector's probabilistic sampler writes them). */
export const ATTR_THRESHOLD = 'sampling.threshold';
export const ATTR_RANDOMNESS = 'sampling.randomness';
/** The probability itself, for backends that cannot decode a threshold. */
export const ATTR_PROBABILITY = 'sampling.probability';

/** How many trace ids the sampler remembers the randomness of, so a trace split over batches is decided once. */
export const TRACE_MEMORY = 50_000;

export type Decision = 'kept' | 'dropped';
export type Reason = 'keep_rule' | 'drop_rule' | 'sampled';

/** Counts by decision, reason and rule label. */
export class Tally {
  readonly counts = new Map<string, { decision: Decision; reason: Reason; rule: string; n: number }>();
  add(decision: Decision, reason: Reason, rule: string, n = 1): void {
    const k = `${decision}\u0000${reason}\u0000${rule}`;
    const e = this.counts.get(k);
    if (e) e.n += n;
    else this.counts.set(k, { decision, reason, rule, n });
  }
  total(decision: Decision, reason?: Reason): number {
    let n = 0;
    for (const e of this.counts.values()) if (e.decision === decision && (reason === undefined || e.reason === reason)) n += e.n;
    return n;
  }
}

/** A threshold (14 hex digits), or null for 0 %: nothing is kept. */
type Threshold = string | null;

interface EventRate {
  test: (name: string) => boolean;
  t: Threshold;
  label: string;
}

const enum Act {
  KeepRule = 0,
  DropRule = 1,
  /** Sampled at 100 %: kept untouched. */
  KeepAll = 2,
  Sample = 3,
}

/** What the edit pass does to one record. */
interface Verdict {
  keep: boolean;
  /** When set, the threshold to write (and randomness, when it is not implied by the record itself). */
  t?: string;
  rv?: string;
}

const KEEP: Verdict = { keep: true };
const DROP: Verdict = { keep: false };

export class Sampler {
  private readonly keep: Rule[];
  private readonly drop: Rule[];
  private readonly base: Threshold;
  private readonly events: EventRate[];
  /** Logs: false when every percentage is 100, so no key or randomness is ever needed. */
  private readonly active: boolean;
  private readonly keys: KeyReader;
  /** traces: trace id -> the randomness its spans were decided with. */
  private readonly traceR = new RecentMap<string>(TRACE_MEMORY);
  /** logs: trace id -> the prompt-cycle key of its records, for records that carry no prompt id. */
  private readonly traceKey = new RecentMap<OwnKey>(TRACE_MEMORY);

  constructor(cfg: SamplerConfig) {
    this.keep = [...(cfg.keep_defaults ? builtinRules(DEFAULT_KEEP_RULES) : []), ...cfg.keep];
    this.drop = [...(cfg.drop_defaults ? builtinRules(DEFAULT_DROP_RULES) : []), ...cfg.drop];
    this.base = thresholdFor(cfg.sampling_percentage / 100) ?? null;
    this.events = Object.entries(cfg.event_percentages).map(([name, pct]) => ({
      test: eventNameTest(name),
      t: thresholdFor(pct / 100) ?? null,
      label: `event_percentages.${name}`,
    }));
    this.active = [this.base, ...this.events.map((e) => e.t)].some((t) => t === null || !keepsAll(t));
    this.keys = new KeyReader(cfg.sampling_key);
  }

  /** The batch to hand on (the same one when nothing changed), or null when nothing is left. */
  process(batch: Batch, tally: Tally): Batch | null {
    if (batch.signal === 'logs') return this.logs(batch, tally);
    if (batch.signal === 'traces') return this.traces(batch, tally);
    return batch; // metrics are never sampled (and the config refuses this processor in a metrics pipeline)
  }

  // -------------------------------------------------------------------------------
  // Logs

  private logs(batch: Batch, tally: Tally): Batch | null {
    const model = batch.read() as LogsRequest;
    const acts: Act[] = [];
    const rules: number[] = [];
    const thresholds: Threshold[] = [];
    const labels: string[] = [];
    const owns: (OwnKey | undefined)[] = [];
    const tids: (string | undefined)[] = [];
    const recs: LogRecord[] = [];
    const batchKeys = new Map<string, OwnKey>();
    const r: RecordContext = { signal: 'logs' };

    for (const rl of model.resourceLogs ?? []) {
      r.resource = rl.resource;
      for (const sl of rl.scopeLogs ?? []) {
        r.scope = sl.scope;
        for (const log of sl.logRecords ?? []) {
          r.log = log;
          recs.push(log);
          let act: Act;
          let rule = firstMatch(this.keep, r);
          let t: Threshold = null;
          let label = '';
          if (rule >= 0) act = Act.KeepRule;
          else if ((rule = firstMatch(this.drop, r)) >= 0) act = Act.DropRule;
          else {
            ({ t, label } = this.rateOf(log));
            act = t !== null && keepsAll(t) ? Act.KeepAll : Act.Sample;
          }
          acts.push(act);
          rules.push(rule);
          thresholds.push(t);
          labels.push(label);
          if (!this.active) {
            owns.push(undefined);
            tids.push(undefined);
            continue;
          }
          // Every record (whatever its rule) tells which prompt cycle its trace belongs to.
          const own = this.keys.read(log.attributes, rl.resource?.attributes);
          const tid = traceIdHex(log.traceId);
          owns.push(own);
          tids.push(tid);
          if (tid !== undefined && own.prompt !== undefined) batchKeys.set(tid, betterKey(batchKeys.get(tid), own));
        }
      }
    }
    for (const [tid, k] of batchKeys) this.traceKey.set(tid, k);

    const verdicts: Verdict[] = new Array(acts.length);
    let changed = false;
    for (let i = 0; i < acts.length; i++) {
      const v = this.judgeLog(acts[i], rules[i], thresholds[i], labels[i], recs[i], owns[i], tids[i], batchKeys, tally);
      verdicts[i] = v;
      if (!v.keep || v.t !== undefined) changed = true;
    }
    if (!changed) return batch;

    // Records that are only dropped or kept as they are keep their received bytes.
    const edited = batch.editRecords() as LogsRequest;
    let i = 0;
    edited.resourceLogs = (edited.resourceLogs ?? []).filter((rl) => {
      rl.scopeLogs = (rl.scopeLogs ?? []).filter((sl) => {
        sl.logRecords = (sl.logRecords ?? []).filter((log) => {
          const v = verdicts[i++];
          if (v.keep && v.t !== undefined) annotateLog(log, v.t, v.rv);
          return v.keep;
        });
        return sl.logRecords.length > 0;
      });
      return rl.scopeLogs.length > 0;
    });
    return edited.resourceLogs.length > 0 ? batch : null;
  }

  private rateOf(log: LogRecord): { t: Threshold; label: string } {
    if (this.events.length > 0) {
      const name = eventNameOf(log);
      if (name !== undefined) for (const e of this.events) if (e.test(name)) return { t: e.t, label: e.label };
    }
    return { t: this.base, label: 'sampling_percentage' };
  }

  private judgeLog(
    act: Act, rule: number, t: Threshold, label: string, log: LogRecord,
    own: OwnKey | undefined, tid: string | undefined, batchKeys: Map<string, OwnKey>, tally: Tally,
  ): Verdict {
    if (act === Act.KeepRule) {
      tally.add('kept', 'keep_rule', this.keep[rule].name);
      return KEEP;
    }
    if (act === Act.DropRule) {
      tally.add('dropped', 'drop_rule', this.drop[rule].name);
      return DROP;
    }
    if (act === Act.KeepAll) {
      tally.add('kept', 'sampled', label);
      return KEEP;
    }
    if (t === null) {
      tally.add('dropped', 'sampled', label);
      return DROP;
    }
    // A record sampled upstream (by a Collector or another relay) keeps its randomness,
    // so that the thresholds compose: the stricter one applies.
    const upR = decodeRandomness(stringAttr(log.attributes, ATTR_RANDOMNESS) ?? '');
    const upTRaw = stringAttr(log.attributes, ATTR_THRESHOLD);
    const upT = upTRaw === undefined ? undefined : decodeThreshold(upTRaw);
    const implied = upR ?? (tid !== undefined ? traceRandomness(tid) : undefined);
    let R: string;
    if (upR !== undefined) R = upR;
    else if (upT !== undefined && tid !== undefined) R = traceRandomness(tid);
    else {
      let key = own!;
      if (key.prompt === undefined && tid !== undefined) {
        const k = this.traceKey.get(tid) ?? batchKeys.get(tid);
        if (k !== undefined && (key.session === undefined || key.session === k.session)) key = k;
      }
      const text = keyText(key);
      R = text !== undefined ? randomnessOfText(text) : tid !== undefined ? traceRandomness(tid) : randomnessOfText(contentOf(log));
    }
    return this.verdict(R, t, upT, implied, label, tally);
  }

  /** Keep when R >= max(T, a consistent upstream threshold); write T unless the record already says it. */
  private verdict(R: string, t: string, upT: string | undefined, implied: string | undefined, label: string, tally: Tally): Verdict {
    const consistentUp = upT !== undefined && implied === R && R >= upT ? upT : undefined;
    const eff = maxThreshold(t, consistentUp);
    if (R < eff) {
      tally.add('dropped', 'sampled', label);
      return DROP;
    }
    tally.add('kept', 'sampled', label);
    if (eff === upT && R === implied) return KEEP;
    return { keep: true, t: eff, rv: R === implied ? undefined : R };
  }

  // -------------------------------------------------------------------------------
  // Traces

  private traces(batch: Batch, tally: Tally): Batch | null {
    const model = batch.read() as TracesRequest;
    const acts: Act[] = [];
    const rules: number[] = [];
    const spans: Span[] = [];
    const tids: (string | undefined)[] = [];
    const ots: OtValues[] = [];
    const resources: (Resource | null | undefined)[] = [];
    const traces = new Map<string, { best?: OwnKey; rv?: string; th: boolean }>();
    const r: RecordContext = { signal: 'traces' };
    const NONE: OtValues = {};
    // Spans have one percentage; at 100 % no key or randomness is needed.
    const sampling = this.base === null || !keepsAll(this.base);

    for (const rs of model.resourceSpans ?? []) {
      r.resource = rs.resource;
      for (const ss of rs.scopeSpans ?? []) {
        r.scope = ss.scope;
        for (const span of ss.spans ?? []) {
          r.span = span;
          spans.push(span);
          resources.push(rs.resource);
          let rule = firstMatch(this.keep, r);
          let act: Act;
          if (rule >= 0) act = Act.KeepRule;
          else if ((rule = firstMatch(this.drop, r)) >= 0) act = Act.DropRule;
          else act = sampling ? Act.Sample : Act.KeepAll;
          acts.push(act);
          rules.push(rule);
          if (!sampling) {
            tids.push(undefined);
            ots.push(NONE);
            continue;
          }
          const tid = traceIdHex(span.traceId);
          const ot = span.traceState ? readOt(span.traceState) : NONE;
          tids.push(tid);
          ots.push(ot);
          if (tid === undefined) continue;
          let info = traces.get(tid);
          if (!info) traces.set(tid, (info = { th: false }));
          if (ot.rv !== undefined && info.rv === undefined) info.rv = ot.rv;
          if (ot.th !== undefined) info.th = true;
          const own = this.keys.read(span.attributes, rs.resource?.attributes);
          if (keyText(own) !== undefined) info.best = betterKey(info.best, own);
        }
      }
    }

    // One randomness per trace. A trace seen in an earlier batch keeps the randomness it
    // was decided with; otherwise an upstream rv, the trace id when an upstream sampler
    // set th from it, the prompt-cycle key, and last the trace id.
    const traceR = new Map<string, string>();
    for (const [tid, info] of traces) {
      let R = this.traceR.get(tid);
      if (R === undefined) {
        if (info.rv !== undefined) R = info.rv;
        else if (info.th || info.best === undefined) R = traceRandomness(tid);
        else R = randomnessOfText(keyText(info.best)!);
        this.traceR.set(tid, R);
      }
      traceR.set(tid, R);
    }

    const verdicts: Verdict[] = new Array(acts.length);
    let changed = false;
    const label = 'sampling_percentage';
    for (let i = 0; i < acts.length; i++) {
      let v: Verdict;
      const act = acts[i];
      if (act === Act.KeepRule) {
        tally.add('kept', 'keep_rule', this.keep[rules[i]].name);
        v = KEEP;
      } else if (act === Act.DropRule) {
        tally.add('dropped', 'drop_rule', this.drop[rules[i]].name);
        v = DROP;
      } else if (act === Act.KeepAll) {
        tally.add('kept', 'sampled', label);
        v = KEEP;
      } else if (this.base === null) {
        tally.add('dropped', 'sampled', label);
        v = DROP;
      } else {
        const tid = tids[i];
        const ot = ots[i];
        const implied = ot.rv ?? (tid !== undefined ? traceRandomness(tid) : undefined);
        let R = tid !== undefined ? traceR.get(tid) : undefined;
        if (R === undefined) {
          // No usable trace id (the receiver refuses malformed ones; this is an all-zero id).
          const text = keyText(this.keys.read(spans[i].attributes, resources[i]?.attributes));
          R = ot.rv ?? randomnessOfText(text ?? `${spans[i].name ?? ''}\u001f${int64Value(spans[i].startTimeUnixNano) ?? ''}`);
        }
        v = this.verdict(R, this.base, ot.th, implied, label, tally);
      }
      verdicts[i] = v;
      if (!v.keep || v.t !== undefined) changed = true;
    }
    if (!changed) return batch;

    const edited = batch.editRecords() as TracesRequest;
    let i = 0;
    edited.resourceSpans = (edited.resourceSpans ?? []).filter((rs) => {
      rs.scopeSpans = (rs.scopeSpans ?? []).filter((ss) => {
        ss.spans = (ss.spans ?? []).filter((span) => {
          const v = verdicts[i++];
          if (v.keep && v.t !== undefined) {
            setScalar(span, 'traceState', writeOt(span.traceState, v.t, v.rv));
          }
          return v.keep;
        });
        return ss.spans.length > 0;
      });
      return rs.scopeSpans.length > 0;
    });
    return edited.resourceSpans.length > 0 ? batch : null;
  }
}

function stringAttr(attrs: KeyValue[] | undefined, key: string): string | undefined {
  const v = scalarOf(findAttribute(attrs, key) ?? undefined);
  return typeof v === 'string' ? v : undefined;
}

/**
 * Sets (or replaces) the sampling attributes of a kept log record. It keeps its received
 * bytes for everything else: an upstream sampler's threshold is replaced by a new entry,
 * never changed in place.
 */
function annotateLog(log: LogRecord, t: string, rv: string | undefined): void {
  const attrs = (log.attributes ?? []).slice();
  setAttr(attrs, ATTR_THRESHOLD, { stringValue: encodeThreshold(t) });
  setAttr(attrs, ATTR_PROBABILITY, { doubleValue: probabilityOf(t) });
  if (rv !== undefined) setAttr(attrs, ATTR_RANDOMNESS, { stringValue: rv });
  replaceAttributes(log, attrs);
}

function setAttr(attrs: KeyValue[], key: string, value: KeyValue['value']): void {
  const i = attrs.findIndex((kv) => kv.key === key);
  if (i >= 0) attrs[i] = { key, value };
  else attrs.push({ key, value });
}

/** Randomness source of last resort for a log record with no key and no trace id: what it says and when. */
function contentOf(log: LogRecord): string {
  return [
    int64Value(log.timeUnixNano) ?? '',
    int64Value(log.observedTimeUnixNano) ?? '',
    eventNameOf(log) ?? '',
    stringOf(log.body ?? undefined) ?? '',
  ].join('\u001f');
}
