// CPU time of each thread of this process, from /proc (Linux): tells the event loop's own CPU
// from what V8's helper threads (concurrent GC) and libuv's pool spend. Elsewhere it reads nothing.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export type ThreadTimes = ReadonlyMap<string, { readonly name: string; readonly seconds: number }>;

export function threadTimes(): ThreadTimes {
  const times = new Map<string, { name: string; seconds: number }>();
  try {
    for (const id of readdirSync('/proc/self/task')) {
      try {
        const stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        times.set(id, { name, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
      } catch {
        // the thread ended
      }
    }
  } catch {
    // not Linux
  }
  return times;
}

/** CPU seconds per thread name between two readings (the main thread is named after the process). */
export function threadCpuBetween(before: ThreadTimes, after: ThreadTimes): Map<string, number> {
  const byName = new Map<string, number>();
  const main = String(process.pid);
  for (const [id, { name, seconds }] of after) {
    const label = id === main ? 'main' : name;
    byName.set(label, (byName.get(label) ?? 0) + seconds - (before.get(id)?.seconds ?? 0));
  }
  return byName;
}

/** Context switches (voluntary and not) of every thread of this process so far (Linux; 0 elsewhere). */
export function contextSwitches(): number {
  let total = 0;
  try {
    for (const id of readdirSync('/proc/self/task')) {
      try {
        const status = readFileSync(`/proc/self/task/${id}/status`, 'utf8');
        for (const match of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) total += Number(match[1]);
      } catch {
        // the thread ended
      }
    }
  } catch {
    // not Linux
  }
  return total;
}
