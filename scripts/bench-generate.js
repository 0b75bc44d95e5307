#!/usr/bin/env node
/**
 * Generation speed with and without the KV cache: tokens/s for 200 new tokens after a short prompt,
 * greedy, on the fastest backend available (FORGE_BACKEND to choose).
 *
 *   npm run bench:generate [-- --presets small,gpt2-small --tokens 200]
 */
const os = require('os');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main() {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const { GPTModel, createTokenizer, generate, presetConfig } = require('@llm-forge/gpt');
  const backend = await initBackend(process.env.FORGE_BACKEND || 'auto');
  const tokens = Number(arg('tokens', '200'));
  const prompt = createTokenizer().encode('Every effort moves you');
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads; backend ${backend.name}; ${tokens} new tokens after ${prompt.length} prompt tokens, greedy`,
  );
  const results = [];
  for (const preset of arg('presets', 'small,gpt2-small').split(',')) {
    const model = GPTModel.random(presetConfig(preset, { dropRate: 0 }), 0);
    generate(model, prompt, { maxNewTokens: 3 }); // warm-up
    const time = (useCache) => {
      const t0 = performance.now();
      const out = generate(model, prompt, { maxNewTokens: tokens, useCache });
      return { seconds: (performance.now() - t0) / 1000, out };
    };
    const cached = time(true);
    const plain = time(false);
    const same = cached.out.every((id, i) => id === plain.out[i]);
    const row = {
      preset,
      backend: backend.name,
      tokens,
      cached_tokens_per_s: tokens / cached.seconds,
      uncached_tokens_per_s: tokens / plain.seconds,
      speedup: plain.seconds / cached.seconds,
      same_tokens: same,
    };
    results.push(row);
    console.log(
      `${preset.padEnd(11)} with cache ${row.cached_tokens_per_s.toFixed(1).padStart(7)} tok/s   without ${row.uncached_tokens_per_s.toFixed(1).padStart(7)} tok/s   speed-up ${row.speedup.toFixed(2)}x   same tokens: ${same}`,
    );
    model.dispose();
  }
  console.log(`RESULTS ${JSON.stringify(results)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
