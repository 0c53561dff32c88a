// `agentrelay test FILE...` run as a real child process on recorded agent requests:
// passing cases exit 0; a failing assertion exits 1 with a -expected/+actual diff that
// names the record and the attribute; a planted secret is found by no_text; mistakes in
// the test file are reported with their YAML path and line; batch processors are flushed
// before the checks; counters of the relay's own telemetry can be asserted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, tempDir } from '../helpers/relay-process';
import { FIXTURES_DIR } from '../helpers/fixtures';

const dir = tempDir('agentrelay-configtest-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const CLAUDE_LOGS = path.join(FIXTURES_DIR, 'claude-code/tool-call/01-logs.json');
const CLAUDE_LOGS_PB = path.join(FIXTURES_DIR, 'claude-code/protobuf/01-logs.pb');
const CODEX_LOGS = path.join(FIXTURES_DIR, 'codex/exec/04-logs.json');

// The audit recipe in small: tool decisions are copied to an archive, everything goes on.
const CONFIG = `
receivers:
  otlp: {}
processors:
  batch:
    timeout: 1h
connectors:
  routing/audit:
    table:
      - condition: {event: tool_decision}
        pipelines: [logs/audit, logs/main]
    default_pipelines: [logs/main]
exporters:
  otlphttp/backend:
    endpoint: \${env:BACKEND_URL}
    headers:
      authorization: "Bearer \${env:BACKEND_TOKEN}"
  file/audit:
    path: /var/lib/agentrelay/audit.jsonl
service:
  pipelines:
    logs/in: {receivers: [otlp], exporters: [routing/audit]}
    logs/audit: {receivers: [routing/audit], exporters: [file/audit]}
    logs/main: {receivers: [routing/audit], processors: [batch], exporters: [otlphttp/backend]}
`;
fs.writeFileSync(path.join(dir, 'relay.yaml'), CONFIG);

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function run(...files: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'test', ...files], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

const ENV = `env:\n  BACKEND_URL: https://otlp.example.test\n  BACKEND_TOKEN: test-token\n`;

test('passing cases: exit 0, one ok line per case, a closing count', () => {
  const file = write(
    'pass.test.yaml',
    `config: relay.yaml
${ENV}tests:
  - name: tool decisions of both agents are archived, everything reaches the backend
    input:
      - file: ${CLAUDE_LOGS}
      - file: ${CODEX_LOGS}
    expect:
      - exporter: file/audit
        count: 2
        all: {event: tool_decision}
        attributes: {decision: {in: [accept, approved]}}
      - exporter: otlphttp/backend
        count: 38
      - exporter: otlphttp/backend
        where: {event: api_request}
        count_at_least: 1
        some: {attribute: resource.service.name, equals: claude-code}
    counters:
      - name: connector_routed_items
        labels: {pipeline: logs/audit}
        equals: 2
  - name: protobuf requests go through the same way
    input: {file: ${CLAUDE_LOGS_PB}}
    expect:
      - exporter: file/audit
        where: {attribute: resource.service.name, equals: claude-code}
        count: 1
  - name: shorthand records
    input:
      logs:
        - resource: {service.name: claude-code}
          attributes: {event.name: tool_decision, decision: reject, tool_name: Bash}
        - attributes: {event.name: api_request, model: claude-opus-4-8, cost_usd: 0.03}
    expect:
      - exporter: file/audit
        count: 1
        attributes: {decision: reject, tool_name: Bash, resource.service.name: claude-code}
      - exporter: otlphttp/backend
        where: {event: api_request}
        attributes: {cost_usd: {gt: 0.01}, model: claude-opus-4-8}
`,
  );
  const r = run(file);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /ok {4}tool decisions of both agents are archived/);
  assert.match(r.out, /ok {4}protobuf requests go through the same way/);
  assert.match(r.out, /ok {4}shorthand records/);
  assert.match(r.out, /^3 passed, 0 failed$/m);
});

