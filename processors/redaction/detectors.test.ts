// Each built-in detector on the forms it is documented to find: only the secret is
// replaced, the text around it stays byte for byte; what looks like a secret but is not
// (token counts, prose, paths) is left alone; JSON in a string still parses after.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { Scrubber } from './scrubber';
import { BUILTIN_DETECTORS } from './detectors';
import { RecordTally } from './tally';

const scrubber = new Scrubber({ disabled: new Set(), patterns: [], allowKeys: new Set() });

/** Scrubs `s` and returns the output and the detectors that fired. */
function scrub(s: string, sc = scrubber): { out: string; detectors: string[] } {
  const detectors: string[] = [];
  const t = new RecordTally((d, _f, n) => {
    for (let i = 0; i < n; i++) detectors.push(d);
  });
  const out = sc.scrub(s, t);
  t.flush();
  return { out, detectors: detectors.sort() };
}

// [input, expected output, detectors]
const CASES: [string, string, string[]][] = [
  ['key id AKIAIOSFODNN7EXAMPLE in use', 'key id [REDACTED:aws-access-key-id] in use', ['aws-access-key-id']],
  ['temp ASIAY34FZKBOKMUTVV7A,', 'temp [REDACTED:aws-access-key-id],', ['aws-access-key-id']],
  [
    'echo hi && export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'echo hi && export AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key]',
    ['aws-secret-access-key'],
  ],
  ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = eu', 'aws_secret_access_key = [REDACTED:aws-secret-access-key]\nregion = eu', ['aws-secret-access-key']],
  [
    'echo hello && export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789',
    'echo hello && export GITHUB_TOKEN=[REDACTED:github-token]',
    ['github-token'],
  ],
  ['gho_abcdefghijklmnopqrstuvwxyz0123456789 ghu_abcdefghijklmnopqrstuvwxyz0123456789', '[REDACTED:github-token] [REDACTED:github-token]', ['github-token', 'github-token']],
  ['(ghs_abcdefghijklmnopqrstuvwxyz0123456789) ghr_abcdefghijklmnopqrstuvwxyz0123456789.', '([REDACTED:github-token]) [REDACTED:github-token].', ['github-token', 'github-token']],
  ['git clone https://github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ@github.com/o/r', 'git clone https://[REDACTED:github-token]@github.com/o/r', ['github-token']],
  ['CI_TOKEN glpat-AbCdEf0123456789xyzW done', 'CI_TOKEN [REDACTED:gitlab-token] done', ['gitlab-token']],
  ['bot xoxb-1234567890-abcdefghij; user xoxp-1234-5678-abcdef', 'bot [REDACTED:slack-token]; user [REDACTED:slack-token]', ['slack-token', 'slack-token']],
  ['key sk-ant-api03-abcdefghijklmnopqrstuvwxyz-0123456789_AB end', 'key [REDACTED:anthropic-api-key] end', ['anthropic-api-key']],
  ['openai sk-abcdefghijklmnopqrstuvwxyz012345 and sk-proj-FAKEabcdefghijklmnopqrstuvwxyz0123456789', 'openai [REDACTED:openai-api-key] and [REDACTED:openai-api-key]', ['openai-api-key', 'openai-api-key']],
  ['maps key=AIzaSyA-abcdefghijklmnopqrstuvwxyz01234', 'maps key=[REDACTED:google-api-key]', ['google-api-key']],
  ['stripe sk_live_abcdefghijklmnop0123 / rk_live_abcdefghijklmnop0123', 'stripe [REDACTED:stripe-key] / [REDACTED:stripe-key]', ['stripe-key', 'stripe-key']],
  [
    'cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U; x',
    'cookie [REDACTED:jwt]; x',
    ['jwt'],
  ],
  [
    'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naNRkIw2tC0gXZiJsbqY4yGjrPmOYKeHA5==\n-----END RSA PRIVATE KEY-----\nafter',
    'key:\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED:private-key]\n-----END RSA PRIVATE KEY-----\nafter',
    ['private-key'],
  ],
  ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', '-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED:private-key]', ['private-key']],
  ['curl -H "Authorization: Bearer abc.def-123_XYZ" https://api', 'curl -H "Authorization: Bearer [REDACTED:authorization]" https://api', ['authorization']],
  ["curl -H 'authorization: Basic dXNlcjpwYXNzd29yZA==' x", "curl -H 'authorization: Basic [REDACTED:authorization]' x", ['authorization']],
  ['psql postgres://admin:s3cr3t-P4ss@db.internal:5432/app', 'psql postgres://admin:[REDACTED:url-password]@db.internal:5432/app', ['url-password']],
  ['redis://:onlypass@cache:6379', 'redis://:[REDACTED:url-password]@cache:6379', ['url-password']],
  ['SLACK_BOT_TOKEN=anything-at-all-1 next', 'SLACK_BOT_TOKEN=[REDACTED:secret-assignment] next', ['secret-assignment']],
  ["export DB_PASSWORD='p w d' && run", "export DB_PASSWORD='[REDACTED:secret-assignment]' && run", ['secret-assignment']],
  ['MY_API_KEY="k" APIKEY=v2 x-api-key: v3', 'MY_API_KEY="[REDACTED:secret-assignment]" APIKEY=[REDACTED:secret-assignment] x-api-key: [REDACTED:secret-assignment]', ['secret-assignment', 'secret-assignment', 'secret-assignment']],
  ['db:\n  password: hunter2\n  passwd: hunter3\n  user: app', 'db:\n  password: [REDACTED:secret-assignment]\n  passwd: [REDACTED:secret-assignment]\n  user: app', ['secret-assignment', 'secret-assignment']],
  ['S3_ACCESS_KEY=abc PRIVATE_KEY=def client_secret := ghi', 'S3_ACCESS_KEY=[REDACTED:secret-assignment] PRIVATE_KEY=[REDACTED:secret-assignment] client_secret := [REDACTED:secret-assignment]', ['secret-assignment', 'secret-assignment', 'secret-assignment']],
  ['https://x/cb?access_token=abc123&state=1', 'https://x/cb?access_token=[REDACTED:secret-assignment]&state=1', ['secret-assignment']],
];

