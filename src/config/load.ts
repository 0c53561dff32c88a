// Reads a relay config: YAML with ${env:...} expansion, shaped like the
// OpenTelemetry Collector's (receivers, processors, exporters, connectors,
// service.pipelines). Validation collects every problem at once, each naming its
// YAML path and line, and resolves each component to its factory and checked config.
import * as fs from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Document, type Node } from 'yaml';
import type { ConnectorFactory, ExporterFactory, ProcessorFactory, ReceiverFactory } from '../pipeline/component';
import * as registry from '../registry';
import { type Signal } from '../otlp/schema';
import { s, type Ctx, type Issue, type Schema, type SchemaType } from './schema';
import { expandEnv, badReference } from './env';

const KINDS = ['receivers', 'processors', 'exporters', 'connectors'] as const;
type Kind = (typeof KINDS)[number];

export interface Component<F> {
  id: string;
  factory: F;
  config: unknown;
}

export interface PipelineSpec {
  id: string;
  signal: Signal;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

const telemetrySchema = s.object({
  logs: s.object({
    level: s.oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, { default: 'info' }),
    format: s.oneOf(['auto', 'json', 'pretty'] as const, { default: 'auto' }),
  }),
  metrics: s.object({
    /** Prometheus endpoint host:port; empty string turns it off. */
    address: s.string({ default: 'localhost:8888' }),
    otlp: s.object({
      endpoint: s.string({ default: '' }),
      interval: s.duration({ default: '60s' }),
      headers: s.map(s.string()),
    }),
  }),
  health: s.object({
    /** host:port of /healthz and /readyz; empty string turns it off. */
    endpoint: s.string({ default: 'localhost:13133' }),
  }),
  shutdown_timeout: s.duration({ default: '15s' }),
  tap: s.object({
    /** host:port of the live tap (`agentrelay tap`); empty string: off. It streams record content: keep it on loopback. */
    endpoint: s.string({ default: '' }),
  }),
});

export type TelemetryConfig = SchemaType<typeof telemetrySchema>;

/** More than the cores of any machine this runs on is a typo. */
const workersSchema = s.number({ min: 1, max: 256, integer: true });

export interface RelayConfig {
  receivers: Map<string, Component<ReceiverFactory>>;
  processors: Map<string, Component<ProcessorFactory>>;
  exporters: Map<string, Component<ExporterFactory>>;
  connectors: Map<string, Component<ConnectorFactory>>;
  pipelines: PipelineSpec[];
  telemetry: TelemetryConfig;
  /** Processes that run the pipelines behind the same ports (service.workers); 1: this process alone. */
  workers: number;
}

export interface LoadResult {
  config?: RelayConfig;
  /** Errors and warnings, each formatted `path: message (line N)`. */
  errors: string[];
  warnings: string[];
}

const FACTORIES: Record<Kind, { type: string; schema: Schema<unknown> }[]> = {
  receivers: registry.receivers,
  processors: registry.processors,
  exporters: registry.exporters,
  connectors: registry.connectors,
};

const SINGULAR: Record<Kind, string> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  connectors: 'connector',
};

export function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out || '(top level)';
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { errors: [`cannot read config file ${file}: ${(e as Error).message}`], warnings: [] };
  }
  return loadConfigText(text, env);
}

