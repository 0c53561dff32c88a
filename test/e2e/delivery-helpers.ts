// Shared parts of the delivery fault tests: agent fixtures whose every item
// (log record, span, data point) carries a unique `delivery.id` attribute, a
// node:http OTLP/JSON backend that records which ids it got (and how often), can
// refuse or hang, and a plain HTTP sender.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { listFixtures } from '../helpers/fixtures';
import type { Signal } from '../../src/otlp/schema';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const ID_KEY = 'delivery.id';

/** The items of an OTLP/JSON request, whatever the signal. */
export function itemsOf(signal: Signal, req: Json): Json[] {
  const out: Json[] = [];
  if (signal === 'logs') for (const rl of req.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) out.push(...(sl.logRecords ?? []));
  else if (signal === 'traces') for (const rs of req.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) out.push(...(ss.spans ?? []));
  else
    for (const rm of req.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? [])
          for (const k of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) out.push(...(m[k]?.dataPoints ?? []));
  return out;
}

export function idsOf(signal: Signal, req: Json): string[] {
  return itemsOf(signal, req).map((it) => (it.attributes ?? []).find((a: Json) => a.key === ID_KEY)?.value?.stringValue as string);
}

export interface TaggedRequest {
  signal: Signal;
  name: string;
  body: Buffer;
  ids: string[];
}

const fixtures = listFixtures().filter((f) => f.format === 'json');

/** The recorded JSON agent requests, every item tagged with `<prefix>-<n>`. Cycles through the fixtures. */
export function taggedRequests(prefix: string, count: number, signals: Signal[] = ['logs', 'metrics', 'traces']): TaggedRequest[] {
  const pool = fixtures.filter((f) => signals.includes(f.signal));
  const out: TaggedRequest[] = [];
  let n = 0;
  for (let i = 0; i < count; i++) {
    const f = pool[i % pool.length];
    const obj = JSON.parse(fs.readFileSync(f.file, 'utf8')) as Json;
    const ids: string[] = [];
    for (const it of itemsOf(f.signal, obj)) {
      const id = `${prefix}-${n++}`;
      ids.push(id);
      it.attributes = [...(it.attributes ?? []), { key: ID_KEY, value: { stringValue: id } }];
    }
    out.push({ signal: f.signal, name: f.name, body: Buffer.from(JSON.stringify(obj)), ids });
  }
  return out;
}

export interface Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** POSTs OTLP/JSON over a fresh connection; network errors resolve as status 0. */
export function postJson(port: number, signal: Signal, body: Buffer, headers: Record<string, string> = {}): Promise<Sent> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (s: Sent) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(s);
    };
    const failed = () => finish({ status: 0, headers: {}, body: '' });
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: `/v1/${signal}`, headers: { 'content-type': 'application/json', ...headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', failed);
        res.on('aborted', failed);
        res.on('close', failed);
      },
    );
    // No request of these tests may hang the test: 15 s is far past any answer.
    const timer = setTimeout(() => {
      req.destroy();
      failed();
    }, 15000);
    req.on('error', failed);
    req.on('close', () => setImmediate(() => !done && failed()));
    req.end(body);
  });
}

export interface Arrival {
  at: number;
  signal: Signal;
  ids: string[];
}

/**
 * An OTLP/HTTP JSON backend. `respond` decides each answer; by default 200 `{}`.
 * Returning 'hang' holds the request open until release(); 'drop' closes the
 * connection without an answer after recording the data (the relay cannot know
 * it arrived, so it sends it again: a duplicate).
 */
