/**
 * Huge pages for the malloc heap (adviseHugePages in native/huge-pages.cc, settleHugePages in
 * select-backend.ts). The kernel's part is measured in a child process, whose heap is small and
 * its own: after a 64 MiB buffer is written in 4 KiB pages, advising and collapsing the heap turns
 * it into 2 MiB pages (AnonHugePages) without adding to RSS. Skipped where the addon is not built
 * or the system does not lend huge pages (not Linux, THP set to `never`). Also the heap's figures
 * (heapPages, native/heap-pages.ts) and when they call for a warning, and which malloc arena a thread
 * allocates from (mallocArena in native/addon.cc) with and without one arena set at the start.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { settleHugePages } from '../select-backend';
import { heapPages, hugePagesWarning, oneArenaEnv, secondaryArenaWarning } from './heap-pages';
import { nativeAddonStatus } from './native-addon';

const addon = nativeAddonStatus();
const THP = '/sys/kernel/mm/transparent_hugepage/enabled';
const thpMode = fs.existsSync(THP) ? /\[(\w+)\]/.exec(fs.readFileSync(THP, 'utf8'))?.[1] : undefined;
const lendsHugePages = process.platform === 'linux' && thpMode !== undefined && thpMode !== 'never';

/** The child's huge-page and resident MiB before and after it advises its heap. */
function adviseInChild(): { before: number; after: number; rssGrowth: number; result: unknown } {
  const script = `
    const fs = require('fs');
    const addon = require(${JSON.stringify(addon.path)});
    if (!addon.tuneMalloc()) throw new Error('malloc not tuned');
    const field = (name) => Number(new RegExp(name + ':\\\\s+(\\\\d+)').exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]) / 1024;
    const buffer = new Float32Array(Buffer.allocUnsafeSlow(64 << 20).buffer);
    buffer.fill(1);
    const [before, rss] = [field('AnonHugePages'), field('Rss')];
    const result = addon.adviseHugePages(true);
    if (buffer.some((x) => x !== 1)) throw new Error('the buffer changed');
    process.stdout.write(JSON.stringify({ before, after: field('AnonHugePages'), rssGrowth: field('Rss') - rss, result }));`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { before: number; after: number; rssGrowth: number; result: unknown };
}

/**
 * A thread on an arena of its own (started before tuneMalloc) writes a 96 MiB buffer, which glibc
 * maps by itself outside [heap], as it does the main arena's memory once the brk heap runs into
 * another mapping; the child's huge-page MiB before and after the thread collapses.
 */
function collapseOutsideHeapInChild(): { before: number; after: number; result: unknown } {
  const script = `
    const { Worker } = require('worker_threads');
    const body = \`
      const fs = require('fs');
      const addon = require(\${JSON.stringify(${JSON.stringify(addon.path)})});
      const huge = () => Number(/AnonHugePages:\\\\s+(\\\\d+)/.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]) / 1024;
      const buffer = new Float32Array(Buffer.allocUnsafeSlow(96 << 20).buffer);
      buffer.fill(1);
      const before = huge();
      const result = addon.adviseHugePages(true);
      if (buffer.some((x) => x !== 1)) throw new Error('the buffer changed');
      require('worker_threads').parentPort.postMessage({ before, after: huge(), result });\`;
    new Worker(body, { eval: true }).once('message', (m) => process.stdout.write(JSON.stringify(m)));`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { before: number; after: number; result: unknown };
}

(addon.loaded && lendsHugePages ? describe : describe.skip)(
  'adviseHugePages (native addon, Linux THP)',
  () => {
    it('collapses malloc memory outside [heap] too (glibc, an anonymous mapping of its own)', () => {
      const { before, after, result } = collapseOutsideHeapInChild();
      expect(after - before).toBeGreaterThanOrEqual(80); // MiB of the 96 MiB buffer
      expect((result as { collapsedBytes: number }).collapsedBytes).toBeGreaterThanOrEqual(80 << 20);
    });

    it('turns a written heap buffer into huge pages, contents and RSS unchanged', () => {
      const { before, after, rssGrowth, result } = adviseInChild();
      expect(result).toMatchObject({ collapsed: true });
      expect((result as { bytes: number }).bytes).toBeGreaterThanOrEqual(62 << 20);
      expect((result as { collapsedBytes: number }).collapsedBytes).toBeGreaterThanOrEqual(48 << 20);
      expect(after - before).toBeGreaterThanOrEqual(48); // MiB of the 64 MiB buffer in 2 MiB pages
      expect(rssGrowth).toBeLessThan(16); // the collapse fills no more than the partial pages at its edges
    });
  },
);

