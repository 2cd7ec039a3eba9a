// Every way a process is asked to stop: SIGTERM or SIGINT (once, or repeatedly: a process
// manager and a terminal may both send one, and a second must not kill the process by
// default action), or the process that started it going away without passing a signal on
// (npm exits on SIGTERM and leaves its child running). The handler hears the first request
// and every repeat.
const PARENT_CHECK_MS = 500;

export function onShutdownRequest(handler: (reason: string, repeated: boolean) => void): void {
  let requested = false;
  const request = (reason: string) => {
    handler(reason, requested);
    requested = true;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => request(signal));
  const parent = process.ppid;
  if (parent > 1) {
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      request('the process that started this one has gone');
    }, PARENT_CHECK_MS);
    watch.unref();
  }
}
