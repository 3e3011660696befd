// Children that must not outlive this process (a test's etcd, neutron-server, MariaDB): killed on a
// normal exit and on the signals that end it. 'exit' does not run when a signal ends the process, and
// node's test runner stops a timed-out file with SIGTERM, so those signals get a hook too; it
// re-raises the signal unless someone else handles it.
const kills = new Set<() => void>();
let installed = false;

function killAll(): void {
  for (const kill of kills) {
    try {
      kill();
    } catch {
      // already gone
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.once(sig, onSignal);
  }
}

/** Runs `kill` (which must be synchronous) if this process ends first; the returned function cancels it. */
export function killOnExit(kill: () => void): () => void {
  install();
  kills.add(kill);
  return () => kills.delete(kill);
}
