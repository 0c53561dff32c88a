// Starts agentrelay as a real child process on a config written to a temp dir,
// waits until /readyz answers 200, and stops it with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const CLI = path.resolve(__dirname, '../../src/cli.js');

/**
 * A port nothing listens on, for a relay about to be started. Ports come from below the
 * kernel's ephemeral range: an outgoing connection (a readiness poll, an exporter) takes
 * its local port from that range, and could otherwise take a chosen port before the relay
 * binds it (a relay then failed with EADDRINUSE now and then). None is handed out twice.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralStart();
  for (let i = 0; i < 100 && below > LOWEST_PORT + 1000; i++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (below - LOWEST_PORT));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  for (;;) {
    const port = await listenOnce(0);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Above the relay's default ports (4317, 4318, 8888, 13133), which some tests start it on. */
const LOWEST_PORT = 15000;
const handedOut = new Set<number>();

function ephemeralStart(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

async function canListen(port: number): Promise<boolean> {
  try {
    await listenOnce(port);
    return true;
  } catch {
    return false;
  }
}

/** Listens on `port` (0: any) on 127.0.0.1, closes, and resolves with the port. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

export function tempDir(prefix = 'agentrelay-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface RunningRelay {
  proc: ChildProcess;
  dir: string;
  healthPort: number;
  metricsPort: number;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  /** The relay's own Prometheus metrics text. */
  metrics: () => Promise<string>;
}

/**
 * Starts a relay on `yaml`. A telemetry section with free health and metrics ports is
 * appended unless the YAML has its own (which then names them 127.0.0.1:HEALTH and
 * 127.0.0.1:METRICS).
 */
export async function startRelay(yaml: string, opts: { env?: Record<string, string>; dir?: string } = {}): Promise<RunningRelay> {
  const dir = opts.dir ?? tempDir();
  const healthPort = await freePort();
  const metricsPort = await freePort();
  // A config with its own telemetry section writes 127.0.0.1:HEALTH and 127.0.0.1:METRICS for the ports.
  let text = yaml.replace(/127\.0\.0\.1:HEALTH\b/g, `127.0.0.1:${healthPort}`).replace(/127\.0\.0\.1:METRICS\b/g, `127.0.0.1:${metricsPort}`);
  if (!/\n {2}telemetry:/.test(yaml)) {
    text += `\n  telemetry:\n    logs: {level: info, format: json}\n    health: {endpoint: 127.0.0.1:${healthPort}}\n    metrics: {address: 127.0.0.1:${metricsPort}}\n    shutdown_timeout: 5s\n`;
  }
  const file = path.join(dir, 'relay.yaml');
  fs.writeFileSync(file, text);
  const proc = spawn(process.execPath, [CLI, '--config', file], {
    cwd: dir,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`relay exited with ${proc.exitCode} before ready:\n${out}`);
    try {
      const r = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`relay not ready after 15 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    dir,
    healthPort,
    metricsPort,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
  };
}

/** Value of one Prometheus counter series whose labels include all of `labels` (summed). */
export function counterValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls: Record<string, string> = {};
    for (const kv of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) ls[kv[1]] = kv[2];
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** Reads a JSON-lines file as parsed objects (missing file: empty). */
export function readJsonLines(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** Polls `fn` until it returns a truthy value or the timeout passes. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
