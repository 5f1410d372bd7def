// How busy the machine's processors were over a stretch of time, read from /proc/stat (Linux).
// The browser benches print it next to each throughput: on a small machine the browser, its
// network process and the server share the cores, so a path that leaves them idle is waiting
// on something, and one that keeps them all busy is at the machine's limit, where every byte
// of work the page adds (reading, encrypting, hashing) comes out of the throughput.

import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The processors' time so far: `{ busy, total }` in clock ticks, all cores together. */
export function cpuTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already counted in user)
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

/** Starts a measurement; `stop()` answers the share of all cores busy since, e.g. "87 % of 2". */
export function measureCpu() {
  const start = cpuTicks();
  return {
    stop() {
      const end = cpuTicks();
      const share = (end.busy - start.busy) / Math.max(1, end.total - start.total);
      return `${(100 * share).toFixed(0)} % of ${os.cpus().length}`;
    },
  };
}
