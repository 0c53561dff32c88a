// Memory of the cardinality processor under an endless stream of new ids.
//
//   npx tsc -p . && node --expose-gc dist/bench/cardinality-memory.js [iterations]
//
// Each iteration is one Claude Code metrics request (delta, 12 points) and one Gemini
// CLI request (cumulative, 34 points) from a new session, with a new prompt.id on every
// point and a request id kept on one metric (so the series cap is what bounds it), one
// simulated second apart. With the default config (idle_timeout 30m, max_tracked
// 200000) the tracked state grows for the first simulated half hour and then stays
// flat, and so does the RSS. Prints one line per 5000 iterations.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../src/otlp/batch';
import type { KeyValue, MetricsRequest } from '../src/otlp/model';
import { cardinalityProcessor, createEngine, zeroCounts } from '../processors/cardinality';
import { FIXTURES_DIR } from '../test/helpers/fixtures';

const iterations = Number(process.argv[2] ?? 60000);
const gc = (globalThis as { gc?: () => void }).gc;

function load(rel: string): { model: MetricsRequest; ids: KeyValue[]; prompts: KeyValue[]; requests: KeyValue[] } {
  const model = Batch.fromJsonObject('metrics', JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, rel), 'utf8'))).read() as MetricsRequest;
  const ids: KeyValue[] = [];
  const prompts: KeyValue[] = [];
  const requests: KeyValue[] = [];
  for (const rm of model.resourceMetrics) {
    for (const kv of rm.resource?.attributes ?? []) if (kv.key === 'session.id' || kv.key === 'process.pid') ids.push(kv);
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics) {
        const data = m.sum ?? m.histogram;
        for (const p of data?.dataPoints ?? []) {
          for (const kv of p.attributes) if (kv.key === 'session.id' || kv.key === 'installation.id') ids.push(kv);
          const prompt: KeyValue = { key: 'prompt.id', value: { stringValue: '' } };
          p.attributes.push(prompt);
          prompts.push(prompt);
          if (m.name === 'claude_code.token.usage') {
            const req: KeyValue = { key: 'request', value: { stringValue: '' } };
            p.attributes.push(req);
            requests.push(req);
          }
        }
      }
  }
  return { model, ids, prompts, requests };
}

const claude = load('claude-code/tool-call/02-metrics.json');
const gemini = load('gemini-cli/interactive/03-metrics.json');
const engine = createEngine(cardinalityProcessor.schema.check({}, [], { issues: [] })!);
const mb = (n: number) => (n / 1048576).toFixed(1);

gc?.();
console.log(`before: rss ${mb(process.memoryUsage().rss)} MB, heap ${mb(process.memoryUsage().heapUsed)} MB`);
console.log('iteration  points  series  sources  rss_MB  heap_MB');
let points = 0;
const started = Date.now();
for (let i = 1; i <= iterations; i++) {
  const now = i * 1000;
  for (const w of [claude, gemini]) {
    for (const kv of w.ids) kv.value = kv.key === 'process.pid' ? { intValue: i } : { stringValue: `${kv.key}-${i}` };
    w.prompts.forEach((kv, n) => (kv.value = { stringValue: `prompt-${i}-${n}` }));
    for (const kv of w.requests) kv.value = { stringValue: `req-${i}` };
    const c = zeroCounts();
    engine.process(w.model, now, c);
    points += c.pointsIn;
  }
  if (i % 5000 === 0 || i === iterations) {
    gc?.();
    const st = engine.stats();
    const m = process.memoryUsage();
    console.log(`${String(i).padStart(9)} ${String(points).padStart(7)} ${String(st.series).padStart(7)} ${String(st.sources).padStart(8)} ${mb(m.rss).padStart(7)} ${mb(m.heapUsed).padStart(8)}`);
  }
}
console.log(`${points} points in ${((Date.now() - started) / 1000).toFixed(1)} s${gc ? '' : ' (run with --expose-gc for steadier figures)'}`);
