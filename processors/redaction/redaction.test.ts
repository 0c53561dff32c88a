// The processor on whole requests: secrets planted for every detector in every place a
// string can ride (resource, scope, record, span, span event and link attributes, log
// bodies, nested kvlists and arrays, JSON in strings, span names, metric points and
// exemplars) never reach the encoded output, while their context does; the content
// actions, hashing and pseudonymization; the accounting; the config and its README.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfigText } from '../../src/config/load';
import { Batch } from '../../src/otlp/batch';
import { KEY, assertAbsent, attrOf, checkConfig, harness, kv, logRecordsOf, str, wire, type Json } from './test-support';

// [detector, text before, secret, text after]
const PLANTED: [string, string, string, string][] = [
  ['aws-access-key-id', 'id ', 'AKIAQWERTYUIOPASDFGH', ' end'],
  ['aws-secret-access-key', 'export AWS_SECRET_ACCESS_KEY=', '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', ' && ls'],
  ['github-token', 'export GITHUB_TOKEN=', 'ghp_PLANTEDaaaabbbbccccddddeeeeffff0001', ''],
  ['github-token', 'gh auth login --with-token ', 'github_pat_PLANTED0000111122223333_aaaabbbbccccddddeeee', ''],
  ['gitlab-token', 'token ', 'glpat-PLANTEDzzzzyyyyxxxxw', ' used'],
  ['slack-token', 'SLACK=', 'xoxb-999999-PLANTEDslack', ';'],
  ['anthropic-api-key', 'k=', 'sk-ant-api03-PLANTEDanthropicKEY-000111', ' '],
  ['openai-api-key', 'use ', 'sk-proj-PLANTEDopenaiKEY0123456789abcdef', ' now'],
  ['google-api-key', 'maps ', 'AIzaPLANTEDgoogle0123456789abcdefghijkl', '.'],
  ['stripe-key', 'stripe ', 'sk_live_PLANTEDstripe0123', ' ok'],
  ['jwt', 'jwt=', 'eyJhbGciOiJQTEFOVEVEIn0.eyJzdWIiOiJwbGFudGVkIn0.c2lnUExBTlRFRA', ' x'],
  ['private-key', '-----BEGIN PRIVATE KEY-----\n', 'MIIPLANTEDkeyBodyAAAAbbbbCCCCdddd0000', '\n-----END PRIVATE KEY-----'],
  ['authorization', 'Authorization: Bearer ', 'PLANTED.bearer-credential_01', ''],
  ['url-password', 'mysql://root:', 'PLANTEDurlPass99', '@db/app'],
  ['secret-assignment', 'SLACK_BOT_TOKEN=', 'PLANTED-slack-bot-value', ' run'],
  ['secret-assignment', '"openai_api_key": "', 'PLANTED-json-form-value', '"'],
  ['secret-assignment', 'db_password: ', 'PLANTED-yaml-form-value', '\nnext: 1'],
];

const SECRETS = PLANTED.map((p) => p[2]);
const texts = PLANTED.map(([, before, secret, after]) => before + secret + after);
const expected = PLANTED.map(([det, before, , after]) => `${before}[REDACTED:${det}]${after}`);

/** Every planted text as attributes, each also inside a kvlist, an array and a JSON string. */
function plantedAttrs(prefix: string) {
  return texts.flatMap((t, i) => [
    kv(`${prefix}.text.${i}`, str(t)),
    kv(`${prefix}.map.${i}`, { kvlistValue: { values: [kv('inner', { kvlistValue: { values: [kv('deep', str(t))] } })] } }),
    kv(`${prefix}.list.${i}`, { arrayValue: { values: [str('first'), str(t), { arrayValue: { values: [str(t)] } }] } }),
    kv(`${prefix}.json.${i}`, str(JSON.stringify({ command: t, args: [1, { nested: t }], ok: true }))),
  ]);
}

function checkPlanted(attrs: Json[], prefix: string, where: string) {
  const get = (k: string) => attrs.find((a) => a.key === k)?.value;
  PLANTED.forEach((_, i) => {
    assert.equal(get(`${prefix}.text.${i}`).stringValue, expected[i], `${where} text ${i}`);
    assert.equal(get(`${prefix}.map.${i}`).kvlistValue.values[0].value.kvlistValue.values[0].value.stringValue, expected[i], `${where} map ${i}`);
    const list = get(`${prefix}.list.${i}`).arrayValue.values;
    assert.equal(list[0].stringValue, 'first');
    assert.equal(list[1].stringValue, expected[i], `${where} list ${i}`);
    assert.equal(list[2].arrayValue.values[0].stringValue, expected[i], `${where} nested list ${i}`);
    const doc = JSON.parse(get(`${prefix}.json.${i}`).stringValue);
    assert.deepEqual(doc, { command: expected[i], args: [1, { nested: expected[i] }], ok: true }, `${where} json ${i}`);
  });
}

