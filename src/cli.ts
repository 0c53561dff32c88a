#!/usr/bin/env node
// agentrelay command line:
//   agentrelay --config FILE            run the relay
//   agentrelay validate --config FILE   check a config; exit 0 (valid) or 1
// Exit codes: 0 success, 1 failure (bad config, cannot start), 2 usage error.
import { loadConfigFile } from './config/load';
import { Relay } from './relay';

const USAGE = `usage:
  agentrelay --config FILE            run the relay on FILE
  agentrelay validate --config FILE   check FILE and print every problem
  agentrelay --help`;

function parseArgs(argv: string[]): { command: 'run' | 'validate' | 'help'; config?: string } | string {
  let command: 'run' | 'validate' | 'help' = 'run';
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') command = 'help';
    else if (a === 'validate' && i === 0) command = 'validate';
    else if (a === '--config' || a === '-c') {
      config = argv[++i];
      if (!config) return '--config needs a file';
    } else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else return `unknown argument: ${a}`;
  }
  if (command !== 'help' && !config) return 'missing --config FILE';
  return { command, config };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`agentrelay: ${args}\n${USAGE}\n`);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const result = loadConfigFile(args.config!);
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  for (const e of result.errors) process.stderr.write(`error: ${e}\n`);
  if (args.command === 'validate') {
    if (result.config) process.stdout.write(`${args.config}: valid\n`);
    else process.stderr.write(`${args.config}: ${result.errors.length} error(s)\n`);
    return result.config ? 0 : 1;
  }
  if (!result.config) return 1;

  const relay = new Relay(result.config);
  let signals = 0;
  const onSignal = (sig: string) => {
    if (++signals > 1) {
      relay.logger.warn({ signal: sig }, 'second signal: exiting without draining');
      process.exit(1);
    }
    relay.logger.info({ signal: sig }, 'signal received');
    relay.stop().then(
      () => process.exit(0),
      (err) => {
        relay.logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  try {
    await relay.start();
  } catch (e) {
    relay.logger.fatal({ err: (e as Error).message }, 'cannot start');
    await relay.stop().catch(() => undefined);
    return 1;
  }
  return -1; // keep running
}

main().then((code) => {
  if (code >= 0) process.exitCode = code;
});
