// OTLP/gRPC receiver: the Logs, Metrics and Trace collector services. Request
// bytes are taken raw from grpc-js and decoded by the relay's codec, so a bad
// body gets INVALID_ARGUMENT with a message and the bytes can be forwarded as is.
import * as grpc from '@grpc/grpc-js';
import { signalTypes, type Signal } from '../otlp/schema';
import { Batch } from '../otlp/batch';
import type { ComponentContext, ReceiverHost } from '../pipeline/component';
import { Intake } from './intake';
import { bearerOk, pickMetadata, splitHostPort, type GrpcConfig } from './otlp';

export class GrpcReceiver {
  private server?: grpc.Server;
  private boundPort?: number;
  private readonly intake: Intake;

  constructor(private readonly cfg: GrpcConfig, private readonly ctx: ComponentContext, private readonly host: ReceiverHost) {
    this.intake = new Intake(ctx, 'grpc');
  }

  async start(): Promise<void> {
    // grpc-js refuses messages over its own limit before any of our code runs, so nothing
    // could count them; its limit is set to twice ours and ours is enforced (and counted)
    // in the handler. Only messages over twice the limit go uncounted.
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 2 * this.maxBytes });
    for (const signal of ['logs', 'metrics', 'traces'] as Signal[]) {
      const t = signalTypes[signal];
      const definition: grpc.ServiceDefinition = {
        Export: {
          path: `/${t.service}/Export`,
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (m: object) => Buffer.from(t.response.encode(m).finish()),
          responseDeserialize: (b: Buffer) => t.response.decode(b),
          originalName: 'export',
        },
      };
      server.addService(definition, {
        Export: (call: grpc.ServerUnaryCall<Buffer, object>, callback: grpc.sendUnaryData<object>) => {
          this.handle(signal, call, callback).catch((err) => {
            this.ctx.logger.error({ err: (err as Error).message }, 'unexpected error handling an OTLP/gRPC request');
            callback({ code: grpc.status.INTERNAL, details: 'internal error' });
          });
        },
      });
    }
    const { host, port } = splitHostPort(this.cfg.endpoint);
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    this.ctx.logger.info({ endpoint: `${host}:${this.boundPort}` }, 'OTLP/gRPC receiver listening');
  }

  port(): number | undefined {
    return this.boundPort;
  }

  async shutdown(deadline: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, Math.max(0, deadline - Date.now()));
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private get maxBytes(): number {
    return Math.floor(this.cfg.max_recv_msg_size_mib * 1024 * 1024);
  }

  private async handle(signal: Signal, call: grpc.ServerUnaryCall<Buffer, object>, callback: grpc.sendUnaryData<object>): Promise<void> {
    const consumer = this.host.consumerFor(signal);
    if (!consumer) {
      this.intake.badRequest(signal, 'no_pipeline', `this receiver has no ${signal} pipeline`);
      return callback({ code: grpc.status.UNIMPLEMENTED, details: `this receiver has no ${signal} pipeline` });
    }
    if (call.request.length > this.maxBytes) {
      const message = `message of ${call.request.length} bytes exceeds the limit of ${this.maxBytes} bytes`;
      this.intake.badRequest(signal, 'too_large', message);
      return callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: message });
    }
    const auth = call.metadata.get('authorization')[0];
    if (!bearerOk(typeof auth === 'string' ? auth : auth?.toString(), this.cfg.auth.bearer_token)) {
      this.intake.badRequest(signal, 'auth', 'missing or wrong bearer token');
      return callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token' });
    }
    const decoded = this.intake.decode(signal, call.request, 'proto');
    if (!(decoded instanceof Batch)) {
      return callback({ code: grpc.status.INVALID_ARGUMENT, details: decoded.kind === 'bad_request' ? decoded.message : 'bad request' });
    }
    const md = pickMetadata(this.cfg, (k) => {
      const v = call.metadata.get(k);
      return v.length ? v.map((x) => x.toString()).join(',') : undefined;
    });
    if (md) decoded.metadata = md;
    const r = await this.intake.deliver(signal, decoded, consumer);
    if (r.kind === 'ok') {
      const t = signalTypes[signal];
      return callback(null, r.rejected > 0 ? { partialSuccess: { [t.rejectedField]: r.rejected, errorMessage: r.message } } : {});
    }
    if (r.kind === 'refused' && r.retryable) return callback({ code: grpc.status.UNAVAILABLE, details: r.message });
    callback({ code: grpc.status.INVALID_ARGUMENT, details: r.message });
  }
}
