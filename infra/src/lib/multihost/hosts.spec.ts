/**
 * The simulated hosts of `npm run bench:scaling` (scripts/multihost/hosts.js): each host reaches the
 * others over the bridge at its own address, a shaped link carries about its rate, and teardown
 * leaves no namespace or interface behind. Needs root and ip netns; skips with a message otherwise.
 */
import { execFileSync, spawn } from 'child_process';
import * as path from 'path';

interface Host {
  namespace: string;
  outside: string;
  address: string;
}
interface HostNetwork {
  count: number;
  tag: string;
  host(i: number): Host;
  create(): HostNetwork;
  teardown(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script of the repository
const hosts = require(path.join(__dirname, '../../../../scripts/multihost/hosts.js')) as {
  HostNetwork: new (count: number, options?: { rateMbit?: number }) => HostNetwork;
  hostsUnavailable(): string | undefined;
};

const unavailable = hosts.hostsUnavailable();
if (unavailable) console.log(`SKIPPING simulated-host tests: ${unavailable}`);
const maybe = unavailable ? it.skip : it;

/** Seconds to send `bytes` from host 0 to host 1 over TCP (the sender's start included). */
async function transfer(net: HostNetwork, bytes: number): Promise<number> {
  const to = net.host(1).address;
  const server = spawn('ip', [
    'netns', 'exec', net.host(1).namespace, process.execPath, '-e',
    // A pipe's stdout is asynchronous: exit only once the count is written.
    `require('net').createServer((s) => { let n = 0; s.on('data', (d) => (n += d.length)); s.on('end', () => process.stdout.write(n + '\\n', () => process.exit(0))); }).listen(9100, '${to}', () => console.log('ready'));`,
  ]); // prettier-ignore
  let out = '';
  const received = new Promise<number>((resolve) =>
    server.on('exit', () => resolve(Number(out.trim().split('\n').at(-1)))),
  );
  await new Promise<void>((resolve) =>
    server.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    }),
  );
  // Timed from here, node's start of the sending process included (tens of milliseconds).
  const started = Date.now();
  const script = `const s = require('net').connect(9100, '${to}', () => s.end(Buffer.alloc(${bytes})));`;
  execFileSync('ip', ['netns', 'exec', net.host(0).namespace, process.execPath, '-e', script]);
  const seconds = (Date.now() - started) / 1000;
  expect(await received).toBe(bytes);
  return seconds;
}

describe('simulated hosts (network namespaces, tc tbf)', () => {
  maybe(
    'connects hosts at their own addresses, shapes the link, and removes everything',
    async () => {
      const net = new hosts.HostNetwork(2, { rateMbit: 50 }).create();
      let seconds = 0;
      try {
        seconds = await transfer(net, 2_000_000); // 16 Mbit over 50 Mbit/s: about 0.32 s
      } finally {
        net.teardown();
      }
      expect(seconds).toBeGreaterThan(0.25);
      expect(seconds).toBeLessThan(5);
      expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(`fg-${net.tag}-`);
      expect(execFileSync('ip', ['-br', 'link']).toString()).not.toContain(`fg${net.tag}`);
    },
    60_000,
  );
});