test('logs: planted secrets in resource, scope, record attributes and bodies never reach the output; their context does', async () => {
  const h = harness({}, 'logs');
  const out = await h.run(
    wire('logs', {
      resourceLogs: [
        {
          resource: { attributes: plantedAttrs('res') },
          scopeLogs: [
            {
              scope: { name: 's', attributes: plantedAttrs('scope') },
              logRecords: [
                { attributes: plantedAttrs('rec'), body: str(texts.join('\n')) },
                { body: { kvlistValue: { values: plantedAttrs('body') } } },
                { body: { arrayValue: { values: texts.map(str) } }, eventName: texts[2] },
              ],
            },
          ],
        },
      ],
    }),
  );
  assertAbsent(out, SECRETS, 'logs');
  const j = JSON.parse(out.toJson().toString()) as Json;
  const rl = j.resourceLogs[0];
  checkPlanted(rl.resource.attributes, 'res', 'resource');
  checkPlanted(rl.scopeLogs[0].scope.attributes, 'scope', 'scope');
  const [r0, r1, r2] = rl.scopeLogs[0].logRecords;
  checkPlanted(r0.attributes, 'rec', 'record');
  assert.equal(r0.body.stringValue, expected.join('\n'));
  checkPlanted(r1.body.kvlistValue.values, 'body', 'kvlist body');
  assert.deepEqual(r2.body.arrayValue.values.map((v: Json) => v.stringValue), expected);
  assert.equal(r2.eventName, expected[2]);
  // One count per planted secret per place: 3 attribute sets of 6 places each (text, map,
  // two in the list, two in the JSON), the string body, the kvlist body (6), the array body;
  // the eventName holds one more github token.
  for (const det of new Set(PLANTED.map((p) => p[0]))) {
    const planted = PLANTED.filter((p) => p[0] === det).length;
    const extra = det === 'github-token' ? 1 : 0;
    assert.equal(h.telemetry.total('redaction_secrets', { detector: det }), planted * (3 * 6 + 1 + 6 + 1) + extra, det);
  }
});

test('traces: planted secrets in span, span event and link attributes, span names and status messages', async () => {
  const h = harness({}, 'traces');
  const traceId = 'aa'.repeat(16);
  const spanId = 'bb'.repeat(8);
  const out = await h.run(
    wire('traces', {
      resourceSpans: [
        {
          resource: { attributes: plantedAttrs('res') },
          scopeSpans: [
            {
              scope: { name: 's', attributes: plantedAttrs('scope') },
              spans: texts.map((t, i) => ({
                traceId,
                spanId,
                name: t,
                status: { code: 2, message: t },
                attributes: i === 0 ? plantedAttrs('span') : [],
                events: [{ name: t, attributes: i === 0 ? plantedAttrs('event') : [] }],
                links: i === 0 ? [{ traceId, spanId, attributes: plantedAttrs('link') }] : [],
              })),
            },
          ],
        },
      ],
    }),
  );
  assertAbsent(out, SECRETS, 'traces');
  const j = JSON.parse(out.toJson().toString()) as Json;
  const ss = j.resourceSpans[0].scopeSpans[0];
  checkPlanted(j.resourceSpans[0].resource.attributes, 'res', 'resource');
  checkPlanted(ss.scope.attributes, 'scope', 'scope');
  checkPlanted(ss.spans[0].attributes, 'span', 'span');
  checkPlanted(ss.spans[0].events[0].attributes, 'event', 'span event');
  checkPlanted(ss.spans[0].links[0].attributes, 'link', 'link');
  assert.deepEqual(ss.spans.map((s: Json) => s.name), expected);
  assert.deepEqual(ss.spans.map((s: Json) => s.status.message), expected);
  assert.deepEqual(ss.spans.map((s: Json) => s.status.code), texts.map(() => 2));
  assert.deepEqual(ss.spans.map((s: Json) => s.events[0].name), expected);
});

