// Every recipe under examples/ is proven to load:
//  - every relay config (a YAML file, or a Kubernetes ConfigMap's config.yaml) validates
//    with no environment variable set: no error and no warning;
//  - Kubernetes, compose and systemd files are parsed and the fields that matter checked
//    (image, ports, probes, mounts, the config path, the user, reload);
//  - each agent recipe uses only variable and key names the recorded agents' notes
//    (../shared/fixtures/agents/*/NOTES.md and README.md) document, and points at the relay;
//  - the config tests shipped in examples/tests pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfigFile, loadConfigText } from '../../src/config/load';
import { runTestFile } from '../../src/configtest/run';
import { FIXTURES_DIR } from '../helpers/fixtures';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = path.resolve(__dirname, '../../..');
const EXAMPLES = path.join(ROOT, 'examples');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NO_ENV = {};

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
const files = walk(EXAMPLES).sort();
const rel = (f: string) => path.relative(ROOT, f);
const yamlFiles = files.filter((f) => /\.ya?ml$/.test(f));

/** A relay config: a YAML map with service.pipelines (Kubernetes, compose, tests and provisioning files are not). */
function isRelayConfig(doc: unknown): boolean {
  const d = doc as Json;
  return !!d && typeof d === 'object' && !d.kind && !d.services && !d.tests && !!d.service?.pipelines;
}

test('every relay config under examples/ validates with no environment: no errors, no warnings', () => {
  const configs = yamlFiles.filter((f) => {
    const docs = parseAllDocuments(fs.readFileSync(f, 'utf8'));
    return docs.length === 1 && isRelayConfig(docs[0].toJS());
  });
  assert.ok(configs.length >= 8, `found only ${configs.map(rel).join(', ')}`);
  for (const f of configs) {
    const r = loadConfigFile(f, NO_ENV);
    assert.deepEqual(r.errors, [], `${rel(f)}: errors`);
    assert.deepEqual(r.warnings, [], `${rel(f)}: warnings`);
    assert.ok(r.config);
  }
  for (const want of ['backends/grafana-cloud.yaml', 'backends/datadog.yaml', 'backends/signoz.yaml', 'backends/otel-collector.yaml', 'backends/fanout-audit.yaml', 'docker/agentrelay.yaml', 'compose/agentrelay.yaml', 'systemd/agentrelay.yaml'])
    assert.ok(configs.includes(path.join(EXAMPLES, want)), `${want} is a relay config`);
});

test('the backend recipes send where and how each backend expects', () => {
  const exporters = (f: string) => loadConfigFile(path.join(EXAMPLES, f), NO_ENV).config!.exporters;
  const grafana = exporters('backends/grafana-cloud.yaml').get('otlphttp/grafana')!.config as Json;
  assert.match(grafana.endpoint, /^https:\/\/otlp-gateway-[\w-]+\.grafana\.net\/otlp$/);
  assert.match(grafana.headers.authorization, /^Basic /);
  const dd = exporters('backends/datadog.yaml').get('otlphttp/datadog')!.config as Json;
  assert.match(dd.endpoint, /^https:\/\/otlp\.datadoghq\.com$/);
  assert.ok(dd.headers['dd-api-key']);
  assert.equal(dd.encoding, 'proto');
  const signoz = exporters('backends/signoz.yaml').get('otlp/signoz')!.config as Json;
  assert.match(signoz.endpoint, /^ingest\.(us|eu|in)\.signoz\.cloud:443$/);
  assert.ok(signoz.headers['signoz-ingestion-key']);
  assert.equal(exporters('backends/otel-collector.yaml').get('otlp/collector')!.factory.type, 'otlp');

  const fan = loadConfigFile(path.join(EXAMPLES, 'backends/fanout-audit.yaml'), NO_ENV).config!;
  const backends = fan.pipelines.find((p) => p.id === 'logs/backends')!;
  assert.deepEqual(backends.exporters, ['otlphttp/grafana', 'otlphttp/datadog']);
  assert.equal(fan.exporters.get('file/audit')!.factory.type, 'file');
});

