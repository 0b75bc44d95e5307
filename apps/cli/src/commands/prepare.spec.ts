/** `forge prepare` in process: folders, JSONL, the built-in corpus, reruns and bad input. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ShardDataset } from '@llm-forge/data-shards';
import { createTokenizer } from '@llm-forge/gpt';
import { builtinCorpus } from '@llm-forge/data-shards';
import { runForge as forge } from '../test-utils/run-forge';

describe('forge prepare', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-prepare-'));
  const corpus = path.join(tmp, 'corpus');
  beforeAll(() => {
    fs.mkdirSync(path.join(corpus, 'more'), { recursive: true });
    fs.writeFileSync(
      path.join(corpus, 'one.txt'),
      'Call me Ishmael. Some years ago, never mind how long precisely.\n'.repeat(20),
    );
    fs.writeFileSync(
      path.join(corpus, 'more', 'two.jsonl'),
      '{"text": "It is a way I have of driving off the spleen."}\n{"text": "Whenever it is a damp, drizzly November in my soul."}\n',
    );
    fs.mkdirSync(path.join(tmp, 'blank'));
    fs.writeFileSync(path.join(tmp, 'blank', 'empty.txt'), '\n\n');
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('tokenizes a folder into shards and prints a JSON summary', async () => {
    const out = path.join(tmp, 'ds');
    const run = await forge(
      'prepare',
      '--input',
      corpus,
      '--out',
      out,
      '--shard-tokens',
      '100',
      '--val-fraction',
      '0.2',
      '--threads',
      '2',
      '--json',
    );
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ out, documents: 3, resumed_shards: 0, threads: 2 });
    const { tokens, train_tokens, val_tokens, shards } = run.json as Record<string, number>;
    expect(train_tokens + val_tokens).toBe(tokens);
    expect(train_tokens).toBe(Math.floor(0.8 * tokens));
    expect(shards).toBe(Math.ceil(tokens / 100));
    expect(ShardDataset.open(out).length).toBe(tokens);
    expect(run.stdout.trim().split('\n')).toHaveLength(1); // with --json, stdout holds the summary only

    const again = await forge(
      'prepare',
      '--input',
      corpus,
      '--out',
      out,
      '--shard-tokens',
      '100',
      '--val-fraction',
      '0.2',
      '--json',
    );
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ resumed_shards: shards, new_tokens: 0, tokens });
  });

  it("prepares the built-in corpus as forge train's token stream", async () => {
    const out = path.join(tmp, 'moby');
    const run = await forge(
      'prepare',
      '--input',
      'builtin:moby-dick',
      '--out',
      out,
      '--shard-tokens',
      '50000',
      '--val-fraction',
      '0',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /prepared .*moby: \d+ shards, [\d,]+ tokens \(train [\d,]+, validation 0\) from 1 documents/,
    );
    const dataset = ShardDataset.open(out);
    const ids = new Uint16Array(dataset.length);
    dataset.read(0, dataset.length, ids);
    expect(Array.from(ids)).toEqual(createTokenizer().encode(builtinCorpus()));
  });

  it.each([
    [
      ['--input', '/nonexistent/corpus.txt', '--out', '__out__'],
      /input not found: \/nonexistent\/corpus\.txt/,
    ],
    [['--input', '__blank__', '--out', '__out__'], /no text found in the inputs/],
    [
      ['--input', '__corpus__', '--out', '__out__', '--shard-tokens', '0'],
      /--shard-tokens.*expected an integer >= 1/,
    ],
    [
      ['--input', '__corpus__', '--out', '__out__', '--val-fraction', '1'],
      /--val-fraction.*expected a number in \[0, 1\)/,
    ],
    [
      ['--input', 'builtin:war-and-peace', '--out', '__out__'],
      /unknown built-in corpus builtin:war-and-peace \(available: builtin:moby-dick\)/,
    ],
    [['--input', '__corpus__'], /required option '--out <dir>' not specified/],
    [
      ['--input', '__corpus__', '--out', '__ds__', '--shard-tokens', '99'],
      /holds a dataset of other inputs or options: it was prepared with --shard-tokens 100/,
    ],
  ])('fails with one clear line: %j', async (args, message) => {
    const resolved = args.map((a) =>
      a === '__out__'
        ? path.join(tmp, 'bad-out')
        : a === '__blank__'
          ? path.join(tmp, 'blank')
          : a === '__corpus__'
            ? corpus
            : a === '__ds__'
              ? path.join(tmp, 'ds')
              : a,
    );
    const run = await forge('prepare', ...resolved);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(
      run.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('(run with')).length,
    ).toBe(1);
  });
});
