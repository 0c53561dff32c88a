// Receiver authentication and TLS on a real relay process, over HTTP and gRPC:
//  - bearer tokens from the environment, from the config and from a file: no
//    token and a wrong token get 401 / UNAUTHENTICATED (counted), each right token
//    gets through; a header scheme (x-api-key) the same way;
//  - TLS with a CA and certificates made by openssl in this test, and mutual TLS:
//    a client that does not trust the CA, or has no client certificate, is refused
//    at the handshake; one that does gets through. No token ever appears in the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { counterValue, freePort, readJsonLines, startRelay, tempDir, type RunningRelay } from '../helpers/relay-process';
import { logsJson, logsProto, postJson, unary } from './delivery-helpers';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TOKEN_ENV = 'env-token-1f3a9c';
const TOKEN_CFG = 'cfg-token-77d0e2';
const TOKEN_FILE = 'file-token-c4b5a1';
const API_KEY = 'api-key-9e8d7c';
const TLS_TOKEN = 'tls-token-5a6b7c';

let relay: RunningRelay;
let certs: string;
const ports: Record<string, { http: number; grpc: number }> = {};
const clients: grpc.Client[] = [];
const pem = (name: string) => fs.readFileSync(path.join(certs, name));

function makeCerts(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=agentrelay test CA');
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    ssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'agent'}`);
    ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', `${who}.ext`);
  }
  // A second CA the relay does not know, with a client certificate of its own.
  ssl('req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=someone else');
}

before(async () => {
  certs = tempDir('agentrelay-certs-');
  makeCerts(certs);
  fs.writeFileSync(path.join(certs, 'tokens'), `# rotated weekly\n\n${TOKEN_FILE}\n`);
  for (const name of ['tok', 'hdr', 'tls', 'mtls']) ports[name] = { http: await freePort(), grpc: await freePort() };
  const tls = `{cert_file: ${certs}/server.pem, key_file: ${certs}/server.key}`;
  const mtls = `{cert_file: ${certs}/server.pem, key_file: ${certs}/server.key, client_ca_file: ${certs}/ca.pem}`;
  const tokAuth = `
        auth:
          bearer_token: \${env:RELAY_TOKEN}
          bearer_tokens: [${TOKEN_CFG}]
          tokens_file: ${certs}/tokens`;
  const hdrAuth = `
        auth: {header: x-api-key, bearer_tokens: [${API_KEY}]}`;
  const tlsAuth = `
        auth: {bearer_tokens: [${TLS_TOKEN}]}`;
  relay = await startRelay(
    `
receivers:
  otlp/tok:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.tok.http}${tokAuth}
      grpc:
        endpoint: 127.0.0.1:${ports.tok.grpc}${tokAuth}
  otlp/hdr:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.hdr.http}${hdrAuth}
      grpc:
        endpoint: 127.0.0.1:${ports.hdr.grpc}${hdrAuth}
  otlp/tls:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.tls.http}
        tls: ${tls}${tlsAuth}
      grpc:
        endpoint: 127.0.0.1:${ports.tls.grpc}
        tls: ${tls}${tlsAuth}
  otlp/mtls:
    protocols:
      http: {endpoint: 127.0.0.1:${ports.mtls.http}, tls: ${mtls}}
      grpc: {endpoint: 127.0.0.1:${ports.mtls.grpc}, tls: ${mtls}}
exporters:
  file:
    path: out.jsonl
service:
  pipelines:
    logs:
      receivers: [otlp/tok, otlp/hdr, otlp/tls, otlp/mtls]
      exporters: [file]
`,
    { env: { RELAY_TOKEN: TOKEN_ENV } },
  );
});

after(async () => {
  for (const c of clients) c.close();
  if (relay) {
    const code = await relay.stop();
    const out = relay.output();
    for (const secret of [TOKEN_ENV, TOKEN_CFG, TOKEN_FILE, API_KEY, TLS_TOKEN]) assert.ok(!out.includes(secret), `a token is in the log: ${secret}`);
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, out);
  }
  fs.rmSync(certs, { recursive: true, force: true });
});

function delivered(): Set<string> {
  const out = new Set<string>();
  for (const line of readJsonLines(path.join(relay.dir, 'out.jsonl')) as Json[])
    for (const rl of line.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) out.add(lr.body?.stringValue);
  return out;
}

