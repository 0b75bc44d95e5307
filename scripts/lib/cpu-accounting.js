/**
 * Where the cores' time went during a measurement, from Linux's own accounting: per core, the share
 * the hypervisor took (steal, /proc/stat), and per process, the share it ran and the share it was
 * runnable but waited for its core (/proc/<pid>/task/<tid>/schedstat), summed over its threads and
 * for its busiest thread. bench:scaling uses it to tell a host that computes slower from one that was
 * kept off its core.
 */
'use strict';
const fs = require('fs');

/** USER_HZ: /proc/stat counts in ticks of 1/100 s on every Linux architecture that Node runs on. */
const TICK_MS = 10;

/** Each core's steal time so far, ms (the 8th field of its `cpuN` line). */
function stealByCore() {
  return fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => Number(line.trim().split(/\s+/)[8]) * TICK_MS);
}

/**
 * A process's time on a core and waiting for one so far, ms: in all (summed over its threads) and
 * per thread, by thread id (null: the process is gone).
 */
function processTimes(pid) {
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const threads = {};
  for (const tid of tids) {
    try {
      const [ran, waited] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      threads[tid] = { ranMs: Number(ran) / 1e6, waitedMs: Number(waited) / 1e6 };
    } catch {
      /* the thread ended between the listing and the read */
    }
  }
  const sum = (field) => Object.values(threads).reduce((total, t) => total + t[field], 0);
  return { ranMs: sum('ranMs'), waitedMs: sum('waitedMs'), threads };
}

/**
 * A snapshot of the cores' steal and of the named processes' times, to be compared with a later one
 * by `cpuShares`. `processes` maps a name (e.g. `host-0`, `coordinator`) to a pid.
 */
function cpuSnapshot(processes) {
  const times = {};
  for (const [name, pid] of Object.entries(processes)) times[name] = processTimes(pid);
  return { atMs: performance.now(), steal: stealByCore(), times };
}

/**
 * Shares of the wall time between two snapshots: `stealByCore[i]` (the hypervisor's share of core
 * i) and, per process, `ran` (core time, summed over threads, so it can exceed 1), `waited`
 * (runnable but not running, summed too) and the same two for its `busiest` thread (the one that ran
 * most: a worker's compute thread, whose waits are the ones that slow a step; its other threads
 * mostly wait for it). A process missing from either snapshot is left out.
 */
function cpuShares(before, after) {
  const wallMs = after.atMs - before.atMs;
  const share = (end, start) => ({
    ran: (end.ranMs - (start?.ranMs ?? 0)) / wallMs,
    waited: (end.waitedMs - (start?.waitedMs ?? 0)) / wallMs,
  });
  const processes = {};
  for (const [name, end] of Object.entries(after.times)) {
    const start = before.times[name];
    if (!start || !end) continue;
    const threads = Object.entries(end.threads).map(([tid, t]) => share(t, start.threads[tid]));
    const busiest = threads.reduce((a, b) => (b.ran > a.ran ? b : a), { ran: 0, waited: 0 });
    processes[name] = { ...share(end, start), busiest };
  }
  return {
    wallMs,
    stealByCore: after.steal.map((ms, core) => (ms - (before.steal[core] ?? ms)) / wallMs),
    processes,
  };
}

/**
 * One line for a report: `core 0 steal 2.1%, …; host-0 ran 98.0% waited 15.2% (busiest thread 96.1%
 * / 2.0%), …`.
 */
function formatCpuShares({ stealByCore: steal, processes }) {
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  const cores = steal.map((s, core) => `core ${core} steal ${pct(s)}`).join(', ');
  const procs = Object.entries(processes)
    .map(
      ([name, p]) =>
        `${name} ran ${pct(p.ran)} waited ${pct(p.waited)}` +
        ` (busiest thread ${pct(p.busiest.ran)} / ${pct(p.busiest.waited)})`,
    )
    .join(', ');
  return `${cores}; ${procs}`;
}

module.exports = { cpuSnapshot, cpuShares, formatCpuShares };