for (const [input, expected, detectors] of CASES) {
  test(`${detectors[0]}: ${input.slice(0, 50).replace(/\n/g, '\\n')}`, () => {
    const r = scrub(input);
    assert.equal(r.out, expected);
    assert.deepEqual(r.detectors, [...detectors].sort());
  });
}

test('every built-in detector is exercised above', () => {
  const fired = new Set(CASES.flatMap((c) => c[2]));
  assert.deepEqual([...BUILTIN_DETECTORS].filter((d) => !fired.has(d)), []);
});

// [input, why it is not a secret]
const CLEAN: [string, string][] = [
  ['max_tokens=4096 input_token_count: 2002 promptTokenCount=3 tokenizer=cl100k', 'token counts and tokenizers'],
  ['gen_ai.token.type: input, token_usage: 12', 'token types'],
  ['Never log, print, or commit secrets, API keys, or sensitive credentials.', 'prose about secrets'],
  ['cat /etc/passwd: no such file', 'a path'],
  ['if token == "x" { return }', 'a comparison'],
  ['password: null, token: true', 'literals'],
  ['risk-assessment-framework-for-the-whole-team', 'sk- inside a word'],
  ['see https://example.com/docs and ftp://host/file', 'URLs without a password'],
  ['Bearer of bad news; Authorization: Bearer $TOKEN', 'no credential after the scheme'],
  ['git log 4b825dc642cb6eb9a060e54bf8d69288fbee4904 AKIAshort', 'a commit hash, a short AKIA'],
  ['The Asia-Pacific secretariat tokenized data', 'words containing keywords'],
];

for (const [input, why] of CLEAN) {
  test(`not a secret (${why}): left byte for byte`, () => {
    const r = scrub(input);
    assert.equal(r.out, input);
    assert.deepEqual(r.detectors, []);
  });
}

test('JSON in a string: member values scrubbed by key and by content, the rest keeps its bytes and parses', () => {
  const doc = '{\n  "command": "echo hi && export SLACK_BOT_TOKEN=xoxb-1234567890-abcdefghij",\n  "openai_api_key": "plain",\n  "n": 12345678901234567890,\n  "pin_password": 1234,\n  "max_tokens": 4096,\n  "nested": "{\\"password\\":\\"p\\",\\"ok\\":1}",\n  "list": ["a", {"token": "t"}]\n}';
  const r = scrub(doc);
  const parsed = JSON.parse(r.out);
  assert.equal(parsed.command, 'echo hi && export SLACK_BOT_TOKEN=[REDACTED:slack-token]');
  assert.equal(parsed.openai_api_key, '[REDACTED:secret-assignment]');
  assert.equal(parsed.pin_password, '[REDACTED:secret-assignment]');
  assert.equal(parsed.max_tokens, 4096);
  assert.deepEqual(JSON.parse(parsed.nested), { password: '[REDACTED:secret-assignment]', ok: 1 });
  assert.deepEqual(parsed.list, ['a', { token: '[REDACTED:secret-assignment]' }]);
  // Untouched members keep their exact text: the big number and the pretty-printing.
  assert.ok(r.out.includes('"n": 12345678901234567890,\n'));
  assert.ok(r.out.startsWith('{\n  "command": '));
  assert.deepEqual(r.detectors, ['secret-assignment', 'secret-assignment', 'secret-assignment', 'secret-assignment', 'slack-token']);
});

test('a secret used as a JSON key is replaced too', () => {
  const r = scrub('{"ghp_abcdefghijklmnopqrstuvwxyz0123456789":{"password":"p"}}');
  assert.deepEqual(JSON.parse(r.out), { '[REDACTED:github-token]': { password: '[REDACTED:secret-assignment]' } });
});

