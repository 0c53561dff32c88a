// npm run bench: measures the relay against the codec limit, a naive decode/re-encode
// relay and (when FLUENT_BIT names its binary) Fluent Bit, on payloads shaped like the
// agents' real ones. Every process is separate: load generator, relay, sink; CPU and
// peak RSS are read from /proc for the process under test. Prints one table and
// writes the same figures to bench/results/latest.json.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildWorkload } from './payloads';
import { signalTypes } from '../src/otlp/schema';
import { loadConfigText } from '../src/config/load';
import type { LoadgenArgs, LoadgenResult } from './loadgen';

// --quick: short runs; --only=agents,passthrough,workers,transports,processor:redaction,...: just
// those cases (workers: the agents case again with service.workers: 2; it needs agents in the
// list. transports: gRPC and OTLP/JSON intake, Gemini CLI's logs and metrics, Codex's JSON
// traces and metrics).
const QUICK = process.argv.includes('--quick');

/** Every process the bench starts: a bench that fails part-way leaves none running. */
const children = new Set<ChildProcess>();
function started(p: ChildProcess): ChildProcess {
  children.add(p);
  p.once('exit', () => children.delete(p));
  return p;
}
const SATURATE_MS = QUICK ? 2500 : 6000;
const WARMUP_MS = QUICK ? 800 : 1500;
const LATENCY_MS = QUICK ? 2000 : 5000;
const LATENCY_RATE = 10_000;
/** Saturation runs of the cases the ratios are made of (naive, passthrough, agents, peer); the best is kept. */
const RATIO_REPS = QUICK ? 1 : 2;
const SOAK = process.argv.includes('--soak');
const SOAK_MS = QUICK ? 30_000 : 180_000;
const CLK_TCK = 100;
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/src/cli.js');

interface Row {
  case: string;
  workload: string;
  recordsPerSec?: number;
  recordsPerCpuSec?: number;
  mbPerCpuSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  peakRssMiB?: number;
  /** Peak RSS of a fresh process that only ever saw the fixed latency rate (steady load). */
  steadyRssMiB?: number;
  /** CPU used during the fixed-rate run, in % of one core. */
  cpuAtRatePct?: number;
  check: string;
  note?: string;
}

/** The process and its descendants: a relay with service.workers is a primary and its workers. */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of fs.readdirSync(`/proc/${out[i]}/task`))
        for (const c of fs.readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').split(' ')) if (c) out.push(Number(c));
    } catch {
      // The process is gone.
    }
  }
  return out;
}

/** A sum over the process tree of `pid`; processes that exit in between are skipped. */
function sumOverTree(pid: number, read: (p: number) => number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += read(p);
    } catch {
      // The process is gone.
    }
  }
  return total;
}

function cpuSeconds(pid: number): number {
  return sumOverTree(pid, (p) => {
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  });
}

/** Summed over the processes: with workers, the memory the relay takes on the machine. */
function peakRssMiB(pid: number): number {
  return sumOverTree(pid, (p) => {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  });
}

