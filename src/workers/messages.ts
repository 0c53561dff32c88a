// What the primary and its workers say to each other over the cluster's IPC channel.

/** Worker to primary. */
export type FromWorker = { t: 'ready' } | { t: 'metrics'; id: number; text: string };

/** Primary to worker. */
export type ToWorker = { t: 'metrics'; id: number };