test('JSON keys that are authorization headers keep their scheme', () => {
  const r = scrub('{"headers":{"Authorization":"Bearer abc123","x-api-key":"k"}}');
  assert.deepEqual(JSON.parse(r.out), { headers: { Authorization: 'Bearer [REDACTED:authorization]', 'x-api-key': '[REDACTED:secret-assignment]' } });
});

test('text that is not valid JSON is scrubbed as text without breaking its escapes', () => {
  // A JSON string cut short by an attribute length limit.
  const cut = '{"cmd":"export PASSWORD=\\"hunter2\\" && echo \\"x\\"\\nghp_abcdefghijklmnopqrstuvwxyz0123456789\\n-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIBkg';
  const r = scrub(cut);
  assert.equal(
    r.out,
    '{"cmd":"export PASSWORD=\\"[REDACTED:secret-assignment]\\" && echo \\"x\\"\\n[REDACTED:github-token]\\n-----BEGIN EC PRIVATE KEY-----\\n[REDACTED:private-key]',
  );
  // Completed, it parses: no escape was cut in two.
  assert.doesNotThrow(() => JSON.parse(r.out + '"}'));
});

test('JSON with escaped letters is decoded before detection', () => {
  const r = scrub('{"k":"\\u0067hp_abcdefghijklmnopqrstuvwxyz0123456789"}');
  assert.deepEqual(JSON.parse(r.out), { k: '[REDACTED:github-token]' });
});

test('a detector switched off by name finds nothing; the others still work', () => {
  const sc = new Scrubber({ disabled: new Set(['jwt', 'secret-assignment']), patterns: [], allowKeys: new Set() });
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
  assert.equal(scrub(jwt, sc).out, jwt);
  assert.equal(scrub('DB_PASSWORD=x', sc).out, 'DB_PASSWORD=x');
  assert.equal(scrub('AWS_SECRET_ACCESS_KEY=abc', sc).out, 'AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key]');
  assert.equal(scrub('t=ghp_abcdefghijklmnopqrstuvwxyz0123456789', sc).out, 't=[REDACTED:github-token]');
});

test('user patterns run on re2js, replace the chosen group, and apply to strings no built-in would look at', () => {
  const sc = new Scrubber({
    disabled: new Set(),
    patterns: [
      { name: 'internal-token', re: RE2JS.compile('itk_[A-Za-z0-9]{8}'), group: 0 },
      { name: 'employee-id', re: RE2JS.compile('emp#(\\d{6})'), group: 1 },
    ],
    allowKeys: new Set(),
  });
  const r = scrub('ran with itk_ABCD1234 for emp#123456 (ünïcode ✓)', sc);
  assert.equal(r.out, 'ran with [REDACTED:internal-token] for emp#[REDACTED:employee-id] (ünïcode ✓)');
  assert.deepEqual(r.detectors, ['employee-id', 'internal-token']);
});

test('allow-listed keys are never touched, in JSON as in attributes', () => {
  const sc = new Scrubber({ disabled: new Set(), patterns: [], allowKeys: new Set(['csrf_token']) });
  assert.equal(scrub('{"csrf_token":"abc","api_token":"def"}', sc).out, '{"csrf_token":"abc","api_token":"[REDACTED:secret-assignment]"}');
  assert.equal(sc.scrubKeyed('ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'csrf_token', null), 'ghp_abcdefghijklmnopqrstuvwxyz0123456789');
});

test('adversarial megabyte strings: the secret at their end is still found', () => {
  const secret = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
  for (const unit of ['sk-', 'eyJa-', 'TOKEN_', 'password= ', '"password":"', '-----BEGIN RSA PRIVATE KEY-----', '[', '://a:']) {
    const big = unit.repeat(Math.ceil(1_000_000 / unit.length)) + ' ' + secret;
    const r = scrub(big);
    assert.ok(!r.out.includes(secret), `after ${JSON.stringify(unit)}…`);
  }
});

test('long strings: a clean one comes back the same every time; one with a secret is scrubbed and counted every time', () => {
  const sc = new Scrubber({ disabled: new Set(), patterns: [], allowKeys: new Set() });
  // Gemini CLI's system instructions are long, JSON, and come again in every request.
  const clean = JSON.stringify({ systemInstruction: 'You are a careful agent. Use the task-runner tools; never print tokens. '.repeat(40) });
  for (let i = 0; i < 3; i++) assert.equal(sc.scrub(clean, null), clean);
  const secret = 'ghp_' + 'A1b2C3d4E5'.repeat(4);
  const dirty = clean.slice(0, -2) + ' export GITHUB_TOKEN=' + secret + '"}';
  for (let i = 0; i < 3; i++) {
    const found: string[] = [];
    const out = sc.scrub(dirty, { secret: (d: string) => void found.push(d) });
    assert.equal(out.includes(secret), false);
    assert.ok(found.length > 0);
  }
  // Many distinct clean strings are all still scrubbed right (the memory of clean ones is bounded).
  for (let i = 0; i < 300; i++) {
    const s = `${i} `.repeat(2000) + clean;
    assert.equal(sc.scrub(s, null), s);
  }
  assert.equal(sc.scrub(dirty, null).includes(secret), false);
});
