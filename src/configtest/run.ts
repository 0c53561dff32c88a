// `agentrelay test FILE...`: runs the cases of config test files through the
// configured pipelines and checks what reaches each exporter. Exporters are replaced
// by in-memory captures (nothing is sent anywhere, no credential is needed); every
// processor and connector is the real one. Each case gets a fresh graph, so stateful
// processors start clean, and the graph is shut down before the checks, so batch
// processors have flushed.
//
//   config: ../relay.yaml            # path relative to this file, or the config itself as a map
//   env: {DD_API_KEY: test}          # values for ${env:...}; the process environment is not used
//   tests:
//     - name: tool decisions are archived
//       input: {file: recorded/claude-logs.json}    # or otlp: {...}, logs: [...], spans: [...], metrics: [...]
//       expect:
//         - exporter: file/audit
//           where: {event: tool_decision}
//           count: 2
//           attributes: {decision: accept, tool_parameters: null}
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { LineCounter, parseDocument, stringify, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import { formatPath, loadConfigText, type RelayConfig } from '../config/load';
import { s, type Ctx, type Issue } from '../config/schema';
import { Graph } from '../pipeline/graph';
import type { Batch } from '../otlp/batch';
import { rejectInvalid } from '../otlp/validate';
import type { ExporterFactory } from '../pipeline/component';
import { Telemetry } from '../telemetry/metrics';
import { inputSchema, type InputSpec } from './input';
import { capturedRecords, check, expectationSchema, flow, type Expectation } from './expect';

const counterSchema = s.object(
  {
    name: s.string({ nonEmpty: true }),
    labels: s.map(s.string()),
    equals: s.number({ min: 0 }),
    at_least: s.number({ min: 0 }),
  },
  {
    required: ['name'],
    validate(v, p, ctx) {
      if ((v.equals === undefined) === (v.at_least === undefined))
        ctx.issues.push({ path: p, severity: 'error', message: 'give equals or at_least' });
    },
  },
);

const caseSchema = s.object(
  {
    name: s.string({ nonEmpty: true }),
    input: s.custom<InputSpec[]>('an input or a list of inputs', (v, p, ctx) => {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0) {
        ctx.issues.push({ path: p, severity: 'error', message: 'needs at least one input' });
        return undefined;
      }
      const out = list.map((x, i) => inputSchema.check(x, Array.isArray(v) ? [...p, i] : p, ctx));
      return out.every((x) => x) ? (out as InputSpec[]) : undefined;
    }),
    expect: s.list(expectationSchema, { default: [] }),
    counters: s.list(counterSchema, { default: [] }),
  },
  {
    required: ['name', 'input'],
    validate(v, p, ctx) {
      if (v.expect.length === 0 && v.counters.length === 0)
        ctx.issues.push({ path: p, severity: 'error', message: 'a test needs expect or counters' });
    },
  },
);

const fileSchema = s.object(
  {
    config: s.custom<string | Record<string, unknown>>('a config file path or the config itself', (v, p, ctx) => {
      if ((typeof v === 'string' && v) || (v && typeof v === 'object' && !Array.isArray(v))) return v as string | Record<string, unknown>;
      ctx.issues.push({ path: p, severity: 'error', message: 'expected a path to a relay config (relative to this file) or the config itself as a map' });
      return undefined;
    }),
    env: s.map(s.string()),
    tests: s.list(caseSchema, { minItems: 1 }),
  },
  { required: ['config', 'tests'] },
);

type TestFile = NonNullable<ReturnType<typeof fileSchema.check>>;
type Case = TestFile['tests'][number];

/** An exporter that keeps what it is given; stands in for every exporter of the config. */
function captureFactory(type: string, into: Map<string, Batch[]>): ExporterFactory {
  return {
    type,
    schema: s.custom('any', (v) => v),
    signals: ['logs', 'metrics', 'traces'],
    create(_config, ctx) {
      let list = into.get(ctx.id);
      if (!list) into.set(ctx.id, (list = []));
      const held = list;
      return {
        async consume(batch) {
          held.push(batch);
        },
      };
    },
  };
}

interface CaseResult {
  name: string;
  failures: string[];
}