test('a failing assertion: exit 1 and a readable diff naming the record and the attribute', () => {
  const file = write(
    'fail.test.yaml',
    `config: relay.yaml
${ENV}tests:
  - name: the archive holds no tool parameters
    input: {file: ${CLAUDE_LOGS}}
    expect:
      - exporter: file/audit
        where: {event: tool_decision}
        count: 1
        attributes:
          decision: accept
          tool_name: Write
          tool_parameters: null
  - name: wrong count
    input: {file: ${CLAUDE_LOGS}}
    expect:
      - exporter: otlphttp/backend
        where: {event: api_request}
        count: 2
  - name: the planted secret is gone
    input: {file: ${CLAUDE_LOGS}}
    expect:
      - exporter: otlphttp/backend
        no_text: [ghp_abcdefghijklmnopqrstuvwxyz0123456789]
  - name: no record of the backend is a tool result
    input: {file: ${CLAUDE_LOGS}}
    expect:
      - exporter: otlphttp/backend
        none: {event: tool_result}
    counters:
      - name: connector_routed_items
        equals: 99
`,
  );
  const r = run(file);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^0 passed, 4 failed$/m);
  const lines = r.out.split('\n').map((l) => l.trim());
  const at = lines.indexOf('FAIL  the archive holds no tool parameters');
  assert.ok(at >= 0, r.out);
  // The diff: the matching attribute plain, the differing ones as - expected / + actual.
  assert.equal(lines[at + 1], 'expect[0]: exporter file/audit, where {event: tool_decision}');
  assert.equal(lines[at + 2], 'record 1 of 1 (logs, service.name=claude-code, event tool_decision): attributes differ (- expected, + actual)');
  assert.equal(lines[at + 3], 'decision: "accept"');
  assert.equal(lines[at + 4], '- tool_name: "Write"');
  assert.equal(lines[at + 5], '+ tool_name: "Bash"');
  assert.equal(lines[at + 6], '- tool_parameters: (absent)');
  assert.match(lines[at + 7], /^\+ tool_parameters: "\{\\"bash_command\\":/);

  assert.match(r.out, /FAIL {2}wrong count\n\s+expect\[0\]: exporter otlphttp\/backend, where \{event: api_request\}\n\s+count: expected 2, got 3\n\s+3 x logs, service\.name=claude-code, event api_request/);
  assert.match(r.out, /no_text: "ghp_abcdefghijklmnopqrstuvwxyz0123456789" appears in 2 record\(s\): record \d \(logs, service\.name=claude-code, event tool_decision, in attribute tool_parameters\); record \d \(logs, service\.name=claude-code, event tool_result, in attribute tool_parameters, attribute tool_input\)/);
  assert.match(r.out, /none: 1 of 8 record\(s\) match \{event: tool_result\}\n\s+record \d: logs, service\.name=claude-code, event tool_result; attributes \{user\.id: /);
  assert.match(r.out, /counters\[0\]: agentrelay_connector_routed_items_total\n\s+- equals 99\n\s+\+ 9/);
});

test('mistakes in the test file: each with its YAML path and line, exit 1, nothing run', () => {
  const file = write(
    'bad.test.yaml',
    `config: relay.yaml
${ENV}tests:
  - name: bad
    input:
      file: x.json
      logs: []
    expect:
      - exporter: file/nowhere
        count: -1
  - name: no checks
    input: {logs: [{attributes: {a: 1}}]}
    expect:
      - exporter: file/audit
        colour: blue
`,
  );
  const r = run(file);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /error: tests\[0\]\.input: needs exactly one of file, otlp, logs, spans, metrics \(got file, logs\) \(line 8\)/);
  assert.match(r.out, /error: tests\[0\]\.expect\[0\]\.count: must be at least 0, got -1 \(line 12\)/);
  assert.match(r.out, /error: tests\[1\]\.expect\[0\]\.colour: unknown key .* \(line 17\)/);
  assert.doesNotMatch(r.out, /^\s+(ok|FAIL) /m);

  const unknown = write('unknown.test.yaml', `config: relay.yaml\n${ENV}tests:\n  - name: x\n    input: {logs: [{attributes: {a: 1}}]}\n    expect:\n      - {exporter: file/nowhere, count: 1}\n`);
  const u = run(unknown);
  assert.equal(u.code, 1);
  assert.match(u.out, /tests\[0\]\.expect\[0\]\.exporter: no exporter "file\/nowhere" in the config \(it has otlphttp\/backend, file\/audit\)/);

  // Without env the config itself does not validate: its errors are shown with their paths.
  const noEnv = write('noenv.test.yaml', `config: relay.yaml\ntests:\n  - name: x\n    input: {logs: [{attributes: {a: 1}}]}\n    expect:\n      - {exporter: file/audit, count: 0}\n`);
  const n = run(noEnv);
  assert.equal(n.code, 1);
  assert.match(n.out, /config: exporters\.otlphttp\/backend\.endpoint: /);
});

test('an embedded config, spans and metrics shorthand, several files in one run', () => {
  const file = write(
    'embedded.test.yaml',
    `config:
  receivers: {otlp: {}}
  exporters: {debug: {}}
  service:
    pipelines:
      traces: {receivers: [otlp], exporters: [debug]}
      metrics: {receivers: [otlp], exporters: [debug]}
tests:
  - name: spans and points reach debug
    input:
      - spans: [{name: llm_call, attributes: {gen_ai.request.model: gemini-2.5-flash}}, {name: tool_call}]
      - metrics: [{name: claude_code.cost.usage, unit: USD, value: 0.033315, attributes: {model: claude-opus-4-8}}]
    expect:
      - {exporter: debug, signal: traces, count: 2}
      - exporter: debug
        signal: metrics
        attributes: {model: claude-opus-4-8}
        all: {field: name, equals: claude_code.cost.usage}
`,
  );
  const pass = path.join(dir, 'pass.test.yaml');
  const r = run(file, pass);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /embedded\.test\.yaml \(config \(embedded\)\)\n {2}ok {4}spans and points reach debug/);
  assert.match(r.out, /^4 passed, 0 failed$/m);
});
