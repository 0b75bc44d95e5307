import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import { createTokenizer, generate, GPTModel, loadModel, saveModel } from '@llm-forge/gpt';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';
import { TEST_TOKEN, useTestApp } from '../test-utils/harness';
import { type ActiveGeneration, type GenerationExecutor } from './generation-executor';
import type { StreamEvent } from './generation-messages';
import { GENERATION_EXECUTOR, MAX_CONCURRENT_GENERATIONS } from './generate.service';
import { DEFAULT_NEW_TOKENS } from './generate.schema';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
const PROMPT = 'Call me Ishmael.';

/** Parses a text/event-stream body into its events. */
function parseSse(body: string): { event: string; data: Record<string, unknown> }[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6) ?? '{}';
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

/** The continuation libs/gpt gives directly: greedy, KV cache, stopped before `<|endoftext|>`. */
function greedyText(dir: string, prompt: string, maxNewTokens: number): { text: string; tokens: number } {
  const tokenizer = createTokenizer();
  const { config, params } = loadModel(dir);
  const model = GPTModel.fromParameters(config, params);
  try {
    const ids = generate(model, tokenizer.encode(prompt), {
      maxNewTokens,
      temperature: 0,
      eosId: tokenizer.endOfTextId,
    }).filter((id) => id !== tokenizer.endOfTextId);
    return { text: tokenizer.decode(ids), tokens: ids.length };
  } finally {
    model.dispose();
  }
}

