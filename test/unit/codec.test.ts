import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Batch } from '../../src/otlp/batch';
import { signalTypes } from '../../src/otlp/schema';
import { listFixtures } from '../helpers/fixtures';
import { firstDifference } from '../helpers/otlp-compare';

const fixtures = listFixtures();

test('the fixtures folder is found and holds every signal in both formats', () => {
  assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures found`);
  for (const s of ['logs', 'metrics', 'traces']) {
    assert.ok(fixtures.some((f) => f.signal === s && f.format === 'json'), `no JSON ${s}`);
    assert.ok(fixtures.some((f) => f.signal === s && f.format === 'proto'), `no protobuf ${s}`);
  }
});

for (const f of fixtures.filter((x) => x.format === 'json')) {
  test(`JSON fixture ${f.name}: JSON -> model -> protobuf -> model -> JSON is lossless`, () => {
    const original = JSON.parse(fs.readFileSync(f.file, 'utf8'));
    const b1 = Batch.fromJsonObject(f.signal, original);
    const bytes = b1.toProto();
    const b2 = Batch.fromProto(f.signal, bytes);
    const back = JSON.parse(b2.toJson().toString());
    assert.equal(firstDifference(original, back), null);
    assert.ok(b2.itemCount() > 0);
  });
}

for (const f of fixtures.filter((x) => x.format === 'proto')) {
  test(`protobuf fixture ${f.name}: protobuf -> JSON -> protobuf gives the same bytes`, () => {
    const bytes = fs.readFileSync(f.file);
    const b1 = Batch.fromProto(f.signal, bytes);
    const json = JSON.parse(b1.toJson().toString());
    const b2 = Batch.fromJsonObject(f.signal, json);
    const again = Buffer.from(b2.toProto());
    // Field order of the agent's encoder may differ from ours; compare decoded canonical forms.
    const canon = (u: Uint8Array) =>
      Buffer.from(signalTypes[f.signal].request.encode(signalTypes[f.signal].request.decode(u)).finish());
    assert.deepEqual(canon(again), canon(bytes));
    assert.equal(firstDifference(json, JSON.parse(Batch.fromProto(f.signal, again).toJson().toString())), null);
  });
}
