// Which worker this process is when the relay runs several (service.workers above 1), and
// the paths that must be a worker's own: two processes appending to one file, or writing
// one write-ahead log, would interleave and corrupt it.
import cluster from 'node:cluster';
import * as path from 'node:path';

/** Set by the primary on each worker it forks. */
export const WORKER_INDEX_ENV = 'AGENTRELAY_WORKER_INDEX';

function readIndex(): number | undefined {
  const raw = process.env[WORKER_INDEX_ENV];
  return cluster.isWorker && raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/** This worker's index (0, 1, ...), or undefined when the relay is one process. */
export const workerIndex: number | undefined = readIndex();

/** `dir/name.ext` as `dir/name.worker-<i>.ext` in worker i; as it is in a single process. */
export function workerFile(file: string): string {
  if (workerIndex === undefined) return file;
  const { dir, name, ext } = path.parse(file);
  return path.join(dir, `${name}.worker-${workerIndex}${ext}`);
}

/** `dir` as `dir/worker-<i>` in worker i; as it is in a single process. */
export function workerDirectory(dir: string): string {
  return workerIndex === undefined ? dir : path.join(dir, `worker-${workerIndex}`);
}
