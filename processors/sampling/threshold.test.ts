// The consistent-probability arithmetic against the OpenTelemetry TraceState
// probability sampling spec: T = (1 - p) * 2^56, keep when R >= T, th in hex without
// trailing zeros, rv in exactly 14 hex digits; and the tracestate rewriting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeRandomness, decodeThreshold, encodeThreshold, maxThreshold, probabilityOf, readOt, thresholdFor, writeOt,
} from './threshold';
import { randomnessOfText, traceIdHex, traceRandomness, KeyReader, keyText, DEFAULT_KEY } from './keys';

const TWO_56 = 1n << 56n;

test('thresholds of well-known probabilities, as the spec encodes them', () => {
  const cases: [number, string, string][] = [
    [1, '00000000000000', '0'],
    [0.5, '80000000000000', '8'],
    [0.25, 'c0000000000000', 'c'],
    [0.125, 'e0000000000000', 'e'],
    [0.1, 'e6666666666666', 'e6666666666666'],
    [0.01, 'fd70a3d70a3d71', 'fd70a3d70a3d71'],
    [1 / 2 ** 56, 'ffffffffffffff', 'ffffffffffffff'],
  ];
  for (const [p, t, th] of cases) {
    assert.equal(thresholdFor(p), t, `T for p=${p}`);
    assert.equal(encodeThreshold(t), th, `th for p=${p}`);
    assert.equal(decodeThreshold(th), t);
  }
  assert.equal(thresholdFor(0), undefined, 'p = 0 keeps nothing: no threshold');
  assert.equal(thresholdFor(2 ** -60), undefined);
});

test('T = 2^56 - round(p * 2^56) matches (1 - p) * 2^56 to float precision, and p round-trips', () => {
  for (let i = 1; i <= 1000; i++) {
    const p = i / 1000 - 0.0003 * (i % 3);
    if (p <= 0) continue;
    const t = BigInt('0x' + thresholdFor(p)!);
    const exact = (1 - p) * 2 ** 56;
    assert.ok(Math.abs(Number(t) - exact) <= 16, `p=${p}: T=${t} vs ${exact}`); // doubles near 2^56 are 16 apart
    assert.ok(t >= 0n && t < TWO_56);
    assert.ok(Math.abs(probabilityOf(thresholdFor(p)!) - p) < 1e-15, `p=${p}`);
  }
});

test('hex thresholds compare like the integers they stand for', () => {
  const a = thresholdFor(0.3)!;
  const b = thresholdFor(0.2)!;
  assert.ok(b > a, 'a lower probability is a higher threshold');
  assert.equal(maxThreshold(a, b), b);
  assert.equal(maxThreshold(b, a), b);
  assert.equal(maxThreshold(a, undefined), a);
  // Randomness just below / at the threshold.
  const t = BigInt('0x' + a);
  const below = (t - 1n).toString(16).padStart(14, '0');
  const at = t.toString(16).padStart(14, '0');
  assert.ok(below < a && !(below >= a));
  assert.ok(at >= a);
});

test('malformed th and rv values are not used', () => {
  for (const bad of ['', 'C', 'g', '0x8', '123456789abcdef', ' 8']) assert.equal(decodeThreshold(bad), undefined, JSON.stringify(bad));
  for (const bad of ['', '9b8233f7e3a15', '9b8233f7e3a1510', '9B8233F7E3A151']) assert.equal(decodeRandomness(bad), undefined, JSON.stringify(bad));
  assert.equal(decodeRandomness('9b8233f7e3a151'), '9b8233f7e3a151');
});

test('tracestate: ot th/rv read; written first with other members and sub-keys kept', () => {
  assert.deepEqual(readOt('congo=t61rcWkgMzE,ot=th:c;rv:9b8233f7e3a151'), { th: 'c0000000000000', rv: '9b8233f7e3a151' });
  assert.deepEqual(readOt('rojo=00f067aa0ba902b7'), {});
  assert.deepEqual(readOt(''), {});
  assert.deepEqual(readOt('ot=th:zz'), { th: undefined });

  assert.equal(writeOt(undefined, 'e6666666666666'), 'ot=th:e6666666666666');
  assert.equal(writeOt('', '80000000000000', '0123456789abcd'), 'ot=th:8;rv:0123456789abcd');
  assert.equal(
    writeOt('congo=t61rcWkgMzE, ot=p:8;th:c, rojo=00f0', 'e6666666666666', 'abcdef01234567'),
    'ot=th:e6666666666666;rv:abcdef01234567;p:8,congo=t61rcWkgMzE,rojo=00f0',
  );
  // Without a new rv, an existing one stays.
  assert.equal(writeOt('ot=rv:abcdef01234567;th:8', 'c0000000000000'), 'ot=th:c;rv:abcdef01234567');
});

test('randomness: SHA-256 of the key text, stable across versions; the trace id gives its last 7 bytes', () => {
  // Pinned values: a change here changes every decision of every deployed relay.
  assert.equal(randomnessOfText('abc'), 'ba7816bf8f01cf'); // SHA-256("abc") = ba7816bf8f01cfea...
  assert.equal(randomnessOfText(''), 'e3b0c44298fc1c');
  const tid = traceIdHex(Buffer.from('5bdd48afd5a616d6a040285ca675b9a7', 'hex'))!;
  assert.equal(tid, '5bdd48afd5a616d6a040285ca675b9a7');
  assert.equal(traceRandomness(tid), '40285ca675b9a7');
  assert.equal(traceIdHex(new Uint8Array(16)), undefined, 'an all-zero trace id is no trace id');
  assert.equal(traceIdHex(new Uint8Array(0)), undefined);
});

test('keys: first session and prompt attribute by configured order; a prompt equal to the session is dropped', () => {
  const k = new KeyReader(DEFAULT_KEY);
  const s = (key: string, v: string) => ({ key, value: { stringValue: v } });
  assert.deepEqual(k.read([s('prompt.id', 'P'), s('session.id', 'S')], []), { session: 'S', prompt: 'P' });
  // conversation.id ranks after session.id even when it comes first in the record.
  assert.deepEqual(k.read([s('conversation.id', 'C'), s('session.id', 'S')], []), { session: 'S', prompt: undefined });
  assert.deepEqual(k.read([s('gen_ai.conversation.id', 'S'), s('gen_ai.prompt.name', 'S')], []), { session: 'S', prompt: undefined });
  assert.deepEqual(k.read([s('prompt_id', 'session-summary-generation')], [s('session.id', 'S')]), { session: 'S', prompt: 'session-summary-generation' });
  assert.deepEqual(k.read([s('session.id', '')], []), { session: undefined, prompt: undefined }, 'empty is absent');
  assert.equal(keyText({ session: 'S', prompt: 'P' }), 'S\u001fP');
  assert.equal(keyText({ session: 'S' }), 'S');
  assert.equal(keyText({}), undefined);
});