test('metrics: planted secrets in data point and exemplar attributes', async () => {
  const h = harness({}, 'metrics');
  const out = await h.run(
    wire('metrics', {
      resourceMetrics: [
        {
          resource: { attributes: plantedAttrs('res') },
          scopeMetrics: [
            {
              scope: { name: 's' },
              metrics: [
                {
                  name: 'm',
                  sum: {
                    aggregationTemporality: 1,
                    isMonotonic: true,
                    dataPoints: [
                      {
                        asInt: 1,
                        attributes: plantedAttrs('point'),
                        exemplars: [{ asInt: 1, filteredAttributes: plantedAttrs('exemplar'), timeUnixNano: '1' }],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    }),
  );
  assertAbsent(out, SECRETS, 'metrics');
  const j = JSON.parse(out.toJson().toString()) as Json;
  const dp = j.resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0];
  checkPlanted(j.resourceMetrics[0].resource.attributes, 'res', 'resource');
  checkPlanted(dp.attributes, 'point', 'data point');
  checkPlanted(dp.exemplars[0].filteredAttributes, 'exemplar', 'exemplar');
  assert.equal(dp.asInt, '1');
});

test('names that are members of Object.prototype are plain names: scrubbed like any other, never a failure', async () => {
  const h = harness({}, 'logs');
  const names = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'];
  const out = await h.run(
    wire('logs', {
      resourceLogs: [
        {
          resource: { attributes: names.map((n) => kv(n, str(`GITHUB_TOKEN=${SECRETS[2]}`))) },
          scopeLogs: [
            {
              logRecords: names.map((n) => ({
                eventName: n,
                attributes: [kv('event.name', str(n)), ...names.map((m) => kv(m, str(`x ${SECRETS[2]}`)))],
              })),
            },
          ],
        },
      ],
    }),
  );
  assertAbsent(out, [SECRETS[2]], 'prototype names');
  const recs = logRecordsOf(out);
  assert.equal(recs.length, names.length);
  for (const r of recs) for (const m of names) assert.equal(attrOf(r, m), 'x [REDACTED:github-token]', `record attribute ${m}`);
});

test('a batch with nothing to redact is handed on with the bytes it arrived with', async () => {
  const h = harness({}, 'logs');
  const b = wire('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: str('hello'), attributes: [kv('prompt_length', str('20')), kv('user.id', str('abc'))] }] }] }] });
  const bytes = b.toProto();
  const out = await h.run(b);
  assert.equal(out.toProto(), bytes, 'the very same buffer');
});

test('content actions: drop, mask, hash and keep per category, and per-field overrides', async () => {
  const rec = (event: string, attrs: [string, string][]) => ({ attributes: [kv('event.name', str(event)), ...attrs.map(([k, v]) => kv(k, str(v)))] });
  const batch = () =>
    wire('logs', {
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                rec('user_prompt', [['prompt', 'deploy to prod'], ['prompt_length', '14']]),
                rec('codex.user_prompt', [['prompt', 'deploy to prod']]),
                rec('assistant_response', [['response', 'Done. export X_TOKEN=abc']]),
                rec('codex.tool_result', [['arguments', '{"cmd":"ls && export API_TOKEN=zzz"}'], ['output', 'file1\nfile2']]),
                rec('gemini_cli.tool_call', [['function_args', '{"command":"rm -rf /tmp/x"}']]),
                rec('other_event', [['prompt', 'not a content field here']]),
              ],
            },
          ],
        },
      ],
    });

  // Defaults: prompt and response masked, tool arguments kept and scrubbed, tool output masked.
  let recs = logRecordsOf(await harness({}, 'logs').run(batch()));
  assert.equal(attrOf(recs[0], 'prompt'), '[REDACTED]');
  assert.equal(attrOf(recs[0], 'prompt_length'), '14');
  assert.equal(attrOf(recs[1], 'prompt'), '[REDACTED]');
  assert.equal(attrOf(recs[2], 'response'), '[REDACTED]');
  assert.equal(attrOf(recs[3], 'arguments'), '{"cmd":"ls && export API_TOKEN=[REDACTED:secret-assignment]"}');
  assert.equal(attrOf(recs[3], 'output'), '[REDACTED]');
  assert.equal(attrOf(recs[4], 'function_args'), '{"command":"rm -rf /tmp/x"}');
  assert.equal(attrOf(recs[5], 'prompt'), 'not a content field here', 'only the agents\' content events are content');

  // Everything else, with a key.
  const h = harness(
    {
      key: KEY,
      mask_text: '<gone>',
      content: { prompt: 'hash', response: 'keep', tool_arguments: 'drop', tool_output: 'mask' },
      fields: { function_args: 'mask', prompt_length: 'drop' },
    },
    'logs',
  );
  recs = logRecordsOf(await h.run(batch()));
  const hashed = attrOf(recs[0], 'prompt') as string;
  assert.match(hashed, /^hmac:[0-9a-f]{32}$/);
  assert.equal(attrOf(recs[1], 'prompt'), hashed, 'equal prompts, equal hashes, across agents');
  assert.equal(attrOf(recs[0], 'prompt_length'), undefined, 'dropped by a field override');
  assert.equal(attrOf(recs[2], 'response'), 'Done. export X_TOKEN=[REDACTED:secret-assignment]', 'kept, still scrubbed');
  assert.equal(attrOf(recs[3], 'arguments'), undefined);
  assert.equal(attrOf(recs[3], 'output'), '<gone>');
  assert.equal(attrOf(recs[4], 'function_args'), '<gone>');
  assert.equal(h.telemetry.total('redaction_fields', { field: 'prompt', action: 'hash' }), 2);
  assert.equal(h.telemetry.total('redaction_fields', { field: 'arguments', action: 'drop' }), 1);
  assert.equal(h.telemetry.total('redaction_fields', { field: 'function_args', action: 'mask' }), 1);
});

test('hash: equal input gives equal output, another key another output, on restarts too', async () => {
  const b = () => wire('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: [kv('event.name', str('user_prompt')), kv('prompt', str('say hello'))] }] }] }] });
  const run = async (key: string) => attrOf(logRecordsOf(await harness({ key, content: { prompt: 'hash' } }, 'logs').run(b()))[0], 'prompt');
  const a1 = await run(KEY);
  const a2 = await run(KEY); // a new processor: a restart, or another relay with the key
  const other = await run('x'.repeat(40));
  assert.equal(a1, a2);
  assert.notEqual(a1, other);
  assert.match(String(other), /^hmac:[0-9a-f]{32}$/);
});

test('pseudonymization: stable keyed pseudonyms, the email domain kept on request, logs and metrics of one user join', async () => {
  const cfg = { key: KEY, pseudonymize: { attributes: ['user.email', 'user.id', 'organization.id'], keep_email_domain: true } };
  const logs = () => wire('logs', {
    resourceLogs: [
      {
        resource: { attributes: [kv('organization.id', str('org-42'))] },
        scopeLogs: [
          {
            logRecords: [
              { attributes: [kv('user.email', str('Jane.Doe@Example.com')), kv('user.id', str('u-1')), kv('session.id', str('s-1'))] },
              { attributes: [kv('user.email', str('jane.doe@example.com')), kv('user.id', { intValue: 7 })] },
            ],
          },
        ],
      },
    ],
  });
  const metrics = wire('metrics', {
    resourceMetrics: [
      {
        scopeMetrics: [
          { metrics: [{ name: 'm', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asDouble: 1, attributes: [kv('user.email', str('jane.doe@example.com')), kv('user.id', str('u-1'))] }] } }] },
        ],
      },
    ],
  });
  const outLogs = await harness(cfg, 'logs').run(logs());
  const hm = harness(cfg, 'metrics');
  const outMetrics = await hm.run(metrics);
  assertAbsent(outLogs, ['Jane.Doe', 'jane.doe', 'u-1', 'org-42']);
  assertAbsent(outMetrics, ['jane.doe', 'u-1']);
  const recs = logRecordsOf(outLogs);
  const email = attrOf(recs[0], 'user.email') as string;
  assert.match(email, /^[0-9a-f]{32}@example\.com$/);
  assert.equal(attrOf(recs[1], 'user.email'), email, 'email addresses compare without case');
  assert.match(attrOf(recs[0], 'user.id') as string, /^[0-9a-f]{32}$/);
  assert.match(attrOf(recs[1], 'user.id') as string, /^[0-9a-f]{32}$/, 'an int id is pseudonymized too');
  assert.equal(attrOf(recs[0], 'session.id'), 's-1', 'attributes not listed stay');
  const j = JSON.parse(outMetrics.toJson().toString()) as Json;
  const dp = j.resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0];
  assert.equal(attrOf(dp, 'user.email'), email, 'the same pseudonym on metrics as on logs');
  assert.equal(attrOf(dp, 'user.id'), attrOf(recs[0], 'user.id'));
  const org = JSON.parse(outLogs.toJson().toString()).resourceLogs[0].resource.attributes[0].value.stringValue;
  assert.match(org, /^[0-9a-f]{32}$/);
  assert.equal(hm.telemetry.total('redaction_fields', { field: 'user.email', action: 'pseudonymize' }), 1);

  // Without keep_email_domain the whole address goes.
  const bare = logRecordsOf(await harness({ key: KEY, pseudonymize: { attributes: ['user.email'] } }, 'logs').run(logs()));
  assert.equal(attrOf(bare[0], 'user.email'), email.split('@')[0]);
});

test('summary attributes: counts on info, key and detector names on debug, never values', async () => {
  const b = () =>
    wire('logs', {
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  attributes: [
                    kv('event.name', str('tool_result')),
                    kv('tool_parameters', str('{"full_command":"GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789 DB_PASSWORD=x"}')),
                    kv('output', str('secret output')),
                  ],
                },
                { attributes: [kv('event.name', str('api_request')), kv('model', str('m'))] },
              ],
            },
          ],
        },
      ],
    });
  let recs = logRecordsOf(await harness({ summary: 'info', fields: { output: 'drop' } }, 'logs').run(b()));
  assert.equal(attrOf(recs[0], 'redaction.secrets.count'), '2');
  assert.equal(attrOf(recs[0], 'redaction.masked.count'), '1');
  assert.equal(attrOf(recs[0], 'redaction.redacted.count'), '1');
  assert.equal(attrOf(recs[0], 'redaction.masked.keys'), undefined);
  assert.equal(attrOf(recs[1], 'redaction.secrets.count'), undefined, 'an untouched record gets nothing');

  recs = logRecordsOf(await harness({ summary: 'debug', fields: { output: 'drop' } }, 'logs').run(b()));
  assert.equal(attrOf(recs[0], 'redaction.masked.keys'), 'tool_parameters');
  assert.equal(attrOf(recs[0], 'redaction.redacted.keys'), 'output');
  assert.equal(attrOf(recs[0], 'redaction.secrets.detectors'), 'github-token,secret-assignment');
  assert.equal(logRecordsOf(await harness({}, 'logs').run(b()))[0].attributes.filter((a: Json) => a.key.startsWith('redaction.')).length, 0, 'silent by default');
});

