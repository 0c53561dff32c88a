// The embedded default (config/default.yaml, what `npm start` runs) on every agent
// fixture: nothing secret leaves, Codex and Gemini CLI events are priced, the cost
// metrics appear, tool decisions survive sampling, and the output lands in
// ./agentrelay-data/telemetry.jsonl of the working directory.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, freePort, readJsonLines, tempDir, waitFor } from '../helpers/relay-process';
import { listFixtures } from '../helpers/fixtures';

const DEFAULT_CONFIG = path.resolve(__dirname, '../../../config/default.yaml');
const SECRETS = [
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'xoxb-1234567890-abcdefghij',
  'sk-proj-FAKEabcdefghijklmnopqrstuvwxyz0123456789',
  'say hello using bash',
  'say hello using the shell',
];

/** Event names as whole protobuf strings: the length byte, then exactly the name. */
function countLengthPrefixed(buf: Buffer): number {
  let n = 0;
  for (const name of ['tool_decision', 'codex.tool_decision', 'gemini_cli.tool_call']) {
    const needle = Buffer.concat([Buffer.from([name.length]), Buffer.from(name)]);
    for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) n++;
  }
  return n;
}

test('npm start config: priced, scrubbed, tool decisions kept, cost metrics emitted', async () => {
  const dir = tempDir();
  const [grpc, http, health, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const proc = spawn(process.execPath, [CLI, '--config', DEFAULT_CONFIG], {
    cwd: dir,
    env: {
      ...process.env,
      AGENTRELAY_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
      AGENTRELAY_HTTP_ENDPOINT: `127.0.0.1:${http}`,
      AGENTRELAY_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
      AGENTRELAY_METRICS_ENDPOINT: `127.0.0.1:${metrics}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', r));
  try {
    await waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${health}/readyz`)).status === 200;
      } catch {
        return false;
      }
    }, 15000, 'the default relay to be ready');
    let toolDecisionsSent = 0;
    for (const f of listFixtures()) {
      const body = fs.readFileSync(f.file);
      toolDecisionsSent += f.format === 'json' ? (body.toString().match(/"(tool_decision|codex\.tool_decision|gemini_cli\.tool_call)"/g) ?? []).length : countLengthPrefixed(body);
      const r = await fetch(`http://127.0.0.1:${http}/v1/${f.signal}`, {
        method: 'POST',
        headers: { 'content-type': f.format === 'json' ? 'application/json' : 'application/x-protobuf' },
        body,
      });
      assert.equal(r.status, 200, `${f.name}: ${await r.text()}`);
    }
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, log);

    const file = path.join(dir, 'agentrelay-data', 'telemetry.jsonl');
    const text = fs.readFileSync(file, 'utf8');
    for (const s of SECRETS) assert.ok(!text.includes(s), `"${s}" reached the output`);
    for (const s of SECRETS) assert.ok(!log.includes(s), `"${s}" reached the relay's log`);

    const lines = readJsonLines(file);
    const records = lines.flatMap((l) => ((l.resourceLogs as any[]) ?? []).flatMap((rl) => rl.scopeLogs.flatMap((sl: any) => sl.logRecords)));
    const attr = (r: any, k: string) => r.attributes?.find((a: any) => a.key === k)?.value;
    const named = (n: string) => records.filter((r) => attr(r, 'event.name')?.stringValue === n);
    const priced = [...named('codex.sse_event'), ...named('gemini_cli.api_response')].filter((r) => attr(r, 'cost_usd'));
    assert.ok(priced.some((r) => attr(r, 'event.name').stringValue === 'codex.sse_event'), 'a Codex event carries cost_usd');
    assert.ok(priced.some((r) => attr(r, 'event.name').stringValue === 'gemini_cli.api_response'), 'a Gemini CLI event carries cost_usd');
    const decisions = ['tool_decision', 'codex.tool_decision', 'gemini_cli.tool_call'].flatMap(named);
    assert.equal(decisions.length, toolDecisionsSent, 'every tool decision kept');

    const metricNames = new Set(
      lines.flatMap((l) => ((l.resourceMetrics as any[]) ?? []).flatMap((rm) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics.map((m: any) => m.name)))),
    );
    for (const m of ['codex.cost.usage', 'gemini_cli.cost.usage', 'codex.token.usage', 'claude_code.cost.usage']) assert.ok(metricNames.has(m), `${m} emitted`);
    // The cardinality guard: no metric point carries a session id any more.
    assert.ok(!/"key":"session\.id"/.test(lines.filter((l) => l.resourceMetrics).map((l) => JSON.stringify(l)).join('')));
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
