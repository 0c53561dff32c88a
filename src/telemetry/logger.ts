// pino logging: JSON lines by default, pretty when stdout is a terminal.
// Secrets never reach a log line of ours: header values and URLs with user info
// are redacted by the helpers below before anything logs them.
import pino, { type Logger, type LevelWithSilent } from 'pino';

export interface LogOptions {
  level?: LevelWithSilent;
  format?: 'json' | 'pretty' | 'auto';
}

export function createLogger(opts: LogOptions = {}): Logger {
  const format = opts.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const level = opts.level ?? 'info';
  if (pretty) {
    try {
      require.resolve('pino-pretty');
      return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true, destination: 1 } } });
    } catch {
      // pino-pretty is a dev dependency; production images log JSON.
    }
  }
  return pino({ level, base: { service: 'agentrelay' } });
}

/** The logger `service.telemetry.logs` asks for (its values were checked by the config schema). */
export function loggerFor(logs: { level: string; format: string }): Logger {
  return createLogger({ level: logs.level as LevelWithSilent, format: logs.format as LogOptions['format'] });
}

/** A URL for a log line: user info and query string are removed, since they may carry credentials. */
export function safeUrl(u: string): string {
  try {
    const url = new URL(u);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString();
  } catch {
    return '<invalid url>';
  }
}
