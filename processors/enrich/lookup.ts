// The lookup file, loaded at start and reloaded when it changes. Changes are found by
// polling the file's mtime, size and inode: fs.watch misses the rename-into-place that
// editors, config management and Kubernetes ConfigMap updates do. A reload that fails
// keeps the table in use and is logged once per state of the file, not once per poll.
// Pipelines of several signals that use one enrich config share one loader per file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { parseTable, TableError, type Table, type TableFormat } from './table';

export interface LookupOptions {
  file: string;
  format: TableFormat;
  reloadIntervalMs: number;
  logger: Logger;
  /** Called once per reload attempt, with its result. */
  onReload?: (result: 'applied' | 'failed') => void;
}

type Signature = string;

function signatureOf(st: fs.Stats): Signature {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

export class LookupTable {
  table: Table = new Map();
  private loaded?: Signature;
  private failed?: Signature;
  private timer?: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly opts: LookupOptions) {}

  /** Loads the file; rejects with a message fit for the operator when it cannot. */
  async load(): Promise<void> {
    const { file, format } = this.opts;
    let st: fs.Stats;
    let text: string;
    try {
      st = await fs.promises.stat(file);
      text = await fs.promises.readFile(file, 'utf8');
    } catch (e) {
      throw new Error(`lookup file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      this.table = parseTable(text, format);
    } catch (e) {
      throw new Error(`lookup file ${file}: ${e instanceof TableError ? e.message : 'unreadable'}`);
    }
    this.loaded = signatureOf(st);
    this.failed = undefined;
  }

  startPolling(): void {
    if (this.opts.reloadIntervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.opts.reloadIntervalMs);
    this.timer.unref();
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check: reloads when the file changed. Exposed for tests. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      let sig: Signature;
      try {
        sig = signatureOf(await fs.promises.stat(this.opts.file));
      } catch (e) {
        sig = `missing:${(e as NodeJS.ErrnoException).code}`;
        this.fail(sig, new Error(`lookup file ${this.opts.file}: ${(e as NodeJS.ErrnoException).code}`));
        return;
      }
      if (sig === this.loaded || sig === this.failed) return;
      try {
        await this.load();
        this.opts.onReload?.('applied');
        this.opts.logger.info({ file: this.opts.file, rows: this.table.size }, 'enrich: lookup file reloaded');
      } catch (e) {
        this.fail(sig, e as Error);
      }
    } finally {
      this.polling = false;
    }
  }

  private fail(sig: Signature, err: Error): void {
    if (sig === this.failed) return;
    this.failed = sig;
    this.opts.onReload?.('failed');
    this.opts.logger.warn({ err: err.message, rows: this.table.size }, 'enrich: lookup file reload failed; the previous table stays in use');
  }
}

interface Shared {
  lookup: LookupTable;
  users: number;
}
const shared = new Map<string, Shared>();

/** The loader for a file, shared by the processors of one component id; loaded on first use. */
export async function acquireLookup(id: string, opts: LookupOptions): Promise<LookupTable> {
  const key = `${id}\0${path.resolve(opts.file)}\0${opts.format}\0${opts.reloadIntervalMs}`;
  let s = shared.get(key);
  if (!s) {
    const lookup = new LookupTable({ ...opts, file: path.resolve(opts.file) });
    await lookup.load();
    // Another pipeline may have loaded it meanwhile.
    s = shared.get(key);
    if (!s) {
      s = { lookup, users: 0 };
      shared.set(key, s);
      lookup.startPolling();
    }
  }
  s.users++;
  return s.lookup;
}

export function releaseLookup(lookup: LookupTable): void {
  for (const [key, s] of shared) {
    if (s.lookup !== lookup) continue;
    if (--s.users <= 0) {
      s.lookup.stopPolling();
      shared.delete(key);
    }
    return;
  }
}
