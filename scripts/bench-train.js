#!/usr/bin/env node
/**
 * Training throughput: tokens/s and peak memory of full training steps (forward, backward, AdamW)
 * per backend and model size, beside one PyTorch step of the same architecture when installed.
 *
 *   npm run bench:train [-- --configs tiny,small,gpt2-small --backends native,wasm --steps 4]
 *
 * Each (backend, config) runs in its own process so peak RSS is its own. Needs `npm run build`.
 */
const { execFileSync, spawnSync } = require('child_process');
const os = require('os');
const path = require('path');
const fs = require('fs');

const CONFIGS = {
  tiny: { preset: 'tiny', B: 4, T: 64 },
  small: { preset: 'small', B: 4, T: 256 },
  'gpt2-small': { preset: 'gpt2-small', B: 2, T: 256 },
};

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function child() {
  const [backendName, configName] = [arg('backend'), arg('config')];
  const steps = Number(arg('steps', '4'));
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const { GPTModel, Trainer, presetConfig } = require('@llm-forge/gpt');
  const { SINGLE_PROCESS, TrainingLoop, rowShare } = require('@llm-forge/training');
  await initBackend(backendName);
  const { preset, B, T } = CONFIGS[configName];
  const model = GPTModel.random(presetConfig(preset, { dropRate: 0 }), 0);
  const trainer = new Trainer(model, {
    schedule: { lr: 1e-4, minLr: 1e-4, warmupSteps: 0, totalSteps: 100, schedule: 'constant' },
  });
  const batch = () => {
    const ids = Int32Array.from({ length: B * T }, () => Math.floor(Math.random() * 50257));
    return { inputs: ids, targets: ids.map((x) => (x + 1) % 50257), batchSize: B, contextLength: T };
  };
  // The step `forge train` and every worker take: the one training loop at world size 1.
  const loop = new TrainingLoop(trainer, SINGLE_PROCESS, { verifyEvery: 0 });
  let peak = 0;
  const times = [];
  for (let s = 0; s < steps + 1; s++) {
    const t0 = performance.now();
    await loop.step(rowShare(batch(), B));
    times.push((performance.now() - t0) / 1000);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const timed = times.slice(1).sort((a, b) => a - b); // the first step includes warm-up
  const median = timed[timed.length >> 1];
  process.stdout.write(
    `RESULT ${JSON.stringify({ backend: backendName, config: configName, B, T, steps, step_s: median, tokens_per_s: (B * T) / median, peak_rss_mb: Math.round(peak / 2 ** 20), params: model.parameterCount })}\n`,
  );
}

function pytorch(configName) {
  const script = path.resolve(__dirname, '../../shared/bench/pytorch_reference_step.py');
  if (!fs.existsSync(script)) return { skipped: `${script} not found` };
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: 'python3-torch not installed (apt-get install python3-torch)' };
  const { B, T } = CONFIGS[configName];
  const torchConfig = configName === 'gpt2-small' ? '124m' : configName === 'small' ? 'small' : null;
  if (!torchConfig) return { skipped: 'no PyTorch config of this size' };
  const out = execFileSync(
    '/usr/bin/python3',
    [
      script,
      '--config',
      torchConfig,
      '--B',
      String(B),
      '--T',
      String(T),
      '--threads',
      String(os.availableParallelism()),
    ],
    { encoding: 'utf8' },
  );
  const line = out.split('\n').find((l) => l.startsWith('RESULT'));
  return JSON.parse(line.slice('RESULT'.length));
}

function main() {
  const configs = arg('configs', 'tiny,small,gpt2-small').split(',');
  const backends = arg('backends', 'native,wasm').split(',');
  const steps = arg('steps', '4');
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  );
  const rows = [];
  for (const config of configs) {
    for (const backend of backends) {
      const r = spawnSync(
        process.execPath,
        [__filename, '--child', '--backend', backend, '--config', config, '--steps', steps],
        { encoding: 'utf8', env: process.env },
      );
      const line = (r.stdout || '').split('\n').find((l) => l.startsWith('RESULT'));
      if (!line) {
        console.log(
          `${config} on ${backend}: failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`,
        );
        continue;
      }
      const res = JSON.parse(line.slice(7));
      rows.push(res);
      console.log(
        `${config.padEnd(11)} ${backend.padEnd(7)} B=${res.B} T=${res.T}  ${res.tokens_per_s.toFixed(1).padStart(8)} tokens/s  ${res.step_s.toFixed(2)} s/step  peak RSS ${res.peak_rss_mb} MB`,
      );
    }
    const torch = pytorch(config);
    if (torch.skipped) console.log(`${config.padEnd(11)} pytorch skipped: ${torch.skipped}`);
    else {
      rows.push({ backend: 'pytorch', config, ...torch });
      console.log(
        `${config.padEnd(11)} pytorch B=${torch.B} T=${torch.T}  ${String(torch.tok_s_median).padStart(8)} tokens/s  ${(torch.ms_median / 1000).toFixed(2)} s/step  peak RSS ${Math.round(torch.maxrss_mib)} MB  (torch ${torch.torch}, ${torch.threads} threads)`,
      );
    }
  }
  console.log(`RESULTS ${JSON.stringify(rows)}`);
}

if (process.argv.includes('--child'))
  child().catch((e) => {
    console.error(e);
    process.exit(1);
  });
else main();
