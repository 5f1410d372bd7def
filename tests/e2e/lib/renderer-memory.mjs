// The memory of a headless Chromium's renderer processes, read from /proc (Linux): what a page
// holds while it downloads or uploads, to show that it does not grow with the file. Used by
// the download bench (bench/download.mjs) and the sidebar's large-download test.

import { readdir, readFile } from 'node:fs/promises';

/** PIDs of the renderer processes below the Chromium whose profile is `userDataDir`. */
export async function rendererPids(userDataDir) {
  const procs = new Map();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      const statLine = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[1]);
      procs.set(Number(name), { cmd, ppid });
    } catch { /* gone */ }
  }
  const root = [...procs].find(([, p]) => p.cmd.join(' ').includes(`--user-data-dir=${userDataDir}`) && !p.cmd.join(' ').includes('--type='));
  if (!root) return [];
  const below = (pid) => { for (let p = procs.get(pid); p; p = procs.get(p.ppid)) if (p.ppid === root[0]) return true; return false; };
  // Zygote-forked children rewrite their command line into one space-separated string.
  return [...procs].filter(([pid, p]) => p.cmd.join(' ').includes('--type=renderer') && below(pid)).map(([pid]) => pid);
}

/** Resident memory of one process, in bytes (0 once it is gone). */
export async function rssBytes(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch { return 0; }
}

/** The resident memory of all renderers of that Chromium, summed, in bytes. */
export async function rendererRss(userDataDir) {
  let total = 0;
  for (const pid of await rendererPids(userDataDir)) total += await rssBytes(pid);
  return total;
}

/**
 * Samples rendererRss every `everyMs` until `stop()`, which resolves to `{ first, peak }`
 * (bytes): the first sample and the highest.
 */
export function sampleRendererMemory(userDataDir, everyMs = 100) {
  let sampling = true;
  let first = null;
  let peak = 0;
  const loop = (async () => {
    while (sampling) {
      const total = await rendererRss(userDataDir);
      if (first === null) first = total;
      peak = Math.max(peak, total);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      sampling = false;
      await loop;
      return { first: first ?? 0, peak };
    },
  };
}
