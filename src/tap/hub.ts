// The live tap: copies of the batches that pass chosen components, for whoever is
// watching (`agentrelay tap`). A component nobody watches costs one Map lookup per
// batch; a watched one costs an OTLP/JSON encoding per batch, made once and shared
// by every watcher of that point.
import type { Batch } from '../otlp/batch';
import type { Consumer } from '../pipeline/component';
import type { TapPoint } from '../pipeline/graph';
import type { Signal } from '../otlp/schema';

export interface TapFilter {
  component: string;
  pipeline?: string;
  signal?: Signal;
}

interface Watcher {
  filter: TapFilter;
  /** Takes one JSON line (no newline); false when the watcher is full and the line was not taken. */
  send(line: string, notice: boolean): boolean;
  dropped: number;
}

export class TapHub {
  private readonly watchers = new Set<Watcher>();
  /** component id -> number of watchers, the only thing the hot path looks at. */
  private readonly watched = new Map<string, number>();
  private current: TapPoint[] = [];

  /** A graph's `observe` option; `points` collects the tap points of that graph as it is built. */
  observer(points: TapPoint[]): (point: TapPoint, next: Consumer) => Consumer {
    return (point, next) => {
      points.push(point);
      return {
        consume: (batch) => {
          if (this.watched.has(point.component)) this.publish(point, batch);
          return next.consume(batch);
        },
      };
    };
  }

  /** The points of the running graph (set when a graph starts serving). */
  setPoints(points: TapPoint[]): void {
    this.current = points;
  }

  points(): readonly TapPoint[] {
    return this.current;
  }

  isWatched(component: string): boolean {
    return this.watched.has(component);
  }

  /** Starts sending lines for batches that match `filter`; returns the function that stops it. */
  watch(filter: TapFilter, send: (line: string, notice: boolean) => boolean): () => void {
    const w: Watcher = { filter, send, dropped: 0 };
    this.watchers.add(w);
    this.watched.set(filter.component, (this.watched.get(filter.component) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.watchers.delete(w);
      const n = (this.watched.get(filter.component) ?? 1) - 1;
      if (n > 0) this.watched.set(filter.component, n);
      else this.watched.delete(filter.component);
    };
  }

  publish(point: TapPoint, batch: Batch): void {
    let line: string | undefined;
    for (const w of this.watchers) {
      const f = w.filter;
      if (f.component !== point.component) continue;
      if (f.pipeline !== undefined && f.pipeline !== point.pipeline) continue;
      if (f.signal !== undefined && f.signal !== point.signal) continue;
      line ??= JSON.stringify({
        time: new Date().toISOString(),
        component: point.component,
        kind: point.kind,
        pipeline: point.pipeline,
        signal: point.signal,
        items: batch.itemCount(),
        data: batch.toJsonObject(),
      });
      // A watcher that cannot keep up loses batches, never slows the pipeline; it is told how many.
      if (w.dropped > 0) {
        if (!w.send(JSON.stringify({ time: new Date().toISOString(), dropped_batches: w.dropped }), true)) {
          w.dropped++;
          continue;
        }
        w.dropped = 0;
      }
      if (!w.send(line, false)) w.dropped++;
    }
  }
}
