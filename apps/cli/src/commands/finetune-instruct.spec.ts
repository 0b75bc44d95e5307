/** `forge finetune instruct` and `forge judge` end to end, in process, on a tiny model. */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { GPTModel, loadModel, presetConfig, saveModel, type GPTConfig } from '@llm-forge/gpt';
import { mergeLoraFolder } from '@llm-forge/finetune';
import { runForge as forge } from '../test-utils/run-forge';
import { startBackend } from '../backend';

/** Whether two float arrays hold the same bytes (jest's toEqual walks millions of floats slowly). */
function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** A model small enough to finetune in seconds, with GPT-2's vocabulary. */
const CONFIG: GPTConfig = presetConfig('tiny', { contextLength: 48, embDim: 32, nHeads: 2 });

const entries = Array.from({ length: 20 }, (_, i) => ({
  instruction: `Add ${i} and 1.`,
  input: i % 3 ? '' : 'Answer with a number.',
  output: `${i + 1}`,
}));

/** A local server playing an OpenAI-compatible judge that always answers `content`. */
async function startJudge(content: string) {
  const prompts: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      prompts.push(JSON.parse(body).messages[0].content);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, prompts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('forge finetune instruct', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-instruct-'));
  const base = path.join(tmp, 'base');
  const data = path.join(tmp, 'data.jsonl');
  const quick = ['--epochs', '1', '--batch-size', '4', '--eval-batches', '1', '--max-new-tokens', '4'];
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    await startBackend();
    saveModel(base, CONFIG, GPTModel.random(CONFIG, 1).readParameters());
    fs.writeFileSync(data, entries.map((e) => JSON.stringify(e)).join('\n'));
    for (const name of ['FORGE_JUDGE_URL', 'FORGE_JUDGE_MODEL', 'FORGE_JUDGE_API_KEY'])
      delete process.env[name];
  });
  afterAll(() => {
    process.env = savedEnv;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('finetunes, saves the model, answers the test split and has a judge score it', async () => {
    const judge = await startJudge('Score: 40');
    const out = path.join(tmp, 'out');
    try {
      const run = await forge(
        'finetune', 'instruct', '--data', data, '--model', base, '--out', out, '--style', 'phi3',
        '--mask-instruction', ...quick, '--judge-url', judge.url, '--judge-model', 'judge-llm', '--json',
      ); // prettier-ignore
      expect(run.stderr).not.toMatch(/forge:/);
      expect(run.code).toBe(0);
      expect(run.json).toMatchObject({
        steps: 4, // 17 training examples in batches of 4, the last partial one dropped
        examples: { train: 17, validation: 1, test: 2 },
        style: 'phi3',
        mask_instruction: true,
        responses: 2,
        responses_file: path.join(out, 'responses.json'),
        judge_average: 40,
        judge_scored: 2,
        judge_model: 'judge-llm',
      });
      expect(run.json.train_loss).toEqual(expect.any(Number));
      expect(run.json.val_loss).toEqual(expect.any(Number));
      expect(run.json.train_loss as number).toBeLessThan(run.json.initial_train_loss as number);
      // Before training, every --eval-every steps, at the end of the epoch; the last is the final loss.
      const evals = run.json.evals as Array<{ step: number; train_loss: number; val_loss: number }>;
      expect(evals.map((e) => e.step)).toEqual([0, 4]);
      expect(evals[0].train_loss).toBe(run.json.initial_train_loss);
      expect(evals[1].train_loss).toBeCloseTo(run.json.train_loss as number, 5);
      expect(run.stderr).toMatch(/step 4: train loss \d+\.\d{3}, val loss \d+\.\d{3}/);
      expect(run.json.step_losses).toHaveLength(4);
      // The model is --out itself: no job layout (model/, state/) inside it.
      expect(fs.readdirSync(out).sort()).toEqual([
        'checksums.json',
        'config.json',
        'finetune.json',
        'model.safetensors',
        'responses-scores.json',
        'responses.json',
      ]);

      const responses = JSON.parse(fs.readFileSync(path.join(out, 'responses.json'), 'utf8'));
      expect(responses).toHaveLength(2);
      expect(responses[0].prompt).toMatch(
        /^<\|user\|>\nAdd \d+ and 1\.(\nAnswer with a number\.)?\n<\|assistant\|>\n$/,
      );
      expect(responses[0].model_response).toEqual(expect.any(String));
      expect(judge.prompts[0]).toContain(`score the model response \`${responses[0].model_response}\``);
      const scores = JSON.parse(fs.readFileSync(path.join(out, 'responses-scores.json'), 'utf8'));
      expect(scores.scores.map((s: { score: number }) => s.score)).toEqual([40, 40]);
      expect(JSON.parse(fs.readFileSync(path.join(out, 'finetune.json'), 'utf8')).train_loss).toBe(
        run.json.train_loss,
      );

      const finetuned = loadModel(out);
      expect(finetuned.config).toEqual(CONFIG);
      expect(sameBytes(finetuned.params, loadModel(base).params)).toBe(false);

      const rejudged = await forge(
        'judge', '--responses', path.join(out, 'responses.json'), '--judge-url', `${judge.url}/v1`,
        '--judge-model', 'm', '--out', path.join(tmp, 'scores.json'), '--json',
      ); // prettier-ignore
      expect(rejudged.code).toBe(0);
      expect(rejudged.json).toMatchObject({
        judge_average: 40,
        judge_scored: 2,
        scores_file: path.join(tmp, 'scores.json'),
      });
    } finally {
      await judge.close();
    }
  });

  it('with --lora-rank trains adapters only, saves them apart and the merged model as the result', async () => {
    const out = path.join(tmp, 'lora');
    const run = await forge(
      'finetune', 'instruct', '--data', data, '--model', base, '--out', out, '--lora-rank', '2',
      '--lora-alpha', '4', '--lr', '1e-2', ...quick, '--test-limit', '1', '--json',
    ); // prettier-ignore
    expect(run.stderr).not.toMatch(/forge:/);
    expect(run.code).toBe(0);
    // 2 blocks x rank 2 x (c_attn 32+96, attn c_proj 32+32, c_fc 32+128, mlp c_proj 128+32)
    expect(run.json).toMatchObject({
      lora_rank: 2,
      lora_alpha: 4,
      trainable_parameters: 2 * 2 * 512,
      responses: 1,
    });
    expect(run.json.adapter_dir).toBe(path.join(out, 'adapter'));
    // The saved model is the base with the adapters merged: what `forge lora merge` makes of them.
    mergeLoraFolder(base, path.join(out, 'adapter'), path.join(tmp, 'lora-merged'));
    const merged = loadModel(path.join(tmp, 'lora-merged')).params;
    const saved = loadModel(out).params;
    const basePlain = loadModel(base).params;
    expect(sameBytes(saved, basePlain)).toBe(false);
    let worst = 0;
    for (let i = 0; i < saved.length; i++) worst = Math.max(worst, Math.abs(saved[i] - merged[i]));
    expect(worst).toBeLessThan(1e-6);
  });

  it('takes a pretraining run checkpoint as <run>/latest, and says what to give for the run directory', async () => {
    const run = path.join(tmp, 'runs', 'run-abc');
    fs.cpSync(base, path.join(run, 'step-000010'), { recursive: true });
    fs.writeFileSync(path.join(run, 'latest'), 'step-000010\n');
    const finetune = (model: string, out: string) =>
      forge(
        'finetune',
        'instruct',
        '--data',
        data,
        '--model',
        model,
        '--out',
        out,
        ...quick,
        '--test-limit',
        '0',
        '--json',
      );
    const viaLatest = await finetune(path.join(run, 'latest'), path.join(tmp, 'from-latest'));
    expect(viaLatest.stderr).not.toMatch(/forge:/);
    expect(viaLatest.code).toBe(0);
    expect(viaLatest.json).toMatchObject({ steps: 4, responses: 0 });
    const bare = await finetune(run, path.join(tmp, 'from-run-dir'));
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain(`${run}: is a run's checkpoint directory, not a model (give ${run}/latest`);
  });

  it('says how to configure a judge when none is given', async () => {
    const run = await forge('judge', '--responses', data);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /no judge endpoint configured \(missing URL and model name\).*--judge-url.*FORGE_JUDGE_URL/,
    );
    const instruct = await forge(
      'finetune',
      'instruct',
      '--data',
      data,
      '--model',
      base,
      '--out',
      path.join(tmp, 'nj'),
      '--judge-model',
      'm',
    );
    expect(instruct.code).toBe(1);
    expect(instruct.stderr).toMatch(/no judge endpoint configured \(missing URL\)/);
    expect(fs.existsSync(path.join(tmp, 'nj'))).toBe(false);
  });

  it('reports a responses file without model_response and an unreachable judge', async () => {
    const noResponses = await forge(
      'judge',
      '--responses',
      data,
      '--judge-url',
      'http://127.0.0.1:9',
      '--judge-model',
      'm',
    );
    expect(noResponses.code).toBe(1);
    expect(noResponses.stderr).toContain(`${data}: entry 0 (line 1) has no "model_response" string`);
    const file = path.join(tmp, 'r.json');
    fs.writeFileSync(file, JSON.stringify([{ ...entries[0], model_response: '1' }]));
    const unreachable = await forge(
      'judge',
      '--responses',
      file,
      '--judge-url',
      'http://127.0.0.1:9',
      '--judge-model',
      'm',
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(
      /cannot reach the judge at http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions/,
    );
  });

  it('rejects bad input with one clear line', async () => {
    const notJson = path.join(tmp, 'bad.json');
    fs.writeFileSync(notJson, '[\n  {"instruction": "a", "output": "b"},\n  oops\n]');
    const missing = path.join(tmp, 'missing.json');
    fs.writeFileSync(missing, JSON.stringify([entries[0], { instruction: 'x' }]));
    const otherVocab = path.join(tmp, 'other-vocab');
    const small: GPTConfig = { ...CONFIG, vocabSize: 1000 };
    saveModel(otherVocab, small, GPTModel.random(small, 1).readParameters());
    const args = (dataFile: string, ...rest: string[]) => [
      'finetune', 'instruct', '--data', dataFile, '--out', path.join(tmp, 'never'), ...rest,
    ]; // prettier-ignore
    const cases: Array<[string[], RegExp]> = [
      [args(notJson, '--model', base), /bad\.json is not valid JSON at line 3, column 3 \(unexpected "o"\)/],
      [args(missing, '--model', base), /missing\.json: entry 1 has no "output" field/],
      [
        args(path.join(tmp, 'nope.json'), '--model', base),
        /cannot read instruction data .*nope\.json: no such file/,
      ],
      [args(data), /give exactly one of --model <dir> .* or --preset <name>/],
      [args(data, '--model', base, '--preset', 'tiny'), /give exactly one of --model/],
      [
        args(data, '--model', otherVocab),
        /other-vocab\/config\.json: the checkpoint's vocabulary has 1000 tokens, not GPT-2's 50257/,
      ],
      [args(data, '--model', base, '--style', 'chatml'), /style must be one of alpaca, phi3, got "chatml"/],
      [
        args(data, '--model', base, '--max-length', '100'),
        /hyperparameters\.maxLength must be an integer in \[2, 48\]/,
      ],
      [
        args(data, '--model', base, '--batch-size', '18'),
        /training split has 17 examples, fewer than one batch of 18/,
      ],
      [args(data, '--model', base, '--lora-rank', '0'), /--lora-rank.*expected an integer >= 1/],
      [args(data, '--model', base, '--epochs', '0'), /--epochs.*expected an integer >= 1/],
      [args(data, '--model', base, '--out', base), /base already exists.*--overwrite/],
    ];
    for (const [argv, message] of cases) {
      const run = await forge(...argv);
      expect({ argv, code: run.code }).toEqual({ argv, code: 1 });
      expect(run.stderr).toMatch(message);
    }
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });
});
