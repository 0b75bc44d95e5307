import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The generator script is plain CommonJS so it runs without a TypeScript build. */
const SCRIPT = path.resolve(__dirname, '../../../scripts/generate.js');
interface GenerateScript {
  findProtoc(): { path: string; version: string } | null;
  listFiles(dir: string): string[];
  GENERATED_DIR: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const script = require(SCRIPT) as GenerateScript;

const protoc = script.findProtoc();
const describeWithProtoc = protoc ? describe : describe.skip;
if (!protoc) {
  console.warn(
    'generated-code.spec: protoc not found, skipping the regeneration check (apt-get install -y protobuf-compiler)',
  );
}

describe('generated code', () => {
  it('is committed and marked as generated', () => {
    const files = script.listFiles(script.GENERATED_DIR);
    expect(files).toEqual(['llmforge/collective/v1/collective.ts', 'llmforge/coordinator/v1/coordinator.ts']);
    for (const f of files) {
      const head = fs.readFileSync(path.join(script.GENERATED_DIR, f), 'utf8').slice(0, 200);
      expect(head).toContain('DO NOT EDIT');
      expect(head).toContain('eslint-disable');
    }
  });
});

describeWithProtoc('generated code (protoc available)', () => {
  it('regenerates byte-identical from the .proto sources', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'llmforge-proto-spec-'));
    try {
      // A child process: Prettier 3 loads its plugins with dynamic import(), which Jest's VM refuses.
      execFileSync(process.execPath, [SCRIPT, '--out', out], { stdio: 'pipe' });
      const files = script.listFiles(out);
      expect(files).toEqual(script.listFiles(script.GENERATED_DIR));
      for (const f of files) {
        const fresh = fs.readFileSync(path.join(out, f));
        const committed = fs.readFileSync(path.join(script.GENERATED_DIR, f));
        if (!fresh.equals(committed)) {
          throw new Error(
            `${f} differs from a fresh generation: run \`npm run generate --workspace @llm-forge/proto\``,
          );
        }
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