function startProcess(args: string[], env: NodeJS.ProcessEnv = {}): { proc: ChildProcess; firstLine: Promise<string>; output: () => string } {
  const proc = started(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
  let out = '';
  const firstLine = new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${out}`)));
  });
  proc.stderr!.on('data', (d) => (out += d));
  return { proc, firstLine, output: () => out };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function runLoadgen(args: LoadgenArgs): Promise<LoadgenResult> {
  const p = startProcess([path.join(__dirname, 'loadgen.js'), JSON.stringify(args)]);
  return JSON.parse(await p.firstLine);
}

class Sink {
  port = 0;
  private p?: ReturnType<typeof startProcess>;
  async start(): Promise<void> {
    this.p = startProcess([path.join(__dirname, 'sink.js'), '0']);
    this.port = JSON.parse(await this.p.firstLine).port;
  }
  async stats(): Promise<{ records: number; bytes: number; requests: number; arrivals: [number, number][] }> {
    return (await fetch(`http://127.0.0.1:${this.port}/stats`)).json() as never;
  }
  /** Waits until the record count stops growing (or reaches `expect`), then returns and resets the tally. */
  async drain(expect: number): Promise<Awaited<ReturnType<Sink['stats']>>> {
    let total = { records: 0, bytes: 0, requests: 0, arrivals: [] as [number, number][] };
    let idle = 0;
    for (let i = 0; i < 200 && idle < 6; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const s = await this.stats();
      if (s.records === 0) idle++;
      else idle = 0;
      total = { records: total.records + s.records, bytes: total.bytes + s.bytes, requests: total.requests + s.requests, arrivals: total.arrivals.concat(s.arrivals) };
      if (total.records >= expect && s.records === 0) break;
    }
    return total;
  }
  async stop(): Promise<void> {
    if (this.p) await stop(this.p.proc);
  }
}

interface RelaySetup {
  processors: Record<string, string[]>; // signal -> list of processor ids
  definitions: string; // YAML of the processors section
  exporters: number;
}

function relayYaml(http: number, grpc: number, health: number, sinks: number[], setup: RelaySetup, withBatch: boolean, workers = 1): string {
  const exporterIds = sinks.map((_, i) => `otlphttp/s${i}`);
  const pipelines = (['logs', 'metrics', 'traces'] as const)
    .map((sig) => {
      const procs = (setup.processors[sig] ?? []).filter((p) => withBatch || p !== 'batch');
      return `    ${sig}: {receivers: [otlp], processors: [${procs.join(', ')}], exporters: [${exporterIds.join(', ')}]}`;
    })
    .join('\n');
  return `receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${http}}
      grpc: {endpoint: 127.0.0.1:${grpc}}
processors:
${setup.definitions || '  {}'}
exporters:
${sinks.map((p, i) => `  ${exporterIds[i]}: {endpoint: "http://127.0.0.1:${p}", compression: none, sending_queue: {queue_size: 5000, num_consumers: 16}}`).join('\n')}
service:
  workers: ${workers}
  pipelines:
${pipelines}
  telemetry:
    logs: {level: warn, format: json}
    metrics: {address: ""}
    health: {endpoint: 127.0.0.1:${health}}
`;
}

async function startRelay(yaml: string): Promise<{ proc: ChildProcess; http: number; grpc: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentrelay-bench-'));
  const file = path.join(dir, 'relay.yaml');
  fs.writeFileSync(file, yaml);
  const health = Number(/health: \{endpoint: 127\.0\.0\.1:(\d+)\}/.exec(yaml)![1]);
  const proc = started(spawn(process.execPath, [CLI, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir }));
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`relay exited: ${err}`);
    try {
      if ((await fetch(`http://127.0.0.1:${health}/readyz`)).status === 200) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    http: Number(/http: \{endpoint: 127\.0\.0\.1:(\d+)\}/.exec(yaml)![1]),
    grpc: Number(/grpc: \{endpoint: 127\.0\.0\.1:(\d+)\}/.exec(yaml)![1]),
  };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** p50 and p99 of the time from sending a request to its first arrival at the sink. */
function latencies(lg: LoadgenResult, got: { arrivals: [number, number][] }): { p50Ms: number; p99Ms: number } {
  const arrived = new Map(got.arrivals);
  const lat = lg.sent.filter(([s]) => arrived.has(s)).map(([s, at]) => arrived.get(s)! - at).sort((a, b) => a - b);
  return { p50Ms: Math.round(percentile(lat, 0.5) * 100) / 100, p99Ms: Math.round(percentile(lat, 0.99) * 100) / 100 };
}

function rssMiB(pid: number): number {
  return Math.round(
    sumOverTree(pid, (p) => {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    }),
  );
}

