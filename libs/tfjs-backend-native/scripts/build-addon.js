#!/usr/bin/env node
/**
 * Builds the forge_native addon (OpenBLAS GEMM + fused kernels) into build/Release with node-gyp.
 *
 * Runs from `npm ci` / `npm run build`, so it never fails the install: when OpenBLAS is missing
 * or the compile fails it prints one warning saying how to fix it and exits 0, and the library
 * falls back to the wasm backend with JavaScript kernels.
 *
 * Environment: OPENBLAS_INCLUDE / OPENBLAS_LIB point at a non-standard OpenBLAS install;
 * FORGE_SKIP_NATIVE=1 skips the build.
 */
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const packageDir = path.resolve(__dirname, '..');
const addonFile = path.join(packageDir, 'build', 'Release', 'forge_native.node');

function warn(problem, fix) {
  console.warn(
    `\n[@llm-forge/tfjs-backend-native] WARNING: native addon not built: ${problem}\n` +
      `  The slower wasm backend with JavaScript kernels will be used instead.\n` +
      `  To fix: ${fix}\n`,
  );
}

/** The first directory (of candidates) containing one of the given files, or undefined. */
function findDir(candidates, files) {
  for (const dir of candidates) {
    if (!dir) continue;
    for (const file of files) {
      if (fs.existsSync(path.join(dir, file))) return { dir, file };
    }
  }
  return undefined;
}

/** Where OpenBLAS's cblas.h and shared library are, or a reason why not. */
function locateOpenBlas() {
  const multiarch = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  const brew = ['/opt/homebrew/opt/openblas', '/usr/local/opt/openblas'];
  const include = findDir(
    [
      process.env.OPENBLAS_INCLUDE,
      `/usr/include/${multiarch}/openblas-pthread`,
      `/usr/include/${multiarch}/openblas-openmp`,
      '/usr/include/openblas',
      `/usr/include/${multiarch}`,
      '/usr/include',
      '/usr/local/include',
      ...brew.map((b) => `${b}/include`),
    ],
    ['cblas.h'],
  );
  const lib = findDir(
    [
      process.env.OPENBLAS_LIB,
      `/usr/lib/${multiarch}`,
      '/usr/lib64',
      '/usr/lib',
      '/usr/local/lib',
      ...brew.map((b) => `${b}/lib`),
    ],
    ['libopenblas.so', 'libopenblas.dylib', 'libopenblas.a'],
  );
  if (!include) return { error: 'OpenBLAS headers (cblas.h) not found' };
  if (!lib) return { error: 'the OpenBLAS library (libopenblas.so) not found' };
  const header = fs.readFileSync(path.join(include.dir, 'cblas.h'), 'utf8');
  if (!header.includes('openblas_set_num_threads')) {
    return { error: `${include.dir}/cblas.h is not OpenBLAS's (no openblas_set_num_threads)` };
  }
  return { include: include.dir, lib: lib.dir };
}

function main() {
  if (process.env.FORGE_SKIP_NATIVE === '1') {
    console.log('[@llm-forge/tfjs-backend-native] FORGE_SKIP_NATIVE=1: native addon not built.');
    return;
  }
  const fix =
    process.platform === 'darwin'
      ? 'brew install openblas, then npm run build:native'
      : 'apt-get install libopenblas-dev (or set OPENBLAS_INCLUDE / OPENBLAS_LIB), then npm run build:native';
  const blas = locateOpenBlas();
  if (blas.error) {
    warn(blas.error, fix);
    return;
  }
  let nodeGyp;
  try {
    nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [packageDir] });
  } catch {
    warn('node-gyp is not installed', 'npm install (node-gyp is a devDependency of the workspace)');
    return;
  }
  // Node's own headers ship with the distribution (/usr/include/node); node-gyp cannot download.
  const nodeDir = process.env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
  const args = [
    nodeGyp,
    'rebuild',
    '--release',
    `--nodedir=${nodeDir}`,
    `--jobs=${require('os').availableParallelism()}`,
  ];
  const result = spawnSync(process.execPath, args, {
    cwd: packageDir,
    encoding: 'utf8',
    env: { ...process.env, FORGE_OPENBLAS_INCLUDE: blas.include, FORGE_OPENBLAS_LIB: blas.lib },
  });
  if (result.status !== 0 || !fs.existsSync(addonFile)) {
    const log = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    warn(
      `node-gyp failed (exit ${result.status ?? result.error}):\n${log}`,
      'see the compiler output above (a C++17 compiler and make are needed: apt-get install build-essential ' +
        'libopenblas-dev), then npm run build:native',
    );
    return;
  }
  console.log(
    `[@llm-forge/tfjs-backend-native] built ${path.relative(process.cwd(), addonFile)} (OpenBLAS from ${blas.lib})`,
  );
}

try {
  main();
} catch (err) {
  warn(
    String(err && err.message ? err.message : err),
    'apt-get install libopenblas-dev, then npm run build:native',
  );
}
process.exit(0);
