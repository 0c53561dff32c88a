// The worker side of service.workers: a whole relay behind the primary's shared ports,
// without the endpoints the primary serves for all of them (health, /metrics).
import type { RelayConfig } from '../config/load';
import type { Relay } from '../relay';
import type { FromWorker, ToWorker } from './messages';

/** The config as a worker runs it: health and /metrics are the primary's. */
export function asWorkerConfig(cfg: RelayConfig): RelayConfig {
  return {
    ...cfg,
    telemetry: { ...cfg.telemetry, health: { ...cfg.telemetry.health, endpoint: '' }, metrics: { ...cfg.telemetry.metrics, address: '' } },
  };
}

function send(m: FromWorker): void {
  if (process.connected) process.send!(m);
}

/** Tells the primary this worker takes data, and answers its requests for metrics. */
export function answerThePrimary(relay: Relay): void {
  process.on('message', (m: ToWorker) => {
    if (m?.t === 'ping') return send({ t: 'pong' });
    if (m?.t !== 'metrics') return;
    relay.telemetry.prometheusText().then(
      (text) => send({ t: 'metrics', id: m.id, text }),
      () => send({ t: 'metrics', id: m.id, text: '' }),
    );
  });
  send({ t: 'ready' });
}
