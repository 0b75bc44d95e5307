/**
 * A step checkpoint whose bytes changed after it was written (same size, so it still parses) is a
 * `checkpoint` failure naming the file — what makes the coordinator fall back to an older checkpoint
 * (issue 14: a flipped tensor of step-000030 loaded silently and the run went on from it).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RingAllReduce } from '@llm-forge/collective';
import { runSpecSchema, type RankResult, type RunRankJobData } from '@llm-forge/cluster-protocol';
import { GPTModel, saveModel } from '@llm-forge/gpt';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { TrainingSession } from './session/training-session';

describe('a corrupt step checkpoint on a worker', () => {
  let tmp = '';
  const rings: RingAllReduce[] = [];

  beforeAll(async () => {
    await initBackend(process.env.FORGE_BACKEND ?? 'auto');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-worker-sums-'));
  });
  afterAll(async () => {
    await Promise.all(rings.map((r) => r.close()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function session(id: string): Promise<{ session: TrainingSession; address: string }> {
    const ring = await RingAllReduce.listen({ rank: 0, worldSize: 1, secret: 'secret', timeoutMs: 1500 });
    rings.push(ring);
    return { session: new TrainingSession(id, ring), address: ring.address };
  }

  it('is reported as a checkpoint failure naming the file, checksum mismatch', async () => {
    const textFile = path.join(tmp, 'text.txt');
    fs.writeFileSync(textFile, 'Every effort moves you forward, and every step counts. '.repeat(60));
    const init = path.join(tmp, 'init');
    const model = GPTModel.random({ ...TEST_CONFIG, embDim: 16, nHeads: 2, nLayers: 1 }, 5);
    saveModel(init, model.config, model.readParameters());
    model.dispose();
    const checkpointDir = path.join(tmp, 'ckpt');
    const spec = runSpecSchema.parse({
      model: { init },
      data: { text: textFile },
      batchSize: 2,
      steps: 4,
      shuffle: false,
      evalEvery: 0,
      checkpointEvery: 2,
    });
    const job = (
      w: { address: string },
      step: number,
      attempt: number,
      resumeFrom?: string,
    ): RunRankJobData => ({
      kind: 'run',
      jobId: 'run-sums',
      step,
      endStep: step + 1,
      attempt,
      worldSize: 1,
      rank: 0,
      peers: [{ workerId: 'w0', address: w.address }],
      spec,
      checkpointDir,
      ...(resumeFrom ? { resumeFrom } : {}),
    });
    const writer = await session('w0');
    let last: RankResult | undefined;
    for (let s = 0; s < 2; s++) last = await writer.session.run(job(writer, s, 0));
    expect(last).toMatchObject({ ok: true, steps: [{ checkpoint: { name: 'step-000002' } }] });

    const moments = path.join(checkpointDir, 'step-000002', 'optimizer.safetensors');
    const bytes = fs.readFileSync(moments);
    bytes[bytes.length - 3] ^= 0x01; // one bit of the last AdamW moment; the size is unchanged
    fs.writeFileSync(moments, bytes);

    const reader = await session('w1');
    const result = await reader.session.run(job(reader, 2, 1, path.join(checkpointDir, 'step-000002')));
    expect(result).toMatchObject({ ok: false, kind: 'checkpoint', file: moments });
    expect(result.ok ? '' : result.error).toContain('checkpoint is corrupt (checksum mismatch)');
  });
});