const glibc = Boolean(
  (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
    ?.glibcVersionRuntime,
);

/** The arena of the main thread and of threads started before and after tuneMalloc, in a child. */
function arenasInChild(env: NodeJS.ProcessEnv): { main: string; early: string; late: string } {
  const script = `
    const { Worker } = require('worker_threads');
    const addon = require(${JSON.stringify(addon.path)});
    const body = 'require("worker_threads").parentPort.postMessage(require(' + JSON.stringify(${JSON.stringify(addon.path)}) + ').mallocArena())';
    const arenaOf = () => new Promise((resolve) => new Worker(body, { eval: true }).once('message', resolve));
    (async () => {
      const main = addon.mallocArena();
      const early = await arenaOf(); // before tuneMalloc: a thread gets an arena of its own
      addon.tuneMalloc();
      const late = await arenaOf();
      process.stdout.write(JSON.stringify({ main, early, late }));
    })();`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env });
  if (child.status !== 0) throw new Error(`the child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { main: string; early: string; late: string };
}

(addon.loaded && glibc ? describe : describe.skip)('mallocArena (native addon, glibc)', () => {
  it('tells a thread on its own arena from one on the main arena', () => {
    const env = { ...process.env };
    delete env.GLIBC_TUNABLES; // the arena count set at the start, either way
    delete env.MALLOC_ARENA_MAX;
    const { main, early } = arenasInChild(env);
    expect(main).toBe('main');
    expect(early).toBe('secondary');
  });

  it('puts every thread on the main arena when the process starts with oneArenaEnv', () => {
    expect(arenasInChild(oneArenaEnv({ ...process.env }))).toEqual({ main: 'main', early: 'main', late: 'main' });
  });
});

describe('oneArenaEnv and the secondary-arena warning', () => {
  it('adds the arena setting to the tunables a launcher passes on, keeping theirs', () => {
    expect(oneArenaEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' });
    expect(oneArenaEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }).GLIBC_TUNABLES).toBe(
      'glibc.malloc.arena_max=1:glibc.malloc.hugetlb=1',
    );
    // an arena count set by the user stays theirs
    expect(oneArenaEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' }).GLIBC_TUNABLES).toBe(
      'glibc.malloc.arena_max=4',
    );
  });

  it('warns a process of 1 GiB or more, saying what to set', () => {
    expect(secondaryArenaWarning(500 << 20)).toBeUndefined();
    const warning = secondaryArenaWarning(2 ** 31);
    expect(warning).toContain('secondary malloc arena');
    expect(warning).toContain('Start the process with GLIBC_TUNABLES=glibc.malloc.arena_max=1');
  });
});

describe('settleHugePages', () => {
  it('does nothing with FORGE_HUGE_PAGES=0, and only its first call ever acts', () => {
    const saved = process.env.FORGE_HUGE_PAGES;
    process.env.FORGE_HUGE_PAGES = '0';
    try {
      expect(settleHugePages()).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.FORGE_HUGE_PAGES;
      else process.env.FORGE_HUGE_PAGES = saved;
    }
    expect(settleHugePages()).toBeUndefined(); // once per process: the first call was the one
  });

  it('warns, saying why and what to do, only when the heap did not get its huge pages', () => {
    const error = 'madvise(MADV_COLLAPSE): Invalid argument';
    const MiB = 1 << 20;
    expect(hugePagesWarning({ bytes: 64 * MiB, collapsed: true })).toBeUndefined();
    // EINVAL for an empty 2 MiB stretch, the rest collapsed: nothing to warn about.
    const mostly = { residentBytes: 2000 * MiB, hugeBytes: 1800 * MiB };
    expect(hugePagesWarning({ bytes: 64 * MiB, collapsed: false, error }, mostly)).toBeUndefined();
    const little = { residentBytes: 2000 * MiB, hugeBytes: 200 * MiB };
    const warning = hugePagesWarning({ bytes: 64 * MiB, collapsed: false, error }, little);
    expect(warning).toContain(error);
    expect(warning).toContain('200 of its 2000 MiB in huge pages');
    expect(warning).toContain('FORGE_HUGE_PAGES=0');
    // A heap under 1 GiB (a test process, a tiny model) is not worth a warning.
    const tiny = { residentBytes: 126 * MiB, hugeBytes: 32 * MiB };
    expect(hugePagesWarning({ bytes: 4 * MiB, collapsed: false, error }, tiny)).toBeUndefined();
    // Without the heap's figures, the kernel's error is all there is to go on.
    expect(hugePagesWarning({ bytes: 64 * MiB, collapsed: false, error })).toContain(error);
  });
});

describe('heapPages', () => {
  it('sums the resident and huge-page bytes of the mappings malloc may use, and of nothing else', () => {
    const smaps = [
      '5581a000-5581b000 r--p 00000000 08:01 123 /usr/bin/node',
      'Rss:                   4 kB',
      'AnonHugePages:         0 kB',
      '55a000000000-55a000200000 rw-p 00000000 00:00 0                          [heap]',
      'Rss:                2048 kB',
      'AnonHugePages:         0 kB',
      'VmFlags: rd wr mr mw me ac',
      '55a000200000-55a040200000 rw-p 00000000 00:00 0                          [heap]',
      'Rss:             1048576 kB',
      'AnonHugePages:   1040384 kB',
      '7f0000000000-7f0000100000 rw-p 00000000 00:00 0',
      'Rss:                1024 kB',
      'AnonHugePages:      1024 kB',
    ].join('\n');
    expect(heapPages(smaps)).toEqual({ residentBytes: 1050624 * 1024, hugeBytes: 1040384 * 1024 });
    // the main arena goes on in anonymous mappings once brk runs into another mapping: 64 MiB counts
    const arena = ['7f1000000000-7f1004000000 rw-p 00000000 00:00 0', 'Rss: 65536 kB', 'AnonHugePages: 61440 kB'];
    const shared = ['7f2000000000-7f2004000000 rw-s 00000000 00:05 77 /dev/zero (deleted)', 'Rss: 65536 kB'];
    expect(heapPages([smaps, ...arena, ...shared].join('\n'))).toEqual({
      residentBytes: (1050624 + 65536) * 1024,
      hugeBytes: (1040384 + 61440) * 1024,
    });
    expect(heapPages('7f0000000000-7f0000100000 rw-p 00000000 00:00 0\nRss: 4 kB\n')).toBeUndefined();
  });

  (process.platform === 'linux' ? it : it.skip)('reads this process (Linux)', () => {
    const own = heapPages();
    expect(own?.residentBytes).toBeGreaterThan(0);
    expect(own?.hugeBytes).toBeLessThanOrEqual(own?.residentBytes ?? 0);
  });
});
