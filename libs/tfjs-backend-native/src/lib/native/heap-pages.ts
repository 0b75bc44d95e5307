/**
 * How much of the malloc heap is in huge pages, and the warning for when too little of it is.
 * MADV_COLLAPSE reports one error for a whole range: EINVAL when any 2 MiB stretch of it could not
 * be collapsed (in the kernel's code, one that held no page at all, never written or given back,
 * counts as such), even where it collapsed the rest. So only the heap's own figures say whether
 * training got its huge pages.
 */
import * as fs from 'fs';
import type { HugePagesResult } from './native-addon';

/** The [heap] mapping's resident bytes and how many of them are huge pages. */
export interface HeapPages {
  residentBytes: number;
  hugeBytes: number;
}

/**
 * Sums `Rss` and `AnonHugePages` over the [heap] mappings of an smaps text (by default the
 * process's own `/proc/self/smaps`; advising part of the heap splits it into several mappings).
 * Undefined where there is no such file or no heap in it.
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
      inHeap = line.trimEnd().endsWith('[heap]'); // a mapping's header line
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
