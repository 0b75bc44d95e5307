#!/usr/bin/env node
/**
 * Ring all-reduce throughput over gRPC on loopback, each rank its own process, beside the raw
 * TCP throughput of this machine measured in the same run.
 *
 *   npm run bench:allreduce [-- --sizes 25,100,500 --worlds 2,4,8 --dtypes f32,bf16 --iters 3
 *                               --setup worker|bare --ring-thread no --bf16-codec js --chunk-mb 1
 *                               --bucket-mb 4 --cpu-prof DIR --node-flags '--trace-gc']
 *
 * Definitions (nccl-tests): algbw = bytes / time, busbw = algbw × 2(N−1)/N, with bytes the f32
 * buffer size (also for the bf16 wire, which moves half as many bytes). Reference columns:
 *   tcp pair  one socket pair pushing 1 GB between two processes (the brief's bar: busbw ≥ 50%)
 *   tcp ring  N processes each pushing 256 MB to the next at once: per-link throughput when N
 *             processes share this machine's cores — the ceiling a ring of N can reach here.
 *   CPU       user + system CPU seconds per rank per all-reduce, and the link bytes moved per
 *             CPU-second beside the raw TCP ring's: the cost per byte, which does not depend on
 *             how many ranks share a core (on a machine with a core per rank, busbw approaches it).
 * Every rank refills its buffer, then all start together (the parent waits for all of them), and
 * the median of `--iters` timed runs is reported after one warm-up run.
 * `--setup worker` (the default when the native addon is built) sets each rank up as a worker's
 * compute thread is: the native backend started, the ring on a thread of its own
 * (ThreadedRingAllReduce) with the addon's kernels (reduction, averaging, bf16 codec); `--ring-thread
 * no` keeps the ring on the backend's thread instead, `--bf16-codec js` the JavaScript bf16 codec.
 * `--setup bare` measures the collective library alone (JavaScript kernels).
 * Needs the compiled libraries: `npm run build` (collective alone is compiled here if missing).
 */
const { execFileSync, fork } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const MB = 1e6;
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const list = (s) => s.split(',').filter(Boolean);

// ---------------------------------------------------------------- children
/** The worker's ring kernels, as functions (`asExports` false) or as module exports for its thread. */
function nativeRingKernels(backend, asExports) {
  const functions = backend.ringKernels();
  // --bf16-codec js: the library's JavaScript bf16 codec, to measure what the native one saves
  const options = Object.keys(functions).filter(
    (option) => !(arg('bf16-codec') === 'js' && option.startsWith('bf16')),
  );
  return Object.fromEntries(
    options.map((option) => [
      option,
      asExports
        ? { module: backend.RING_KERNEL_MODULE, exportName: backend.RING_KERNEL_EXPORTS[option] }
        : functions[option],
    ]),
  );
}

