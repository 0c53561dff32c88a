// The tap's HTTP listener (service.telemetry.tap.endpoint; off unless set):
//   GET /tap                               the tap points of the running pipelines (JSON)
//   GET /tap?component=ID[&pipeline=P][&signal=S][&limit=N]
//                                          one JSON line per batch leaving that component
// It streams record content as the agents sent it (prompts included, before any
// redaction downstream of the point), so it belongs on loopback.
import * as http from 'node:http';
import type { Logger } from 'pino';
import { splitHostPort } from '../receivers/otlp';
import { SIGNALS, type Signal } from '../otlp/schema';
import type { TapHub, TapFilter } from './hub';

/** Bytes a slow watcher may have waiting before its batches are dropped (and counted). */
const MAX_PENDING = 8 * 1024 * 1024;

export class TapServer {
  private server?: http.Server;
  private readonly streams = new Set<http.ServerResponse>();

  constructor(readonly endpoint: string, private readonly hub: TapHub, private readonly logger: Logger) {}

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.endpoint);
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    if (!['127.0.0.1', 'localhost', '::1'].includes(host))
      this.logger.warn({ endpoint: this.endpoint }, 'the tap listens beyond loopback: anyone who reaches it sees record content');
    else this.logger.info({ endpoint: this.endpoint }, 'tap listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.streams) res.end();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://tap');
    const json = (status: number, body: unknown) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body) + '\n');
    };
    if (url.pathname !== '/tap') return json(404, { error: 'unknown path: use GET /tap' });
    if (req.method !== 'GET') return json(405, { error: 'use GET' });
    const points = this.hub.points();
    const component = url.searchParams.get('component');
    if (!component) return json(200, { points });

    const filter: TapFilter = { component };
    const pipeline = url.searchParams.get('pipeline');
    if (pipeline !== null) filter.pipeline = pipeline;
    const signal = url.searchParams.get('signal');
    if (signal !== null) {
      if (!SIGNALS.includes(signal as Signal)) return json(400, { error: `signal must be one of ${SIGNALS.join(', ')}` });
      filter.signal = signal as Signal;
    }
    const limitParam = url.searchParams.get('limit');
    const limit = limitParam === null ? Infinity : Number(limitParam);
    if (limitParam !== null && !(Number.isInteger(limit) && limit > 0)) return json(400, { error: 'limit must be a positive integer' });
    const known = points.some((p) => p.component === component && (filter.pipeline === undefined || p.pipeline === filter.pipeline));
    if (!known) return json(404, { error: `no tap point for component "${component}"${pipeline ? ` in pipeline "${pipeline}"` : ''}`, points });

    res.statusCode = 200;
    res.setHeader('content-type', 'application/x-ndjson');
    res.setHeader('cache-control', 'no-store');
    res.flushHeaders();
    this.streams.add(res);
    let sent = 0;
    const stop = this.hub.watch(filter, (line, notice) => {
      if (res.writableLength > MAX_PENDING) return false;
      res.write(line + '\n');
      if (!notice && ++sent >= limit) {
        stop();
        res.end();
      }
      return true;
    });
    const close = () => {
      stop();
      this.streams.delete(res);
    };
    res.on('close', close);
    req.on('close', close);
  }
}
