// Both receivers stop the same way: ask the server to finish what it is serving,
// and force it closed if the deadline comes first.
export function closeBy(deadline: number, graceful: (done: () => void) => void, force: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      force();
      resolve();
    }, Math.max(0, deadline - Date.now()));
    graceful(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
