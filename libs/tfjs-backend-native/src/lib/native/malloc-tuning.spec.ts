/**
 * glibc malloc tuning (tuneMalloc in native/addon.cc): a worker thread that allocates and frees a
 * large buffer over and over faults its pages in once, not every time, once the main thread has
 * tuned malloc before starting it. Measured in child processes (a process's arenas can be tuned
 * only once, before its threads allocate), by page faults, not time.
 */
import { spawnSync } from 'child_process';
import { tuneProcessMalloc } from '../select-backend';
import { nativeAddonStatus } from './native-addon';

const addon = nativeAddonStatus();
const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
const glibc = process.platform === 'linux' && Boolean(report?.header?.glibcVersionRuntime);

/** Minor page faults per 32 MiB a worker thread allocates, fills and frees (after a first time). */
function faultsPer32MiB(tune: boolean): number {
  const script = `
    const { Worker } = require('worker_threads');
    if (${tune}) { if (!require(${JSON.stringify(addon.path)}).tuneMalloc()) throw new Error('not tuned'); }
    new Worker(\`
      const { parentPort } = require('worker_threads');
      const faults = () => process.resourceUsage().minorPageFault;
      const cycle = () => { let b = new Float32Array(8 << 20); b.fill(1); b = null; gc(); };
      cycle();
      const before = faults();
      for (let i = 0; i < 16; i++) cycle();
      parentPort.postMessage((faults() - before) / 16);
    \`, { eval: true }).on('message', (m) => process.stdout.write(String(m)));`;
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the child failed: ${child.stderr}`);
  return Number(child.stdout);
}

(addon.loaded && glibc ? describe : describe.skip)('malloc tuning (native addon, glibc)', () => {
  it("keeps a worker thread's freed buffers for reuse instead of faulting them in every time", () => {
    const pages = (32 << 20) / 4096;
    expect(faultsPer32MiB(false)).toBeGreaterThan(0.9 * pages); // untuned: its own arena gives them back
    expect(faultsPer32MiB(true)).toBeLessThan(0.25 * pages); // tuned: at most a refill or two in 16;
  });
});

describe('tuneProcessMalloc', () => {
  it('does nothing with FORGE_MALLOC_TUNING=0', () => {
    const saved = process.env.FORGE_MALLOC_TUNING;
    process.env.FORGE_MALLOC_TUNING = '0';
    try {
      expect(tuneProcessMalloc()).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.FORGE_MALLOC_TUNING;
      else process.env.FORGE_MALLOC_TUNING = saved;
    }
  });
});
