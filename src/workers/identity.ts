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

// Worker 0 keeps the paths a single process uses: going from one process to several, or
// back, the first worker still reads the persistent queue that was left.

/** `dir/name.ext` as `dir/name.worker-<i>.ext` in worker i above 0; as it is otherwise. */
export function workerFile(file: string): string {
  if (!workerIndex) return file;
  const { dir, name, ext } = path.parse(file);
  return path.join(dir, `${name}.worker-${workerIndex}${ext}`);
}

/** `dir` as `dir/worker-<i>` in worker i above 0; as it is otherwise. */
export function workerDirectory(dir: string): string {
  return !workerIndex ? dir : path.join(dir, `worker-${workerIndex}`);
}