test('the container config listens beyond localhost and can require a token', () => {
  const c = loadConfigFile(path.join(EXAMPLES, 'docker/agentrelay.yaml'), NO_ENV).config!;
  const otlp = c.receivers.get('otlp')!.config as Json;
  assert.equal(otlp.protocols.grpc.endpoint, '0.0.0.0:4317');
  assert.equal(otlp.protocols.http.endpoint, '0.0.0.0:4318');
  assert.equal(c.telemetry.health.endpoint, '0.0.0.0:13133');
  assert.equal(c.telemetry.metrics.address, '0.0.0.0:8888');
  assert.equal(otlp.protocols.grpc.auth.bearer_token, '');
  const withToken = loadConfigFile(path.join(EXAMPLES, 'docker/agentrelay.yaml'), { AGENTRELAY_TOKEN: 's3cret' }).config!;
  const auth = (withToken.receivers.get('otlp')!.config as Json).protocols;
  assert.equal(auth.grpc.auth.bearer_token, 's3cret');
  assert.equal(auth.http.auth.bearer_token, 's3cret');
});

// ---------------------------------------------------------------- Kubernetes

function k8sDocs(name: string): Json[] {
  return parseAllDocuments(fs.readFileSync(path.join(EXAMPLES, 'kubernetes', name), 'utf8')).map((d) => d.toJS() as Json);
}

function relayContainer(spec: Json): Json {
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const c = all.find((x: Json) => x.name === 'agentrelay');
  assert.ok(c, 'a container named agentrelay');
  return c;
}

function checkRelayPod(docs: Json[], workload: Json): { container: Json; config: string } {
  const spec = workload.spec.template.spec;
  const c = relayContainer(spec);
  assert.match(c.image, new RegExp(`/agentrelay:${VERSION.replace(/\./g, '\\.')}$`), 'image tag is the package version');
  assert.deepEqual(c.args.slice(0, 2), ['--config', '/etc/agentrelay/config.yaml']);
  const ports = new Map((c.ports as Json[]).map((p) => [p.name, p.containerPort]));
  assert.equal(ports.get('otlp-grpc'), 4317);
  assert.equal(ports.get('otlp-http'), 4318);
  assert.equal(ports.get('health'), 13133);
  assert.equal(ports.get('metrics'), 8888);
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'health' });
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'health' });
  assert.equal(c.securityContext.runAsUser, 10001, 'the image user');
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(spec.securityContext.runAsNonRoot, true);
  const mounts = new Map((c.volumeMounts as Json[]).map((m) => [m.mountPath, m.name]));
  const volumes = new Map((spec.volumes as Json[]).map((v) => [v.name, v]));
  const configVolume = volumes.get(mounts.get('/etc/agentrelay'));
  assert.ok(configVolume?.configMap, 'config mounted from a ConfigMap at /etc/agentrelay (a directory, so updates reach --watch)');
  assert.ok(volumes.get(mounts.get('/var/lib/agentrelay')), 'a data volume at /var/lib/agentrelay');
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === configVolume.configMap.name);
  assert.ok(cm, `ConfigMap ${configVolume.configMap.name} is in the file`);
  const config = cm.data['config.yaml'] as string;
  // The config as the pod runs it: with the container's literal env values.
  const env = Object.fromEntries((c.env ?? []).filter((e: Json) => e.value !== undefined).map((e: Json) => [e.name, e.value]));
  for (const e of [{}, env]) {
    const r = loadConfigText(config, e);
    assert.deepEqual(r.errors, [], `${cm.metadata.name} config.yaml`);
    assert.deepEqual(r.warnings, []);
  }
  // Every variable the container sets is one the config reads.
  for (const e of c.env ?? []) assert.ok(config.includes(`\${env:${e.name}`), `the config reads ${e.name}`);
  const running = loadConfigText(config, env).config!;
  assert.equal(running.telemetry.health.endpoint.split(':').pop(), '13133');
  return { container: c, config };
}

