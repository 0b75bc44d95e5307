#!/usr/bin/env node
/**
 * Ring all-reduce throughput over gRPC on loopback, each rank its own process, beside the raw
 * TCP throughput of this machine measured in the same run.
 *
 *   npm run bench:allreduce [-- --sizes 25,100,500 --worlds 2,4,8 --dtypes f32,bf16 --iters 3]
 *
 * Definitions (nccl-tests): algbw = bytes / time, busbw = algbw × 2(N−1)/N, with bytes the f32
 * buffer size (also for the bf16 wire, which moves half as many bytes). Reference columns:
 *   tcp pair  one socket pair pushing 1 GB between two processes (the brief's bar: busbw ≥ 50%)
 *   tcp ring  N processes each pushing 256 MB to the next at once: per-link throughput when N
 *             processes share this machine's cores — the ceiling a ring of N can reach here.
 * Needs the compiled libraries: `npx tsc -b libs/collective/tsconfig.lib.json` (run here if missing).
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
async function rankChild() {
  const { RingAllReduce, checksum } = require('@llm-forge/collective');
  const [rank, worldSize, elements] = ['rank', 'world', 'elements'].map((k) => Number(arg(k)));
  const sizes = {};
  if (arg('chunk-mb')) sizes.chunkBytes = Math.round(Number(arg('chunk-mb')) * 2 ** 20);
  if (arg('bucket-mb')) sizes.bucketBytes = Math.round(Number(arg('bucket-mb')) * 2 ** 20);
  const ring = await RingAllReduce.listen({ rank, worldSize, secret: 'bench', timeoutMs: 600_000, ...sizes });
  const buffer = new Float32Array(elements);
  const fill = () => {
    for (let i = 0; i < elements; i++) buffer[i] = ((i * 7 + rank * 13) % 1000) / 1000 - 0.5;
  };
  process.send({ type: 'address', address: ring.address });
  let step = 0;
  process.on('message', async (m) => {
    if (m.type === 'connect') {
      await ring.connect(m.addresses);
      process.send({ type: 'connected' });
    } else if (m.type === 'run') {
      fill();
      const { elapsedMs, bytesSent } = await ring.allReduce(buffer, {
        step: step++,
        wireDType: m.dtype,
        average: true,
      });
      process.send({
        type: 'done',
        elapsedMs,
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

/** One member of a raw TCP ring: accepts from the left, pushes `bytes` to the right. */
function tcpRingChild() {
  const bytes = Number(arg('bytes'));
  const server = net.createServer((sock) => {
    let got = 0;
    sock.on('data', (d) => {
      got += d.length;
      if (got >= bytes) process.send({ type: 'received', at: Date.now() });
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ type: 'port', port: server.address().port }));
  process.on('message', async (m) => {
    if (m.type === 'push') {
      const sock = net.connect(m.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      process.send({ type: 'ready' });
      await new Promise((r) => process.once('message', r)); // 'go'
      const chunk = Buffer.alloc(1 << 20, 1);
      for (let sent = 0; sent < bytes; sent += chunk.length)
        if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
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
const spawn = (role, extra = []) =>
  fork(__filename, ['--role', role, ...extra], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
  const last = Math.max(...(await Promise.all(received)).map((m) => m.at));
  await stopAll(kids);
  return bytes / ((last - t0) / 1000);
}

async function ringRun(n, sizeMB, dtypes, iters) {
  const elements = Math.floor((sizeMB * MB) / 4);
  const kids = Array.from({ length: n }, (_, rank) =>
    spawn('rank', [
      '--rank',
      String(rank),
      '--world',
      String(n),
      '--elements',
      String(elements),
      ...['chunk-mb', 'bucket-mb'].flatMap((k) => (arg(k) ? [`--${k}`, arg(k)] : [])),
    ]),
  );
  const addresses = await Promise.all(kids.map((k) => nextMessage(k, 'address').then((m) => m.address)));
  kids.forEach((k) => k.send({ type: 'connect', addresses }));
  await Promise.all(kids.map((k) => nextMessage(k, 'connected')));
  const rows = [];
  for (const dtype of dtypes) {
    const times = [];
    let sums;
    let rss = 0;
    for (let it = 0; it < iters + 1; it++) {
      const last = it === iters;
      const done = kids.map((k) => nextMessage(k, 'done'));
      kids.forEach((k) => k.send({ type: 'run', dtype, checksum: last }));
      const results = await Promise.all(done);
      if (it > 0) times.push(Math.max(...results.map((r) => r.elapsedMs)) / 1000); // the first run warms up
      if (last) sums = new Set(results.map((r) => r.checksum));
      rss = Math.max(rss, ...results.map((r) => r.rss));
    }
    times.sort((a, b) => a - b);
    rows.push({
      dtype,
      seconds: times[times.length >> 1],
      identical: sums.size === 1,
      rssMB: Math.round(rss / 2 ** 20),
    });
  }
  await stopAll(kids);
  return rows;
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
  console.log(
    `# ring all-reduce over gRPC, loopback, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  const pair = await rawTcpPair();
  console.log(`raw TCP pair (1 GB, 2 processes): ${(pair / 1e9).toFixed(2)} GB/s`);
  const header =
    '| N | size MB | wire | time s | algbw GB/s | busbw GB/s | busbw/tcp pair | tcp ring GB/s | busbw/tcp ring | identical | peak RSS/rank MB |';
  const lines = [header, header.replace(/[^|]/g, '-')];
  for (const n of worlds) {
    const ringTcp = await rawTcpRing(n);
    console.log(`raw TCP ring of ${n} (256 MB per link): ${(ringTcp / 1e9).toFixed(2)} GB/s per link`);
    for (const sizeMB of sizes) {
      // buffer + up to ~40% in flight (chunks, bf16 copies, HTTP/2 buffers) per rank, plus 1 GB headroom
      const needGB = (n * sizeMB * MB * 1.4) / 1e9 + 1;
      if (needGB > os.freemem() / 1e9) {
        lines.push(
          `| ${n} | ${sizeMB} | - | skipped: needs ~${needGB.toFixed(1)} GB, ${(os.freemem() / 1e9).toFixed(1)} GB free | | | | | | | |`,
        );
        console.log(lines[lines.length - 1]);
        continue;
      }
      for (const r of await ringRun(n, sizeMB, dtypes, sizeMB >= 500 ? 1 : iters)) {
        const algbw = (sizeMB * MB) / r.seconds;
        const busbw = (algbw * 2 * (n - 1)) / n;
        const cells = [
          n,
          sizeMB,
          r.dtype,
          r.seconds.toFixed(2),
          (algbw / 1e9).toFixed(3),
          (busbw / 1e9).toFixed(3),
          `${((busbw / pair) * 100).toFixed(0)}%`,
          (ringTcp / 1e9).toFixed(2),
          `${((busbw / ringTcp) * 100).toFixed(0)}%`,
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