test('self-metrics count secrets by detector and field', async () => {
  const h = harness({}, 'logs');
  await h.run(
    wire('logs', {
      resourceLogs: [
        {
          resource: { attributes: [kv('env.GITHUB_TOKEN', str('ghp_abcdefghijklmnopqrstuvwxyz0123456789'))] },
          scopeLogs: [{ logRecords: [{ body: str('a xoxb-1-abcdefghijklm and xoxp-2-abcdefghijklm'), attributes: [kv('cmd', str('DB_PASSWORD=x'))] }] }],
        },
      ],
    }),
  );
  const t = h.telemetry;
  assert.equal(t.total('redaction_secrets', { detector: 'secret-assignment', field: 'env.GITHUB_TOKEN' }), 1, 'a secret name as the key');
  assert.equal(t.total('redaction_secrets', { detector: 'slack-token', field: 'body', component: 'redaction', signal: 'logs' }), 2);
  assert.equal(t.total('redaction_secrets', { detector: 'secret-assignment', field: 'cmd' }), 1);
  assert.equal(t.total('redaction_secrets'), 4);
});

test('running twice changes nothing the second time (a relay behind a relay)', async () => {
  const input = {
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              { attributes: [kv('event.name', str('user_prompt')), kv('prompt', str('p')), kv('x', str('TOKEN=abc'))] },
              { attributes: [kv('event.name', str('gemini_cli.api_request')), kv('request_text', str('[{"role":"user","parts":[{"text":"hi"}]}]'))] },
            ],
          },
        ],
      },
    ],
  };
  const h = harness({ key: KEY, content: { response: 'hash' } }, 'logs');
  const once = await h.run(wire('logs', input));
  const again = Batch.fromProto('logs', once.toProto());
  const bytes = again.toProto();
  const twice = await h.run(again);
  assert.equal(twice.toProto(), bytes);
});

