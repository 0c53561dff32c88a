// Load generator, run as its own process so its CPU is not the relay's. Sends a
// workload's requests over OTLP/HTTP (protobuf or JSON) or OTLP/gRPC, either as
// fast as `concurrency` allows (saturation) or at a fixed record rate (latency).
// Prints one JSON line with what it sent and, per sequence number, when.
import { Pool } from 'undici';
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { buildWorkload, seqOffsets } from './payloads';
import { signalTypes } from '../src/otlp/schema';

export interface LoadgenArgs {
  target: string; // http://host:port or grpc host:port
  transport: 'http' | 'grpc';
  format: 'proto' | 'json';
  workload: string;
  durationMs: number;
  concurrency: number;
  /** Records per second; 0 = as fast as possible. */
  rate: number;
}

export interface LoadgenResult {
  requests: number;
  records: number;
  /** Records of requests answered with success. */
  okRecords: number;
  bytes: number;
  errors: number;
  elapsedMs: number;
  sent: [number, number][]; // [seq, wall-clock ms]
}

const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as LoadgenArgs;
  const w = buildWorkload(args.workload);
  const bodies = args.format === 'json' ? w.json! : w.requests;
  const offsets = bodies.map(seqOffsets);
  const t = signalTypes[w.signal];
  let send: (body: Buffer) => Promise<boolean>;
  let close: () => Promise<void>;
  if (args.transport === 'grpc') {
    const client = new grpc.Client(args.target, grpc.credentials.createInsecure());
    send = (body) =>
      new Promise((resolve) =>
        client.makeUnaryRequest(`/${t.service}/Export`, (b: Buffer) => b, (b: Buffer) => b, body, (err) => resolve(!err)),
      );
    close = async () => client.close();
  } else {
    const pool = new Pool(args.target, { connections: args.concurrency, pipelining: 1 });
    const contentType = args.format === 'json' ? 'application/json' : 'application/x-protobuf';
    send = async (body) => {
      try {
        const res = await pool.request({ path: t.httpPath, method: 'POST', body, headers: { 'content-type': contentType } });
        await res.body.dump();
        // 2xx: Fluent Bit's OpenTelemetry input answers 201 by default.
        return res.statusCode >= 200 && res.statusCode < 300;
      } catch {
        return false;
      }
    };
    close = () => pool.close();
  }

  const result: LoadgenResult = { requests: 0, records: 0, okRecords: 0, bytes: 0, errors: 0, elapsedMs: 0, sent: [] };
  const start = now();
  const end = start + args.durationMs;
  let seq = 0;
  let next = 0;
  /** Records of the requests given a send time so far. */
  let scheduled = 0;
  const recordRate = args.rate;
  const worker = async () => {
    while (now() < end) {
      const i = next++ % bodies.length;
      if (recordRate > 0) {
        // Pace by records: request k is due when the records before it fit the rate. The
        // slot is taken before the wait: workers that read a shared count after it would
        // all wake at the same time and send their requests as one burst.
        const due = start + (scheduled / recordRate) * 1000;
        scheduled += w.recordsPerRequest[i];
        const wait = due - now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (now() >= end) break;
      }
      const body = Buffer.from(bodies[i]);
      const s = ++seq;
      const digits = String(s).padStart(12, '0');
      for (const o of offsets[i]) body.write(digits, o, 'latin1');
      result.records += w.recordsPerRequest[i];
      result.bytes += body.length;
      result.requests++;
      const sentAt = now();
      if (recordRate > 0) result.sent.push([s, sentAt]);
      if (await send(body)) result.okRecords += w.recordsPerRequest[i];
      else result.errors++;
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, worker));
  result.elapsedMs = now() - start;
  await close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
