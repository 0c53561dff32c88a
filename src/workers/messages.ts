// What the primary and its workers say to each other over the cluster's IPC channel.

/** Worker to primary. */
export type FromWorker = { t: 'ready' } | { t: 'pong' } | { t: 'metrics'; id: number; text: string };

/** Primary to worker. */
export type ToWorker =
  | { t: 'metrics'; id: number }
  /** Answer with pong: the primary replaces a worker whose event loop stops turning. */
  | { t: 'ping' }
  /** Load the config file again (the primary got SIGHUP, or --watch saw a change). */
  | { t: 'reload' }
  /** Drain and exit (the primary got SIGTERM or SIGINT). */
  | { t: 'stop' }
  /** Exit now, without draining (a second signal). */
  | { t: 'hurry' };