test('the README config example loads and runs; validation names the YAML path of each mistake', async () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../../processors/redaction/README.md'), 'utf8');
  const example = /## Example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1];
  const pipelines = `\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    logs: {receivers: [otlp], processors: [redaction], exporters: [debug]}\n`;
  const text = `receivers:\n  otlp: {}\n${example}${pipelines}`;
  const ok = loadConfigText(text, { AGENTRELAY_REDACTION_KEY: 'r'.repeat(64) });
  assert.deepEqual(ok.errors, []);
  const cfg = ok.config!.processors.get('redaction')!.config as Json;
  assert.equal(cfg.content.prompt, 'hash');
  assert.deepEqual(cfg.secrets.patterns[0], { name: 'internal-token', regex: 'itk_[A-Za-z0-9]{32}', group: 0 });

  const noKey = loadConfigText(text, {});
  assert.ok(noKey.errors.some((e) => e.startsWith('processors.redaction.key: is required by content.prompt: hash, pseudonymize.attributes')), noKey.errors.join('\n'));

  // Every documented option appears in the README's options table.
  for (const key of ['key', 'mask_text', 'content.prompt', 'content.response', 'content.tool_arguments', 'content.tool_output', 'content.system_instructions', 'content.command_args', 'fields', 'allow_keys', 'secrets.disabled', 'secrets.patterns', 'pseudonymize.attributes', 'pseudonymize.keep_email_domain', 'summary'])
    assert.ok(readme.includes(`| \`${key}\` |`), `README documents ${key}`);
});

