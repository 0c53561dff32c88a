// A relay stopped while it is still starting must not leave a receiver listening: the
// stop waits for the start, then shuts everything down (in process, real sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { loadConfigText } from '../../src/config/load';
import { Relay } from '../../src/relay';
import { createLogger } from '../../src/telemetry/logger';
import { freePort } from '../helpers/relay-process';

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

test('stop() during start() leaves no receiver listening', async () => {
  const [http, grpc] = [await freePort(), await freePort()];
  const r = loadConfigText(
    `receivers: {otlp: {protocols: {http: {endpoint: 127.0.0.1:${http}}, grpc: {endpoint: 127.0.0.1:${grpc}}}}}
exporters: {debug: {}}
service:
  pipelines: {logs: {receivers: [otlp], exporters: [debug]}}
  telemetry: {metrics: {address: ""}, health: {endpoint: ""}, shutdown_timeout: 2s}
`,
    {},
  );
  assert.ok(r.config, r.errors.join('\n'));
  const relay = new Relay(r.config!, createLogger({ level: 'silent' }));
  const started = relay.start();
  const stopped = relay.stop();
  await Promise.allSettled([started, stopped]);
  assert.equal(await listening(http), false, 'the HTTP receiver is closed');
  assert.equal(await listening(grpc), false, 'the gRPC receiver is closed');
});