test('Kubernetes sidecar: native sidecar, pod-local intake, the agent pointed at it', () => {
  const docs = k8sDocs('sidecar.yaml');
  const deploy = docs.find((d) => d.kind === 'Deployment')!;
  const { container } = checkRelayPod(docs, deploy);
  assert.equal(container.restartPolicy, 'Always', 'an init container that keeps running is a native sidecar');
  const env = Object.fromEntries(container.env.map((e: Json) => [e.name, e.value]));
  assert.equal(env.AGENTRELAY_GRPC_ENDPOINT, '127.0.0.1:4317');
  assert.equal(env.AGENTRELAY_HTTP_ENDPOINT, '127.0.0.1:4318');
  const agent = deploy.spec.template.spec.containers[0];
  const agentEnv = Object.fromEntries(agent.env.map((e: Json) => [e.name, e.value]));
  assert.equal(agentEnv.CLAUDE_CODE_ENABLE_TELEMETRY, '1');
  assert.equal(agentEnv.OTEL_EXPORTER_OTLP_PROTOCOL, 'grpc');
  assert.equal(agentEnv.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://127.0.0.1:4317');
  const secretRefs = container.env.filter((e: Json) => e.valueFrom).map((e: Json) => e.valueFrom.secretKeyRef.key);
  assert.deepEqual(secretRefs, ['GRAFANA_OTLP_AUTH']);
});

test('Kubernetes DaemonSet: host ports, a node-local Service, a required token, the queue on the node', () => {
  const docs = k8sDocs('daemonset.yaml');
  const ds = docs.find((d) => d.kind === 'DaemonSet')!;
  const { container, config } = checkRelayPod(docs, ds);
  const hostPorts = (container.ports as Json[]).filter((p) => p.hostPort).map((p) => [p.containerPort, p.hostPort]);
  assert.deepEqual(hostPorts, [[4317, 4317], [4318, 4318]]);
  const token = container.env.find((e: Json) => e.name === 'AGENTRELAY_TOKEN');
  assert.equal(token.valueFrom.secretKeyRef.name, 'agentrelay');
  const cfg = loadConfigText(config, { AGENTRELAY_TOKEN: 't0ken' }).config!;
  const otlp = cfg.receivers.get('otlp')!.config as Json;
  assert.equal(otlp.protocols.grpc.endpoint, '0.0.0.0:4317');
  assert.equal(otlp.protocols.grpc.auth.bearer_token, 't0ken');
  assert.equal(otlp.protocols.http.auth.bearer_token, 't0ken');
  const data = ds.spec.template.spec.volumes.find((v: Json) => v.name === 'agentrelay-data');
  assert.equal(data.hostPath.path, '/var/lib/agentrelay');
  const dd = cfg.exporters.get('otlphttp/datadog')!.config as Json;
  assert.ok(dd.sending_queue.persistent.directory.startsWith('/var/lib/agentrelay/'), 'the persistent queue is on the node volume');
  const svc = docs.find((d) => d.kind === 'Service')!;
  assert.equal(svc.spec.internalTrafficPolicy, 'Local');
  assert.deepEqual(svc.spec.selector, ds.spec.selector.matchLabels);
  assert.deepEqual(svc.spec.ports.map((p: Json) => p.port), [4317, 4318]);
  for (const d of docs) if (d.kind !== 'ConfigMap' || d.metadata.namespace) assert.equal(d.metadata.namespace, 'agentrelay');
});

// ---------------------------------------------------------------- compose

test('docker compose: the relay built from this repository in front of grafana/otel-lgtm, dashboards provisioned', () => {
  const dir = path.join(EXAMPLES, 'compose');
  const c = parse(fs.readFileSync(path.join(dir, 'docker-compose.yaml'), 'utf8')) as Json;
  const relay = c.services.agentrelay;
  assert.ok(fs.existsSync(path.join(dir, relay.build.context, 'Dockerfile')), 'the build context holds the Dockerfile');
  assert.equal(relay.image, `agentrelay:${VERSION}`);
  assert.deepEqual(relay.ports, ['127.0.0.1:4317:4317', '127.0.0.1:4318:4318', '127.0.0.1:8888:8888']);
  const configMount = (relay.volumes as string[]).find((v) => v.split(':')[1] === '/etc/agentrelay/config.yaml')!;
  const configFile = path.join(dir, configMount.split(':')[0]);
  assert.ok((relay.volumes as string[]).some((v) => v.split(':')[1] === '/var/lib/agentrelay'));
  const cfg = loadConfigFile(configFile, NO_ENV).config!;
  // The exporter and the relay's own metrics go to the lgtm service by its compose name.
  const endpoint = (cfg.exporters.get('otlp/lgtm')!.config as Json).endpoint as string;
  assert.equal(new URL(endpoint).hostname, 'lgtm');
  assert.ok(c.services[new URL(cfg.telemetry.metrics.otlp.endpoint).hostname]);
  const lgtm = c.services.lgtm;
  assert.match(lgtm.image, /^grafana\/otel-lgtm:\d+\.\d+\.\d+$/, 'a pinned image');
  // The provider file is mounted into otel-lgtm's provisioning folder and points at the mounted dashboards.
  const provider = (lgtm.volumes as string[]).find((v) => v.includes('/provisioning/dashboards/'))!;
  const providerYaml = parse(fs.readFileSync(path.join(dir, provider.split(':')[0]), 'utf8')) as Json;
  const dashMount = (lgtm.volumes as string[]).find((v) => v.split(':')[1] === providerYaml.providers[0].options.path)!;
  assert.ok(dashMount, 'the provider path is a mounted folder');
  const dashDir = path.join(dir, dashMount.split(':')[0]);
  assert.ok(fs.readdirSync(dashDir).some((f) => f.endsWith('.json')), 'it holds the dashboard JSON');
});

// ---------------------------------------------------------------- systemd

function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = new Map();
      out.set(s[1], section);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && section, `not a unit file line: ${raw}`);
    section.set(kv[1], [...(section.get(kv[1]) ?? []), kv[2]]);
  }
  return out;
}

