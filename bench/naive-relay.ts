// The floor a serious relay must beat: decode every request fully with protobufjs,
// re-encode it, forward it over HTTP, answer when the backend answered.
import * as http from 'node:http';
import { Pool } from 'undici';
import { signalTypes, type Signal } from '../src/otlp/schema';

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
