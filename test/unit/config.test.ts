import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load';
import { expandEnv } from '../../src/config/env';
import { parseDuration, parseBytes } from '../../src/config/schema';

test('${env:VAR} and ${env:VAR:-default} expand; $$ is a literal dollar', () => {
  const missing: string[] = [];
  const env = { TOKEN: 'abc', EMPTY: '' };
  const ex = (s: string) => expandEnv(s, env, (n) => missing.push(n));
  assert.equal(ex('Bearer ${env:TOKEN}'), 'Bearer abc');
  assert.equal(ex('${env:NOPE:-localhost:4317}'), 'localhost:4317');
  assert.equal(ex('${env:EMPTY:-fallback}'), 'fallback');
  assert.equal(ex('cost $$5 ${env:NOPE}'), 'cost $5 ');
  assert.deepEqual(missing, ['NOPE']);
});

test('expansion happens in values after parsing, so a value cannot change the YAML structure', () => {
  const yaml = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: \${env:EP}
exporters:
  debug:
    verbosity: \${env:VERB:-detailed}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [debug]}
`;
  const r = loadConfigText(yaml, { EP: '127.0.0.1:9999\nexporters: {}' });
  assert.equal(r.config, undefined);
  assert.match(r.errors.join('\n'), /receivers\.otlp\.protocols\.http\.endpoint: not a host:port endpoint/);
  const ok = loadConfigText(yaml, { EP: '127.0.0.1:9999' });
  assert.deepEqual(ok.errors, []);
  assert.equal((ok.config!.exporters.get('debug')!.config as { verbosity: string }).verbosity, 'detailed');
});

test('validation reports every error with its path and line', () => {
  const yaml = [
    'receivers:',
    '  otlp: {}',
    '  kafka: {}', // line 3: unknown type
    'exporters:',
    '  otlphttp/grafana:',
    '    endpoint: grafana', // line 6: not a URL
    '    compresion: gzip', // line 7: unknown key
    '  debug:',
    '    verbosity: 3', // line 9: wrong value
    'service:',
    '  pipelines:',
    '    logs:',
    '      receivers: [otlp]',
    '      exporters: [debug, otlphttp/missing]', // line 14: undefined exporter
  ].join('\n');
  const r = loadConfigText(yaml, {});
  assert.equal(r.config, undefined);
  assert.deepEqual(r.errors, [
    'receivers.kafka: unknown receiver type "kafka" (known: otlp) (line 3)',
    'exporters.otlphttp/grafana.compresion: unknown key' + r.errors[1].slice('exporters.otlphttp/grafana.compresion: unknown key'.length),
    'exporters.otlphttp/grafana.endpoint: not a URL: "grafana" (line 6)',
    'exporters.debug.verbosity: expected one of basic, normal, detailed, got number 3 (line 9)',
    'service.pipelines.logs.exporters[1]: "otlphttp/missing" is not defined under exporters or connectors (line 14)',
  ]);
  assert.match(r.errors[1], /\(line 7\)$/);
});

test('a component defined and never used is a warning, not an error', () => {
  const r = loadConfigText(`
receivers: {otlp: {}}
exporters: {debug: {}, file: {}}
service: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}
`, {});
  assert.deepEqual(r.errors, []);
  assert.ok(r.config);
  assert.deepEqual(r.warnings, ['exporters.file: exporter is defined but not used in any pipeline (line 3)']);
});

test('connector wiring is checked: both ends used, routes name pipelines that receive from it', () => {
  const r = loadConfigText(`
receivers: {otlp: {}}
exporters: {debug: {}}
connectors:
  routing:
    table:
      - condition: {event: tool_decision}
        pipelines: [logs/audit, logs/nowhere]
  forward: {}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [routing]}
    logs/audit: {receivers: [routing], exporters: [debug]}
    metrics: {receivers: [otlp], exporters: [forward]}
`, {});
  assert.deepEqual(r.errors.map((e) => e.replace(/ \(line \d+\)$/, '')), [
    'connectors.routing.table[0].pipelines[1]: pipeline "logs/nowhere" does not list "routing" among its receivers',
    'connectors.forward: a connector must be listed as an exporter of one pipeline and a receiver of another (never used as a receiver)',
  ]);
});

test('durations and sizes', () => {
  assert.equal(parseDuration('200ms'), 200);
  assert.equal(parseDuration('1m30s'), 90000);
  assert.equal(parseDuration('fast'), undefined);
  assert.equal(parseBytes('4MiB'), 4194304);
  assert.equal(parseBytes('10MB'), 10000000);
  assert.equal(parseBytes('lots'), undefined);
});