test('systemd unit: runs the daemon on its config, reloads with SIGHUP, unprivileged, with a state directory', () => {
  const dir = path.join(EXAMPLES, 'systemd');
  const unit = parseUnit(fs.readFileSync(path.join(dir, 'agentrelay.service'), 'utf8'));
  const svc = unit.get('Service')!;
  assert.deepEqual(svc.get('ExecStart'), ['/usr/bin/env agentrelay --config /etc/agentrelay/config.yaml']);
  assert.deepEqual(svc.get('ExecStartPre'), ['/usr/bin/env agentrelay validate --config /etc/agentrelay/config.yaml']);
  assert.deepEqual(svc.get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  assert.deepEqual(svc.get('DynamicUser'), ['yes']);
  assert.deepEqual(svc.get('StateDirectory'), ['agentrelay']);
  assert.deepEqual(svc.get('WorkingDirectory'), ['/var/lib/agentrelay']);
  assert.deepEqual(svc.get('EnvironmentFile'), ['-/etc/agentrelay/agentrelay.env']);
  assert.ok(Number(svc.get('TimeoutStopSec')![0]) > 15, 'longer than the default shutdown_timeout');
  // With service.workers the relay stops its workers itself; the default control-group mode would signal them too.
  assert.deepEqual(svc.get('KillMode'), ['mixed']);
  assert.deepEqual(unit.get('Install')!.get('WantedBy'), ['multi-user.target']);
  // The config writes only under the state directory, and reads what the env file sets.
  const cfgText = fs.readFileSync(path.join(dir, 'agentrelay.yaml'), 'utf8');
  const cfg = loadConfigText(cfgText, NO_ENV).config!;
  assert.ok(((cfg.exporters.get('file/local')!.config as Json).path as string).startsWith('/var/lib/agentrelay/'));
  const otlp = cfg.receivers.get('otlp')!.config as Json;
  assert.match(otlp.protocols.grpc.endpoint, /^localhost:/);
  const envFile = fs.readFileSync(path.join(dir, 'agentrelay.env'), 'utf8');
  for (const name of envFile.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=')[0]))
    assert.ok(cfgText.includes(`\${env:${name}`), `agentrelay.yaml reads ${name}`);
});

// ---------------------------------------------------------------- agents

const notes = (agent: string) => fs.readFileSync(path.join(FIXTURES_DIR, agent, 'NOTES.md'), 'utf8') + fs.readFileSync(path.join(FIXTURES_DIR, 'README.md'), 'utf8');

/** Environment variable names a text documents (OTEL_..., CLAUDE_CODE_..., GEMINI_...), with `{A,B}` groups expanded. */
function documentedVariables(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b((?:OTEL|CLAUDE_CODE|GEMINI)_[A-Z_{},]*[A-Z])\b/g)) {
    const expand = (s: string): string[] => {
      const g = /\{([^}]*)\}/.exec(s);
      if (!g) return [s];
      return g[1].split(',').flatMap((alt) => expand(s.slice(0, g.index) + alt + s.slice(g.index + g[0].length)));
    };
    for (const v of expand(m[1])) out.add(v);
  }
  return out;
}

