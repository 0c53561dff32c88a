// The backend of the benchmark: an OTLP/HTTP endpoint that answers at once, counts
// records and bytes (with the relay's wire scan, no decode) and notes when each
// sequence number first arrived. GET /stats returns the tally and resets it.
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { scanRequest } from '../src/otlp/wire';
import { Batch } from '../src/otlp/batch';
import type { Signal } from '../src/otlp/schema';
import { readSeqs } from './payloads';

const PATHS: Record<string, Signal> = { '/v1/logs': 'logs', '/v1/metrics': 'metrics', '/v1/traces': 'traces' };
let records = 0;
let bytes = 0;
let requests = 0;
let arrivals = new Map<number, number>();

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ records, bytes, requests, arrivals: [...arrivals] }));
    records = bytes = requests = 0;
    arrivals = new Map();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = performance.timeOrigin + performance.now();
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
    const signal = PATHS[req.url ?? ''];
    try {
      const json = (req.headers['content-type'] ?? '').includes('json');
      records += json ? Batch.fromJsonObject(signal, JSON.parse(body.toString())).itemCount() : scanRequest(signal, body).items;
    } catch {
      res.statusCode = 400;
      res.end();
      return;
    }
    bytes += body.length;
    requests++;
    for (const s of readSeqs(body)) if (!arrivals.has(s)) arrivals.set(s, at);
    res.setHeader('content-type', 'application/x-protobuf');
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n');
});
