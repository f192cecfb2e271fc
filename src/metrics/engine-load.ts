// What the engine's process costs the machine, read at a moment: its CPU seconds so far, and —
// on Linux — how long its event-loop thread has waited for a CPU while it had work
// (/proc/thread-self/schedstat, the scheduler's own run-queue delay). An engine starved of CPU
// by other processes shows there long before it shows in m and o.
import { readFileSync } from 'node:fs';

export interface EngineLoad {
  /** The process's user + system CPU seconds since it started. */
  readonly cpuSeconds: number;
  /** Seconds the calling thread waited on a run queue since it started; undefined where unknown. */
  readonly cpuWaitSeconds: number | undefined;
}

let schedstatReadable = process.platform === 'linux';

/** Call from the event-loop thread: the wait is that thread's. */
export function engineLoad(): EngineLoad {
  const cpu = process.cpuUsage();
  let cpuWaitSeconds: number | undefined;
  if (schedstatReadable) {
    try {
      // "run time (ns) wait time (ns) timeslices"
      cpuWaitSeconds = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e9;
      if (!Number.isFinite(cpuWaitSeconds)) cpuWaitSeconds = undefined;
    } catch {
      schedstatReadable = false;
    }
  }
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, cpuWaitSeconds };
}