test('Claude Code recipes use documented variables and point at the relay', () => {
  const documented = documentedVariables(notes('claude-code'));
  const envFile = fs.readFileSync(path.join(EXAMPLES, 'agents/claude-code.env'), 'utf8');
  const exports = Object.fromEntries(
    envFile.split('\n').filter((l) => l.startsWith('export ')).map((l) => {
      const m = /^export ([A-Z_]+)=(.*)$/.exec(l)!;
      return [m[1], m[2].replace(/^"|"$/g, '')];
    }),
  );
  const managed = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'agents/claude-code-managed-settings.json'), 'utf8')) as { env: Record<string, string> };
  assert.match(notes('claude-code'), /managed-settings\.json.*key `env`/s);
  for (const [where, vars] of [['claude-code.env', exports], ['managed settings env', managed.env]] as const) {
    for (const k of Object.keys(vars)) assert.ok(documented.has(k), `${where}: ${k} is not in the Claude Code notes`);
    assert.equal(vars.CLAUDE_CODE_ENABLE_TELEMETRY, '1');
    assert.equal(vars.OTEL_LOGS_EXPORTER, 'otlp');
    assert.equal(vars.OTEL_METRICS_EXPORTER, 'otlp');
    const port = vars.OTEL_EXPORTER_OTLP_PROTOCOL === 'grpc' ? '4317' : '4318';
    assert.equal(new URL(vars.OTEL_EXPORTER_OTLP_ENDPOINT).port, port, `${where}: the relay's ${vars.OTEL_EXPORTER_OTLP_PROTOCOL} port`);
    assert.equal(vars.OTEL_LOG_USER_PROMPTS, '0', 'content flags off');
    assert.equal(vars.OTEL_LOG_TOOL_DETAILS, '0');
  }
  // Commented lines that name variables (the token header) name documented ones too.
  for (const v of documentedVariables(envFile)) assert.ok(documented.has(v), `${v} is not in the Claude Code notes`);
});

