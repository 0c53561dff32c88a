// Properties, with fast-check: a random secret of any detector's kind, embedded in random
// text, in random nested OTLP values or in random JSON, never comes out (in the protobuf
// or the JSON encoding); and text with nothing secret-like in it comes out byte-identical.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Scrubber } from './scrubber';
import { assertAbsent, encodings, harness, wire } from './test-support';
import type { AnyValue } from '../../src/otlp/model';

const scrubber = new Scrubber({ disabled: new Set(), patterns: [], allowKeys: new Set() });

/** A planted secret: `text` is what goes into a string, `secret` what must not come out. */
interface Planted {
  text: string;
  secret: string;
}

const m = (re: RegExp) => fc.stringMatching(re);
/** A distinctive core, so a secret cannot occur in the output by chance. */
const core = m(/^[A-Za-z0-9]{12}$/);
const plant = (before: string, secret: string, after = ''): Planted => ({ text: before + secret + after, secret });

const NAMES = ['TOKEN', 'token', 'Secret', 'PASSWORD', 'passwd', 'API_KEY', 'apikey', 'api-key', 'ACCESS_KEY', 'private_key', 'AccessKey'];
const PREFIXES = ['', 'SLACK_BOT_', 'MY_', 'db.', 'x-', 'OPENAI_', 'aws_'];
const SUFFIXES = ['', '_VALUE', '_1', 'X', '.prod'];

const secretArb: fc.Arbitrary<Planted> = fc.oneof(
  fc.tuple(fc.constantFrom('ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'), core, m(/^[A-Za-z0-9]{24,40}$/)).map(([p, c, r]) => plant('', p + c + r)),
  fc.tuple(core, m(/^[A-Za-z0-9_]{10,60}$/)).map(([c, r]) => plant('', `github_pat_${c}${r}`)),
  fc.tuple(core, m(/^[A-Za-z0-9_-]{8,30}$/)).map(([c, r]) => plant('', `glpat-${c}${r}`)),
  fc.tuple(fc.constantFrom('a', 'b', 'p', 'o', 's', 'r'), core, m(/^[A-Za-z0-9-]{0,30}$/)).map(([k, c, r]) => plant('', `xox${k}-${c}${r}`)),
  fc.tuple(core, m(/^[A-Za-z0-9_-]{8,60}$/)).map(([c, r]) => plant('', `sk-ant-api03-${c}${r}`)),
  fc.tuple(fc.constantFrom('', 'proj-', 'svcacct-'), core, m(/^[A-Za-z0-9_-]{8,60}$/)).map(([p, c, r]) => plant('', `sk-${p}${c}${r}`)),
  fc.tuple(core, m(/^[A-Za-z0-9_-]{23}$/)).map(([c, r]) => plant('', `AIza${c}${r}`)),
  fc.tuple(fc.constantFrom('sk', 'rk'), core, m(/^[A-Za-z0-9]{0,30}$/)).map(([p, c, r]) => plant('', `${p}_live_${c}${r}`)),
  fc.tuple(fc.constantFrom('AKIA', 'ASIA'), m(/^[A-Z0-9]{16}$/)).map(([p, r]) => plant('', p + r)),
  fc.tuple(m(/^[A-Za-z0-9_-]{4,30}$/), core, m(/^[A-Za-z0-9_-]{0,40}$/)).map(([h, c, s]) => plant('', `eyJ${h}.eyJ${c}.${s}`)),
  fc.tuple(fc.constantFrom('RSA ', 'EC ', 'OPENSSH ', ''), core, m(/^[A-Za-z0-9+/]{0,200}$/), fc.boolean()).map(([kind, c, body, ended]) =>
    plant(`-----BEGIN ${kind}PRIVATE KEY-----\n`, `MII${c}${body}`, ended ? `\n-----END ${kind}PRIVATE KEY-----` : ''),
  ),
  fc.tuple(fc.constantFrom('Authorization: Bearer ', 'authorization: Basic ', '"Authorization": "Bearer '), core, m(/^[A-Za-z0-9._~+/=-]{0,30}$/)).map(
    ([pre, c, r]) => plant(pre, c + r, pre.startsWith('"') ? '"' : ''),
  ),
  fc.tuple(fc.constantFrom('https', 'postgres', 'redis'), m(/^[a-z]{0,8}$/), core, m(/^[A-Za-z0-9!$*+,;=~_.%-]{0,20}$/)).map(([s, u, c, r]) =>
    plant(`${s}://${u}:`, c + r, '@host.example:5432/db'),
  ),
  fc
    .tuple(
      fc.constantFrom(...PREFIXES),
      fc.constantFrom(...NAMES),
      fc.constantFrom(...SUFFIXES),
      fc.constantFrom('=', ' = ', ': ', '="', "='", '": "', ':='),
      core,
      m(/^[A-Za-z0-9!#%+./:?@^_~-]{0,20}$/),
    )
    .map(([pre, name, suf, sep, c, r]) => {
      const closing = sep.endsWith('"') ? '"' : sep.endsWith("'") ? "'" : '';
      const open = sep === '": "' ? '"' : '';
      return plant(`${open}${pre}${name}${suf}${sep}`, c + r, closing);
    }),
);

/** Text around a secret; a separator keeps it from running into the secret. */
const filler = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const separator = fc.constantFrom(' ', '\n', '\t', '(', ')', ',', ';', '|', '"', "'", '\r\n', ' && ');
const embedded: fc.Arbitrary<Planted> = fc
  .tuple(filler, separator, secretArb, separator, filler)
  .map(([a, s1, p, s2, b]) => ({ text: a + s1 + p.text + s2 + b, secret: p.secret }));

test('a random secret embedded in random text never comes out', () => {
  fc.assert(
    fc.property(embedded, (p) => {
      const out = scrubber.scrub(p.text, null);
      assert.ok(!out.includes(p.secret), `leaked ${JSON.stringify(p.secret)} from ${JSON.stringify(p.text)}: ${JSON.stringify(out)}`);
    }),
    { numRuns: 2000 },
  );
});

test('a random secret inside a random JSON document never comes out, and the document still parses', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), embedded, fc.nat(), (doc, p, at) => {
      // Put the text at some place in the document: a member, an array element, or the document itself.
      const holder = { doc, list: [1, p.text], [`k${at % 5}`]: { inner: p.text } };
      const text = JSON.stringify(holder, null, at % 2 === 0 ? 0 : 2);
      const out = scrubber.scrub(text, null);
      assert.ok(!out.includes(p.secret) && !out.includes(JSON.stringify(p.secret).slice(1, -1)), `leaked ${JSON.stringify(p.secret)}`);
      const parsed = JSON.parse(out);
      assert.deepEqual(parsed.doc, JSON.parse(JSON.stringify(doc)), 'what held no secret is unchanged');
    }),
    { numRuns: 500 },
  );
});