export function loadConfigText(text: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      errors: doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]} (line ${lines.linePos(e.pos[0]).line})`),
      warnings: [],
    };
  }
  const ctx: Ctx = { issues: [] };
  const raw = expandTree(doc.toJS({ maxAliasCount: 100 }) ?? {}, [], env, ctx);
  const config = validate(raw, ctx);
  const fmt = (i: Issue) => `${formatPath(i.path)}: ${i.message}${lineOf(doc, lines, i.path)}`;
  return {
    config: ctx.issues.some((i) => i.severity === 'error') ? undefined : config,
    errors: ctx.issues.filter((i) => i.severity === 'error').map(fmt),
    warnings: ctx.issues.filter((i) => i.severity === 'warning').map(fmt),
  };
}

function lineOf(doc: Document, lines: LineCounter, path: (string | number)[]): string {
  for (let n = path.length; n >= 0; n--) {
    // A map entry is reported at its key's line: a block value (`bogus/x:` then an
    // indented map) starts on the next line. A missing key points at its parent.
    if (n > 0 && typeof path[n - 1] === 'string') {
      const parent = doc.getIn(path.slice(0, n - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === path[n - 1]);
        const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined;
        if (keyRange) return ` (line ${lines.linePos(keyRange[0]).line})`;
      }
    }
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    const range = node && (isMap(node) || isSeq(node) || isScalar(node)) ? node.range : undefined;
    if (range) return ` (line ${lines.linePos(range[0]).line})`;
  }
  return '';
}

function expandTree(v: unknown, path: (string | number)[], env: NodeJS.ProcessEnv, ctx: Ctx): unknown {
  if (typeof v === 'string') {
    const bad = badReference(v);
    if (bad) ctx.issues.push({ path, severity: 'error', message: `unsupported reference ${bad} (use \${env:NAME} or \${env:NAME:-default})` });
    return expandEnv(v, env, (name) =>
      ctx.issues.push({ path, severity: 'warning', message: `environment variable ${name} is not set; using an empty string` }),
    );
  }
  if (Array.isArray(v)) return v.map((x, i) => expandTree(x, [...path, i], env, ctx));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = expandTree(x, [...path, k], env, ctx);
    return out;
  }
  return v;
}

const ID_RE = /^([a-z][a-z0-9_]*)(?:\/([^\s/][^\s]*))?$/;

function validate(raw: unknown, ctx: Ctx): RelayConfig {
  const err = (path: (string | number)[], message: string) => ctx.issues.push({ path, message, severity: 'error' });
  const warn = (path: (string | number)[], message: string) => ctx.issues.push({ path, message, severity: 'warning' });
  const cfg: RelayConfig = {
    receivers: new Map(),
    processors: new Map(),
    exporters: new Map(),
    connectors: new Map(),
    pipelines: [],
    telemetry: telemetrySchema.check({}, [], { issues: [] })!,
    workers: 1,
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    err([], 'the config must be a map with receivers, exporters and service.pipelines');
    return cfg;
  }
  const top = raw as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (![...KINDS, 'service', 'extensions'].includes(k))
      err([k], `unknown top-level key (known: ${[...KINDS, 'service'].join(', ')})`);
  }
  if (top.extensions !== undefined) warn(['extensions'], 'extensions are not supported by agentrelay and are ignored');

  for (const kind of KINDS) {
    const section = top[kind];
    if (section === undefined || section === null) continue;
    if (typeof section !== 'object' || Array.isArray(section)) {
      err([kind], 'expected a map of component id to its settings');
      continue;
    }
    for (const [id, conf] of Object.entries(section)) {
      const m = ID_RE.exec(id);
      const factory = m ? FACTORIES[kind].find((f) => f.type === m[1]) : undefined;
      if (!m) {
        err([kind, id], `not a valid component id (type or type/name)`);
        continue;
      }
      if (!factory) {
        err([kind, id], `unknown ${SINGULAR[kind]} type "${m[1]}" (known: ${FACTORIES[kind].map((f) => f.type).join(', ')})`);
        continue;
      }
      const checked = factory.schema.check(conf ?? {}, [kind, id], ctx);
      (cfg[kind] as Map<string, Component<unknown>>).set(id, { id, factory, config: checked });
    }
  }

  const service = top.service;
  if (service === undefined || service === null || typeof service !== 'object' || Array.isArray(service)) {
    err(['service'], 'is required: a map with pipelines');
    return cfg;
  }
  const svc = service as Record<string, unknown>;
  for (const k of Object.keys(svc)) {
    if (!['pipelines', 'telemetry', 'workers', 'extensions'].includes(k)) err(['service', k], 'unknown key (known: pipelines, telemetry, workers)');
  }
  const tel = telemetrySchema.check(svc.telemetry ?? {}, ['service', 'telemetry'], ctx);
  if (tel) cfg.telemetry = tel;
  const workers = workersSchema.check(svc.workers ?? 1, ['service', 'workers'], ctx);
  if (workers !== undefined) cfg.workers = workers;
  if (cfg.workers > 1 && cfg.telemetry.tap.endpoint) {
    err(['service', 'telemetry', 'tap', 'endpoint'], 'the tap cannot run with service.workers above 1: each worker would show only the connections it happens to serve');
  }

  const pipelines = svc.pipelines;
  if (pipelines === null || typeof pipelines !== 'object' || Array.isArray(pipelines) || Object.keys(pipelines).length === 0) {
    err(['service', 'pipelines'], 'is required: at least one pipeline such as logs, metrics or traces');
    return cfg;
  }
  const used = new Set<string>();
  for (const [pid, p] of Object.entries(pipelines as Record<string, unknown>)) {
    const base = ['service', 'pipelines', pid];
    const m = /^(logs|metrics|traces)(?:\/(.+))?$/.exec(pid);
    if (!m) {
      err(base, 'a pipeline id is logs, metrics or traces, optionally followed by /name');
      continue;
    }
    const signal = m[1] as Signal;
    if (p === null || typeof p !== 'object' || Array.isArray(p)) {
      err(base, 'expected a map with receivers, processors and exporters');
      continue;
    }
    const spec: PipelineSpec = { id: pid, signal, receivers: [], processors: [], exporters: [] };
    for (const k of Object.keys(p)) {
      if (!['receivers', 'processors', 'exporters'].includes(k)) err([...base, k], 'unknown key (known: receivers, processors, exporters)');
    }
    for (const part of ['receivers', 'processors', 'exporters'] as const) {
      const list = (p as Record<string, unknown>)[part];
      if (list === undefined || list === null) {
        if (part !== 'processors') err([...base, part], 'is required: a list of component ids');
        continue;
      }
      if (!Array.isArray(list)) {
        err([...base, part], 'expected a list of component ids');
        continue;
      }
      if (part !== 'processors' && list.length === 0) err([...base, part], 'needs at least one component');
      list.forEach((id, i) => {
        const path = [...base, part, i];
        if (typeof id !== 'string') return err(path, 'expected a component id');
        if (part === 'processors' && spec.processors.includes(id)) err(path, `processor "${id}" is listed twice in this pipeline`);
        const asComponent = (part === 'processors' ? cfg.processors : cfg[part]).get(id);
        const asConnector = part !== 'processors' ? cfg.connectors.get(id) : undefined;
        if (!asComponent && !asConnector) {
          const declared = part === 'processors' ? 'processors' : `${part} or connectors`;
          return err(path, `"${id}" is not defined under ${declared}`);
        }
        if (asComponent) {
          used.add(`${part}:${id}`);
          const sigs = (asComponent.factory as { signals: readonly Signal[] }).signals;
          if (!sigs.includes(signal))
            err(path, `${SINGULAR[part]} "${id}" does not handle ${signal} (it handles ${sigs.join(', ')}), so it cannot be in pipeline "${pid}"`);
        } else {
          used.add(`connectors:${id}:${part}`);
        }
        spec[part].push(id);
      });
    }
    cfg.pipelines.push(spec);
  }

  // Connectors: each must be an exporter of one pipeline and a receiver of another, for a signal pair it supports.
  for (const [id, c] of cfg.connectors) {
    const from = cfg.pipelines.filter((p) => p.exporters.includes(id));
    const to = cfg.pipelines.filter((p) => p.receivers.includes(id));
    if (from.length === 0 || to.length === 0) {
      err(['connectors', id], `a connector must be listed as an exporter of one pipeline and a receiver of another (${from.length ? 'never used as a receiver' : 'never used as an exporter'})`);
      continue;
    }
    for (const ref of c.factory.pipelinesOf?.(c.config) ?? []) {
      if (!to.some((t) => t.id === ref.pipeline))
        err(['connectors', id, ...ref.path], `pipeline "${ref.pipeline}" does not list "${id}" among its receivers`);
    }
    for (const f of from)
      for (const t of to) {
        if (!c.factory.pairs.some(([a, b]) => a === f.signal && b === t.signal))
          err(['service', 'pipelines', t.id, 'receivers', t.receivers.indexOf(id)],
            `connector "${id}" cannot connect ${f.signal} (pipeline "${f.id}") to ${t.signal} (supported: ${c.factory.pairs.map(([a, b]) => `${a}->${b}`).join(', ')})`);
      }
  }
  for (const kind of ['receivers', 'processors', 'exporters'] as const) {
    for (const id of cfg[kind].keys()) {
      if (!used.has(`${kind}:${id}`)) warn([kind, id], `${SINGULAR[kind]} is defined but not used in any pipeline`);
    }
  }
  if (findCycle(cfg)) err(['service', 'pipelines'], `connectors form a cycle: ${findCycle(cfg)}`);
  return cfg;
}

function findCycle(cfg: RelayConfig): string | undefined {
  const next = (p: PipelineSpec) =>
    cfg.pipelines.filter((q) => q.receivers.some((r) => cfg.connectors.has(r) && p.exporters.includes(r)));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: PipelineSpec, trail: string[]): string | undefined => {
    if (state.get(p.id) === 'visiting') return [...trail, p.id].join(' -> ');
    if (state.get(p.id) === 'done') return undefined;
    state.set(p.id, 'visiting');
    for (const q of next(p)) {
      const c = visit(q, [...trail, p.id]);
      if (c) return c;
    }
    state.set(p.id, 'done');
    return undefined;
  };
  for (const p of cfg.pipelines) {
    const c = visit(p, []);
    if (c) return c;
  }
  return undefined;
}