/** The key = value pairs of one [table] of a TOML file, inline tables parsed (the subset the recipe uses). */
function tomlTable(text: string, table: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let inTable = false;
  const value = (s: string): unknown => {
    s = s.trim();
    if (s.startsWith('"')) return JSON.parse(s);
    if (s === 'true' || s === 'false') return s === 'true';
    if (s.startsWith('{')) {
      const obj: Record<string, unknown> = {};
      let depth = 0;
      let start = 1;
      const inner = s.slice(1, -1);
      const parts: string[] = [];
      for (let i = 0; i < inner.length; i++) {
        if (inner[i] === '{') depth++;
        else if (inner[i] === '}') depth--;
        else if (inner[i] === ',' && depth === 0) {
          parts.push(inner.slice(start - 1, i));
          start = i + 2;
        }
      }
      parts.push(inner.slice(start - 1));
      for (const p of parts) {
        const eq = p.indexOf('=');
        obj[p.slice(0, eq).trim()] = value(p.slice(eq + 1));
      }
      return obj;
    }
    throw new Error(`unsupported TOML value: ${s}`);
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (!line || line.startsWith('#')) continue;
    const t = /^\[([\w.]+)\]$/.exec(line);
    if (t) {
      inTable = t[1] === table;
      continue;
    }
    if (!inTable) continue;
    const eq = line.indexOf('=');
    out[line.slice(0, eq).trim()] = value(line.slice(eq + 1));
  }
  return out;
}

test('Codex CLI recipe: the [otel] keys of the notes, full per-signal URLs to the relay', () => {
  const documented = notes('codex');
  const block = /```toml\n([\s\S]*?)```/.exec(documented)![1];
  const knownKeys = Object.keys(tomlTable(block, 'otel'));
  const otel = tomlTable(fs.readFileSync(path.join(EXAMPLES, 'agents/codex-config.toml'), 'utf8'), 'otel') as Json;
  for (const k of Object.keys(otel)) assert.ok(knownKeys.includes(k), `[otel] ${k} is not in the Codex notes (${knownKeys.join(', ')})`);
  assert.equal(otel.log_user_prompt, false);
  for (const [key, signal] of [['exporter', 'logs'], ['trace_exporter', 'traces'], ['metrics_exporter', 'metrics']]) {
    const e = otel[key]['otlp-http'];
    assert.equal(e.endpoint, `http://localhost:4318/v1/${signal}`, `${key} posts to the relay's /v1/${signal}`);
    assert.ok(['binary', 'json'].includes(e.protocol));
  }
});

test('Gemini CLI recipe: the telemetry keys of the notes, the relay as OTLP/HTTP endpoint', () => {
  const documented = notes('gemini-cli');
  const block = JSON.parse(/`\$HOME\/\.gemini\/settings\.json`:\n```json\n([\s\S]*?)```/.exec(documented)![1]) as Json;
  const settings = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'agents/gemini-settings.json'), 'utf8')) as Json;
  assert.deepEqual(Object.keys(settings), ['telemetry']);
  for (const k of Object.keys(settings.telemetry)) assert.ok(k in block.telemetry, `telemetry.${k} is not in the Gemini CLI notes`);
  assert.equal(settings.telemetry.enabled, true);
  assert.equal(settings.telemetry.otlpProtocol, 'http');
  // With otlpProtocol http the CLI appends /v1/...: the endpoint is the bare base URL.
  assert.equal(settings.telemetry.otlpEndpoint, 'http://localhost:4318');
  assert.equal(settings.telemetry.logPrompts, false);
  const readme = fs.readFileSync(path.join(EXAMPLES, 'agents/README.md'), 'utf8');
  for (const v of documentedVariables(readme).values())
    if (v.startsWith('GEMINI_')) assert.ok(documentedVariables(documented).has(v), `${v} is not in the Gemini CLI notes`);
});

// ---------------------------------------------------------------- config tests

test('the config tests shipped in examples/tests pass', async () => {
  const tests = files.filter((f) => f.endsWith('.test.yaml'));
  assert.ok(tests.length >= 1);
  for (const f of tests) {
    const r = await runTestFile(f);
    assert.deepEqual(r.errors, [], rel(f));
    assert.ok(r.cases.length > 0);
    for (const c of r.cases) assert.deepEqual(c.failures, [], `${rel(f)}: ${c.name}`);
  }
});