/** Random nested OTLP values, with planted secrets at some leaves. */
const anyValueArb: fc.Arbitrary<{ value: AnyValue; secrets: string[] }> = fc.letrec<{ v: { value: AnyValue; secrets: string[] } }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    filler.map((s) => ({ value: { stringValue: s }, secrets: [] })),
    embedded.map((p) => ({ value: { stringValue: p.text }, secrets: [p.secret] })),
    embedded.map((p) => ({ value: { stringValue: JSON.stringify({ command: p.text, n: 1 }) }, secrets: [p.secret] })),
    fc.integer().map((n) => ({ value: { intValue: n }, secrets: [] })),
    fc.array(tie('v'), { maxLength: 4 }).map((xs) => ({ value: { arrayValue: { values: xs.map((x) => x.value) } }, secrets: xs.flatMap((x) => x.secrets) })),
    fc.array(fc.tuple(m(/^[a-z][a-z._]{0,10}$/), tie('v')), { maxLength: 4 }).map((xs) => ({
      value: { kvlistValue: { values: xs.map(([key, x]) => ({ key, value: x.value })) } },
      secrets: xs.flatMap(([, x]) => x.secrets),
    })),
  ),
})).v;

test('random nested values with random secrets, through the processor: no secret in the protobuf or JSON output', async () => {
  const h = harness({}, 'logs');
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(m(/^[a-z][a-z._]{0,12}$/), anyValueArb), { minLength: 1, maxLength: 5 }), anyValueArb, async (attrs, body) => {
      const batch = wire('logs', {
        resourceLogs: [
          {
            resource: { attributes: attrs.slice(0, 1).map(([key, x]) => ({ key, value: x.value })) },
            scopeLogs: [{ logRecords: [{ attributes: attrs.map(([key, x]) => ({ key, value: x.value })), body: body.value }] }],
          },
        ],
      });
      const out = await h.run(batch);
      assertAbsent(out, [...attrs.flatMap(([, x]) => x.secrets), ...body.secrets], 'nested values');
    }),
    { numRuns: 300 },
  );
});

/** Anything that could start a secret, in any case: a string without one holds no secret. */
const SECRETISH = /token|secret|passw|api.?key|access.?key|private.?key|authorization|:\/\/|sk-|sk_|rk_|gh[pousr]_|github_pat|glpat|xox|aiza|akia|asia|abia|acca|eyj|-----begin|\\u/i;
const clean = (s: string) => !SECRETISH.test(s);

test('strings with no secret come out byte-identical', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.json()).filter(clean), (s) => {
      assert.equal(scrubber.scrub(s, null), s);
    }),
    { numRuns: 2000 },
  );
});

test('a batch of nested values with no secret is handed on with its original bytes', async () => {
  const h = harness({}, 'logs');
  const cleanValue: fc.Arbitrary<AnyValue> = fc.letrec<{ v: AnyValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'grapheme', maxLength: 60 }).filter(clean).map((s) => ({ stringValue: s })),
      fc.json().filter(clean).map((s) => ({ stringValue: s })),
      fc.double({ noNaN: true }).map((d) => ({ doubleValue: d })),
      fc.array(tie('v'), { maxLength: 3 }).map((values) => ({ arrayValue: { values } })),
      fc.array(fc.tuple(m(/^[a-z][a-z._]{0,10}$/).filter(clean), tie('v')), { maxLength: 3 }).map((xs) => ({ kvlistValue: { values: xs.map(([key, value]) => ({ key, value })) } })),
    ),
  })).v;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(m(/^[a-z][a-z._]{0,12}$/).filter(clean), cleanValue), { maxLength: 5 }), cleanValue, async (attrs, body) => {
      const batch = wire('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: attrs.map(([key, value]) => ({ key, value })), body }] }] }] });
      const before = Buffer.from(batch.toProto());
      const out = await h.run(batch);
      assert.ok(encodings(out).proto.equals(before));
    }),
    { numRuns: 300 },
  );
});