/**
 * --soak: a steady moderate load for a long while, RSS sampled along the way: flat is the
 * goal. In the *-sessions workloads every request comes from a new session with a new
 * prompt; in metrics-fresh every request is also a new resource, so that no metric series
 * ever repeats (the worst case for metric state, held by the processors' bounds).
 */
async function soak(name: string, workload: string, launch: () => Promise<{ pid: number; url: string; stop: () => Promise<void> }>, sink: Sink): Promise<Row> {
  const t = await launch();
  const samples: number[] = [];
  try {
    const timer = setInterval(() => samples.push(rssMiB(t.pid)), SOAK_MS / 12);
    const lg = await runLoadgen({ target: t.url, transport: 'http', format: 'proto', workload, durationMs: SOAK_MS, concurrency: 4, rate: 5000 });
    clearInterval(timer);
    await sink.drain(0);
    const half = samples.slice(Math.floor(samples.length / 2));
    const growth = Math.max(...half) - Math.min(...half);
    return {
      case: `soak:${name}`,
      workload,
      recordsPerSec: Math.round(lg.okRecords / (lg.elapsedMs / 1000)),
      peakRssMiB: Math.round(peakRssMiB(t.pid)),
      check: lg.errors ? `${lg.errors} refused` : 'ok',
      note: `RSS MiB every ${Math.round(SOAK_MS / 12000)} s: ${samples.join(' ')}; second half varies by ${growth} MiB`,
    };
  } finally {
    await t.stop();
  }
}

interface Target {
  pid: number;
  url: string;
  grpc?: string;
  stop: () => Promise<void>;
  expectFactor: number;
}

type Launch = (withBatch: boolean) => Promise<Target>;

interface MeasureOpts {
  latency: boolean;
  lossy?: boolean;
  reps: number;
  transport?: 'http' | 'grpc';
  format?: 'proto' | 'json';
}

/** A target being measured at saturation: its row, and the share of a core its best run used. */
interface Saturating {
  row: Row;
  t: Target;
  opts: MeasureOpts;
  busy: number;
}

async function startSaturating(name: string, workload: string, launch: Launch, sink: Sink, opts: MeasureOpts): Promise<Saturating> {
  const row: Row = { case: name, workload, check: 'ok' };
  const t = await launch(true);
  try {
    await runLoadgen({ ...loadFor(t, workload, opts), durationMs: WARMUP_MS });
    await sink.drain(0);
  } catch (e) {
    await t.stop();
    throw e;
  }
  return { row, t, opts, busy: 1 };
}

function loadFor(t: Target, workload: string, opts: MeasureOpts): LoadgenArgs {
  const transport = opts.transport ?? 'http';
  const target = transport === 'grpc' ? t.grpc! : t.url;
  return { target, transport, format: opts.format ?? 'proto', workload, durationMs: SATURATE_MS, concurrency: 8, rate: 0 };
}

/**
 * One run at saturation. The CPU a record costs is inflated by whatever else ran on the two
 * cores meanwhile (the load generator, the sink, the OS): the least disturbed run is kept.
 */
async function saturateOnce(s: Saturating, sink: Sink): Promise<void> {
  const { row, t, opts } = s;
  const cpu0 = cpuSeconds(t.pid);
  const w0 = performance.now();
  const lg = await runLoadgen(loadFor(t, row.workload, opts));
  const got = await sink.drain(lg.okRecords * t.expectFactor);
  const cpu = cpuSeconds(t.pid) - cpu0;
  const wall = (performance.now() - w0) / 1000;
  const expected = lg.okRecords * t.expectFactor;
  if (lg.errors > 0) row.check = `${lg.errors} refused`;
  if (opts.lossy) row.note = `sink got ${got.records} of ${expected} (drops or merges by design)`;
  else if (got.records !== expected) row.check = `LOST ${expected - got.records} of ${expected}`;
  const perCpu = Math.round(lg.okRecords / cpu);
  if (row.recordsPerCpuSec !== undefined && perCpu <= row.recordsPerCpuSec) return;
  row.recordsPerSec = Math.round(lg.okRecords / wall);
  row.recordsPerCpuSec = perCpu;
  row.mbPerCpuSec = Math.round((lg.bytes / 1e6 / cpu) * 10) / 10;
  s.busy = cpu / wall;
}