async function rankChild() {
  const { RingAllReduce, ThreadedRingAllReduce } = require('@llm-forge/collective');
  const { checksum } = require('@llm-forge/tfjs-backend-native');
  const [rank, worldSize, elements] = ['rank', 'world', 'elements'].map((k) => Number(arg(k)));
  const options = { rank, worldSize, secret: 'bench', timeoutMs: 600_000 };
  if (arg('chunk-mb')) options.chunkBytes = Math.round(Number(arg('chunk-mb')) * 2 ** 20);
  if (arg('bucket-mb')) options.bucketBytes = Math.round(Number(arg('bucket-mb')) * 2 ** 20);
  let ring;
  if (arg('setup') === 'worker') {
    // As a worker's compute thread (apps/worker compute-core.ts): the native backend started here,
    // the ring on its own thread reducing and averaging with the addon's vectorised kernels.
    const backend = require('@llm-forge/tfjs-backend-native');
    await backend.initBackend('native');
    ring =
      arg('ring-thread') === 'no'
        ? await RingAllReduce.listen({ ...options, ...nativeRingKernels(backend, false) })
        : await ThreadedRingAllReduce.listen({ ...options, ...nativeRingKernels(backend, true) });
  } else {
    ring = await RingAllReduce.listen(options); // the library alone, its JavaScript kernel
  }
  // A worker's gradients live in shared memory (Trainer sharedGradients): reduced in place by the ring thread.
  const buffer =
    arg('setup') === 'worker'
      ? new Float32Array(new SharedArrayBuffer(4 * elements))
      : new Float32Array(elements);
  const input = new Float32Array(elements);
  for (let i = 0; i < elements; i++) input[i] = ((i * 7 + rank * 13) % 1000) / 1000 - 0.5;
  process.send({ type: 'address', address: ring.address });
  let step = 0;
  process.on('message', async (m) => {
    if (m.type === 'connect') {
      await ring.connect(m.addresses);
      process.send({ type: 'connected' });
    } else if (m.type === 'fill') {
      buffer.set(input); // every rank refills before the parent starts the timed call on all of them
      process.send({ type: 'filled' });
    } else if (m.type === 'run') {
      const cpuStart = process.cpuUsage();
      const { elapsedMs, bytesSent } = await ring.allReduce(buffer, {
        step: step++,
        wireDType: m.dtype,
        average: true,
      });
      process.send({
        type: 'done',
        elapsedMs,
        cpuSeconds: cpuSecondsSince(cpuStart),
        bytesSent,
        checksum: m.checksum ? checksum(buffer) : undefined,
        rss: process.memoryUsage().rss,
      });
    } else if (m.type === 'exit') {
      await ring.close();
      process.exit(0);
    }
  });
}

function tcpSinkChild() {
  const server = net.createServer((sock) => sock.on('data', () => undefined).on('end', () => sock.end()));
  server.listen(0, '127.0.0.1', () => process.send({ type: 'port', port: server.address().port }));
  process.on('message', (m) => m.type === 'exit' && process.exit(0));
}

/** CPU seconds (user + system) this process used since `start` (a process.cpuUsage() value). */
const cpuSecondsSince = (start) => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
};

/**
 * One member of a raw TCP ring: accepts from the left, pushes `bytes` to the right, and reports
 * when it received everything and the CPU time it spent sending and receiving.
 */
