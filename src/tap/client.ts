// `agentrelay tap`: connects to a running relay's tap and prints what leaves a
// component, one JSON line per batch (or one line per record with --summary).
import * as http from 'node:http';
import { loadConfigFile } from '../config/load';
import { eventNameOf, findAttribute, stringOf } from '../conditions';
import { forEachRecord } from '../otlp/partition';
import { Batch } from '../otlp/batch';
import type { Signal } from '../otlp/schema';
import type { TapPoint } from '../pipeline/graph';

export const TAP_USAGE = `  agentrelay tap (--config FILE | --address HOST:PORT) [--component ID [--pipeline P]
                 [--signal logs|metrics|traces] [--limit N] [--summary]]
                                         without --component: list the tap points; with it: print
                                         each batch leaving ID as a JSON line (--summary: a line a record)`;

export interface TapArgs {
  address?: string;
  config?: string;
  component?: string;
  pipeline?: string;
  signal?: Signal;
  limit?: number;
  summary: boolean;
}

export function parseTapArgs(argv: string[]): TapArgs | string {
  const out: TapArgs = { summary: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--address') out.address = value();
      else if (a === '--config' || a === '-c') out.config = value();
      else if (a === '--component') out.component = value();
      else if (a === '--pipeline') out.pipeline = value();
      else if (a === '--signal') {
        const s = value();
        if (!['logs', 'metrics', 'traces'].includes(s)) return `--signal must be logs, metrics or traces, got ${s}`;
        out.signal = s as Signal;
      } else if (a === '--limit') {
        const n = Number(value());
        if (!Number.isInteger(n) || n <= 0) return '--limit needs a positive integer';
        out.limit = n;
      } else if (a === '--summary') out.summary = true;
      else return `unknown tap argument: ${a}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!out.address && !out.config) return 'tap needs --config FILE or --address HOST:PORT';
  return out;
}

export async function runTap(args: TapArgs, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let address = args.address;
  if (!address) {
    const r = loadConfigFile(args.config!);
    if (!r.config) {
      for (const e of r.errors) err(`error: ${e}\n`);
      return 1;
    }
    address = r.config.telemetry.tap.endpoint;
    if (!address) {
      err(`the tap is off in ${args.config}: set service.telemetry.tap.endpoint (e.g. localhost:55679) and reload the relay\n`);
      return 1;
    }
  }
  const target = address.replace(/^(0\.0\.0\.0|\[::\]|::|):/, '127.0.0.1:').replace(/^[a-z]+:\/\//, '');
  const q = new URLSearchParams();
  if (args.component) q.set('component', args.component);
  if (args.pipeline) q.set('pipeline', args.pipeline);
  if (args.signal) q.set('signal', args.signal);
  if (args.limit) q.set('limit', String(args.limit));
  const url = `http://${target}/tap${q.size ? `?${q}` : ''}`;

  return new Promise<number>((resolve) => {
    const req = http.get(url, (res) => {
      let pending = '';
      const status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line) handleLine(line);
        }
      });
      res.on('end', () => {
        if (pending) handleLine(pending);
        resolve(status === 200 ? 0 : 1);
      });
      const handleLine = (line: string) => {
        if (status !== 200 || !args.component) {
          printPoints(line, status, out, err);
          return;
        }
        if (!args.summary) return out(line + '\n');
        for (const l of summarize(line)) out(l + '\n');
      };
    });
    req.on('error', (e) => {
      err(`cannot reach the tap at ${target}: ${e.message}\n`);
      resolve(1);
    });
  });
}

function printPoints(line: string, status: number, out: (s: string) => void, err: (s: string) => void): void {
  let body: { points?: TapPoint[]; error?: string };
  try {
    body = JSON.parse(line);
  } catch {
    err(line + '\n');
    return;
  }
  if (body.error) err(`${body.error}\n`);
  if (body.points) {
    const w = status === 200 ? out : err;
    w('tap points (component  kind  pipeline  signal):\n');
    for (const p of body.points) w(`  ${p.component}  ${p.kind}  ${p.pipeline || '(all its pipelines)'}  ${p.signal}\n`);
  }
}

/** One line per record: time, where, signal, what (event, span or metric name), service.name. */
function summarize(line: string): string[] {
  const msg = JSON.parse(line) as { time: string; component: string; pipeline: string; signal: Signal; data?: unknown; dropped_batches?: number };
  if (msg.dropped_batches) return [`${msg.time}  (tap: ${msg.dropped_batches} batch(es) dropped: the reader was too slow)`];
  const batch = Batch.fromJsonObject(msg.signal, msg.data);
  const lines: string[] = [];
  forEachRecord(msg.signal, batch.read(), (r) => {
    const service = stringOf(findAttribute(r.resource?.attributes, 'service.name')) ?? '-';
    const what = r.log
      ? `event=${eventNameOf(r.log) ?? '-'}`
      : r.span
        ? `span=${r.span.name}`
        : `metric=${r.metric?.name}`;
    lines.push(`${msg.time}  ${msg.component}${msg.pipeline ? ` (${msg.pipeline})` : ''}  ${msg.signal}  ${service}  ${what}`);
  });
  return lines;
}
