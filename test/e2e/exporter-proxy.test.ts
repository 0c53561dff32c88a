// The otlphttp exporter goes through the proxy named by HTTP_PROXY / HTTPS_PROXY, and
// straight to the backend for hosts in NO_PROXY, as the standard variables promise.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { freePort, startRelay, waitFor } from '../helpers/relay-process';

/** A forward proxy that tunnels CONNECT and forwards absolute-form requests, counting both. */
async function startProxy(): Promise<{ port: number; used: () => number; close: () => Promise<void> }> {
  let used = 0;
  const server = http.createServer((req, res) => {
    used++;
    const target = new URL(req.url ?? '');
    const up = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  server.on('connect', (req, socket, head) => {
    used++;
    const [host, port] = (req.url ?? '').split(':');
    const up = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    used: () => used,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function startBackend(): Promise<{ port: number; bodies: () => number; close: () => Promise<void> }> {
  let bodies = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      bodies++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    bodies: () => bodies,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function sendThrough(noProxy: string): Promise<{ proxied: number; delivered: number }> {
  const proxy = await startProxy();
  const backend = await startBackend();
  const port = await freePort();
  const relay = await startRelay(
    `
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${port}}
exporters:
  otlphttp: {endpoint: "http://127.0.0.1:${backend.port}", compression: none}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [otlphttp]}
`,
    {
      // Both spellings set: undici reads the lowercase one first, and the test's own environment may hold either.
      env: {
        HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
        http_proxy: `http://127.0.0.1:${proxy.port}`,
        HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`,
        https_proxy: `http://127.0.0.1:${proxy.port}`,
        NO_PROXY: noProxy,
        no_proxy: noProxy,
      },
    },
  );
  try {
    const body = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'via proxy?' } }] }] }] };
    const r = await fetch(`http://127.0.0.1:${port}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200);
    await waitFor(() => backend.bodies() >= 1, 10000, 'the backend received the request');
    return { proxied: proxy.used(), delivered: backend.bodies() };
  } finally {
    await relay.stop();
    await proxy.close();
    await backend.close();
  }
}

test('HTTP_PROXY: the export goes through the proxy', async () => {
  const r = await sendThrough('');
  assert.equal(r.delivered, 1);
  assert.ok(r.proxied >= 1, 'the proxy saw the request');
});

test('NO_PROXY naming the backend: the export goes straight to it', async () => {
  const r = await sendThrough('127.0.0.1');
  assert.equal(r.delivered, 1);
  assert.equal(r.proxied, 0);
});