function tcpRingChild() {
  const bytes = Number(arg('bytes'));
  let cpuStart;
  let receivedAll;
  const received = new Promise((r) => (receivedAll = r));
  const server = net.createServer((sock) => {
    let got = 0;
    sock.on('data', (d) => {
      got += d.length;
      if (got >= bytes) receivedAll(Date.now());
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ type: 'port', port: server.address().port }));
  process.on('message', async (m) => {
    if (m.type === 'push') {
      const sock = net.connect(m.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      process.send({ type: 'ready' });
      await new Promise((r) => process.once('message', r)); // 'go'
      cpuStart = process.cpuUsage();
      const chunk = Buffer.alloc(1 << 20, 1);
      for (let sent = 0; sent < bytes; sent += chunk.length)
        if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
      const at = await received;
      process.send({ type: 'received', at, cpuSeconds: cpuSecondsSince(cpuStart) });
    } else if (m.type === 'exit') process.exit(0);
  });
}

// ---------------------------------------------------------------- parent helpers
const nextMessage = (child, type) =>
  new Promise((resolve) =>
    child.on('message', function on(m) {
      if (m.type === type) {
        child.off('message', on);
        resolve(m);
      }
    }),
  );
/**
 * `--cpu-prof DIR`: each rank process writes a V8 CPU profile there (open in Chrome DevTools).
 * `--node-flags '--trace-gc ...'`: more Node/V8 flags for each rank process.
 */
const rankExecArgv = () => [
  ...(arg('cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', arg('cpu-prof')] : []),
  ...list(arg('node-flags', '').replace(/\s+/g, ',')),
];
const spawn = (role, extra = [], execArgv = []) =>
  fork(__filename, ['--role', role, ...extra], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
async function stopAll(children) {
  await Promise.all(
    children.map(
      (c) =>
        new Promise((r) => {
          c.once('exit', r);
          c.send({ type: 'exit' });
        }),
    ),
  );
}

async function rawTcpPair(bytes = 1024 * MB) {
  const sink = spawn('tcp-sink');
  const { port } = await nextMessage(sink, 'port');
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const chunk = Buffer.alloc(1 << 20, 1);
  const t0 = performance.now();
  for (let sent = 0; sent < bytes; sent += chunk.length)
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  sock.end();
  await new Promise((r) => sock.once('close', r));
  const seconds = (performance.now() - t0) / 1000;
  await stopAll([sink]);
  return bytes / seconds;
}

async function rawTcpRing(n, bytes = 256 * MB) {
  const kids = Array.from({ length: n }, () => spawn('tcp-ring', ['--bytes', String(bytes)]));
  const ports = await Promise.all(kids.map((k) => nextMessage(k, 'port').then((m) => m.port)));
  kids.forEach((k, i) => k.send({ type: 'push', port: ports[(i + 1) % n] }));
  await Promise.all(kids.map((k) => nextMessage(k, 'ready')));
  const received = kids.map((k) => nextMessage(k, 'received'));
  const t0 = Date.now();
  kids.forEach((k) => k.send({ type: 'go' }));
  const results = await Promise.all(received);
  const last = Math.max(...results.map((m) => m.at));
  await stopAll(kids);
  const cpuSeconds = results.reduce((sum, m) => sum + m.cpuSeconds, 0) / n;
  return { perLink: bytes / ((last - t0) / 1000), perCpuSecond: bytes / cpuSeconds };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function ringRun(n, sizeMB, dtypes, iters) {
  const elements = Math.floor((sizeMB * MB) / 4);
  const kids = Array.from({ length: n }, (_, rank) =>
    spawn(
      'rank',
      [
        '--rank',
        String(rank),
        '--world',
        String(n),
        '--elements',
        String(elements),
        ...['chunk-mb', 'bucket-mb', 'setup', 'ring-thread', 'bf16-codec'].flatMap((k) =>
          arg(k) ? [`--${k}`, arg(k)] : [],
        ),
      ],
      rankExecArgv(),
    ),
  );
  const addresses = await Promise.all(kids.map((k) => nextMessage(k, 'address').then((m) => m.address)));
  kids.forEach((k) => k.send({ type: 'connect', addresses }));
  await Promise.all(kids.map((k) => nextMessage(k, 'connected')));
  const rows = [];
  for (const dtype of dtypes) {
    const times = [];
    const cpu = [];
    let sums;
    let rss = 0;
    for (let it = 0; it < iters + 1; it++) {
      const last = it === iters;
      const filled = kids.map((k) => nextMessage(k, 'filled'));
      kids.forEach((k) => k.send({ type: 'fill' }));
      await Promise.all(filled);
      const done = kids.map((k) => nextMessage(k, 'done'));
      kids.forEach((k) => k.send({ type: 'run', dtype, checksum: last }));
      const results = await Promise.all(done);
      if (it > 0) {
        // the first run warms up
        times.push(Math.max(...results.map((r) => r.elapsedMs)) / 1000);
        cpu.push(results.reduce((sum, r) => sum + r.cpuSeconds, 0) / n);
      }
      if (last) sums = new Set(results.map((r) => r.checksum));
      rss = Math.max(rss, ...results.map((r) => r.rss));
    }
    rows.push({
      dtype,
      seconds: median(times),
      cpuSeconds: median(cpu),
      identical: sums.size === 1,
      rssMB: Math.round(rss / 2 ** 20),
    });
  }
  await stopAll(kids);
  return rows;
}

/** True when the native addon is built and loads (then ranks reduce with it, as workers do). */
function nativeAddonLoads() {
  try {
    return require('@llm-forge/tfjs-backend-native').nativeAddonStatus().loaded;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- main
async function main() {
  const dist = path.resolve(__dirname, '../libs/collective/dist/index.js');
  if (!fs.existsSync(dist))
    execFileSync('npx', ['tsc', '-b', 'libs/collective/tsconfig.lib.json'], {
      cwd: path.resolve(__dirname, '..'),
      stdio: 'inherit',
    });
  const sizes = list(arg('sizes', '25,100,500')).map(Number);
  const worlds = list(arg('worlds', '2,4,8')).map(Number);
  const dtypes = list(arg('dtypes', 'f32,bf16'));
  const iters = Number(arg('iters', '3'));
  if (!arg('setup')) process.argv.push('--setup', nativeAddonLoads() ? 'worker' : 'bare');
  if (!['bare', 'worker'].includes(arg('setup')))
    throw new Error(`--setup must be bare or worker, got ${arg('setup')}`);
  const setup =
    arg('setup') === 'worker'
      ? `worker (native backend, ring ${arg('ring-thread') === 'no' ? 'on the same thread' : 'on its own thread'}, ${arg('bf16-codec') === 'js' ? 'JavaScript' : 'native'} bf16 codec)`
      : 'bare (collective alone)';
  console.log(
    `# ring all-reduce over gRPC, loopback, ranks set up ${setup}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  const pair = await rawTcpPair();
  console.log(`raw TCP pair (1 GB, 2 processes): ${(pair / 1e9).toFixed(2)} GB/s`);
  const header =
    '| N | size MB | wire | time s | algbw GB/s | busbw GB/s | busbw/tcp pair | tcp ring GB/s | busbw/tcp ring | CPU s/rank | GB/CPU-s | tcp ring GB/CPU-s | per CPU-s/tcp ring | identical | peak RSS/rank MB |';
  const lines = [header, header.replace(/[^|]/g, '-')];
  for (const n of worlds) {
    const ringTcp = await rawTcpRing(n);
    console.log(
      `raw TCP ring of ${n} (256 MB per link): ${(ringTcp.perLink / 1e9).toFixed(2)} GB/s per link, ${(ringTcp.perCpuSecond / 1e9).toFixed(2)} GB per CPU-second of a member`,
    );
    for (const sizeMB of sizes) {
      // buffer + up to ~40% in flight (chunks, bf16 copies, HTTP/2 buffers) per rank, plus 1 GB headroom
      const needGB = (n * sizeMB * MB * 1.4) / 1e9 + 1;
      if (needGB > os.freemem() / 1e9) {
        lines.push(
          `| ${n} | ${sizeMB} | - | skipped: needs ~${needGB.toFixed(1)} GB, ${(os.freemem() / 1e9).toFixed(1)} GB free |${' |'.repeat(11)}`,
        );
        console.log(lines[lines.length - 1]);
        continue;
      }
      for (const r of await ringRun(n, sizeMB, dtypes, sizeMB >= 500 ? 1 : iters)) {
        const linkBytes = (sizeMB * MB * 2 * (n - 1)) / n; // what each rank sends (and receives), in f32 terms
        const busbw = linkBytes / r.seconds; // = algbw × 2(N−1)/N
        const perCpuSecond = linkBytes / r.cpuSeconds;
        const cells = [
          n,
          sizeMB,
          r.dtype,
          r.seconds.toFixed(2),
          ((sizeMB * MB) / r.seconds / 1e9).toFixed(3),
          (busbw / 1e9).toFixed(3),
          `${((busbw / pair) * 100).toFixed(0)}%`,
          (ringTcp.perLink / 1e9).toFixed(2),
          `${((busbw / ringTcp.perLink) * 100).toFixed(0)}%`,
          r.cpuSeconds.toFixed(2),
          (perCpuSecond / 1e9).toFixed(3),
          (ringTcp.perCpuSecond / 1e9).toFixed(2),
          `${((perCpuSecond / ringTcp.perCpuSecond) * 100).toFixed(0)}%`,
          r.identical ? 'yes' : 'NO',
          r.rssMB,
        ];
        lines.push(`| ${cells.join(' | ')} |`);
        console.log(lines[lines.length - 1]);
      }
    }
  }
  console.log(`\n${lines.join('\n')}`);
}

const role = arg('role');
if (role === 'rank') rankChild();
else if (role === 'tcp-sink') tcpSinkChild();
else if (role === 'tcp-ring') tcpRingChild();
else
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
