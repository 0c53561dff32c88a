// The floor a serious relay must beat: decode every request fully with protobufjs,
// re-encode it, forward it over HTTP, answer when the backend answered.
// It loads the protos with plain protobufjs, not through src/otlp (whose tuning it must not get).
import * as http from 'node:http';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { Pool } from 'undici';

type Signal = 'logs' | 'metrics' | 'traces';
const protoDir = path.resolve(__dirname, '../../proto');
const root = new protobuf.Root();
root.resolvePath = (_o, target) => path.join(protoDir, target);
root.loadSync(['logs', 'metrics', 'trace'].map((s) => `opentelemetry/proto/collector/${s}/v1/${s}_service.proto`));
const typeOf = (pkg: string, name: string) => ({
  request: root.lookupType(`opentelemetry.proto.collector.${pkg}.v1.Export${name}ServiceRequest`),
  httpPath: `/v1/${pkg === 'trace' ? 'traces' : pkg}`,
});
const signalTypes: Record<Signal, ReturnType<typeof typeOf>> = {
  logs: typeOf('logs', 'Logs'),
  metrics: typeOf('metrics', 'Metrics'),
  traces: typeOf('trace', 'Trace'),
};

const PATHS: Record<string, Signal> = { '/v1/logs': 'logs', '/v1/metrics': 'metrics', '/v1/traces': 'traces' };
const [, , port, sinkUrl] = process.argv;
const pool = new Pool(sinkUrl, { connections: 16 });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const t = signalTypes[PATHS[req.url ?? '']];
    try {
      const msg = t.request.decode(Buffer.concat(chunks));
      const body = Buffer.from(t.request.encode(msg).finish());
      const r = await pool.request({ path: t.httpPath, method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
      await r.body.dump();
      res.statusCode = r.statusCode === 200 ? 200 : 503;
    } catch {
      res.statusCode = 400;
    }
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n'));