function grpcClient(port: number, creds = grpc.credentials.createInsecure()): grpc.Client {
  const c = new grpc.Client(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
  clients.push(c);
  return c;
}

function md(key: string, value: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set(key, value);
  return m;
}

const authFailures = async (receiver: string, transport: string) =>
  counterValue(await relay.metrics(), 'agentrelay_receiver_bad_requests_total', { component: receiver, transport, reason: 'auth' });

test('bearer tokens over HTTP: none and wrong get 401; tokens from env, config and file get through', async () => {
  for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${TOKEN_ENV}x` }, { authorization: TOKEN_ENV }, { authorization: 'Bearer ' }]) {
    const r = await postJson(ports.tok.http, 'logs', logsJson(['never-http']), headers);
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.headers['www-authenticate'], 'Bearer');
  }
  assert.equal(await authFailures('otlp/tok', 'http'), 4);
  for (const [i, tok] of [TOKEN_ENV, TOKEN_CFG, TOKEN_FILE].entries()) {
    const r = await postJson(ports.tok.http, 'logs', logsJson([`http-ok-${i}`]), { authorization: `Bearer ${tok}` });
    assert.equal(r.status, 200, r.body);
  }
  const got = delivered();
  assert.ok(['http-ok-0', 'http-ok-1', 'http-ok-2'].every((b) => got.has(b)));
  assert.ok(!got.has('never-http'));
});

test('bearer tokens over gRPC: none and wrong get UNAUTHENTICATED; right ones get through', async () => {
  const c = grpcClient(ports.tok.grpc);
  for (const m of [new grpc.Metadata(), md('authorization', 'Bearer nope'), md('authorization', TOKEN_CFG)]) {
    const { err } = await unary(c, logsProto(['never-grpc']), m);
    assert.equal(err?.code, grpc.status.UNAUTHENTICATED, err?.message);
  }
  assert.equal(await authFailures('otlp/tok', 'grpc'), 3);
  for (const [i, tok] of [TOKEN_ENV, TOKEN_CFG, TOKEN_FILE].entries()) {
    const { err } = await unary(c, logsProto([`grpc-ok-${i}`]), md('authorization', `Bearer ${tok}`));
    assert.equal(err, null, err?.message);
  }
  const got = delivered();
  assert.ok(['grpc-ok-0', 'grpc-ok-1', 'grpc-ok-2'].every((b) => got.has(b)));
  assert.ok(!got.has('never-grpc'));
});

test('a header scheme (x-api-key) over HTTP and gRPC', async () => {
  assert.equal((await postJson(ports.hdr.http, 'logs', logsJson(['never-hdr']), { authorization: `Bearer ${API_KEY}` })).status, 401);
  assert.equal((await postJson(ports.hdr.http, 'logs', logsJson(['never-hdr']), { 'x-api-key': 'wrong' })).status, 401);
  assert.equal((await postJson(ports.hdr.http, 'logs', logsJson(['hdr-http']), { 'x-api-key': API_KEY })).status, 200);
  const c = grpcClient(ports.hdr.grpc);
  assert.equal((await unary(c, logsProto(['never-hdr']), md('x-api-key', 'wrong'))).err?.code, grpc.status.UNAUTHENTICATED);
  assert.equal((await unary(c, logsProto(['hdr-grpc']), md('x-api-key', API_KEY))).err, null);
  const got = delivered();
  assert.ok(got.has('hdr-http') && got.has('hdr-grpc') && !got.has('never-hdr'));
});

function httpsPost(port: number, opts: https.RequestOptions, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/logs', servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' }, ...opts },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('TLS: a client that trusts the CA gets through (with its token); one that does not is refused', async () => {
  const auth = { 'content-type': 'application/json', authorization: `Bearer ${TLS_TOKEN}` };
  assert.equal(await httpsPost(ports.tls.http, { ca: pem('ca.pem'), headers: auth }, logsJson(['tls-http'])), 200);
  assert.equal(await httpsPost(ports.tls.http, { ca: pem('ca.pem') }, logsJson(['never-tls'])), 401, 'TLS does not replace the token');
  await assert.rejects(httpsPost(ports.tls.http, { headers: auth }, logsJson(['never-tls'])), /self[- ]signed|unable to (get|verify)/i);
  const plain = await postJson(ports.tls.http, 'logs', logsJson(['never-tls']), auth);
  assert.notEqual(plain.status, 200, 'plaintext is not served on a TLS port');

  const ok = grpcClient(ports.tls.grpc, grpc.credentials.createSsl(pem('ca.pem')));
  assert.equal((await unary(ok, logsProto(['tls-grpc']), md('authorization', `Bearer ${TLS_TOKEN}`))).err, null);
  const untrusting = grpcClient(ports.tls.grpc, grpc.credentials.createSsl(pem('other.pem')));
  assert.equal((await unary(untrusting, logsProto(['never-tls']), md('authorization', `Bearer ${TLS_TOKEN}`))).err?.code, grpc.status.UNAVAILABLE);
  const got = delivered();
  assert.ok(got.has('tls-http') && got.has('tls-grpc') && !got.has('never-tls'));
});

test('mutual TLS: no client certificate or one from another CA is refused; ours gets through', async () => {
  const ours = { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') };
  assert.equal(await httpsPost(ports.mtls.http, ours, logsJson(['mtls-http'])), 200);
  await assert.rejects(httpsPost(ports.mtls.http, { ca: pem('ca.pem') }, logsJson(['never-mtls'])));
  await assert.rejects(httpsPost(ports.mtls.http, { ca: pem('ca.pem'), cert: pem('other.pem'), key: pem('other.key') }, logsJson(['never-mtls'])));

  const good = grpcClient(ports.mtls.grpc, grpc.credentials.createSsl(pem('ca.pem'), pem('client.key'), pem('client.pem')));
  assert.equal((await unary(good, logsProto(['mtls-grpc']))).err, null);
  const anonymous = grpcClient(ports.mtls.grpc, grpc.credentials.createSsl(pem('ca.pem')));
  assert.notEqual((await unary(anonymous, logsProto(['never-mtls']))).err, null);
  const got = delivered();
  assert.ok(got.has('mtls-http') && got.has('mtls-grpc') && !got.has('never-mtls'));
});