async function stopSaturating(s: Saturating): Promise<void> {
  // Below saturation a figure per CPU-second is not the relay's best: under load the sending
  // queue joins waiting requests, idle it sends each one at once.
  if (s.busy < 0.75) s.row.note = [s.row.note, `not saturated: the relay used ${Math.round(s.busy * 100)}% of a core, the load generator was the limit`].filter(Boolean).join('; ');
  s.row.peakRssMiB = Math.round(peakRssMiB(s.t.pid));
  await s.t.stop();
}

/** Fixed-rate latency (and the CPU that rate costs) on a fresh target started by `launch`. */
async function latencyRun(row: Row, launch: Launch, sink: Sink): Promise<void> {
  const l = await launch(false);
  try {
    // Warm up at the same rate first: a fresh process compiles its hot paths and opens its
    // connections during the first second, and steady-state latency is what is reported.
    const paced: LoadgenArgs = { target: l.url, transport: 'http', format: 'proto', workload: row.workload, durationMs: WARMUP_MS, concurrency: 16, rate: LATENCY_RATE };
    await runLoadgen(paced);
    await sink.drain(0);
    const cpu0 = cpuSeconds(l.pid);
    const w0 = performance.now();
    const lg = await runLoadgen({ ...paced, durationMs: LATENCY_MS });
    // What the fixed rate costs: per record several times what saturation does, for every
    // process here (each request then arrives to an idle process and goes out on its own).
    row.cpuAtRatePct = Math.round(((cpuSeconds(l.pid) - cpu0) / ((performance.now() - w0) / 1000)) * 100);
    Object.assign(row, latencies(lg, await sink.drain(lg.okRecords * l.expectFactor)));
    row.steadyRssMiB = Math.round(peakRssMiB(l.pid));
  } finally {
    await l.stop();
  }
}

/** Saturation then fixed-rate latency against a target started by `launch`: the turns of one case. */
async function measure(name: string, workload: string, launch: Launch, sink: Sink, opts: MeasureOpts): Promise<Row> {
  const [row] = await measureInTurns([{ name, launch, opts }], workload, sink);
  return row;
}

/** A case of the ratios; an optional one (the peer) that fails to start is reported, not fatal. */
interface Turn {
  name: string;
  launch: Launch;
  opts: MeasureOpts;
  optional?: boolean;
}

/**
 * The cases a ratio is made of, measured in turns: every target runs, then each runs again,
 * and each keeps its best run. This machine's speed drifts by a third within minutes; cases
 * measured one after the other would each see a different machine, and so would their ratio.
 */
async function measureInTurns(cases: Turn[], workload: string, sink: Sink): Promise<Row[]> {
  const running: (Saturating | undefined)[] = [];
  const failures = new Map<number, string>();
  // An optional case that fails is stopped and reported; any other failure ends the bench.
  const attempt = async (i: number, step: () => Promise<void>) => {
    try {
      await step();
    } catch (e) {
      if (!cases[i].optional) throw e;
      failures.set(i, (e as Error).message);
      await running[i]?.t.stop();
      running[i] = undefined;
    }
  };
  try {
    for (const [i, c] of cases.entries()) {
      running.push(undefined);
      await attempt(i, async () => void (running[i] = await startSaturating(c.name, workload, c.launch, sink, c.opts)));
    }
    const reps = Math.max(0, ...cases.map((c) => c.opts.reps));
    for (let rep = 0; rep < reps; rep++) {
      for (const [i, s] of running.entries()) if (s && rep < s.opts.reps) await attempt(i, () => saturateOnce(s, sink));
    }
  } finally {
    for (const s of running) if (s) await stopSaturating(s);
  }
  const rows: Row[] = [];
  for (const [i, c] of cases.entries()) {
    const s = running[i];
    if (s && c.opts.latency) await attempt(i, () => latencyRun(s.row, c.launch, sink));
    const failure = failures.get(i);
    rows.push(failure === undefined ? s!.row : { case: c.name, workload, check: 'failed', note: `${c.name} did not run: ${failure}` });
  }
  return rows;
}

