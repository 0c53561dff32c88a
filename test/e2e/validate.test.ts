// `agentrelay validate --config FILE`, run as a real child process: every mistake
// reported at once with its YAML path and line, exit codes 0/1/2, warnings for
// unused components, ${env:...} expansion, and the shipped default config.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, tempDir } from '../helpers/relay-process';

const dir = tempDir('agentrelay-validate-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI with a minimal environment (PATH plus `env`), so stray variables can't change the outcome. */
function cli(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let n = 0;
/** The five-mistake config and what validate printed for it. */
let mistakes: { file: string; stderr: string } | undefined;
function writeConfig(lines: string[]): string {
  const file = path.join(dir, `config-${++n}.yaml`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** 1-based line of the only line of `lines` that contains `text`. */
function lineOf(lines: string[], text: string): number {
  const hits = lines.flatMap((l, i) => (l.includes(text) ? [i + 1] : []));
  assert.equal(hits.length, 1, `"${text}" must occur on exactly one line of the test config`);
  return hits[0];
}

interface Reported {
  path: string;
  message: string;
  line: number;
}

function parse(stderr: string, kind: 'error' | 'warning'): Reported[] {
  const out: Reported[] = [];
  for (const l of stderr.split('\n')) {
    if (!l.startsWith(`${kind}: `)) continue;
    const m = /^(?:error|warning): (\S+): (.*) \(line (\d+)\)$/.exec(l);
    assert.ok(m, `not of the form "${kind}: path: message (line N)": ${l}`);
    out.push({ path: m[1], message: m[2], line: Number(m[3]) });
  }
  return out;
}

test('five different mistakes: exactly five errors, each with its YAML path and line; exit 1', () => {
  const lines = [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    '        endpoint: 127.0.0.1:4318',
    '  bogus/x:', //                                    1. unknown component type (a block value: reported at the key)
    '    endpoint: 127.0.0.1:1',
    'processors:',
    '  batch:',
    '    send_batch_size: 100',
    '    timeout: fast', //                             2. wrong type
    'exporters:',
    '  file:',
    '    path: out.jsonl',
    '    colour: red', //                               3. unknown key
    'connectors:',
    '  forward: {}',
    'service:',
    '  pipelines:',
    '    logs:',
    '      receivers: [otlp]',
    '      processors: [batch]',
    '      exporters:',
    '        - file',
    '        - forward',
    '        - missing', //                             4. undefined exporter
    '    traces:',
    '      receivers:',
    '        - forward #traces', //                     5. connector pair logs -> traces, unsupported by forward
    '      exporters: [file]',
  ];
  const file = writeConfig(lines);
  const r = cli(['validate', '--config', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stdout, /valid/);
  const errors = parse(r.stderr, 'error');
  assert.equal(errors.length, 5, r.stderr);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: 5 error\\(s\\)`));

  const expected: { path: string; line: number; message: RegExp }[] = [
    { path: 'receivers.bogus/x', line: lineOf(lines, 'bogus/x:'), message: /^unknown receiver type "bogus" \(known: otlp\)$/ },
    { path: 'processors.batch.timeout', line: lineOf(lines, 'timeout: fast'), message: /^expected a duration .*got string "fast"$/ },
    { path: 'exporters.file.colour', line: lineOf(lines, 'colour: red'), message: /^unknown key \(known: .*\bpath\b.*\)$/ },
    { path: 'service.pipelines.logs.exporters[2]', line: lineOf(lines, '- missing'), message: /^"missing" is not defined under exporters or connectors$/ },
    {
      path: 'service.pipelines.traces.receivers[0]',
      line: lineOf(lines, '- forward #traces'),
      message: /^connector "forward" cannot connect logs \(pipeline "logs"\) to traces/,
    },
  ];
  const byPath = new Map(errors.map((e) => [e.path, e]));
  mistakes = { file, stderr: r.stderr };
  assert.deepEqual([...byPath.keys()].sort(), expected.map((e) => e.path).sort(), 'the five paths');
  for (const e of expected) {
    const got = byPath.get(e.path)!;
    assert.equal(got.line, e.line, `${e.path}: line (${got.message})`);
    assert.match(got.message, e.message, e.path);
  }
});

test('running (not validating) the five-mistake config: the same errors, exit 1, nothing started', () => {
  assert.ok(mistakes, 'runs after the five-mistake test');
  const r = cli(['--config', mistakes.file]);
  assert.equal(r.code, 1, r.stderr);
  const errorLines = (s: string) => s.split('\n').filter((l) => l.startsWith('error: '));
  assert.deepEqual(errorLines(r.stderr), errorLines(mistakes.stderr));
  assert.doesNotMatch(r.stdout + r.stderr, /agentrelay is running/);
});

test('a valid config exits 0 and warns about a component that is defined but unused', () => {
  const lines = [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http: {endpoint: 127.0.0.1:4318}',
    'processors:',
    '  batch: {}',
    'exporters:',
    '  file: {path: out.jsonl}',
    '  debug:', // unused
    '    verbosity: basic',
    'service:',
    '  pipelines:',
    '    logs: {receivers: [otlp], processors: [batch], exporters: [file]}',
  ];
  const file = writeConfig(lines);
  const r = cli(['validate', '--config', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${file}: valid\n`);
  assert.deepEqual(parse(r.stderr, 'error'), []);
  assert.deepEqual(parse(r.stderr, 'warning'), [
    { path: 'exporters.debug', message: 'exporter is defined but not used in any pipeline', line: lineOf(lines, 'debug:') },
  ]);
});

test('${env:X} and ${env:X:-default} are expanded before validation', () => {
  const lines = [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    '        endpoint: ${env:RELAY_HTTP:-127.0.0.1:4318}',
    'exporters:',
    '  otlphttp/up:',
    '    endpoint: ${env:UP_URL}',
    '  otlphttp/down:',
    '    endpoint: ${env:DOWN_URL:-http://127.0.0.1:4319}',
    'service:',
    '  pipelines:',
    '    logs: {receivers: [otlp], exporters: [otlphttp/up, otlphttp/down]}',
  ];
  const file = writeConfig(lines);

  // UP_URL from the environment, DOWN_URL and RELAY_HTTP from their defaults: the literal
  // "${env:UP_URL}" is not a URL, so exit 0 means the value was expanded.
  const ok = cli(['validate', '--config', file], { UP_URL: 'http://127.0.0.1:9999' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /: valid$/m);
  assert.deepEqual(parse(ok.stderr, 'warning'), []);

  // A set variable wins over the default, and its value is what gets checked.
  const bad = cli(['validate', '--config', file], { UP_URL: 'http://127.0.0.1:9999', DOWN_URL: 'not a url', RELAY_HTTP: 'nowhere' });
  assert.equal(bad.code, 1, bad.stderr);
  const errs = parse(bad.stderr, 'error');
  assert.deepEqual(
    errs.map((e) => [e.path, e.line]).sort(),
    [
      ['exporters.otlphttp/down.endpoint', lineOf(lines, 'DOWN_URL')],
      ['receivers.otlp.protocols.http.endpoint', lineOf(lines, 'RELAY_HTTP')],
    ],
    bad.stderr,
  );
  assert.match(errs.find((e) => e.path === 'exporters.otlphttp/down.endpoint')!.message, /"not a url"/);
  assert.match(errs.find((e) => e.path === 'receivers.otlp.protocols.http.endpoint')!.message, /"nowhere"/);

  // An unset variable without a default: a warning, and the empty string fails the URL check.
  const unset = cli(['validate', '--config', file]);
  assert.equal(unset.code, 1, unset.stderr);
  assert.deepEqual(parse(unset.stderr, 'warning').map((w) => [w.path, w.line]), [['exporters.otlphttp/up.endpoint', lineOf(lines, 'UP_URL')]]);
  assert.match(unset.stderr, /UP_URL is not set/);
  assert.deepEqual(parse(unset.stderr, 'error').map((e) => e.path), ['exporters.otlphttp/up.endpoint']);
});

test('a YAML syntax error names its line (e.g. ${env:...} inside a flow map)', () => {
  const lines = [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http: {endpoint: 127.0.0.1:4318, auth: {bearer_token: ${env:TOKEN}}}',
    'exporters:',
    '  file: {}',
  ];
  const r = cli(['validate', '--config', writeConfig(lines)], { TOKEN: 'x' });
  assert.equal(r.code, 1, r.stderr);
  const first = r.stderr.split('\n').find((l) => l.startsWith('error: '));
  assert.match(first ?? '', /^error: YAML syntax: .* \(line 4\)$/, r.stderr);
});

test('usage errors exit 2 and print the usage', () => {
  for (const args of [[], ['validate'], ['validate', '--config'], ['validate', '--config', 'x.yaml', '--bogus']]) {
    const r = cli(args);
    assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
    assert.match(r.stderr, /^agentrelay: .+\nusage:\n/, JSON.stringify(args));
    assert.match(r.stderr, /agentrelay validate --config FILE/);
  }
});

test('a config file that cannot be read: exit 1 with the reason', () => {
  const r = cli(['validate', '--config', path.join(dir, 'does-not-exist.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read config file .*does-not-exist\.yaml: ENOENT/);
});

test('config/default.yaml validates (exit 0, no errors, no warnings)', () => {
  const file = path.resolve(__dirname, '../../../config/default.yaml');
  assert.ok(fs.existsSync(file), file);
  const r = cli(['validate', '--config', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${file}: valid\n`);
  assert.equal(r.stderr, '');
});
