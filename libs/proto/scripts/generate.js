#!/usr/bin/env node
/**
 * Regenerates `src/generated/` from the `.proto` sources in `proto/` with protoc + ts-proto,
 * then formats the output with the repository's Prettier config so it is byte-stable.
 *
 *   npm run generate --workspace @llm-forge/proto        (or: node libs/proto/scripts/generate.js)
 *   node libs/proto/scripts/generate.js --out /tmp/x     (somewhere else, e.g. to compare)
 *
 * Needs `protoc` on PATH (Debian: `apt-get install -y protobuf-compiler`) or in $PROTOC.
 * Files under `src/generated/` are never edited by hand: change a `.proto` and rerun this.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const LIB_DIR = path.resolve(__dirname, '..');
const PROTO_DIR = path.join(LIB_DIR, 'proto');
const GENERATED_DIR = path.join(LIB_DIR, 'src', 'generated');
const PLUGIN = require.resolve('ts-proto/protoc-gen-ts_proto');

/**
 * ts-proto options, one per line with its reason.
 * - outputServices=grpc-js: service definitions and clients for @grpc/grpc-js.
 * - env=node: `bytes` fields are Node `Buffer`s (grpc-js hands us Buffers; decode copies the
 *   payload into its own Buffer, which is what lets receivers view it as a Float32Array).
 * - esModuleInterop=true: matches tsconfig.base.json.
 * - annotateFilesWithVersion=false: no protoc/ts-proto versions in the header, so the output
 *   only changes when the .proto files or the ts-proto version pinned in package.json do.
 * - useOptionals=messages: nested messages are optional properties instead of `T | undefined`.
 */
const TS_PROTO_OPTIONS = [
  'outputServices=grpc-js',
  'env=node',
  'esModuleInterop=true',
  'annotateFilesWithVersion=false',
  'useOptionals=messages',
];

/** The protoc to run: $PROTOC, else `protoc` on PATH; null when there is none. */
function findProtoc() {
  const candidate = process.env.PROTOC || 'protoc';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? { path: candidate, version: probe.stdout.trim() } : null;
}

/** Every `.proto` file under PROTO_DIR, relative to it, sorted. */
function protoFiles() {
  return listFiles(PROTO_DIR).filter((f) => f.endsWith('.proto'));
}

/** Every file under `dir`, relative to it, sorted. */
function listFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listFiles(path.join(dir, e.name)).map((f) => path.join(e.name, f)) : [e.name],
    )
    .sort();
}

/**
 * Runs protoc + ts-proto into `outDir` (created, previous content removed) and formats the result.
 * Resolves to the generated file paths relative to `outDir`.
 */
async function generate(outDir = GENERATED_DIR) {
  const protoc = findProtoc();
  if (!protoc)
    throw new Error('protoc not found: install it (apt-get install -y protobuf-compiler) or set $PROTOC');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmforge-proto-'));
  try {
    const args = [
      `--plugin=protoc-gen-ts_proto=${PLUGIN}`,
      `--ts_proto_out=${tmp}`,
      `--ts_proto_opt=${TS_PROTO_OPTIONS.join(',')}`,
      `-I${PROTO_DIR}`,
      ...protoFiles(),
    ];
    const run = spawnSync(protoc.path, args, { cwd: PROTO_DIR, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`protoc failed (${run.status}): ${run.stderr || run.error}`);
    const prettier = require('prettier');
    const config = (await prettier.resolveConfig(path.join(GENERATED_DIR, 'x.ts'))) ?? {};
    fs.rmSync(outDir, { recursive: true, force: true });
    const files = listFiles(tmp);
    for (const rel of files) {
      const source = fs.readFileSync(path.join(tmp, rel), 'utf8');
      const formatted = await prettier.format(source, { ...config, parser: 'typescript' });
      fs.mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
      fs.writeFileSync(path.join(outDir, rel), formatted);
    }
    return files;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

module.exports = { generate, findProtoc, listFiles, GENERATED_DIR, PROTO_DIR, TS_PROTO_OPTIONS };

if (require.main === module) {
  const outFlag = process.argv.indexOf('--out');
  const outDir = outFlag >= 0 ? path.resolve(process.argv[outFlag + 1]) : GENERATED_DIR;
  generate(outDir).then(
    (files) =>
      console.log(`generated ${files.length} files into ${path.relative(process.cwd(), outDir) || '.'}`),
    (err) => {
      console.error(err.message);
      process.exitCode = 1;
    },
  );
}
