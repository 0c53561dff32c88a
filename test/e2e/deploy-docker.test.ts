// The Dockerfile and what the image runs. There is no Docker engine here, so:
//  - the Dockerfile is linted with dockerfile-utils (the validator of the VS Code Docker
//    language service, from npm) and must give no diagnostic; a broken copy must give some;
//  - its conventions are checked: multi-stage on an official Node LTS slim base, npm ci
//    without install scripts, a non-root numeric user, the ports, the volume, the
//    HEALTHCHECK, the config at /etc/agentrelay/config.yaml, and every COPY source present
//    in the build context that .dockerignore leaves;
//  - every package the shipped code requires is a production dependency (the image has no
//    dev dependencies);
//  - the image's config and command are run as the image runs them (its ENV, its working
//    directory, its HEALTHCHECK command), on loopback ports: it answers, requires the token
//    when one is set, writes to the data directory, and the health check tells up from down.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validate } from 'dockerfile-utils';
import { CLI, freePort, readJsonLines, tempDir, waitFor } from '../helpers/relay-process';

const ROOT = path.resolve(__dirname, '../../..');
const DOCKERFILE = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const dir = tempDir('agentrelay-docker-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined; comments and the parser directive dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!buf && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (!buf) start = i + 1;
    buf += (buf ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) return;
    const m = /^(\w+)\s+(.*)$/.exec(buf)!;
    out.push({ op: m[1].toUpperCase(), args: m[2], line: start });
    buf = '';
  });
  return out;
}

const all = instructions(DOCKERFILE);
const stages: Instruction[][] = [];
for (const ins of all) {
  if (ins.op === 'FROM') stages.push([]);
  stages.at(-1)?.push(ins);
}
const final = stages.at(-1)!;
const one = (op: string) => {
  const xs = final.filter((i) => i.op === op);
  assert.equal(xs.length, 1, `one ${op} in the final stage`);
  return xs[0].args;
};

test('dockerfile-utils finds nothing to report in the Dockerfile (and does report a broken one)', () => {
  const diagnostics = validate(DOCKERFILE);
  assert.deepEqual(diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
  const broken = DOCKERFILE.replace('--interval=30s', '--interval=30x').replace('EXPOSE 4317', 'EXPOSE 4317/sctpx');
  assert.ok(validate(broken).length >= 2, 'the linter catches a bad duration and a bad protocol');
});

test('multi-stage build on an official Node LTS slim image, npm ci without install scripts', () => {
  const nodeVersion = /^NODE_VERSION=(\d+)$/.exec(all.find((i) => i.op === 'ARG')!.args)![1];
  assert.ok(Number(nodeVersion) >= 20 && Number(nodeVersion) % 2 === 0, `Node ${nodeVersion} is an LTS line`);
  assert.ok(stages.length >= 2, 'multi-stage');
  for (const st of stages) assert.match(st[0].args, /^node:\$\{NODE_VERSION\}-[a-z]+-slim(?: AS \w+)?$/, 'the official node image, slim, tag from NODE_VERSION');
  assert.ok(!/:latest\b/.test(DOCKERFILE));
  assert.ok(!all.some((i) => i.op === 'ADD' || i.op === 'MAINTAINER'));
  const runs = all.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(!runs.some((r) => /npm (install|i)\b/.test(r)), 'npm ci, never npm install');
  for (const r of runs.filter((x) => x.includes('npm ci'))) assert.match(r, /--ignore-scripts/);
  assert.ok(runs.some((r) => /npm ci --omit=dev/.test(r)), 'the runtime gets production dependencies only');
  // The runtime stage copies build output from the other stages, not the sources.
  const fromStages = final.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=')).map((i) => i.args);
  assert.ok(fromStages.some((a) => /dist\/src/.test(a)) && fromStages.some((a) => /node_modules/.test(a)));
});

test('the runtime stage: non-root user, ports, volume, health check, config path, entrypoint', () => {
  const user = one('USER');
  assert.match(user, /^\d+:\d+$/, 'a numeric user, so Kubernetes runAsNonRoot can verify it');
  assert.notEqual(user.split(':')[0], '0');
  assert.equal(user, '10001:10001', 'the user the Kubernetes examples run as');
  assert.deepEqual(one('EXPOSE').split(/\s+/).sort(), ['13133', '4317', '4318', '8888']);
  assert.equal(one('VOLUME'), '["/var/lib/agentrelay"]');
  const env = one('ENV');
  for (const [k, v] of [['AGENTRELAY_GRPC_ENDPOINT', '0.0.0.0:4317'], ['AGENTRELAY_HTTP_ENDPOINT', '0.0.0.0:4318'], ['AGENTRELAY_HEALTH_ENDPOINT', '0.0.0.0:13133'], ['AGENTRELAY_METRICS_ENDPOINT', '0.0.0.0:8888']])
    assert.match(env, new RegExp(`${k}=${v.replace(/\./g, '\\.')}`));
  assert.match(one('HEALTHCHECK'), /^--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+ CMD \["node", "\/app\/dist\/src\/cli\.js", "healthcheck", "--config", "\/etc\/agentrelay\/config\.yaml"\]$/);
  assert.equal(one('ENTRYPOINT'), '["node", "/app/dist/src/cli.js"]');
  assert.equal(one('CMD'), '["--config", "/etc/agentrelay/config.yaml"]');
  assert.ok(final.some((i) => i.op === 'COPY' && i.args === 'examples/docker/agentrelay.yaml /etc/agentrelay/config.yaml'));
  const workdirs = final.filter((i) => i.op === 'WORKDIR').map((i) => i.args);
  assert.equal(workdirs.at(-1), '/var/lib/agentrelay', 'relative data paths land in the volume');
});

/** Docker's .dockerignore matching: last matching pattern wins, `!` re-includes, a directory's rule covers what is under it. */
function included(file: string, patterns: string[]): boolean {
  const toRe = (p: string) =>
    new RegExp(
      '^' +
        p
          .replace(/\/$/, '')
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '(?:.*/)?')
          .replace(/\*\*/g, '.*')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]') +
        '(?:/.*)?$',
    );
  let keep = true;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const p = neg ? raw.slice(1) : raw;
    if (toRe(p).test(file)) keep = neg;
  }
  return keep;
}

