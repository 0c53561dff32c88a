// Counts what one record (or resource, or scope) lost to redaction, so the processor
// can report it on the record (summary attributes) and in its own metrics, without
// ever holding the redacted values themselves.

/** Receives one count per secret replaced, named by detector. */
export interface Tally {
  secret(detector: string): void;
}

export type SecretSink = (detector: string, field: string, n: number) => void;

/** The redactions of one record, gathered while its fields are processed. */
export class RecordTally implements Tally {
  /** False for the read-only pass, which counts nothing. */
  readonly counting: boolean = true;
  secrets = 0;
  readonly detectors = new Set<string>();
  /** Keys whose value was replaced or rewritten (content actions, secrets scrubbed). */
  readonly masked = new Set<string>();
  /** Keys removed (drop). */
  readonly dropped = new Set<string>();
  /** Secrets by field, then detector; handed to the sink once per record, since a counter call per hit costs too much. */
  private readonly counts = new Map<string, Map<string, number>>();
  private current: Map<string, number> | undefined;
  private currentField = '';

  constructor(private readonly sink: SecretSink) {}

  /** The top-level field now being processed: an attribute key, or body, name, status.message. */
  setField(field: string): void {
    if (field === this.currentField && this.current) return;
    this.currentField = field;
    this.current = undefined;
  }

  secret(detector: string): void {
    this.secrets++;
    this.detectors.add(detector);
    if (!this.current) {
      this.current = this.counts.get(this.currentField);
      if (!this.current) this.counts.set(this.currentField, (this.current = new Map()));
    }
    this.current.set(detector, (this.current.get(detector) ?? 0) + 1);
  }

  noteMasked(key: string): void {
    this.masked.add(key);
  }

  noteDropped(key: string): void {
    this.dropped.add(key);
  }

  /** Reports the secrets counted so far to the sink. */
  flush(): void {
    for (const [field, byDetector] of this.counts) for (const [detector, n] of byDetector) this.sink(detector, field, n);
    this.counts.clear();
    this.current = undefined;
  }

  get empty(): boolean {
    return this.secrets === 0 && this.masked.size === 0 && this.dropped.size === 0;
  }
}

/** Thrown by the read-only pass at the first secret: it only needs to know there is one. */
export const FOUND = Object.freeze({ found: true });

/** The tally of the read-only pass: stops the walk at the first secret, keeps nothing. */
class ProbeTally extends RecordTally {
  override readonly counting = false;
  constructor() {
    super(() => undefined);
  }
  override setField(): void {}
  override secret(): void {
    throw FOUND;
  }
  override noteMasked(): void {}
  override noteDropped(): void {}
  override flush(): void {}
}

export const PROBE: RecordTally = new ProbeTally();