/**
 * The load generator straight to the sink at the latency rate: what the harness itself
 * adds (two processes sharing the same cores), the floor under every latency figure.
 */
async function harnessLatency(workload: string, sink: Sink): Promise<Row> {
  const paced: LoadgenArgs = { target: `http://127.0.0.1:${sink.port}`, transport: 'http', format: 'proto', workload, durationMs: WARMUP_MS, concurrency: 16, rate: LATENCY_RATE };
  await runLoadgen(paced);
  await sink.drain(0);
  const lg = await runLoadgen({ ...paced, durationMs: LATENCY_MS });
  const got = await sink.drain(lg.okRecords);
  return {
    case: 'harness',
    workload,
    ...latencies(lg, got),
    check: got.records === lg.okRecords ? 'ok' : `LOST ${lg.okRecords - got.records} of ${lg.okRecords}`,
    note: 'load generator straight to the sink: the latency floor of this harness',
  };
}

/**
 * Fluent Bit's OpenTelemetry input to its OpenTelemetry output over OTLP/HTTP, on the same
 * load and sink. Only when FLUENT_BIT names a binary the user has: the project never fetches one.
 */
function fluentBitLauncher(binary: string, sinkPort: number) {
  return async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentrelay-bench-fb-'));
    const file = path.join(dir, 'fluent-bit.conf');
    fs.writeFileSync(
      file,
      [
        '[SERVICE]', '    Flush 1', '    Log_Level warn',
        '[INPUT]', '    Name opentelemetry', '    Listen 127.0.0.1', `    Port ${port}`,
        '[OUTPUT]', '    Name opentelemetry', '    Match *', '    Host 127.0.0.1', `    Port ${sinkPort}`,
        '    Logs_uri /v1/logs', '    Traces_uri /v1/traces', '    Metrics_uri /v1/metrics', '',
      ].join('\n'),
    );
    const proc = started(spawn(binary, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }));
    // A binary that cannot be started (a wrong path) is reported here, not as a crash of the bench.
    let spawnError: Error | undefined;
    proc.on('error', (e) => (spawnError = e));
    const net = await import('node:net');
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      if (spawnError) throw new Error(`${binary} could not be started: ${spawnError.message}`);
      if (proc.exitCode !== null) throw new Error(`fluent-bit exited with ${proc.exitCode}`);
      up = await new Promise<boolean>((resolve) => {
        const c = net.connect(port, '127.0.0.1', () => {
          c.end();
          resolve(true);
        });
        c.on('error', () => resolve(false));
      });
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      await stop(proc);
      throw new Error(`fluent-bit did not listen on port ${port} within 10 s`);
    }
    return { pid: proc.pid!, url: `http://127.0.0.1:${port}`, stop: () => stop(proc), expectFactor: 1 };
  };
}

function codecCase(workload: string): Row {
  const w = buildWorkload(workload);
  const T = signalTypes[w.signal].request;
  let records = 0;
  let bytes = 0;
  const c0 = process.cpuUsage();
  const end = performance.now() + (QUICK ? 1500 : 3000);
  for (let i = 0; performance.now() < end; i++) {
    const b = w.requests[i % w.requests.length];
    T.encode(T.decode(b)).finish();
    records += w.recordsPerRequest[i % w.requests.length];
    bytes += b.length;
  }
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  return { case: 'codec', workload, recordsPerCpuSec: Math.round(records / cpu), mbPerCpuSec: Math.round((bytes / 1e6 / cpu) * 10) / 10, check: 'ok', note: 'in-process protobufjs decode+encode, as the relay sets it up' };
}

