/** Text, dataset and model references resolved against real folders in a temporary directory. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkpointName, LATEST_FILE } from '../checkpoint-names';
import { listCheckpoints } from '../run-checkpoints';
import { resolveDatasetReference } from './dataset-reference';
import { parseRunCheckpointRef, resolveModelReference, resolveRunCheckpoint } from './model-reference';
import { InputReferenceError } from './reference-error';
import { resolveTextReference } from './text-reference';

/** The message a rejected promise carries (fails the test when it resolves). */
async function problem(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputReferenceError);
  return (error as InputReferenceError).message;
}

describe('references', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-refs-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A folder with the files a model directory (or a complete checkpoint) has. */
  function modelDir(dir: string): string {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) fs.writeFileSync(path.join(dir, f), '{}');
    return dir;
  }

  describe('texts', () => {
    it('takes the built-in corpus and files, as absolute paths', async () => {
      expect(await resolveTextReference('builtin:moby-dick')).toEqual({
        kind: 'builtin',
        name: 'builtin:moby-dick',
      });
      const file = path.join(tmp, 'a.txt');
      fs.writeFileSync(file, 'some text');
      const relative = path.relative(process.cwd(), file);
      expect(await resolveTextReference(relative)).toEqual({ kind: 'file', path: file });
    });

    it('says what is wrong and what to give instead', async () => {
      expect(await problem(resolveTextReference('/nonexistent/file.txt'))).toBe(
        '/nonexistent/file.txt: text file not found (give a UTF-8 text file, or builtin:moby-dick for the built-in corpus)',
      );
      expect(await problem(resolveTextReference('builtin:war-and-peace'))).toMatch(
        /no such built-in text.*builtin:moby-dick/,
      );
      expect(await problem(resolveTextReference(tmp))).toMatch(
        /is a directory, not a text file.*forge prepare/,
      );
      const empty = path.join(tmp, 'empty.txt');
      fs.writeFileSync(empty, '');
      expect(await problem(resolveTextReference(empty))).toMatch(/text file is empty/);
    });
  });

  describe('datasets', () => {
    it('takes a directory with a manifest, refuses others', async () => {
      const data = path.join(tmp, 'data');
      fs.mkdirSync(data);
      expect(await problem(resolveDatasetReference(data))).toMatch(/has no manifest\.json.*forge prepare/);
      fs.writeFileSync(path.join(data, 'manifest.json'), '{}');
      expect(await resolveDatasetReference(data)).toBe(data);
      expect(await problem(resolveDatasetReference(path.join(tmp, 'none')))).toMatch(
        /dataset directory not found/,
      );
      expect(await problem(resolveDatasetReference(path.join(data, 'manifest.json')))).toMatch(/is a file/);
    });
  });

  describe('models', () => {
    const run = path.join(tmp, 'runs', 'run-1');

    it('takes a model directory and a run checkpoint directory', async () => {
      const model = modelDir(path.join(tmp, 'model'));
      expect(await resolveModelReference(model)).toBe(model);
      const step = modelDir(path.join(run, checkpointName(100)));
      expect(await resolveModelReference(step)).toBe(step);
    });

    it('resolves <run>/latest to the checkpoint the latest file names, else the newest complete one', async () => {
      modelDir(path.join(run, checkpointName(200)));
      fs.mkdirSync(path.join(run, checkpointName(300))); // interrupted: no marker files
      expect(await resolveModelReference(path.join(run, LATEST_FILE))).toBe(
        path.join(run, checkpointName(200)),
      );
      fs.writeFileSync(path.join(run, LATEST_FILE), `${checkpointName(100)}\n`);
      expect(await resolveModelReference(path.join(run, LATEST_FILE))).toBe(
        path.join(run, checkpointName(100)),
      );
      expect(await resolveRunCheckpoint(run, checkpointName(200))).toBe(path.join(run, checkpointName(200)));
      const listed = await listCheckpoints(run);
      expect(listed.map((c) => [c.name, c.step, c.complete, c.latest])).toEqual([
        ['step-000100', 100, true, true],
        ['step-000200', 200, true, false],
        ['step-000300', 300, false, false],
      ]);
    });

    it('says what is wrong and what to give instead', async () => {
      expect(await problem(resolveModelReference(run))).toMatch(
        new RegExp(
          `is a run's checkpoint directory, not a model \\(give ${run}/latest .* ${run}/step-000200`,
        ),
      );
      expect(await problem(resolveModelReference(path.join(run, LATEST_FILE, '..', 'nope')))).toMatch(
        /does not exist/,
      );
      expect(await problem(resolveModelReference(path.join(run, 'step-000100', 'config.json')))).toMatch(
        /is a file, not a model directory/,
      );
      expect(await problem(resolveRunCheckpoint(run, checkpointName(300)))).toMatch(
        /no complete checkpoint "step-000300".*step-000100, step-000200, or latest/,
      );
      const empty = path.join(tmp, 'runs', 'run-2');
      fs.mkdirSync(empty);
      expect(await problem(resolveModelReference(path.join(empty, 'latest')))).toMatch(
        /no complete checkpoint yet/,
      );
      expect(await problem(resolveModelReference(path.join(tmp, 'runs', 'run-3', 'latest')))).toMatch(
        /run directory .* does not exist/,
      );
      const noWeights = path.join(tmp, 'half');
      fs.mkdirSync(noWeights);
      fs.writeFileSync(path.join(noWeights, 'config.json'), '{}');
      expect(await problem(resolveModelReference(noWeights))).toMatch(/model\.safetensors is missing/);
    });

    it('parses <runId>/<checkpoint> without traversal', () => {
      expect(parseRunCheckpointRef('run-1/latest')).toEqual({ runId: 'run-1', name: 'latest' });
      for (const bad of ['/abs/x', 'run-1/..', '../run-1', 'a/b/c', 'run-1']) {
        expect(parseRunCheckpointRef(bad)).toBeUndefined();
      }
    });
  });
});