export async function runTestFiles(files: string[], write: (s: string) => void): Promise<number> {
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const r = await runTestFile(file);
    write(`${file}${r.config ? ` (config ${r.config})` : ''}\n`);
    for (const e of r.errors) write(`  error: ${e}\n`);
    if (r.errors.length) failed++;
    for (const c of r.cases) {
      if (c.failures.length === 0) {
        passed++;
        write(`  ok    ${c.name}\n`);
      } else {
        failed++;
        write(`  FAIL  ${c.name}\n`);
        for (const f of c.failures) write(`        ${f}\n`);
      }
    }
  }
  write(`${passed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

export async function runTestFile(file: string): Promise<{ config?: string; errors: string[]; cases: CaseResult[] }> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { errors: [`cannot read ${file}: ${(e as Error).message}`], cases: [] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length)
    return { errors: doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]} (line ${lines.linePos(e.pos[0]).line})`), cases: [] };
  const ctx: Ctx = { issues: [] };
  const spec = fileSchema.check(doc.toJS() ?? {}, [], ctx);
  const errors = ctx.issues.filter((i) => i.severity === 'error').map((i) => `${formatPath(i.path)}: ${i.message}${lineOf(doc, lines, i)}`);
  if (!spec || errors.length) return { errors, cases: [] };

  const baseDir = path.dirname(path.resolve(file));
  const env = spec.env ?? {};
  let configText: string;
  let configName: string;
  if (typeof spec.config === 'string') {
    configName = spec.config;
    try {
      configText = fs.readFileSync(path.resolve(baseDir, spec.config), 'utf8');
    } catch (e) {
      return { config: configName, errors: [`config: cannot read ${spec.config}: ${(e as Error).message}`], cases: [] };
    }
  } else {
    configName = '(embedded)';
    configText = stringify(spec.config);
  }
  const loaded = loadConfigText(configText, env);
  if (!loaded.config) return { config: configName, errors: loaded.errors.map((e) => `config: ${e}`), cases: [] };
  const cfg = loaded.config;

  // References to components the config does not have are mistakes in the test file.
  const refErrors: string[] = [];
  spec.tests.forEach((c, i) => {
    c.input.forEach((inp, j) => {
      const where = `tests[${i}].input${c.input.length > 1 ? `[${j}]` : ''}`;
      if (inp.pipeline && !cfg.pipelines.some((p) => p.id === inp.pipeline))
        refErrors.push(`${where}.pipeline: no pipeline "${inp.pipeline}" in the config (it has ${cfg.pipelines.map((p) => p.id).join(', ')})`);
      if (inp.receiver && !cfg.receivers.has(inp.receiver))
        refErrors.push(`${where}.receiver: no receiver "${inp.receiver}" in the config (it has ${[...cfg.receivers.keys()].join(', ')})`);
      if (!inp.pipeline && !inp.receiver && cfg.receivers.size !== 1)
        refErrors.push(`${where}: the config has ${cfg.receivers.size} receivers; say which one (receiver: ID) or name a pipeline`);
    });
    c.expect.forEach((e, j) => {
      if (!cfg.exporters.has(e.exporter))
        refErrors.push(`tests[${i}].expect[${j}].exporter: no exporter "${e.exporter}" in the config (it has ${[...cfg.exporters.keys()].join(', ')})`);
    });
  });
  if (refErrors.length) return { config: configName, errors: refErrors, cases: [] };

  const cases: CaseResult[] = [];
  for (const c of spec.tests) cases.push({ name: c.name, failures: await runCase(cfg, c, baseDir) });
  return { config: configName, errors: [], cases };
}

async function runCase(cfg: RelayConfig, c: Case, baseDir: string): Promise<string[]> {
  const captured = new Map<string, Batch[]>();
  const exporters = new Map([...cfg.exporters].map(([id, e]) => [id, { ...e, factory: captureFactory(e.factory.type, captured) }]));
  const testCfg: RelayConfig = { ...cfg, exporters };
  const telemetry = new Telemetry();
  const logger = pino({ level: 'silent' });
  const failures: string[] = [];
  let graph: Graph;
  try {
    graph = new Graph(testCfg, logger, telemetry, { receivers: false });
    await graph.start();
  } catch (e) {
    await telemetry.shutdown();
    return [`the pipelines could not start: ${(e as Error).message}`];
  }
  try {
    for (const [j, inp] of c.input.entries()) {
      const label = `input${c.input.length > 1 ? `[${j}]` : ''} (${inp.describe})`;
      let batch: Batch;
      try {
        batch = inp.make(baseDir);
      } catch (e) {
        failures.push(`${label}: ${(e as Error).message}`);
        continue;
      }
      const receiverId = inp.pipeline ? undefined : (inp.receiver ?? [...cfg.receivers.keys()][0]);
      const target = inp.pipeline ? graph.entry(inp.pipeline) : graph.inputsOf(receiverId!)?.get(batch.signal);
      if (!target) {
        failures.push(`${label}: ${inp.pipeline ? `pipeline ${inp.pipeline}` : `receiver ${receiverId}`} takes no ${batch.signal}`);
        continue;
      }
      if (inp.pipeline && !cfg.pipelines.some((p) => p.id === inp.pipeline && p.signal === batch.signal)) {
        failures.push(`${label}: pipeline ${inp.pipeline} is not a ${batch.signal} pipeline`);
        continue;
      }
      // As a receiver would: records that break OTLP's rules are refused alone.
      if (!inp.pipeline) rejectInvalid(batch);
      if (batch.itemCount() === 0) continue;
      try {
        await target.consume(batch);
      } catch (e) {
        failures.push(`${label}: the pipelines refused it: ${(e as Error).message}`);
      }
    }
  } finally {
    await graph.shutdown(Date.now() + cfg.telemetry.shutdown_timeout);
  }
  c.expect.forEach((e: Expectation, j) => {
    const fails = check(e, capturedRecords(captured.get(e.exporter) ?? []));
    if (fails.length === 0) return;
    const scope = [`exporter ${e.exporter}`, e.signal && `signal ${e.signal}`, e.where && `where ${e.where.text}`].filter(Boolean).join(', ');
    failures.push(`expect[${j}]: ${scope}`, ...fails.map((f) => `  ${f}`));
  });
  c.counters.forEach((k, j) => {
    const got = telemetry.total(k.name.replace(/^agentrelay_/, '').replace(/_total$/, ''), k.labels ?? {});
    const ok = k.equals !== undefined ? got === k.equals : got >= k.at_least!;
    if (!ok)
      failures.push(
        `counters[${j}]: agentrelay_${k.name.replace(/^agentrelay_/, '').replace(/_total$/, '')}_total${k.labels && Object.keys(k.labels).length ? flow(k.labels) : ''}`,
        `  - ${k.equals !== undefined ? `equals ${k.equals}` : `at least ${k.at_least}`}`,
        `  + ${got}`,
      );
  });
  await telemetry.shutdown();
  return failures;
}

function lineOf(doc: Document, lines: LineCounter, issue: Issue): string {
  for (let n = issue.path.length; n >= 0; n--) {
    const node = doc.getIn(issue.path.slice(0, n), true) as Node | undefined;
    const range = node && (isMap(node) || isSeq(node) || isScalar(node)) ? node.range : undefined;
    if (range) return ` (line ${lines.linePos(range[0]).line})`;
  }
  return '';
}
