// OTLP/gRPC receiver: the Logs, Metrics and Trace collector services. Request
// bytes are taken raw from grpc-js and decoded by the relay's codec, so a bad
// body gets INVALID_ARGUMENT with a message and the bytes can be forwarded as is.
// Plaintext or TLS (optionally mutual). A retryable refusal is UNAVAILABLE with a
// google.rpc.RetryInfo, which every OTLP SDK retries after the given delay.
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { signalTypes, type Signal } from '../otlp/schema';
import { Batch } from '../otlp/batch';
import type { ComponentContext, ReceiverHost } from '../pipeline/component';
import type { MemoryLimiter } from '../pipeline/memory-limiter';
import { Authenticator } from './auth';
import { closeBy } from './close';
import { DEFAULT_RETRY_AFTER_MS, Intake, type IntakeResult } from './intake';
import { isLoopback, pickMetadata, splitHostPort, type GrpcConfig } from './otlp';
import { readServerTls } from './tls';

export class GrpcReceiver {
  private server?: grpc.Server;
  private boundPort?: number;
  private readonly intake: Intake;
  private readonly auth: Authenticator;

  constructor(
    private readonly cfg: GrpcConfig,
    private readonly ctx: ComponentContext,
    private readonly host: ReceiverHost,
    memory?: MemoryLimiter,
  ) {
    this.intake = new Intake(ctx, 'grpc', cfg, memory);
    this.auth = new Authenticator(cfg.auth, ctx.logger);
  }

  async start(): Promise<void> {
    this.auth.start();
    const tls = readServerTls(this.cfg.tls);
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
    const creds = tls
      ? grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], !!tls.clientCa)
      : grpc.ServerCredentials.createInsecure();
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    this.ctx.logger.info({ endpoint: `${host}:${this.boundPort}`, tls: !!tls, mtls: !!tls?.clientCa, auth: this.auth.enabled }, 'OTLP/gRPC receiver listening');
    if (!isLoopback(host) && !this.auth.enabled)
      this.ctx.logger.warn({ endpoint: this.cfg.endpoint }, 'OTLP/gRPC receiver listens beyond this machine without auth: anyone who can reach it can send data');
  }

  port(): number | undefined {
    return this.boundPort;
  }

  async shutdown(deadline: number): Promise<void> {
    this.auth.stop();
    const server = this.server;
    if (!server) return;
    await closeBy(deadline, (done) => server.tryShutdown(() => done()), () => server.forceShutdown());
  }

  private get maxBytes(): number {
    return Math.floor(this.cfg.max_recv_msg_size_mib * 1024 * 1024);
  }

  private async handle(signal: Signal, call: grpc.ServerUnaryCall<Buffer, object>, callback: grpc.sendUnaryData<object>): Promise<void> {
    const auth = call.metadata.get(this.auth.header)[0];
    if (!this.auth.check(typeof auth === 'string' ? auth : auth?.toString())) {
      const message = `missing or wrong ${this.auth.header === 'authorization' ? 'bearer token' : `${this.auth.header} metadata`}`;
      this.intake.badRequest(signal, 'auth', message);
      return callback({ code: grpc.status.UNAUTHENTICATED, details: message });
    }
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
    const short = this.intake.memoryCheck(signal);
    if (short) return callback(refusal(short));
    const decoded = this.intake.decode(signal, call.request, 'proto');
    if (!(decoded instanceof Batch)) {
      return callback({ code: grpc.status.INVALID_ARGUMENT, details: decoded.kind === 'bad_request' ? decoded.message : 'bad request' });
    }
    const over = this.intake.limitCheck(signal, decoded);
    if (over) return callback(refusal(over));
    const md = pickMetadata(
      this.cfg,
      (k) => {
        const v = call.metadata.get(k);
        return v.length ? v.map((x) => x.toString()).join(',') : undefined;
      },
      this.auth.header,
    );
    if (md) decoded.metadata = md;
    const r = await this.intake.deliver(signal, decoded, consumer);
    if (r.kind === 'ok') {
      const t = signalTypes[signal];
      return callback(null, r.rejected > 0 ? { partialSuccess: { [t.rejectedField]: r.rejected, errorMessage: r.message } } : {});
    }
    callback(refusal(r));
  }
}

/** The gRPC status of a refusal; a retryable one carries RetryInfo. */
function refusal(r: IntakeResult): Partial<grpc.StatusObject> {
  if (r.kind === 'too_large') return { code: grpc.status.RESOURCE_EXHAUSTED, details: r.message };
  if (r.kind === 'refused' && r.retryable) {
    const metadata = new grpc.Metadata();
    metadata.set('grpc-status-details-bin', statusWithRetryInfo(grpc.status.UNAVAILABLE, r.message, r.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS));
    return { code: grpc.status.UNAVAILABLE, details: r.message, metadata };
  }
  return { code: grpc.status.INVALID_ARGUMENT, details: r.kind === 'ok' ? '' : r.message };
}

/**
 * A google.rpc.Status holding one google.rpc.RetryInfo, encoded by hand (no extra .proto):
 * Status { code = 1; message = 2; details = 3 (Any { type_url = 1; value = 2 }) },
 * RetryInfo { retry_delay = 1 (Duration { seconds = 1; nanos = 2 }) }.
 */
export function statusWithRetryInfo(code: number, message: string, delayMs: number): Buffer {
  const ms = Math.max(0, Math.round(delayMs));
  const duration = protobuf.Writer.create().uint32(8).int64(Math.floor(ms / 1000)).uint32(16).int32((ms % 1000) * 1e6).finish();
  const retryInfo = protobuf.Writer.create().uint32(10).bytes(duration).finish();
  const any = protobuf.Writer.create().uint32(10).string('type.googleapis.com/google.rpc.RetryInfo').uint32(18).bytes(retryInfo).finish();
  return Buffer.from(protobuf.Writer.create().uint32(8).int32(code).uint32(18).string(message).uint32(26).bytes(any).finish());
}