/** Processor setups. A processor whose config does not validate (not implemented yet) is left out and noted. */
const PROCESSOR_DEFS: Record<string, string> = {
  batch: 'batch: {send_batch_size: 512, timeout: 200ms}',
  agent_normalize: 'agent_normalize: {}',
  redaction: 'redaction: {}',
  filter: 'filter: {logs: {exclude: [{event: codex.sse_event}]}}',
  attributes: 'attributes: {actions: [{action: upsert, key: team, value: platform}]}',
  limits: 'limits: {}',
  enrich: 'enrich: {static: {team: platform}}',
  cost: 'cost: {}',
  sampling: 'sampling: {}',
  cardinality: 'cardinality: {}',
  deltatocumulative: 'deltatocumulative: {}',
};

function validProcessors(): Set<string> {
  const ok = new Set<string>();
  for (const [id, def] of Object.entries(PROCESSOR_DEFS)) {
    const r = loadConfigText(`receivers: {otlp: {}}\nprocessors:\n  ${def}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], processors: [${id}], exporters: [debug]}}}\n`, {});
    const r2 = loadConfigText(`receivers: {otlp: {}}\nprocessors:\n  ${def}\nexporters: {debug: {}}\nservice: {pipelines: {metrics: {receivers: [otlp], processors: [${id}], exporters: [debug]}}}\n`, {});
    if (r.config || r2.config) ok.add(id);
  }
  return ok;
}