describe('POST /generate (e2e, Redis)', () => {
  const ctx = useTestApp();
  let tmp = '';
  let modelDir = '';

  beforeAll(async () => {
    await initBackend();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'forge-generate-'));
    modelDir = path.join(tmp, 'tiny');
    const model = GPTModel.random(TEST_CONFIG, 7);
    saveModel(modelDir, TEST_CONFIG, model.readParameters());
    model.dispose();
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const post = (body: object) => request(ctx.server).post('/generate').set(auth).send(body);

  it('streams the tokens greedy generation through libs/gpt gives, then done', async () => {
    if (!ctx.up) return;
    const res = await post({ checkpoint: modelDir, prompt: PROMPT, maxNewTokens: 12, temperature: 0 }).expect(
      200,
    );
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = parseSse(res.text);
    const tokens = events.filter((e) => e.event === 'token');
    const expected = greedyText(modelDir, PROMPT, 12);
    expect(tokens.length).toBeGreaterThan(1); // streamed piece by piece, not in one block
    expect(tokens.map((e) => e.data.text).join('')).toBe(expected.text);
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data.tokens).toBe(expected.tokens);
    expect(done.data.tokensPerSecond).toBeGreaterThan(0);
    expect(events.filter((e) => e.event === 'done')).toHaveLength(1);
  });

  it('generates DEFAULT_NEW_TOKENS tokens when maxNewTokens is not given', async () => {
    if (!ctx.up) return;
    const res = await post({ checkpoint: modelDir, prompt: PROMPT }).expect(200);
    const done = parseSse(res.text).at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data.tokens).toBe(greedyText(modelDir, PROMPT, DEFAULT_NEW_TOKENS).tokens);
  });

  it('is in the OpenAPI document with its body schema', async () => {
    if (!ctx.up) return;
    const doc = (await request(ctx.server).get('/openapi.json').set(auth).expect(200)).body;
    const op = doc.paths['/generate'].post;
    const schema = op.requestBody.content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['checkpoint', 'prompt', 'maxNewTokens', 'temperature', 'topK']),
    );
    expect(schema.properties.maxNewTokens.maximum).toBe(1024);
    expect(schema.properties.maxNewTokens.default).toBe(50);
    expect(schema.required).not.toContain('maxNewTokens');
    // the token is FORGE_API_TOKEN, 48 hex digits, not a JWT
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.bearer.bearerFormat).not.toBe('JWT');
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '503']));
  });

  it('answers 400 naming the field for a bad body', async () => {
    if (!ctx.up) return;
    const base = { checkpoint: modelDir, prompt: PROMPT, maxNewTokens: 4 };
    const cases: [object, string][] = [
      [{ ...base, prompt: undefined }, 'prompt'],
      [{ ...base, maxNewTokens: 5000 }, 'maxNewTokens'],
      [{ ...base, maxNewTokens: 1.5 }, 'maxNewTokens'],
      [{ ...base, temperature: -1 }, 'temperature'],
      [{ ...base, topK: 0 }, 'topK'],
      [{ ...base, checkpoint: 'tiny' }, 'checkpoint'],
      [{ ...base, max_new_tokens: 4 }, '(body)'],
    ];
    for (const [body, field] of cases) {
      const res = await post(body).expect(400);
      expect(res.body.error).toBe('validation_failed');
      expect(res.body.issues.map((i: { field: string }) => i.field)).toContain(field);
    }
  });

  it('answers 404 for a missing checkpoint directory and 401 without a token', async () => {
    if (!ctx.up) return;
    const missing = path.join(tmp, 'nothing-here');
    const res = await post({ checkpoint: missing, prompt: PROMPT, maxNewTokens: 4 }).expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'checkpoint_not_found' });
    expect(res.body.message).toContain(missing);
    mkdirSync(path.join(tmp, 'empty'), { recursive: true });
    const empty = await post({ checkpoint: path.join(tmp, 'empty'), prompt: PROMPT, maxNewTokens: 4 });
    expect(empty.status).toBe(404);
    expect(empty.body.message).toContain('config.json is missing');
    const unauth = await request(ctx.server)
      .post('/generate')
      .send({ checkpoint: modelDir, prompt: PROMPT, maxNewTokens: 4 })
      .expect(401);
    expect(unauth.body.error).toBe('unauthorized');
  });

  it('answers 422 naming the file for a corrupt model.safetensors', async () => {
    if (!ctx.up) return;
    const corrupt = path.join(tmp, 'corrupt');
    saveModel(corrupt, TEST_CONFIG, GPTModel.random(TEST_CONFIG, 1).readParameters(), { overwrite: true });
    writeFileSync(path.join(corrupt, 'model.safetensors'), 'not a safetensors file');
    const res = await post({ checkpoint: corrupt, prompt: PROMPT, maxNewTokens: 4 }).expect(422);
    expect(res.body.error).toBe('checkpoint_unreadable');
    expect(res.body.message).toContain('model.safetensors');
  });

  it('resolves <runId>/<checkpoint> and <runId>/latest in the run, refuses traversal', async () => {
    if (!ctx.up) return;
    const out = path.join(tmp, 'run-out');
    const run = (
      await request(ctx.server)
        .post('/runs')
        .set(auth)
        .send({ data: { text: 'builtin:moby-dick' }, steps: 4, out })
        .expect(201)
    ).body as { id: string };
    const params = GPTModel.random(TEST_CONFIG, 3).readParameters();
    saveModel(path.join(out, 'step-000001'), TEST_CONFIG, params, { overwrite: true });
    saveModel(path.join(out, 'step-000002'), TEST_CONFIG, params, { overwrite: true });
    const body = { prompt: PROMPT, maxNewTokens: 3 };
    for (const name of ['step-000001', 'latest']) {
      const res = await post({ ...body, checkpoint: `${run.id}/${name}` }).expect(200);
      expect(parseSse(res.text).at(-1)!.event).toBe('done');
    }
    const noCkpt = await post({ ...body, checkpoint: `${run.id}/step-000009` }).expect(404);
    expect(noCkpt.body.error).toBe('checkpoint_not_found');
    const noRun = await post({ ...body, checkpoint: 'run-nope/latest' }).expect(404);
    expect(noRun.body.error).toBe('run_not_found');
    for (const bad of [`${run.id}/..`, `../${run.id}`, `${run.id}/../x`]) {
      const res = await post({ ...body, checkpoint: bad }).expect(400);
      expect(res.body.issues[0].field).toBe('checkpoint');
    }
  });

  describe('on a listening server', () => {
    let base = '';
    let seen: StreamEvent[][] = [];
    let generations: ActiveGeneration[] = [];
    /** What each generation's slot waits for besides its end (a test holds slots with it). */
    let slotHeld: Promise<void> = Promise.resolve();

    beforeEach(async () => {
      if (!ctx.up) return;
      await ctx.built!.app.listen(0, '127.0.0.1');
      const { port } = (ctx.built!.app.getHttpServer() as Server).address() as AddressInfo;
      base = `http://127.0.0.1:${port}`;
      // record what each generation produced, whether or not the client was still there to read it
      seen = [];
      generations = [];
      slotHeld = Promise.resolve();
      const executor = ctx.built!.app.get<GenerationExecutor>(GENERATION_EXECUTOR);
      const start = executor.start.bind(executor);
      jest.spyOn(executor, 'start').mockImplementation(async (job) => {
        const g = await start(job);
        const log: StreamEvent[] = [];
        seen.push(log);
        generations.push(g);
        async function* tap(): AsyncGenerator<StreamEvent> {
          for await (const e of g.events) {
            log.push(e);
            yield e;
          }
        }
        return { ...g, events: tap(), finished: g.finished.then(() => slotHeld) };
      });
    });

    /** Opens a stream of 1024 tokens and returns once its first token arrived. */
    async function openLong(signal: AbortSignal): Promise<void> {
      const res = await fetch(`${base}/generate`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        // seeded, so that whether it samples <|endoftext|> early is the same on every run
        body: JSON.stringify({
          checkpoint: modelDir,
          prompt: PROMPT,
          maxNewTokens: 1024,
          temperature: 1,
          seed: 11,
        }),
        signal,
      });
      expect(res.status).toBe(200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('event: token')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before its first token: ${text}`);
        text += value;
      }
    }

    it('stops generating when the client disconnects', async () => {
      if (!ctx.up) return;
      const abort = new AbortController();
      await openLong(abort.signal);
      abort.abort();
      await generations[0].finished;
      const done = seen[0].at(-1)!;
      expect(done.type).toBe('done');
      expect(done.type === 'done' && done.summary.tokens).toBeLessThan(1024);
    });

    it(`answers 503 beyond ${MAX_CONCURRENT_GENERATIONS} generations at once`, async () => {
      if (!ctx.up) return;
      const abort = new AbortController();
      // A random model may sample <|endoftext|>, and 1024 tokens of it take a second or two: hold
      // the slots until the refusal has been seen, so that a generation ending early cannot free one.
      let releaseSlots = (): void => undefined;
      slotHeld = new Promise((resolve) => (releaseSlots = resolve));
      for (let i = 0; i < MAX_CONCURRENT_GENERATIONS; i++) await openLong(abort.signal);
      const res = await post({ checkpoint: modelDir, prompt: PROMPT, maxNewTokens: 4 }).expect(503);
      expect(res.body.error).toBe('generation_busy');
      expect(res.headers['retry-after']).toBeDefined();
      releaseSlots();
      abort.abort();
      await Promise.all(generations.map((g) => g.finished));
      await new Promise((r) => setImmediate(r)); // the slots are released just after `finished`
      await post({ checkpoint: modelDir, prompt: PROMPT, maxNewTokens: 2 }).expect(200);
    });
  });
});
