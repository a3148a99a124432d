/**
 * Loaded with --import into every service the test kit spawns. A test worker that vitest
 * kills never runs its afterAll, and the services it started would live on, holding ports,
 * database connections and CPU for the rest of the run. The worker holds the other end of
 * this process's stdin: when the worker dies for any reason the pipe closes, and so do we.
 */
process.stdin.on('end', () => {
  process.kill(process.pid, 'SIGKILL');
});
process.stdin.on('error', () => {
  process.kill(process.pid, 'SIGKILL');
});
process.stdin.resume();
// The guard must not be the reason a service that finished its work keeps running, and
// neither must the IPC channel the service announces its address on: both are unreferenced.
process.stdin.unref();
process.channel?.unref();
