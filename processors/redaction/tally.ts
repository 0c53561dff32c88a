// Counts what one record (or resource, or scope) lost to redaction, so the processor
// can report it on the record (summary attributes) and in its own metrics, without
// ever holding the redacted values themselves.

/** Receives one count per secret replaced, named by detector. */
export interface Tally {
  secret(detector: string): void;
}

const NONE: ReadonlySet<string> = new Set();

export type SecretSink = (detector: string, field: string, n: number) => void;

/** The redactions of one record, gathered while its fields are processed. */
export class RecordTally implements Tally {
  /** False for the read-only pass, which counts nothing. */
  readonly counting: boolean = true;
  secrets = 0;
  // Most records lose nothing: the sets are made on first use.
  private detectorSet: Set<string> | undefined;
  private maskedSet: Set<string> | undefined;
  private droppedSet: Set<string> | undefined;
  /** Detectors that found a secret. */
  get detectors(): ReadonlySet<string> {
    return this.detectorSet ?? NONE;
  }
  /** Keys whose value was replaced or rewritten (content actions, secrets scrubbed). */
  get masked(): ReadonlySet<string> {
    return this.maskedSet ?? NONE;
  }
  /** Keys removed (drop). */
  get dropped(): ReadonlySet<string> {
    return this.droppedSet ?? NONE;
  }
  /** Secrets by field, then detector; handed to the sink once per record, since a counter call per hit costs too much. */
  private counts: Map<string, Map<string, number>> | undefined;
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
    (this.detectorSet ??= new Set()).add(detector);
    if (!this.current) {
      this.counts ??= new Map();
      this.current = this.counts.get(this.currentField);
      if (!this.current) this.counts.set(this.currentField, (this.current = new Map()));
    }
    this.current.set(detector, (this.current.get(detector) ?? 0) + 1);
  }

  noteMasked(key: string): void {
    (this.maskedSet ??= new Set()).add(key);
  }

  noteDropped(key: string): void {
    (this.droppedSet ??= new Set()).add(key);
  }

  /** Reports the secrets counted so far to the sink. */
  flush(): void {
    if (!this.counts) return;
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