export class RecordingBackend {
  readonly seen = new Map<string, number>();
  readonly arrivals: Arrival[] = [];
  /** Every request, accepted or not, with its arrival time. */
  readonly attempts: { at: number; signal: Signal }[] = [];
  respond: (attempt: number, signal: Signal) => { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'drop' = () => ({ status: 200 });
  /** Requests held open, with what records their data once they are answered. */
  private readonly held: { res: http.ServerResponse; record: () => void }[] = [];
  private server = http.createServer((req, res) => this.handle(req, res));
  port = 0;

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Answers every held request with 200 and stops holding. */
  release(): void {
    this.respond = () => ({ status: 200 });
    for (const h of this.held.splice(0)) {
      h.record();
      h.res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }
  }

  async close(): Promise<void> {
    for (const h of this.held.splice(0)) h.res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  get unique(): number {
    return this.seen.size;
  }

  /** Items that arrived more than once (extra copies). */
  get duplicates(): number {
    let n = 0;
    for (const c of this.seen.values()) n += c - 1;
    return n;
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const signal = (/\/v1\/(logs|metrics|traces)$/.exec(req.url ?? '')?.[1] ?? 'logs') as Signal;
      const at = Date.now();
      this.attempts.push({ at, signal });
      const answer = this.respond(this.attempts.length, signal);
      const record = () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        const ids = idsOf(signal, JSON.parse(body.toString('utf8')) as Json);
        for (const id of ids) this.seen.set(id, (this.seen.get(id) ?? 0) + 1);
        this.arrivals.push({ at, signal, ids });
      };
      if (answer === 'hang') {
        this.held.push({ res, record });
        return;
      }
      if (answer === 'drop') {
        record();
        res.socket?.destroy();
        return;
      }
      if (answer.status >= 200 && answer.status < 300) record();
      res
        .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
        .end(answer.body ?? (answer.status < 300 ? '{}' : '{"code":14,"message":"try later"}'));
    });
  }
}

// ---------------------------------------------------------------------------
// gRPC: the test's own protobuf types, from the .proto files (not the relay's codec)


const PROTO_DIR = path.resolve(__dirname, '../../../proto');
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto']);
const LogsRequestType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
// google.rpc.Status with its details, and RetryInfo (the project's status.proto omits details).
const retryRoot = protobuf.parse(
  `syntax = "proto3"; package t;
   message Any { string type_url = 1; bytes value = 2; }
   message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
   message Duration { int64 seconds = 1; int32 nanos = 2; }
   message RetryInfo { Duration retry_delay = 1; }`,
).root;
const RetryInfoType = retryRoot.lookupType('t.RetryInfo');
const StatusWithDetails = retryRoot.lookupType('t.Status');

export const LOGS_METHOD = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** A protobuf logs request with one record per id (body = id, attribute delivery.id = id). */
export function logsProto(ids: string[]): Buffer {
  const obj = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'delivery-test' } }] },
        scopeLogs: [{ logRecords: ids.map((id) => ({ body: { stringValue: id }, attributes: [{ key: ID_KEY, value: { stringValue: id } }] })) }],
      },
    ],
  };
  return Buffer.from(LogsRequestType.encode(LogsRequestType.fromObject(obj)).finish());
}

export function logsJson(ids: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'delivery-test' } }] },
          scopeLogs: [{ logRecords: ids.map((id) => ({ body: { stringValue: id }, attributes: [{ key: ID_KEY, value: { stringValue: id } }] })) }],
        },
      ],
    }),
  );
}

export function unary(
  client: grpc.Client,
  body: Buffer,
  md = new grpc.Metadata(),
  method = LOGS_METHOD,
): Promise<{ err: grpc.ServiceError | null; res?: Buffer }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      { deadline: Date.now() + 10_000 },
      (err, res) => resolve({ err, res }),
    );
  });
}

/** The RetryInfo delay (ms) in a gRPC error's grpc-status-details-bin, or undefined. */
export function retryDelayOf(err: grpc.ServiceError): number | undefined {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(bin)) return undefined;
  const st = StatusWithDetails.toObject(StatusWithDetails.decode(bin), { defaults: true, arrays: true }) as { code: number; details: { type_url?: string; typeUrl?: string; value: Uint8Array }[] };
  for (const d of st.details) {
    if (!(d.typeUrl ?? d.type_url ?? '').endsWith('/google.rpc.RetryInfo')) continue;
    const ri = RetryInfoType.toObject(RetryInfoType.decode(d.value), { longs: Number, defaults: true }) as { retryDelay?: { seconds: number; nanos: number } };
    return (ri.retryDelay?.seconds ?? 0) * 1000 + (ri.retryDelay?.nanos ?? 0) / 1e6;
  }
  return undefined;
}

/** The google.rpc.Status of an OTLP/HTTP error answer with a JSON body. */
export function jsonStatus(body: string): { code: number; message: string } {
  return JSON.parse(body) as { code: number; message: string };
}
