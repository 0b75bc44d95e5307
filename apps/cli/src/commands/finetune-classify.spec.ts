/** `forge finetune classify`, `forge classify` and `forge lora merge` end to end, in process. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GPTModel, saveModel, type GPTConfig } from '@llm-forge/gpt';
import { runForge as forge } from '../test-utils/run-forge';
import { startBackend } from '../backend';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';

/** The shared tiny test model (libs/gpt test-utils). */
const BASE: GPTConfig = TEST_CONFIG;

/** An SMS-Spam-Collection-style TSV: 12 ham and 12 spam rows. */
const SMS = [...Array(6).keys()]
  .flatMap((i) => [
    `ham\tSee you at lunch, ok ${i}?`,
    `ham\tMeeting moved to noon ${i}`,
    `spam\tWIN free cash now! Text ${i} to 87121`,
    `spam\tClaim your prize ${i} today, call 0800`,
  ])
  .join('\n');

describe('forge finetune classify / classify / lora merge', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-classify-'));
  const data = path.join(tmp, 'sms.tsv');
  const base = path.join(tmp, 'base');
  const common = ['--data', data, '--epochs', '1', '--batch-size', '8', '--lr', '1e-3', '--json'];
  beforeAll(async () => {
    await startBackend();
    fs.writeFileSync(data, SMS);
    const model = GPTModel.random(BASE, 0);
    saveModel(base, BASE, model.readParameters());
    model.dispose();
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finetunes the last block of a checkpoint and classifies with the result', async () => {
    const out = path.join(tmp, 'classifier');
    const run = await forge(
      'finetune',
      'classify',
      ...common,
      '--epochs',
      '2',
      '--model',
      base,
      '--out',
      out,
    );
    expect(run.stderr).toMatch(/16 train \/ 2 validation \/ 6 test examples/);
    expect(run.code).toBe(0);
    // One number per epoch, the one its line prints (the job's trainEvalLoss).
    const epochLosses = run.json.epoch_losses as number[];
    expect(epochLosses).toHaveLength(2);
    const printed = [...run.stderr.matchAll(/epoch (\d): train loss (\d+\.\d{4}), val loss/g)];
    expect(printed.map((m) => Number(m[1]))).toEqual([1, 2]);
    expect(printed.map((m) => m[2])).toEqual(epochLosses.map((l) => l.toFixed(4)));
    expect(run.json.steps).toBe(4);
    expect(fs.readdirSync(out).sort()).toEqual(['checksums.json', 'config.json', 'model.safetensors']);
    for (const key of ['train_accuracy', 'val_accuracy', 'test_accuracy']) {
      expect(run.json[key]).toBeGreaterThanOrEqual(0);
      expect(run.json[key]).toBeLessThanOrEqual(1);
    }
    // Last block (2·32 LayerNorm + 32·96+96 + 32·32+32 + 32·128+128 + 128·32+32 + 2·32) + ln_f + head 2·32+2.
    expect(run.json.trainable_parameters).toBe(12_704 + 64 + 66);
    expect(run.json.labels).toEqual(['ham', 'spam']);
    const classified = await forge('classify', '--model', out, '--text', 'WIN free cash now!', '--json');
    expect(classified.code).toBe(0);
    expect(['ham', 'spam']).toContain(classified.json.label);
    expect(classified.json.probability).toBeGreaterThanOrEqual(0.5);
    const plain = await forge('classify', '--model', out, '--text', 'WIN free cash now!');
    expect(plain.stdout).toMatch(/^(ham|spam) \(probability 0\.\d{4}\)\n$/);
  });

  it('trains LoRA adapters that merge into a classifier giving the same answer', async () => {
    const out = path.join(tmp, 'lora');
    const run = await forge(
      'finetune',
      'classify',
      ...common,
      '--model',
      base,
      '--out',
      out,
      '--train',
      'lora',
      '--lora-rank',
      '2',
    );
    expect(run.code).toBe(0);
    // Rank 2 on 8 block layers (2·(128+64+160+160) per block) and on the head (2·(32+2)).
    expect(run.json.trainable_parameters).toBe(2 * 2 * 512 + 68);
    expect(fs.existsSync(path.join(out, 'adapter', 'adapter_config.json'))).toBe(true);
    const merged = path.join(tmp, 'merged');
    const merge = await forge(
      'lora',
      'merge',
      '--model',
      out,
      '--adapter',
      path.join(out, 'adapter'),
      '--out',
      merged,
    );
    expect(merge.code).toBe(0);
    expect(merge.stdout).toMatch(/merged 9 adapted layers/);
    const text = ['--text', 'Claim your prize today', '--json'];
    const [a, b] = [
      await forge('classify', '--model', out, ...text),
      await forge('classify', '--model', merged, ...text),
    ];
    expect(b.json.label).toBe(a.json.label);
    expect(b.json.probability as number).toBeCloseTo(a.json.probability as number, 4);

    // As its own process (the built CLI), the merge prints no TensorFlow.js "install our node
    // backend" banner: it starts the backend before its first tensor.
    const bin = path.resolve(__dirname, '../../bin/forge.js');
    if (!fs.existsSync(path.resolve(__dirname, '../../dist/main.js'))) return;
    const args = ['lora', 'merge', '--model', out, '--adapter', path.join(out, 'adapter'), '--out', path.join(tmp, 'merged-2')]; // prettier-ignore
    const spawned = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    expect(spawned.status).toBe(0);
    expect(spawned.stdout + spawned.stderr).not.toMatch(/TensorFlow\.js in Node\.js|tfjs-node/);
    expect(spawned.stdout).toMatch(/merged 9 adapted layers/);
  });

  it('stops after --max-steps, then evaluates and saves as usual (a quick try)', async () => {
    const out = path.join(tmp, 'quick');
    const full = ['--model', base, '--epochs', '3', '--batch-size', '2', '--lr', '1e-3', '--json'];
    const run = await forge(
      'finetune',
      'classify',
      '--data',
      data,
      ...full,
      '--max-steps',
      '2',
      '--out',
      out,
    );
    expect(run.code).toBe(0);
    expect(run.json.steps).toBe(2);
    expect(run.json.test_accuracy).toEqual(expect.any(Number));
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(true);
  });

  it('starts from random weights of a preset', async () => {
    const run = await forge(
      'finetune',
      'classify',
      ...common,
      '--preset',
      'tiny',
      '--out',
      path.join(tmp, 'preset'),
      '--max-examples',
      '12',
      '--max-length',
      '8',
    );
    expect(run.code).toBe(0);
    expect(run.json.max_length).toBe(8);
    expect(run.json.examples).toEqual({ train: 8, validation: 0, test: 4 });
  });

  it('rejects bad data, unknown labels and a foreign vocabulary with one clear line', async () => {
    const bad = path.join(tmp, 'bad.csv');
    fs.writeFileSync(bad, 'ham,fine\nspam,one, two\n');
    let run = await forge(
      'finetune',
      'classify',
      '--data',
      bad,
      '--model',
      base,
      '--out',
      path.join(tmp, 'x'),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bad\.csv:2: expected 2 fields/);
    fs.writeFileSync(bad, 'ham,fine\nspam,\n');
    run = await forge('finetune', 'classify', '--data', bad, '--model', base, '--out', path.join(tmp, 'x'));
    expect(run.stderr).toMatch(/bad\.csv:2: the text of this "spam" example is empty/);
    run = await forge(
      'finetune',
      'classify',
      '--data',
      data,
      '--labels',
      'ham,junk',
      '--model',
      base,
      '--out',
      path.join(tmp, 'x'),
    );
    expect(run.stderr).toMatch(/sms\.tsv:3: unknown label "spam"/);
    run = await forge('finetune', 'classify', '--data', data, '--out', path.join(tmp, 'x'));
    expect(run.stderr).toMatch(/exactly one of --model/);
    run = await forge(
      'finetune',
      'classify',
      '--data',
      data,
      '--model',
      base,
      '--train',
      'last-9',
      '--out',
      path.join(tmp, 'x'),
    );
    expect(run.stderr).toMatch(/at most last-2/);
    const foreign = path.join(tmp, 'foreign');
    const small = GPTModel.random({ ...BASE, vocabSize: 300 }, 0);
    saveModel(foreign, { ...BASE, vocabSize: 300 }, small.readParameters());
    small.dispose();
    run = await forge(
      'finetune',
      'classify',
      '--data',
      data,
      '--model',
      foreign,
      '--out',
      path.join(tmp, 'x'),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /foreign\/config\.json: the checkpoint's vocabulary has 300 tokens, not GPT-2's 50257/,
    );
    run = await forge('classify', '--model', base, '--text', 'hi');
    expect(run.stderr).toMatch(/missing tensors? score\.weight|not a classifier/);
    expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
  });
});
