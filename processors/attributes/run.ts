// Runs compiled actions over attribute lists, copying a batch only when some action
// changes something: a first pass over the read-only model stops at the first change
// it finds; only then is the batch edited and the actions run for real. Until the
// first change nothing has been altered, so the dry pass sees what the real one would.
// A log record's or span's own list is changed as a copy and handed back whole with
// replaceAttributes(): the record keeps its received bytes for all it did not change.
import type { Batch } from '../../src/otlp/batch';
import { forgetBytes, replaceAttributes } from '../../src/otlp/record-bytes';
import type { RecordContext } from '../../src/conditions';
import type { KeyValue } from '../../src/otlp/model';
import type { Telemetry } from '../../src/telemetry/metrics';
import type { CompiledAction, Stats } from './actions';

const NO_ATTRIBUTES: KeyValue[] = Object.freeze([]) as unknown as KeyValue[];

/** Something with an attribute list (a record, a span event, a resource). */
export interface Holder {
  attributes?: KeyValue[];
}

/**
 * Calls `visit(holder, context, record)` for each attribute holder of a model, where
 * `record` is the log record, span or metric the holder is part of (the holder itself, a
 * span event, a data point), or undefined for a resource; a visitor returning true stops
 * the walk. With `mutable`, the walker may create a missing holder (a resource) so that
 * actions can add to it.
 */
export type Walker = (model: unknown, mutable: boolean, visit: (h: Holder, r: RecordContext, record?: object) => boolean) => void;

/**
 * Applies `actions` in order to every holder `walk` finds. Returns the batch to hand on
 * (the same object; edited only when something changed).
 */
export function applyActions(batch: Batch, actions: readonly CompiledAction[], walk: Walker, report: (s: Stats) => void): Batch {
  if (actions.length === 0) return batch;
  const n = actions.length;
  const dryStats: Stats = { truncated: 0, notConverted: 0 };
  let changes = false;
  walk(batch.read(), false, (h, r) => {
    const attrs = h.attributes ?? NO_ATTRIBUTES;
    for (let i = 0; i < n; i++) {
      const a = actions[i];
      if (a.where !== undefined && !a.where(r)) continue;
      if (a.run(attrs, true, dryStats)) return (changes = true);
    }
    return false;
  });
  if (!changes) {
    report(dryStats);
    return batch;
  }
  const stats: Stats = { truncated: 0, notConverted: 0 };
  walk(batch.editRecords(), true, (h, r, record) => {
    // Actions change the list in place but replace entries, never change one: a record's own
    // list is worked on as a copy. (Decoded records always have their list; models built by
    // hand may not.)
    const own = record === h;
    const attrs = own ? (h.attributes ?? []).slice() : (h.attributes ??= []);
    let changed = false;
    for (let i = 0; i < n; i++) {
      const a = actions[i];
      if (a.where !== undefined && !a.where(r)) continue;
      if (a.run(attrs, false, stats)) changed = true;
    }
    if (changed && own) replaceAttributes(h, attrs);
    else if (changed && record !== undefined) forgetBytes(record);
    return false;
  });
  report(stats);
  return batch;
}

/** Reports what actions counted, in the relay's own metrics. */
export function statsReporter(telemetry: Telemetry, labels: Record<string, string>): (st: Stats) => void {
  const truncated = telemetry.counter('attribute_values_truncated', 'Attribute values cut by a truncate action');
  const notConverted = telemetry.counter('attribute_values_not_converted', 'Attribute values a convert action could not convert (kept as they were)');
  return (st) => {
    truncated(st.truncated, labels);
    notConverted(st.notConverted, labels);
  };
}
