// The fixes of agent_normalize over one request model. Every function runs in two
// modes: with write=false it only answers "would anything change?" (stopping at the
// first yes), so that a batch needing nothing is handed on untouched, with its
// original bytes; with write=true it changes the (private, edited) model, and tells
// record-bytes.ts which records changed, so that the others keep their received bytes.
import type {
  KeyValue, LogRecord, LogsRequest, MetricsRequest, Resource, Scope, Span, TracesRequest,
} from '../../src/otlp/model';
import { dataPointsOf } from '../../src/otlp/model';
import { findAttribute } from '../../src/conditions';
import { addAttribute, forgetBytes, replaceAttributes, setScalar } from '../../src/otlp/record-bytes';
import { AGENT_NAME_KEY, type Agent, type AgentDetector } from './agents';
import { convertString, isoToUnixNano, isZeroTime, ownString, type NumberKind } from './values';

export interface Plan {
  detect: AgentDetector;
  timestamps: boolean;
  eventName: boolean;
  prefixEventName: boolean;
  prefixEventNameAttribute: boolean;
  /** Attribute key -> what its string should become; empty when the numbers fix is off. */
  numbers: Map<string, NumberKind>;
  agentName: 'resource' | 'record' | 'off';
}

/** Codex's Rust tracing bridge fills LogRecord.eventName with a call site: "event otel/src/events/session_telemetry.rs:803". */
const RUST_CALLSITE = /^event \S+\.rs:\d+$/;
const CLAUDE_PREFIX = 'claude_code.';

function hasKey(attrs: KeyValue[] | undefined, key: string): boolean {
  return findAttribute(attrs, key) !== undefined;
}

/** agent.name on the resource, unless it has one. */
function tagResource(holder: { resource?: Resource | null }, agent: Agent, write: boolean): boolean {
  if (hasKey(holder.resource?.attributes, AGENT_NAME_KEY)) return false;
  if (write) {
    if (!holder.resource) holder.resource = { attributes: [] };
    if (!holder.resource.attributes) holder.resource.attributes = [];
    holder.resource.attributes.push({ key: AGENT_NAME_KEY, value: { stringValue: agent } });
  }
  return true;
}

/**
 * agent.name on a record (log record, span, data point), unless it has one. A log record
 * or span that keeps its received bytes keeps them; a data point's metric is forgotten by the caller.
 */
function tagRecord(record: { attributes: KeyValue[] }, agent: Agent, write: boolean): boolean {
  if (hasKey(record.attributes, AGENT_NAME_KEY)) return false;
  if (write) addAttribute(record, { key: AGENT_NAME_KEY, value: { stringValue: agent } });
  return true;
}

/** numbersFixed() for a list changed in place (span and span event attributes); the caller forgets the span's bytes. */
function fixNumbers(attrs: KeyValue[] | undefined, plan: Plan, write: boolean): boolean {
  const out = numbersFixed(attrs, plan);
  if (!out) return false;
  if (write) attrs!.splice(0, attrs!.length, ...out);
  return true;
}

/** The list with its number strings turned into numbers (new KeyValues, `attrs` untouched), or undefined when there are none. */
function numbersFixed(attrs: KeyValue[] | undefined, plan: Plan): KeyValue[] | undefined {
  if (!attrs || plan.numbers.size === 0) return undefined;
  let out: KeyValue[] | undefined;
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i];
    const kind = plan.numbers.get(kv.key);
    if (kind === undefined) continue;
    const s = ownString(kv.value);
    if (s === undefined) continue;
    const v = convertString(s, kind);
    if (!v) continue;
    out ??= attrs.slice();
    out[i] = { key: kv.key, value: v };
  }
  return out;
}

function fixTime(log: LogRecord, write: boolean): boolean {
  if (!isZeroTime(log.timeUnixNano)) return false;
  let t = isZeroTime(log.observedTimeUnixNano) ? undefined : log.observedTimeUnixNano;
  if (t === undefined) {
    const iso = ownString(findAttribute(log.attributes, 'event.timestamp'));
    t = iso === undefined ? undefined : isoToUnixNano(iso);
  }
  if (t === undefined) return false;
  if (write) setScalar(log, 'timeUnixNano', t);
  return true;
}

