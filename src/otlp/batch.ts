// A Batch is one export request of one signal as it moves through the relay.
// It holds the decoded model and/or its encodings; each is produced at most once
// and shared: every exporter that wants protobuf gets the same bytes, and a batch
// that no processor changed is forwarded with the bytes it arrived with.
// Batches are copy-on-write: fork() hands the same state to another pipeline, and
// edit() copies the model first when the state is shared, so no pipeline or
// exporter ever sees another one's changes.
import { signalTypes, Signal } from './schema';
import { fromJson, toJson } from './json';
import { scanRequest } from './wire';
import { decodeKeepingBytes, encodeReusingBytes, forgetAllBytes } from './record-bytes';
import { dataPointsOf, LogsRequest, MetricsRequest, RequestModel, TracesRequest } from './model';

interface State {
  model?: RequestModel;
  proto?: Uint8Array;
  json?: Buffer;
  items?: number;
}

/** Request metadata the receiver kept (lower-case header names), e.g. for the enrich processor. */
export type Metadata = Readonly<Record<string, string>>;
const NO_METADATA: Metadata = Object.freeze({});

export class Batch {
  private owned: boolean;
  /** Client metadata of the request(s) this batch came from; empty unless the receiver has include_metadata. */
  metadata: Metadata = NO_METADATA;

  private constructor(readonly signal: Signal, private state: State, owned: boolean) {
    this.owned = owned;
  }

  /**
   * Checks protobuf bytes now (so a bad body is refused at the door) and keeps them;
   * the model is decoded only when something reads it. Throws WireError.
   */
  static fromProto(signal: Signal, bytes: Uint8Array): Batch {
    const { items, badIds } = scanRequest(signal, bytes);
    const b = new Batch(signal, { proto: bytes, items }, true);
    b.badIds = badIds;
    return b;
  }

  /** Set when the received bytes hold a record with a malformed trace or span id (see validate.ts). */
  badIds = false;

  /** Builds the model from a parsed OTLP/JSON request. Throws JsonShapeError. */
  static fromJsonObject(signal: Signal, obj: unknown): Batch {
    const model = fromJson(signalTypes[signal].request, obj) as unknown as RequestModel;
    return new Batch(signal, { model }, true);
  }

  /**
   * Wraps a model built elsewhere. `shared` says the model holds objects that other
   * batches may also reference, so the first edit() must copy it.
   */
  static fromModel(signal: Signal, model: RequestModel, shared = false): Batch {
    return new Batch(signal, { model }, !shared);
  }

  /**
   * Several requests of one signal as one. Protobuf encodings concatenate into a valid
   * request. Callers join only batches with the same metadata; the first one's is kept.
   */
  static concat(signal: Signal, parts: Batch[]): Batch {
    const joined = Batch.join(signal, parts);
    joined.metadata = parts[0].metadata;
    return joined;
  }

  private static join(signal: Signal, parts: Batch[]): Batch {
    if (parts.length === 1) return parts[0].fork();
    if (parts.every((p) => p.state.proto !== undefined)) {
      // Concatenated encodings of one message type decode as one message with the repeated fields joined.
      const items = parts.reduce((n, p) => n + p.itemCount(), 0);
      return new Batch(signal, { proto: Buffer.concat(parts.map((p) => p.state.proto!)), items }, true);
    }
    const field = signalTypes[signal].resourceField;
    const merged: Record<string, unknown[]> = { [field]: [] };
    let items = 0;
    for (const p of parts) {
      merged[field].push(...((p.read() as unknown as Record<string, unknown[]>)[field] ?? []));
      items += p.itemCount();
    }
    const b = new Batch(signal, { model: merged as unknown as RequestModel, items }, false);
    return b;
  }

  /** True while only the encoded bytes exist (nothing has read the model yet). */
  isUndecoded(): boolean {
    return this.state.model === undefined;
  }

  /** The model, for reading only. */
  read(): RequestModel {
    const s = this.state;
    if (s.model === undefined) s.model = decodeKeepingBytes(this.signal, s.proto!);
    return s.model;
  }

  /**
   * The model, for changing anything in it. Copies it first when it is shared; drops
   * cached encodings, and the next encoding encodes every record anew.
   */
  edit(): RequestModel {
    const model = this.editRecords();
    forgetAllBytes(this.signal, model);
    return model;
  }

  /**
   * The model, for changing, where records nobody changed keep the bytes they arrived
   * with. The caller must pass every log record, span or metric whose own fields (or
   * anything inside them) it changes to forgetBytes() from record-bytes.ts, or set the
   * field with setScalar() there, add attributes with addAttribute(), or give it a new
   * attribute list with replaceAttributes().
   * Removing, adding and reordering records, and changing resources and scopes, need no
   * call.
   */
  editRecords(): RequestModel {
    if (!this.owned) {
      const bytes = this.toProto();
      this.state = { model: decodeKeepingBytes(this.signal, bytes) };
      this.owned = true;
    } else {
      this.read();
    }
    this.state.proto = undefined;
    this.state.json = undefined;
    this.state.items = undefined;
    return this.state.model!;
  }

  /**
   * Keeps only the protobuf encoding, for a batch that will wait (a sending queue): the
   * decoded model of a large request takes several times its encoded size, and is
   * decoded again, lazily, if anything reads it later.
   */
  compact(): void {
    this.toProto();
    this.state.model = undefined;
  }

  /** Another handle on the same data, for another pipeline or exporter. */
  fork(): Batch {
    this.owned = false;
    const b = new Batch(this.signal, this.state, false);
    b.metadata = this.metadata;
    b.badIds = this.badIds;
    return b;
  }

  toProto(): Uint8Array {
    const s = this.state;
    if (s.proto === undefined) s.proto = encodeReusingBytes(this.signal, s.model!);
    return s.proto;
  }

  toJson(): Buffer {
    const s = this.state;
    if (s.json === undefined) s.json = Buffer.from(JSON.stringify(this.toJsonObject()));
    return s.json;
  }

  toJsonObject(): Record<string, unknown> {
    return toJson(signalTypes[this.signal].request, this.read());
  }

  /** Log records, spans or metric data points, as the Collector counts items. */
  itemCount(): number {
    const s = this.state;
    if (s.items === undefined) s.items = countItems(this.signal, this.read());
    return s.items;
  }

  /** True when nothing is left to send. */
  isEmpty(): boolean {
    return this.itemCount() === 0;
  }
}

export function countItems(signal: Signal, model: RequestModel): number {
  let n = 0;
  if (signal === 'logs') {
    for (const rl of (model as LogsRequest).resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
  } else if (signal === 'traces') {
    for (const rs of (model as TracesRequest).resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  } else {
    for (const rm of (model as MetricsRequest).resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) n += dataPointsOf(m).length;
  }
  return n;
}