test('every COPY source is in the build context .dockerignore leaves; node_modules, dist and .git are not', () => {
  const patterns = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const ins of all.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))) {
    const parts = ins.args.split(/\s+/);
    for (const src of parts.slice(0, -1)) {
      const full = path.join(ROOT, src);
      assert.ok(fs.existsSync(full), `COPY ${src} (line ${ins.line}) exists`);
      assert.ok(included(src.replace(/\/$/, ''), patterns), `COPY ${src} (line ${ins.line}) is not excluded by .dockerignore`);
      if (fs.statSync(full).isDirectory()) {
        // Sources the build compiles are all in the context (test files included: tsc reads them).
        const any = fs.readdirSync(full, { recursive: true }).map(String).find((f) => f.endsWith('.ts'));
        if (any) assert.ok(included(`${src.replace(/\/$/, '')}/${any}`, patterns), `${src}/${any} is in the context`);
      }
    }
  }
  for (const out of ['node_modules', 'dist', '.git', 'agentrelay-data', 'README.md', 'bench/run.ts'])
    assert.ok(!included(out, patterns), `${out} stays out of the context`);
});

test('every package the shipped code requires is installed by `npm ci --omit=dev`', () => {
  // What the deps stage installs: the lockfile's packages not marked dev.
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const production = new Set(Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && !v.dev).map(([k]) => k.slice('node_modules/'.length)));
  const shipped = ['dist/src', 'dist/processors'].flatMap((d) =>
    fs
      .readdirSync(path.join(ROOT, d), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.js') && !f.endsWith('.test.js'))
      .map((f) => path.join(ROOT, d, f)),
  );
  assert.ok(shipped.length > 20);
  const missing = new Set<string>();
  for (const f of shipped) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/require\("([^".][^"]*)"\)/g)) {
      const name = m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
      if (name.startsWith('node:') || require('node:module').builtinModules.includes(name)) continue;
      if (name === 'pino-pretty') continue; // resolved at run time only when installed (dev); see telemetry/logger.ts
      if (!production.has(name)) missing.add(`${name} (${path.relative(ROOT, f)})`);
    }
  }
  assert.deepEqual([...missing], []);
});

test('the image config and command, run as the image runs them: serves, requires the token, health check up and down', async () => {
  const ports = { grpc: await freePort(), http: await freePort(), health: await freePort(), metrics: await freePort() };
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    // The image's ENV, with loopback ports for the test.
    AGENTRELAY_GRPC_ENDPOINT: `127.0.0.1:${ports.grpc}`,
    AGENTRELAY_HTTP_ENDPOINT: `127.0.0.1:${ports.http}`,
    AGENTRELAY_HEALTH_ENDPOINT: `127.0.0.1:${ports.health}`,
    AGENTRELAY_METRICS_ENDPOINT: `127.0.0.1:${ports.metrics}`,
    AGENTRELAY_DATA_DIR: dir,
    AGENTRELAY_TOKEN: 'container-token-123',
  };
  const config = path.join(ROOT, 'examples/docker/agentrelay.yaml');
  const healthcheck = () => spawnSync(process.execPath, [CLI, 'healthcheck', '--config', config], { env, encoding: 'utf8', timeout: 15000 });
  assert.equal(healthcheck().status, 1, 'unhealthy before the relay runs');

  const proc = spawn(process.execPath, [CLI, '--config', config], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  try {
    await waitFor(() => healthcheck().status === 0, 15000, `the HEALTHCHECK command to pass\n${log}`);
    const body = JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'claude_code.api_request' } }] }] }] });
    const post = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${ports.http}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(async (r) => (await r.arrayBuffer(), r.status));
    assert.equal(await post({}), 401, 'no token, no entry');
    assert.equal(await post({ authorization: 'Bearer wrong' }), 401);
    assert.equal(await post({ authorization: 'Bearer container-token-123' }), 200);
    await waitFor(() => readJsonLines(path.join(dir, 'telemetry.jsonl')).length === 1, 5000, 'the batch in the data directory');
    assert.match(log, /"msg":"agentrelay is running"/);
    assert.doesNotMatch(log, /container-token-123/, 'the token never reaches the log');
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
  const down = healthcheck();
  assert.equal(down.status, 1);
  assert.match(down.stderr, /^unhealthy: /);
});
