// /healthz (the process is alive) and /readyz (pipelines are running and taking
// data; 503 while starting or shutting down), on their own listener so a probe
// never queues behind telemetry traffic. Also serves /metrics when asked to share it.
import * as http from 'node:http';
import { splitHostPort } from '../receivers/otlp';

export class HttpEndpoint {
  private server?: http.Server;

  constructor(private readonly endpoint: string, private readonly routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>) {}

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.endpoint);
    const server = http.createServer((req, res) => {
      const route = this.routes[(req.url ?? '/').split('?')[0]];
      if (!route) {
        res.statusCode = 404;
        res.end('not found\n');
        return;
      }
      route(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  port(): number | undefined {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : undefined;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function healthRoutes(state: () => 'starting' | 'ready' | 'stopping') {
  const json = (res: http.ServerResponse, status: number, body: object) => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body));
  };
  return {
    '/healthz': (_req: http.IncomingMessage, res: http.ServerResponse) => json(res, 200, { status: 'ok' }),
    '/readyz': (_req: http.IncomingMessage, res: http.ServerResponse) => {
      const s = state();
      json(res, s === 'ready' ? 200 : 503, { status: s });
    },
  };
}

type Routes = Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>;

/** The listeners for the health routes and /metrics: one when both have the same address, none for an empty one. */
export function telemetryEndpoints(healthAt: string, metricsAt: string, health: Routes, metrics: Routes): HttpEndpoint[] {
  if (healthAt && healthAt === metricsAt) return [new HttpEndpoint(healthAt, { ...health, ...metrics })];
  const out: HttpEndpoint[] = [];
  if (healthAt) out.push(new HttpEndpoint(healthAt, health));
  if (metricsAt) out.push(new HttpEndpoint(metricsAt, metrics));
  return out;
}
