// file: appends each export request as one line of OTLP/JSON, as the Collector's
// file exporter does; rotates by size. All signals of one exporter id share the
// file (each line's top-level key says which signal it holds).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { s, type SchemaType } from '../config/schema';
import type { ExporterFactory } from '../pipeline/component';
import { DeliveryError } from '../pipeline/component';
import { workerFile } from '../workers/identity';

const schema = s.object({
  /** Default: ./agentrelay-data/<exporter id>.jsonl (the id's `/` becomes `-`). */
  path: s.string({ default: '' }),
  rotation: s.object({
    max_megabytes: s.number({ default: 100, min: 0 }),
    max_backups: s.number({ default: 10, min: 0, integer: true }),
  }),
});

type Config = SchemaType<typeof schema>;

/** One open file shared by every signal instance of an exporter id. */
class JsonLinesFile {
  private fd: number | undefined;
  private size = 0;
  private users = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly file: string, private readonly maxBytes: number, private readonly maxBackups: number) {}

  open(): void {
    if (this.users++ > 0) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.fd = fs.openSync(this.file, 'a');
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends one line; writes are serialised so lines never interleave. */
  append(line: Buffer): Promise<void> {
    const run = this.chain.then(() => this.write(line));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async write(line: Buffer): Promise<void> {
    if (this.fd === undefined) throw new DeliveryError(`file ${this.file} is closed`, false);
    if (this.maxBytes > 0 && this.size > 0 && this.size + line.length + 1 > this.maxBytes) this.rotate();
    const buf = Buffer.concat([line, Buffer.from('\n')]);
    await new Promise<void>((resolve, reject) =>
      fs.write(this.fd!, buf, 0, buf.length, null, (err) => (err ? reject(err) : resolve())),
    );
    this.size += buf.length;
  }

  private rotate(): void {
    fs.closeSync(this.fd!);
    const { dir, name, ext } = path.parse(this.file);
    const stamp = new Date().toISOString().replace(/:/g, '-');
    fs.renameSync(this.file, path.join(dir, `${name}-${stamp}${ext}`));
    const backups = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(`${name}-`) && f.endsWith(ext))
      .sort();
    for (const old of backups.slice(0, Math.max(0, backups.length - this.maxBackups))) fs.rmSync(path.join(dir, old), { force: true });
    this.fd = fs.openSync(this.file, 'a');
    this.size = 0;
  }

  async close(): Promise<void> {
    if (--this.users > 0) return;
    await this.chain;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    files.delete(this.file);
  }
}

const files = new Map<string, JsonLinesFile>();

export const fileExporter: ExporterFactory<Config> = {
  type: 'file',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, signal) {
    const file = workerFile(path.resolve(config.path || path.join('agentrelay-data', `${ctx.id.replace(/\//g, '-')}.jsonl`)));
    let f = files.get(file);
    if (!f) {
      f = new JsonLinesFile(file, config.rotation.max_megabytes * 1024 * 1024, config.rotation.max_backups);
      files.set(file, f);
    }
    const out = f;
    return {
      async start() {
        out.open();
      },
      async consume(batch) {
        try {
          await out.append(batch.toJson());
        } catch (e) {
          ctx.telemetry.add('exporter_failed_items', batch.itemCount(), { component: ctx.id, signal, reason: 'write' });
          throw e instanceof DeliveryError ? e : new DeliveryError(`writing ${file}: ${(e as Error).message}`, true);
        }
        ctx.telemetry.add('exporter_sent_items', batch.itemCount(), { component: ctx.id, signal });
      },
      async shutdown() {
        await out.close();
      },
    };
  },
};