test('config: defaults need no key; mistakes are reported at their path', () => {
  assert.deepEqual(checkConfig({}).issues, []);
  assert.deepEqual(checkConfig(null).issues, []);
  const msgs = (raw: unknown) => checkConfig(raw).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.match(msgs({ content: { response: 'hash' } })[0], /^processors\.redaction\.key: is required by content\.response: hash/);
  assert.match(msgs({ fields: { x: 'hash' }, key: 'short' })[0], /^processors\.redaction\.key: must be at least 32 bytes, got 5/);
  assert.match(msgs({ pseudonymize: { attributes: ['user.email'] } })[0], /^processors\.redaction\.key: is required by pseudonymize\.attributes/);
  assert.match(msgs({ secrets: { disabled: ['jwtt'] } })[0], /^processors\.redaction\.secrets\.disabled\.0: unknown detector "jwtt"/);
  assert.match(msgs({ secrets: { patterns: [{ name: 'x', regex: '(' }] } })[0], /^processors\.redaction\.secrets\.patterns\.0\.regex: invalid regular expression/);
  assert.match(msgs({ secrets: { patterns: [{ name: 'x', regex: 'a*' }] } })[0], /patterns\.0\.regex: matches the empty string/);
  assert.match(msgs({ secrets: { patterns: [{ name: 'jwt', regex: 'a' }] } })[0], /patterns\.0\.name: "jwt" is a built-in detector's name/);
  assert.match(msgs({ secrets: { patterns: [{ name: 'x', regex: 'a(b)', group: 2 }] } })[0], /patterns\.0\.group: the pattern has 1 group/);
  assert.match(msgs({ content: { prompt: 'blur' } })[0], /^processors\.redaction\.content\.prompt: expected one of drop, mask, hash, keep/);
  assert.match(msgs({ content: { command_args: 'mask' } })[0], /content\.command_args: expected one of program, keep, drop/);
  assert.match(msgs({ summary: 'loud' })[0], /summary: expected one of silent, info, debug/);
  assert.match(msgs({ bogus: 1 })[0], /^processors\.redaction\.bogus: unknown key/);
});

test('hostile message bodies: nested deeper than the walk follows, they are masked whole; nothing throws', async () => {
  const h = harness({}, 'logs');
  for (const depth of [100, 100_000]) {
    const body = '['.repeat(depth) + '{"role":"user","parts":[{"text":"my prompt ghp_abcdefghijklmnopqrstuvwxyz0123456789"}]}' + ']'.repeat(depth);
    const out = await h.run(
      wire('logs', {
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: [kv('event.name', str('gemini_cli.api_request')), kv('request_text', str(body)), kv('other', str(body))] }] }] }],
      }),
    );
    const rec = logRecordsOf(out)[0];
    assert.equal(attrOf(rec, 'request_text'), '[REDACTED]', `depth ${depth}`);
    assert.ok(!(attrOf(rec, 'other') as string).includes('ghp_abcdefghijklmnopqrstuvwxyz0123456789'), `depth ${depth}: secret scrubbed in a non-content field`);
  }
});
