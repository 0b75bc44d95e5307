/**
 * The classifier: the head it replaces, pooling, saving and loading. What trains and whether it
 * learns: the classification job's tests (jobs/classification-job.spec.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createTokenizer, GPTModel, type GPTConfig } from '@llm-forge/gpt';
import { TEST_CONFIG, useBackend } from '@llm-forge/gpt/testing';
import { encodeSplits, padBatch, splitBatches, stratifiedSplit } from './classification-dataset';
import { GPTClassifier, type ClassifierSpec } from './classifier';
import type { LabeledExample } from './labeled-text';

/** The shared tiny test model (libs/gpt test-utils), with an untied output head. */
const CONFIG: GPTConfig = { ...TEST_CONFIG, tiedHead: false };
const LABELS = ['ham', 'spam'];
const SPEC: ClassifierSpec = { labels: LABELS, pooling: 'last', maxLength: 8, padTokenId: 50256 };

/** 40 short texts whose class shows in their words. */
function data(): LabeledExample[] {
  const ham = ['see you at lunch', 'meeting moved to noon', 'call me later tonight', 'thanks for the notes'];
  const spam = [
    'win free cash now',
    'claim your prize today',
    'free entry win money',
    'urgent prize claim now',
  ];
  return [...Array(5).keys()].flatMap((i) => [
    ...ham.map((t, j) => ({ label: 'ham', text: `${t} ${i}`, source: `h${i}.${j}` })),
    ...spam.map((t, j) => ({ label: 'spam', text: `${t} ${i}`, source: `s${i}.${j}` })),
  ]);
}

let baseParams: Float32Array | undefined;

/** A classifier on one shared random base (initialising 50257-token embeddings is slow) with a seeded head. */
function newClassifier(seed = 1, spec = SPEC): GPTClassifier {
  if (!baseParams) {
    const base = GPTModel.random(CONFIG, 1);
    baseParams = base.readParameters();
    base.dispose();
  }
  return GPTClassifier.fromBase(CONFIG, baseParams, spec, seed);
}

describe('GPTClassifier', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-classifier-'));
  const tokenizer = createTokenizer();
  const encoded = encodeSplits(
    stratifiedSplit(data(), LABELS, { train: 0.7, validation: 0.1 }, 3),
    LABELS,
    tokenizer,
    { contextLength: CONFIG.contextLength },
  );
  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('drops an untied LM head and refuses a vocabulary that is not GPT-2', () => {
    const classifier = newClassifier();
    expect(classifier.model.layout.specs.some((s) => s.name === 'lm_head.weight')).toBe(false);
    classifier.dispose();
    const config = { ...CONFIG, vocabSize: 1000 };
    const base = GPTModel.random(config, 0);
    expect(() => GPTClassifier.fromBase(config, base.readParameters(), SPEC, 0)).toThrow(
      /vocab_size is 1000.*GPT-2 tokenizer/,
    );
    base.dispose();
  });

  it('with last-non-pad pooling, padding does not change the prediction', () => {
    const classifier = newClassifier(3, { ...SPEC, pooling: 'last-non-pad' });
    const ids = tokenizer.encode('free cash now');
    const short = classifier.probabilities(padBatch([ids], [1], 4))[0];
    const long = classifier.probabilities(padBatch([ids], [1], 12))[0];
    short.forEach((p, i) => expect(p).toBeCloseTo(long[i], 5));
    classifier.dispose();
  });

  it('saves labels, head and input shaping, and loads to the same predictions', () => {
    const classifier = newClassifier(4);
    const dir = path.join(tmp, 'saved');
    classifier.save(dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ 0: 'ham', 1: 'spam' });
    expect(config.architectures).toEqual(['GPT2ForSequenceClassification']);
    expect(config.forge_classifier).toEqual({ pooling: 'last', max_length: 8, head_bias: true, lora: false });
    const loaded = GPTClassifier.load(dir);
    expect(loaded.spec).toEqual(SPEC);
    const [batch] = splitBatches(encoded.splits.test, 8, 8);
    expect(loaded.probabilities(batch)).toEqual(classifier.probabilities(batch));
    classifier.dispose();
    loaded.dispose();
    expect(() => GPTClassifier.load(path.join(tmp, 'missing'))).toThrow(/missing: does not exist/);
  });
});