function fixEventName(log: LogRecord, agent: Agent | undefined, plan: Plan, write: boolean): boolean {
  let changed = false;
  const attrs = log.attributes;
  let kv: KeyValue | undefined;
  if (attrs) for (let i = 0; i < attrs.length && !kv; i++) if (attrs[i].key === 'event.name') kv = attrs[i];
  const fromAttr = kv ? ownString(kv.value) : undefined;
  if (fromAttr) {
    const prefixed = agent === 'claude_code' && !fromAttr.includes('.') ? CLAUDE_PREFIX + fromAttr : fromAttr;
    if (plan.eventName) {
      const name = plan.prefixEventName ? prefixed : fromAttr;
      if (log.eventName !== name) {
        if (!write) return true;
        setScalar(log, 'eventName', name);
        changed = true;
      }
    }
    if (plan.prefixEventNameAttribute && prefixed !== fromAttr) {
      if (!write) return true;
      kv!.value = { stringValue: prefixed };
      forgetBytes(log);
      changed = true;
    }
  } else if (plan.eventName && log.eventName && RUST_CALLSITE.test(log.eventName)) {
    // Not an event name at all; left in place it would be read as one by backends.
    if (!write) return true;
    delete log.eventName;
    // A decoded protobuf message has '' on its prototype; a plain object has nothing left.
    forgetBytes(log);
    changed = true;
  }
  return changed;
}

function fixLog(log: LogRecord, agent: Agent | undefined, plan: Plan, write: boolean): boolean {
  let changed = false;
  if (plan.timestamps && fixTime(log, write)) {
    if (!write) return true;
    changed = true;
  }
  if ((plan.eventName || plan.prefixEventNameAttribute) && fixEventName(log, agent, plan, write)) {
    if (!write) return true;
    changed = true;
  }
  const numbers = numbersFixed(log.attributes, plan);
  if (numbers) {
    if (!write) return true;
    // The record keeps its bytes but for the attributes that changed.
    replaceAttributes(log, numbers);
    changed = true;
  }
  if (agent && plan.agentName === 'record' && tagRecord(log, agent, write)) {
    if (!write) return true;
    changed = true;
  }
  return changed;
}

function fixSpan(span: Span, agent: Agent | undefined, plan: Plan, write: boolean): boolean {
  let changed = false;
  if (fixNumbers(span.attributes, plan, write)) {
    if (!write) return true;
    changed = true;
  }
  for (const ev of span.events ?? []) {
    if (fixNumbers(ev.attributes, plan, write)) {
      if (!write) return true;
      changed = true;
    }
  }
  // Numbers are changed in place: the bytes go. Before tagging, which keeps them otherwise.
  if (changed) forgetBytes(span);
  if (agent && plan.agentName === 'record' && tagRecord(span, agent, write)) {
    if (!write) return true;
    changed = true;
  }
  return changed;
}

function scopesOf<T extends { scope?: Scope | null }>(list: T[] | undefined): (Scope | null | undefined)[] {
  return (list ?? []).map((x) => x.scope);
}

export function normalizeLogs(model: LogsRequest, plan: Plan, write: boolean): boolean {
  let changed = false;
  for (const rl of model.resourceLogs ?? []) {
    const agent = plan.detect(rl.resource?.attributes, scopesOf(rl.scopeLogs));
    if (agent && plan.agentName === 'resource' && tagResource(rl, agent, write)) {
      if (!write) return true;
      changed = true;
    }
    for (const sl of rl.scopeLogs ?? [])
      for (const log of sl.logRecords ?? []) {
        if (fixLog(log, agent, plan, write)) {
          if (!write) return true;
          changed = true;
        }
      }
  }
  return changed;
}

export function normalizeTraces(model: TracesRequest, plan: Plan, write: boolean): boolean {
  let changed = false;
  for (const rs of model.resourceSpans ?? []) {
    const agent = plan.detect(rs.resource?.attributes, scopesOf(rs.scopeSpans));
    if (agent && plan.agentName === 'resource' && tagResource(rs, agent, write)) {
      if (!write) return true;
      changed = true;
    }
    for (const ss of rs.scopeSpans ?? [])
      for (const span of ss.spans ?? []) {
        if (fixSpan(span, agent, plan, write)) {
          if (!write) return true;
          changed = true;
        }
      }
  }
  return changed;
}

/** Metrics only get agent.name: data point attributes define series, so their types are left as sent. */
export function normalizeMetrics(model: MetricsRequest, plan: Plan, write: boolean): boolean {
  if (plan.agentName === 'off') return false;
  let changed = false;
  for (const rm of model.resourceMetrics ?? []) {
    const agent = plan.detect(rm.resource?.attributes, scopesOf(rm.scopeMetrics));
    if (!agent) continue;
    if (plan.agentName === 'resource') {
      if (tagResource(rm, agent, write)) {
        if (!write) return true;
        changed = true;
      }
      continue;
    }
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? [])
        for (const dp of dataPointsOf(m)) {
          if (tagRecord(dp, agent, write)) {
            if (!write) return true;
            forgetBytes(m);
            changed = true;
          }
        }
  }
  return changed;
}
