#!/usr/bin/env node
// agentrelay command line:
//   agentrelay --config FILE [--watch]    run the relay (SIGHUP, or a change with --watch, reloads FILE)
//   agentrelay validate --config FILE     check a config; exit 0 (valid) or 1
//   agentrelay test FILE...               run config tests (see docs/deploy.md); exit 0 (all pass) or 1
//   agentrelay tap ...                    print what leaves a component of a running relay
//   agentrelay healthcheck ...            exit 0 when a running relay answers /healthz (for HEALTHCHECK)
// Exit codes: 0 success, 1 failure (bad config, cannot start, failed test), 2 usage error.
import cluster from 'node:cluster';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { loadConfigFile } from './config/load';
import { Relay } from './relay';
import { runTestFiles } from './configtest/run';
import { runTap, parseTapArgs, TAP_USAGE } from './tap/client';
import { loggerFor } from './telemetry/logger';
import { workerIndex } from './workers/identity';
import { runPrimary } from './workers/primary';
import { answerThePrimary, asWorkerConfig } from './workers/worker';
import type { ToWorker } from './workers/messages';

const USAGE = `usage:
  agentrelay --config FILE [--watch]     run the relay on FILE; SIGHUP reloads it (--watch: also on change)
  agentrelay validate --config FILE      check FILE and print every problem
  agentrelay test FILE...                run the config tests in FILE(s)
${TAP_USAGE}
  agentrelay healthcheck [--config FILE | --address HOST:PORT]
                                         exit 0 when the relay's /healthz answers 200
  agentrelay --help`;

type Command = 'run' | 'validate' | 'help';

function parseArgs(argv: string[]): { command: Command; config?: string; watch: boolean } | string {
  let command: Command = 'run';
  let config: string | undefined;
  let watch = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') command = 'help';
    else if (a === 'validate' && i === 0) command = 'validate';
    else if (a === '--watch') watch = true;
    else if (a === '--config' || a === '-c') {
      config = argv[++i];
      if (!config) return '--config needs a file';
    } else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else return `unknown argument: ${a}`;
  }
  if (command !== 'help' && !config) return 'missing --config FILE';
  if (watch && command !== 'run') return '--watch only applies when running the relay';
  return { command, config, watch };
}

function usageError(message: string): number {
  process.stderr.write(`agentrelay: ${message}\n${USAGE}\n`);
  return 2;
}

async function healthcheck(argv: string[]): Promise<number> {
  let address = '127.0.0.1:13133';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--address' && argv[i + 1]) address = argv[++i];
    else if (a === '--config' && argv[i + 1]) {
      const r = loadConfigFile(argv[++i]);
      if (!r.config) {
        process.stderr.write(`unhealthy: the config does not load (${r.errors[0] ?? 'unknown error'})\n`);
        return 1;
      }
      address = r.config.telemetry.health.endpoint;
      if (!address) return usageError('the config turns the health endpoint off (service.telemetry.health.endpoint is empty)');
    } else return usageError(`unknown healthcheck argument: ${a}`);
  }
  // A relay listening on every address answers on loopback too.
  const target = address.replace(/^(0\.0\.0\.0|\[::\]|::|):/, '127.0.0.1:');
  try {
    const r = await fetch(`http://${target}/healthz`, { signal: AbortSignal.timeout(3000) });
    await r.arrayBuffer();
    if (r.status === 200) return 0;
    process.stderr.write(`unhealthy: /healthz answered ${r.status}\n`);
  } catch (e) {
    process.stderr.write(`unhealthy: ${target}: ${(e as Error).message}\n`);
  }
  return 1;
}

async function run(configFile: string, watch: boolean): Promise<number> {
  const worker = cluster.isWorker;
  // A worker runs without the endpoints the primary serves for all of them.
  const load = () => {
    const r = loadConfigFile(configFile);
    return worker && r.config ? { ...r, config: asWorkerConfig(r.config) } : r;
  };
  const result = load();
  // A worker's warnings were printed by the primary, which loaded the same file; its errors
  // are its own (the file may have changed since, and a restarted worker reads it again).
  if (!worker) for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  for (const e of result.errors) process.stderr.write(`error: ${worker ? `worker ${workerIndex}: ` : ''}${e}\n`);
  if (!result.config) return 1;
  if (!worker && result.config.workers > 1) return runPrimary(configFile, result.config, watch, hashFile);

  const t = result.config.telemetry;
  const logger = worker
    ? loggerFor(t.logs).child({ worker: workerIndex })
    : undefined;
  const relay = new Relay(result.config, logger);
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    relay.logger.info({ signal: why }, 'signal received');
    relay.stop().then(
      () => process.exit(0),
      (err) => {
        relay.logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  let signals = 0;
  const onSignal = (sig: string) => {
    if (++signals > 1) {
      relay.logger.warn({ signal: sig }, 'second signal: exiting without draining');
      process.exit(1);
    }
    stop(sig);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  if (worker) {
    // Ctrl-C reaches every process of the group, and systemd's default KillMode signals
    // them all: the primary's stop message and a signal of one's own are one stop, not two.
    process.on('SIGINT', () => undefined);
    process.on('message', (m: ToWorker) => {
      if (m?.t === 'stop') stop('stop from the primary');
      else if (m?.t === 'reload') reload('reload from the primary');
      else if (m?.t === 'hurry') {
        relay.logger.warn('the primary got a second signal: exiting without draining');
        process.exit(1);
      }
    });
    // The primary is gone: nothing hands this worker connections any more.
    process.on('disconnect', () => stop('primary exit'));
  } else process.on('SIGINT', () => onSignal('SIGINT'));

  let loadedHash = hashFile(configFile);
  const reload = (why: string) => {
    relay.logger.info({ reason: why, config: configFile }, 'reloading the config');
    loadedHash = hashFile(configFile);
    void relay.reload(load());
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  try {
    await relay.start();
  } catch (e) {
    relay.logger.fatal({ err: (e as Error).message }, 'cannot start');
    await relay.stop().catch(() => undefined);
    return 1;
  }
  if (worker) answerThePrimary(relay);
  else if (watch) {
    // Polling follows the symlink swaps a Kubernetes ConfigMap volume makes.
    fs.watchFile(configFile, { interval: 1000 }, () => {
      const h = hashFile(configFile);
      if (h !== undefined && h !== loadedHash) reload('file changed');
    });
  }
  return -1; // keep running
}

function hashFile(file: string): string | undefined {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'test') {
    const files = argv.slice(1);
    if (files.length === 0 || files.some((f) => f.startsWith('-'))) return usageError('test needs one or more test files');
    return runTestFiles(files, (s) => process.stdout.write(s));
  }
  if (argv[0] === 'tap') {
    const args = parseTapArgs(argv.slice(1));
    if (typeof args === 'string') return usageError(args);
    return runTap(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  }
  if (argv[0] === 'healthcheck') return healthcheck(argv.slice(1));

  const args = parseArgs(argv);
  if (typeof args === 'string') return usageError(args);
  if (args.command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (args.command === 'validate') {
    const result = loadConfigFile(args.config!);
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    for (const e of result.errors) process.stderr.write(`error: ${e}\n`);
    if (result.config) process.stdout.write(`${args.config}: valid\n`);
    else process.stderr.write(`${args.config}: ${result.errors.length} error(s)\n`);
    return result.config ? 0 : 1;
  }
  return run(args.config!, args.watch);
}

main().then((code) => {
  if (code < 0) return;
  process.exitCode = code;
  // A worker's channel to the primary would keep it alive.
  if (cluster.isWorker) process.exit(code);
});
