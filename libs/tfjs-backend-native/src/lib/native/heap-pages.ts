/**
 * How much of the malloc heap is in huge pages and the warning for when too little of it is, and
 * the warning for a training thread on a secondary malloc arena. The addon collapses the heap one
 * 2 MiB stretch at a time and reports how many failed; a stretch that held no page at all (never
 * written, or given back) fails with EINVAL too, so only the heap's own figures say whether
 * training got its huge pages.
 */
import * as fs from 'fs';
import type { HugePagesResult } from './native-addon';

/** The malloc heap's resident bytes and how many of them are huge pages. */
export interface HeapPages {
  residentBytes: number;
  hugeBytes: number;
}

/**
 * An anonymous read-write mapping at least this large may hold malloc's memory: the main arena goes
 * on in such mappings once the brk heap runs into another mapping (native/huge-pages.cc).
 */
const MALLOC_REGION_BYTES = 32 * 2 ** 20;

/** Whether an smaps header line opens a mapping that may hold malloc's memory (the addon's rule). */
function mallocRegion(header: string): boolean {
  const [range, perms, , , inode, path] = header.trim().split(/\s+/);
  if (path === '[heap]') return true;
  const [start, end] = range.split('-').map((hex) => parseInt(hex, 16));
  return path === undefined && inode === '0' && perms === 'rw-p' && end - start >= MALLOC_REGION_BYTES;
}

/**
 * Sums `Rss` and `AnonHugePages` over the mappings that may hold malloc's memory: the [heap]
 * mappings (advising part of the heap splits it into several) and the anonymous read-write mappings
 * of 32 MiB or more; in an smaps text, by default the process's own `/proc/self/smaps`. Undefined
 * where there is no such file or no such mapping in it.
 */
export function heapPages(smaps?: string): HeapPages | undefined {
  let text = smaps;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/smaps', 'utf8');
    } catch {
      return undefined; // not Linux, or no procfs
    }
  }
  let inHeap = false;
  let found = false;
  const pages = { residentBytes: 0, hugeBytes: 0 };
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inHeap = mallocRegion(line); // a mapping's header line
      found ||= inHeap;
      continue;
    }
    if (!inHeap) continue;
    const field = /^(Rss|AnonHugePages):\s+(\d+) kB/.exec(line);
    if (field?.[1] === 'Rss') pages.residentBytes += Number(field[2]) * 1024;
    if (field?.[1] === 'AnonHugePages') pages.hugeBytes += Number(field[2]) * 1024;
  }
  return found ? pages : undefined;
}

/** Below this share of the resident heap in huge pages, training is told it runs without them. */
const ENOUGH_HUGE = 0.5;
/**
 * No warning below this heap: the gains were measured where the heap is 1.8 GiB (`small`) and 3.2 GiB
 * (GPT-2 124M); a test process or a tiny model (~0.6 GiB) would only be told of a cost it hardly pays.
 */
const SMALL_HEAP_BYTES = 2 ** 30;

/**
 * The warning for a heap that did not get its huge pages, or undefined when it did: when the kernel
 * reported no error, or reported one but most of the resident heap is in huge pages anyway
 * (`heap`, measured after the call), or the heap is too small for it to matter. Training goes on
 * either way, only slower, so it is said once rather than thrown.
 */
export function hugePagesWarning(result: HugePagesResult, heap?: HeapPages): string | undefined {
  if (!result.error) return undefined;
  const mostlyHuge = heap && heap.hugeBytes >= ENOUGH_HUGE * heap.residentBytes;
  if (mostlyHuge || (heap && heap.residentBytes < SMALL_HEAP_BYTES)) return undefined;
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  const share = heap ? ` (${mib(heap.hugeBytes)} of its ${mib(heap.residentBytes)} MiB in huge pages)` : '';
  return (
    `huge pages for the heap: ${result.error}; the heap stays mostly in 4 KiB pages${share} and ` +
    'steps run slower (4-7% for GPT-2 124M). Check /sys/kernel/mm/transparent_hugepage/enabled ' +
    '(madvise or always), or set FORGE_HUGE_PAGES=0 to skip this.'
  );
}

/** The setting that puts every thread of a process on glibc's main arena from its start. */
export const ONE_ARENA_TUNABLE = 'glibc.malloc.arena_max=1';

/**
 * The environment for a process that trains on a thread of its own (a worker): `env` with
 * {@link ONE_ARENA_TUNABLE} added to `GLIBC_TUNABLES`, unless the tunables there already set the
 * number of arenas (glibc reads them only at the process's start, so a launcher sets them).
 */
export function oneArenaEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tunables = env.GLIBC_TUNABLES;
  if (tunables?.includes('glibc.malloc.arena_max=')) return { ...env };
  return { ...env, GLIBC_TUNABLES: tunables ? `${ONE_ARENA_TUNABLE}:${tunables}` : ONE_ARENA_TUNABLE };
}

/**
 * The warning for a training thread that allocates from a secondary malloc arena (see the addon's
 * `mallocArena`), when the process holds at least `SMALL_HEAP_BYTES` (`residentBytes`). Such an
 * arena is made of heaps of up to 64 MiB that glibc unmaps as soon as they are empty, whatever the
 * trim threshold, so a step may fault its tensors in again (before the tensor memory pool a worker
 * thread trained 1.57x slower so). A thread started after the process tuned malloc usually lands
 * on the main arena, but not always (another thread may hold it at that instant); only the setting
 * at the process's start makes it certain.
 */
export function secondaryArenaWarning(residentBytes: number): string | undefined {
  if (residentBytes < SMALL_HEAP_BYTES) return undefined;
  return (
    'malloc: this thread allocates from a secondary malloc arena, which returns freed memory to ' +
    'the system, so steps may fault their tensors in again. Start the process with ' +
    `GLIBC_TUNABLES=${ONE_ARENA_TUNABLE}, as the worker images, \`forge cluster up\` and ` +
    'bench:scaling do.'
  );
}
