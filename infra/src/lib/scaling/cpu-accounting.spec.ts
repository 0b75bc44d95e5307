/**
 * Where the cores' time went (scripts/lib/cpu-accounting.js, used by `npm run bench:scaling`): a
 * process that computes shows as running, one that sleeps does not, a process that is gone is left
 * out, and every core's steal is a share of the wall time.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as os from 'os';
import * as path from 'path';

interface Shares {
  wallMs: number;
  stealByCore: number[];
  processes: Record<string, { ran: number; waited: number; busiest: { ran: number; waited: number } }>;
}
type Snapshot = unknown;

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script of the repository
const accounting = require(path.join(__dirname, '../../../../scripts/lib/cpu-accounting.js')) as {
  cpuSnapshot(processes: Record<string, number>): Snapshot;
  cpuShares(before: Snapshot, after: Snapshot): Shares;
  formatCpuShares(shares: Shares): string;
};

const onLinux = process.platform === 'linux' ? describe : describe.skip;

/** A child that spins (`busy`) or sleeps for `ms`; resolves once it runs. */
function child(kind: 'busy' | 'idle', ms: number): Promise<ChildProcess> {
  const body =
    kind === 'busy'
      ? `const end = Date.now() + ${ms}; process.stdout.write('up'); while (Date.now() < end) {}`
      : `process.stdout.write('up'); setTimeout(() => {}, ${ms});`;
  const c = spawn(process.execPath, ['-e', body], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => c.stdout.once('data', () => resolve(c)));
}

onLinux('cpu accounting', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('tells a process that computes from one that sleeps, and leaves out one that is gone', async () => {
    const busy = await child('busy', 5_000);
    const idle = await child('idle', 5_000);
    children.push(busy, idle);
    const processes = { busy: busy.pid!, idle: idle.pid!, gone: 0x7ffffff0 };
    const before = accounting.cpuSnapshot(processes);
    await new Promise((r) => setTimeout(r, 600));
    const shares = accounting.cpuShares(before, accounting.cpuSnapshot(processes));

    expect(shares.wallMs).toBeGreaterThanOrEqual(590);
    expect(Object.keys(shares.processes).sort()).toEqual(['busy', 'idle']);
    // A spinning thread runs or waits for its core the whole time (both, on a busy machine).
    const { busy: b, idle: i } = shares.processes;
    expect(b.ran + b.waited).toBeGreaterThan(0.8);
    expect(b.ran).toBeGreaterThan(0.2);
    expect(i.ran).toBeLessThan(0.1);
    expect(i.waited).toBeLessThan(0.1);
    // The spinning main thread is the busy child's busiest, and no thread outruns the process (the
    // process's shares are sums of differences, the thread's differences: equal up to rounding).
    expect(b.busiest.ran).toBeGreaterThan(0.2);
    expect(b.busiest.ran).toBeLessThanOrEqual(b.ran + 1e-9);
    expect(b.busiest.waited).toBeLessThanOrEqual(b.waited + 1e-9);
  });

  it('gives every core a steal share between 0 and 1, and one line that names them all', () => {
    const before = accounting.cpuSnapshot({ self: process.pid });
    const end = Date.now() + 300;
    while (Date.now() < end) {
      /* spin: some time to account */
    }
    const shares = accounting.cpuShares(before, accounting.cpuSnapshot({ self: process.pid }));

    expect(shares.stealByCore).toHaveLength(os.cpus().length);
    for (const s of shares.stealByCore) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    const line = accounting.formatCpuShares(shares);
    expect(line).toMatch(/^core 0 steal \d+\.\d%/);
    expect(line).toMatch(/; self ran \d+\.\d% waited \d+\.\d% \(busiest thread \d+\.\d% \/ \d+\.\d%\)$/);
  });
});
