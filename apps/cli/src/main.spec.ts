/** The forge CLI end to end, in process: real training, checkpoints, evaluation and errors. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { runForge as forge } from './test-utils/run-forge';

const TEXT = (
  'Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in my purse, ' +
  'and nothing particular to interest me on shore, I thought I would sail about a little and see the watery ' +
  'part of the world. '
).repeat(8);

describe('forge CLI', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-cli-'));
  const textFile = path.join(tmp, 'text.txt');
  const ckpt = path.join(tmp, 'ckpt');
  const small = ['--preset', 'tiny', '--context-length', '16', '--batch-size', '2', '--eval-batches', '2'];
  beforeAll(() => fs.writeFileSync(textFile, TEXT));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('info reports parameter counts of presets', async () => {
    const run = await forge('info', '--preset', 'gpt2-small', '--json');
    expect(run.code).toBe(0);
    expect(run.json.parameters).toBe(124_439_808);
  });

  it('train writes a checkpoint and a JSON summary', async () => {
    const run = await forge('train', '--text', textFile, ...small, '--steps', '3', '--json', '--out', ckpt);
    expect(run.code).toBe(0);
    expect(run.json.step_losses).toHaveLength(3);
    expect(run.json.final_train_loss).toEqual(expect.any(Number));
    expect(run.json.tokens_per_second as number).toBeGreaterThan(0);
    for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']) {
      expect(fs.existsSync(path.join(ckpt, f))).toBe(true);
    }
  });

  it('fails loudly when training diverges, and saves no checkpoint of a broken model', async () => {
    const out = path.join(tmp, 'diverged');
    const run = await forge('train', '--text', textFile, ...small, '--lr', '1e30', '--grad-clip', '0', '--steps', '8', '--out', out); // prettier-ignore
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /training diverged at step \d+: the (loss|gradient norm) is (NaN|-?Infinity).*lower the learning rate/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('refuses to overwrite a checkpoint unless asked', async () => {
    const before = fs.readFileSync(path.join(ckpt, 'model.safetensors'));
    const run = await forge('train', '--text', textFile, ...small, '--steps', '1', '--out', ckpt);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/already exists.*--overwrite/);
    expect(fs.readFileSync(path.join(ckpt, 'model.safetensors')).equals(before)).toBe(true);
  });

  it('resumes a run from its checkpoint', async () => {
    const run = await forge(
      'train',
      '--text',
      textFile,
      '--init',
      ckpt,
      '--resume',
      '--steps',
      '5',
      '--json',
      '--out',
      path.join(tmp, 'resumed'),
    );
    expect(run.code).toBe(0);
    expect(run.json.step_losses).toHaveLength(5);
    expect(run.json.steps).toBe(5);
  });

  it('eval reports loss and perplexity', async () => {
    const run = await forge('eval', '--model', ckpt, '--text', textFile, '--context-length', '16', '--json');
    expect(run.code).toBe(0);
    expect(run.json.perplexity as number).toBeCloseTo(Math.exp(run.json.loss as number), 6);
    expect(run.json.batches as number).toBeGreaterThan(0);
  });

  it('refuses a checkpoint whose tensor bytes changed (same size), naming the file, in every command', async () => {
    const flipped = path.join(tmp, 'flipped');
    fs.cpSync(ckpt, flipped, { recursive: true });
    const weights = path.join(flipped, 'model.safetensors');
    const bytes = fs.readFileSync(weights);
    bytes[bytes.length - 7] ^= 0x10; // one bit of the last tensor: the file still parses
    fs.writeFileSync(weights, bytes);
    const corrupt = `${weights}: checkpoint is corrupt (checksum mismatch)`;
    for (const args of [
      ['generate', '--model', flipped, '--prompt', 'Call me', '--max-new-tokens', '2'],
      ['eval', '--model', flipped, '--text', textFile, '--context-length', '16'],
      [
        'train',
        '--text',
        textFile,
        '--init',
        flipped,
        '--resume',
        '--steps',
        '4',
        '--out',
        path.join(tmp, 'never'),
      ],
    ]) {
      const run = await forge(...args);
      expect({ args, code: run.code }).toEqual({ args, code: 1 });
      expect(run.stderr).toContain(corrupt);
    }
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it('eval takes the built-in corpus as its text', async () => {
    const run = await forge(
      'eval', '--model', ckpt, '--text', 'builtin:moby-dick', '--context-length', '16', '--stride', '4096',
      '--batch-size', '8', '--json',
    ); // prettier-ignore
    expect(run.stderr).not.toMatch(/forge:/);
    expect(run.code).toBe(0);
    // Moby Dick is about 260K tokens: 63 windows 4096 apart, 7 full batches of 8.
    expect(run.json.batches as number).toBeGreaterThanOrEqual(6);
    expect(run.json.perplexity as number).toBeCloseTo(Math.exp(run.json.loss as number), 6);
  });

  it('takes <run>/latest and <run>/step-NNNNNN as a model, and says what to give for a run directory', async () => {
    const runDir = path.join(tmp, 'runs', 'run-1');
    for (const step of ['step-000002', 'step-000003'])
      fs.cpSync(ckpt, path.join(runDir, step), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'latest'), 'step-000002\n');
    const byLatest = await forge(
      'eval',
      '--model',
      path.join(runDir, 'latest'),
      '--text',
      textFile,
      '--json',
    );
    const byName = await forge(
      'eval',
      '--model',
      path.join(runDir, 'step-000002'),
      '--text',
      textFile,
      '--json',
    );
    expect(byLatest.code).toBe(0);
    expect(byLatest.json).toEqual(byName.json);
    const info = await forge('info', '--model', path.join(runDir, 'latest'), '--json');
    expect(info.json.parameters).toEqual(expect.any(Number));
    const bare = await forge('generate', '--model', runDir, '--prompt', 'x');
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain(
      `forge: ${runDir}: is a run's checkpoint directory, not a model (give ${runDir}/latest for its newest checkpoint, or a checkpoint such as ${runDir}/step-000003)`,
    );
    const empty = path.join(tmp, 'runs', 'run-2');
    fs.mkdirSync(empty, { recursive: true });
    const none = await forge('generate', '--model', path.join(empty, 'latest'), '--prompt', 'x');
    expect(none.stderr).toMatch(/run-2\/latest: the run has no complete checkpoint yet/);
  });

  it('generate continues the prompt', async () => {
    const run = await forge(
      'generate',
      '--model',
      ckpt,
      '--prompt',
      'Call me',
      '--max-new-tokens',
      '5',
      '--temperature',
      '0.8',
      '--top-k',
      '20',
    );
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith('Call me')).toBe(true);
    expect(run.stdout.length).toBeGreaterThan('Call me'.length);
  });

  it('logits gives the top next tokens, highest first, and logsumexp per position', async () => {
    const run = await forge(
      'logits',
      '--model',
      ckpt,
      '--prompt',
      'Call me Ishmael.',
      '--top-k',
      '5',
      '--json',
    );
    expect(run.code).toBe(0);
    const tokens = run.json.tokens as number[];
    const top = run.json.top as Array<[number, number]>;
    expect(tokens).toEqual([14134, 502, 1148, 21720, 417, 13]);
    expect(top).toHaveLength(5);
    for (let i = 1; i < top.length; i++) expect(top[i][1]).toBeLessThanOrEqual(top[i - 1][1]);
    expect(run.json.logsumexp).toHaveLength(tokens.length);
  });

  it.each([
    [
      ['train', '--text', '/nonexistent/x.txt'],
      /\/nonexistent\/x.txt: text file not found .*builtin:moby-dick/,
    ],
    [['eval', '--model', '__ckpt__', '--text', 'builtin:nope'], /builtin:nope: no such built-in text/],
    // From the checkpoint of the first test: a fresh tiny preset takes seconds to draw under Jest.
    [['train', '--text', '__short__', '--init', '__ckpt__'], /too short|tokens/],
    [['train', '--lr', 'abc'], /--lr.*expected a number > 0/],
    [['train', '--preset', 'huge'], /--preset.*Allowed choices/],
    [['eval', '--model', '/nonexistent/ckpt', '--text', '__text__'], /\/nonexistent\/ckpt/],
    [['generate', '--model', '__corrupt__', '--prompt', 'x'], /model\.safetensors/],
    [['info'], /exactly one of --model <model> or --preset <name>/],
  ])('fails with one clear line: %j', async (args, message) => {
    const corrupt = path.join(tmp, 'corrupt');
    fs.mkdirSync(corrupt, { recursive: true });
    fs.copyFileSync(path.join(ckpt, 'config.json'), path.join(corrupt, 'config.json'));
    fs.writeFileSync(path.join(corrupt, 'model.safetensors'), Buffer.from('not a safetensors file at all'));
    fs.writeFileSync(path.join(tmp, 'short.txt'), 'Too short.');
    const resolved = args.map((a) =>
      a === '__short__'
        ? path.join(tmp, 'short.txt')
        : a === '__text__'
          ? textFile
          : a === '__corrupt__'
            ? corrupt
            : a === '__ckpt__'
              ? ckpt
              : a,
    );
    const run = await forge(...resolved);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(
      run.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('(run with')).length,
    ).toBe(1);
  });

  const bin = path.resolve(__dirname, '../bin/forge.js');
  const built = fs.existsSync(path.resolve(__dirname, '../dist/main.js'));
  (built ? it : it.skip)('runs as the installed `forge` binary', () => {
    const r = spawnSync(process.execPath, [bin, 'info', '--preset', 'small', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() as string).parameters).toBe(30_044_544);
  });
});