function setupFor(perSignal: Record<string, string[]>, valid: Set<string>): { setup: RelaySetup; missing: string[] } {
  const missing = new Set<string>();
  const processors: Record<string, string[]> = {};
  const used = new Set<string>();
  for (const [sig, list] of Object.entries(perSignal)) {
    processors[sig] = list.filter((p) => {
      if (!valid.has(p)) missing.add(p);
      else used.add(p);
      return valid.has(p);
    });
  }
  const definitions = [...used].map((p) => `  ${PROCESSOR_DEFS[p]}`).join('\n');
  return { setup: { processors, definitions, exporters: 1 }, missing: [...missing] };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const sinks = [new Sink(), new Sink()];
  for (const s of sinks) await s.start();
  const valid = validProcessors();
  const print = (r: Row) => process.stderr.write(`  ${r.case} / ${r.workload}: ${JSON.stringify(r)}\n`);

  const relayLauncher = (setup: RelaySetup, nSinks: number) => async (withBatch: boolean) => {
    const [http, grpc, health] = [await freePort(), await freePort(), await freePort()];
    const r = await startRelay(relayYaml(http, grpc, health, sinks.slice(0, nSinks).map((s) => s.port), setup, withBatch));
    return { pid: r.proc.pid!, url: `http://127.0.0.1:${r.http}`, grpc: `127.0.0.1:${r.grpc}`, stop: () => stop(r.proc), expectFactor: 1 };
  };
  const naiveLauncher = async () => {
    const p = startProcess([path.join(__dirname, 'naive-relay.js'), '0', `http://127.0.0.1:${sinks[0].port}`]);
    const port = JSON.parse(await p.firstLine).port;
    return { pid: p.proc.pid!, url: `http://127.0.0.1:${port}`, stop: () => stop(p.proc), expectFactor: 1 };
  };

  // The processor order of config/default.yaml.
  const agentsPerSignal = {
    logs: ['agent_normalize', 'cost', 'sampling', 'redaction', 'limits', 'batch'],
    traces: ['agent_normalize', 'sampling', 'redaction', 'limits', 'batch'],
    metrics: ['agent_normalize', 'redaction', 'limits', 'batch', 'cardinality'],
  };
  if (SOAK) {
    const agents = setupFor(agentsPerSignal, valid);
    for (const workload of ['claude-logs-sessions', 'metrics-sessions', 'metrics-fresh']) {
      rows.push(await soak('agents', workload, () => relayLauncher(agents.setup, 1)(true), sinks[0]));
      print(rows.at(-1)!);
    }
    for (const s of sinks) await s.stop();
    for (const r of rows) console.log(`${r.case} ${r.workload}: ${r.recordsPerSec} rec/s, peak RSS ${r.peakRssMiB} MiB, ${r.check}; ${r.note}`);
    fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/results/soak.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');
    return;
  }
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const want = (name: string) => !only || only.split(',').includes(name);
  for (const workload of ['claude-logs', 'codex-traces']) {
    if (only && !want('codec') && !want('naive') && !want('passthrough') && !want('agents') && !want('peer')) break;
    rows.push(codecCase(workload));
    print(rows.at(-1)!);
    rows.push(await harnessLatency(workload, sinks[0]));
    print(rows.at(-1)!);
    const none = setupFor({}, valid);
    // Two exporters to one sink: the sink must see every record twice.
    const agents = setupFor(agentsPerSignal, valid);
    const twoToOne = (workers: number) => async (withBatch: boolean) => {
      const [http, grpc, health] = [await freePort(), await freePort(), await freePort()];
      const r = await startRelay(relayYaml(http, grpc, health, [sinks[0].port, sinks[0].port], agents.setup, withBatch, workers));
      return { pid: r.proc.pid!, url: `http://127.0.0.1:${r.http}`, stop: () => stop(r.proc), expectFactor: 2 };
    };
    const lossy = agents.setup.processors.logs?.includes('sampling');
    const turns: Turn[] = [];
    const ratioOpts: MeasureOpts = { latency: true, reps: RATIO_REPS };
    if (want('naive')) turns.push({ name: 'naive', launch: naiveLauncher, opts: ratioOpts });
    if (want('passthrough')) turns.push({ name: 'passthrough', launch: relayLauncher(none.setup, 1), opts: ratioOpts });
    if (want('agents')) turns.push({ name: 'agents', launch: twoToOne(1), opts: { ...ratioOpts, lossy } });
    if (process.env.FLUENT_BIT && want('peer')) {
      turns.push({ name: 'peer', launch: fluentBitLauncher(process.env.FLUENT_BIT, sinks[0].port), opts: ratioOpts, optional: true });
    }
    for (const row of await measureInTurns(turns, workload, sinks[0])) {
      if (row.case === 'agents' && agents.missing.length) row.note = `${row.note ? row.note + '; ' : ''}not yet implemented, left out: ${agents.missing.join(', ')}`;
      rows.push(row);
      print(row);
    }
    if (!want('agents') || !want('workers')) continue;
    // service.workers: 2. On two cores shared with the load generator and the sink, what it
    // shows is records/s (throughput); records per CPU-second does not improve with processes.
    const two = await measure('agents, 2 workers', workload, twoToOne(2), sinks[0], { latency: true, lossy, reps: 1 });
    two.note = [two.note, 'CPU and RSS summed over the primary and its workers'].filter(Boolean).join('; ');
    rows.push(two);
    print(two);
  }
  // The other ways in, and the other agents' payloads: saturation only, one run each.
  if (want('transports')) {
    const none = setupFor({}, valid);
    const agents = setupFor(agentsPerSignal, valid);
    const lossy = agents.setup.processors.logs?.includes('sampling');
    const extra: [string, string, RelaySetup, { transport?: 'grpc'; format?: 'json'; lossy?: boolean }][] = [
      ['passthrough, OTLP/gRPC in', 'claude-logs', none.setup, { transport: 'grpc' }],
      ['agents, OTLP/gRPC in', 'claude-logs', agents.setup, { transport: 'grpc', lossy }],
      // Gemini CLI sends OTLP/HTTP JSON, and so does Codex exec when set to.
      ['agents, OTLP/JSON in', 'gemini-logs', agents.setup, { format: 'json', lossy }],
      ['passthrough, OTLP/JSON in', 'codex-traces-json', none.setup, { format: 'json' }],
      ['agents, OTLP/JSON in', 'codex-traces-json', agents.setup, { format: 'json', lossy }],
      ['agents', 'metrics', agents.setup, { lossy: true }],
      ['agents, OTLP/JSON in', 'gemini-metrics', agents.setup, { format: 'json', lossy: true }],
    ];
    for (const [name, workload, setup, o] of extra) {
      const row = await measure(name, workload, relayLauncher(setup, 1), sinks[0], { latency: false, reps: 1, ...o });
      if (setup === agents.setup) row.note = [row.note, 'one exporter'].filter(Boolean).join('; ');
      rows.push(row);
      print(row);
    }
  }
  for (const p of Object.keys(PROCESSOR_DEFS)) {
    if (!want(`processor:${p}`)) continue;
    if (!valid.has(p)) {
      rows.push({ case: `processor:${p}`, workload: '-', check: 'skipped', note: 'not implemented yet' });
      continue;
    }
    const metricsOnly = p === 'cardinality' || p === 'deltatocumulative';
    // deltatocumulative drops a stream's points that come again with the same times (a replay),
    // and the pool of requests recurs: it gets a new source in every request instead.
    const workload = p === 'deltatocumulative' ? 'metrics-fresh' : metricsOnly ? 'metrics' : 'claude-logs';
    const sig = metricsOnly ? 'metrics' : 'logs';
    const one = setupFor({ [sig]: [p] }, valid);
    // These drop records or merge data points by design: the sink's count is reported, not checked.
    const lossy = ['sampling', 'filter', 'cardinality', 'deltatocumulative'].includes(p);
    rows.push(await measure(`processor:${p}`, workload, relayLauncher(one.setup, 1), sinks[0], { latency: false, lossy, reps: 1 }));
    print(rows.at(-1)!);
  }
  if (!process.env.FLUENT_BIT) {
    rows.push({ case: 'peer', workload: '-', check: 'skipped', note: 'FLUENT_BIT is not set: peer relay skipped' });
  }
  for (const s of sinks) await s.stop();

  const ratio = (a: string, b: string, w: string) => {
    const x = rows.find((r) => r.case === a && r.workload === w)?.recordsPerCpuSec;
    const y = rows.find((r) => r.case === b && r.workload === w)?.recordsPerCpuSec;
    return x && y ? Math.round((x / y) * 100) / 100 : undefined;
  };
  const ratios: Record<string, number | undefined> = {};
  for (const w of ['claude-logs', 'codex-traces']) {
    ratios[`passthrough/naive ${w}`] = ratio('passthrough', 'naive', w);
    ratios[`agents/naive ${w}`] = ratio('agents', 'naive', w);
    if (rows.some((r) => r.case === 'peer' && r.workload === w)) ratios[`agents/peer ${w}`] = ratio('agents', 'peer', w);
  }
  const header = ['case', 'workload', 'rec/s', 'rec/CPU-s', 'MB/CPU-s', 'p50 ms', 'p99 ms', 'peak RSS MiB', 'RSS@10k MiB', 'CPU@10k %', 'check', 'note'];
  const lines = rows.map((r) => [r.case, r.workload, r.recordsPerSec, r.recordsPerCpuSec, r.mbPerCpuSec, r.p50Ms, r.p99Ms, r.peakRssMiB, r.steadyRssMiB, r.cpuAtRatePct, r.check, r.note ?? ''].map((x) => (x === undefined ? '-' : String(x))));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
  console.log('');
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v ?? '-'}`);
  const outDir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(outDir, { recursive: true });
  const result = { date: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, quick: QUICK, rows, ratios };
  fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwritten: bench/results/latest.json`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

process.on('exit', () => {
  for (const p of children) if (p.exitCode === null) p.kill('SIGKILL');
});
