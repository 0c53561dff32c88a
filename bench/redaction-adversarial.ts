// node dist/bench/redaction-adversarial.js [--mb N]
// How long the redaction processor spends on a hostile 1 MB string: inputs built to
// make backtracking patterns go quadratic (long runs of a pattern's prefix, keywords
// without values, unclosed PEM blocks and JSON, nested escaped JSON). For each input,
// the time to scrub it alone, and the time the processor takes on a log record holding
// it as an attribute, together with the longest event-loop stall seen meanwhile. The
// last lines compare the built-in JS patterns with the same patterns on re2js, the
// reason JS RegExp (argued linear) is used for the built-ins.
import { performance } from 'node:perf_hooks';
import { RE2JS } from 're2js';
import { redactionProcessor } from '../processors/redaction';
import { Scrubber } from '../processors/redaction/scrubber';
import { Batch } from '../src/otlp/batch';
import { Telemetry } from '../src/telemetry/metrics';
import { createLogger } from '../src/telemetry/logger';

const mbArg = process.argv.indexOf('--mb');
const SIZE = Math.round((mbArg > 0 ? Number(process.argv[mbArg + 1]) : 1) * 1024 * 1024);

const fill = (unit: string) => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

function nestedJson(): string {
  // A string holding JSON holding a string holding JSON…, as deep as fits.
  let s = 'password=hunter2 ';
  while (s.length * 2 + 16 < SIZE) s = JSON.stringify({ a: s, token: 'x', b: s.slice(0, 1000) });
  return s;
}

const INPUTS: [string, () => string][] = [
  ['plain letters', () => fill('a')],
  ['prose without secrets', () => fill('The quick brown fox jumps over the lazy dog; it reads a book. ')],
  ['sk- repeated', () => fill('sk-')],
  ['sk-aaaa… (one long run)', () => 'sk-' + fill('a').slice(3)],
  ['ghp_ repeated', () => fill('ghp_')],
  ['glpat- repeated', () => fill('glpat-')],
  ['eyJ repeated', () => fill('eyJ')],
  ['eyJa-eyJa- (JWT starts in one run)', () => fill('eyJa-')],
  ['eyJxxxx.eyJxxxx. (JWT without signature end)', () => fill('eyJxxxx.')],
  ['AKIA repeated', () => fill('AKIA')],
  [':// repeated', () => fill('://')],
  ['://user: (no @)', () => fill('://user:aaaaaaaaaaaaaaaaaaaaaa')],
  ['authorization: repeated', () => fill('Authorization:      ')],
  ['Authorization: Bearer (no credential)', () => fill('Authorization: Bearer \t')],
  ['token repeated', () => fill('token')],
  ['TOKEN_TOKEN_ (one long name)', () => fill('TOKEN_')],
  ['password= (no value)', () => fill('password= ')],
  ['password=aaaa… (one long value)', () => 'password=' + fill('a').slice(9)],
  ['"password":" unclosed', () => fill('"password":"')],
  ['-----BEGIN … PRIVATE KEY----- without END', () => fill('-----BEGIN RSA PRIVATE KEY-----')],
  ['[[[[ unclosed JSON', () => fill('[')],
  ['{"a":"\\u0074oken… (escapes)', () => '{"a":"' + fill('\\u0074').slice(0, SIZE - 10) + '"}'],
  ['nested escaped JSON', nestedJson],
  ['secrets everywhere', () => fill('export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789 && curl https://u:p4ss@h ')],
];

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const scrubber = new Scrubber({ disabled: new Set(), patterns: [], allowKeys: new Set() });
  const processor = redactionProcessor.create(
    redactionProcessor.schema.check({}, [], { issues: [] })!,
    { id: 'redaction', logger: createLogger({ level: 'silent' }), telemetry: new Telemetry(), signal: 'logs', pipeline: 'logs' },
    { consume: async () => undefined },
  );
  // Warm up the JIT on something small.
  for (let i = 0; i < 200; i++) scrubber.scrub('export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789 {"password":"x"}', null);

  console.log(`redaction: ${(SIZE / 1048576).toFixed(2)} MB adversarial strings (best of 3 for scrub)`);
  console.log(`${'input'.padEnd(48)} ${'scrub ms'.padStart(9)} ${'processor ms'.padStart(13)} ${'max stall ms'.padStart(13)}`);
  let worstScrub = 0;
  let worstProc = 0;
  let worstStall = 0;
  for (const [name, make] of INPUTS) {
    const input = make();
    let scrub = Infinity;
    for (let i = 0; i < 3; i++) scrub = Math.min(scrub, time(() => scrubber.scrub(input, null)));
    const batch = Batch.fromJsonObject('logs', {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: [{ key: 'tool_output_text', value: { stringValue: input } }], body: { stringValue: input } }] }] }],
    });
    // A 1 ms ticker: the longest gap between its ticks is the longest the loop was held.
    let stall = 0;
    let lastTick = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - lastTick);
      lastTick = now;
    }, 1);
    await new Promise((r) => setTimeout(r, 5));
    lastTick = performance.now();
    const t0 = performance.now();
    await processor.consume(batch);
    const proc = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
    clearInterval(ticker);
    worstScrub = Math.max(worstScrub, scrub);
    worstProc = Math.max(worstProc, proc);
    worstStall = Math.max(worstStall, stall);
    console.log(`${name.padEnd(48)} ${scrub.toFixed(1).padStart(9)} ${proc.toFixed(1).padStart(13)} ${stall.toFixed(1).padStart(13)}`);
  }
  console.log(`worst: scrub ${worstScrub.toFixed(1)} ms per string; processor ${worstProc.toFixed(1)} ms per record holding it twice (attribute and body); event loop stalled at most ${worstStall.toFixed(1)} ms`);

  // Why JS RegExp for the built-ins: the same patterns on re2js, over 1 MB of text with secrets.
  const text = fill('export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789 OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123 ');
  const js = [/(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{20,255}/g, /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,255}/g];
  const re2 = [RE2JS.compile('gh[pousr]_[A-Za-z0-9]{20,255}'), RE2JS.compile('sk-[A-Za-z0-9_-]{20,255}')];
  let jsMs = Infinity;
  let re2Ms = Infinity;
  for (let i = 0; i < 3; i++) {
    jsMs = Math.min(jsMs, time(() => js.reduce((s, re) => s.replace(re, 'X'), text)));
    re2Ms = Math.min(re2Ms, time(() => re2.reduce((s, re) => re.matcher(s).replaceAll('X'), text)));
  }
  console.log(`github + openai patterns over ${(SIZE / 1048576).toFixed(2)} MB full of matches: JS RegExp ${jsMs.toFixed(1)} ms, re2js ${re2Ms.toFixed(1)} ms`);

  // A user pattern (re2js) runs on every string; its worst case over the same inputs.
  const withPattern = new Scrubber({
    disabled: new Set(),
    patterns: [{ name: 'internal-token', re: RE2JS.compile('itk_[A-Za-z0-9]{32}'), group: 0 }],
    allowKeys: new Set(),
  });
  let worstUser = 0;
  for (const [, make] of INPUTS) {
    const input = make();
    worstUser = Math.max(worstUser, time(() => withPattern.scrub(input, null)));
  }
  console.log(`with one user pattern (re2js) added: worst scrub ${worstUser.toFixed(1)} ms per string`);
}

void main();
