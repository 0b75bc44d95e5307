/** Loading, balancing, splitting and padding labelled texts; metrics; the SpamAssassin corpus. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createTokenizer, END_OF_TEXT_ID } from '@llm-forge/gpt';
import { parseLabeledText, readLabeledFile, type LabeledExample } from './labeled-text';
import {
  balanceByDownsampling,
  encodeSplits,
  encodeTruncated,
  limitExamples,
  padBatch,
  resolveLabels,
  stratifiedSplit,
} from './classification-dataset';
import { classificationMetrics } from './metrics';
import { emailText, spamAssassinExamples } from './spam-assassin';

const SMS =
  'ham\tGo until jurong point, crazy.. Available only in bugis n great world la e buffet... Cine there got amore wat...\n' +
  'ham\tOk lar... Joking wif u oni...\n' +
  "spam\tFree entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. Text FA to 87121 to receive entry question(std txt rate)T&C's apply 08452810075over18's\n";

function examples(counts: Record<string, number>): LabeledExample[] {
  return Object.entries(counts).flatMap(([label, n]) =>
    Array.from({ length: n }, (_, i) => ({ label, text: `${label} ${i}`, source: `x:${i}` })),
  );
}

describe('labelled text files', () => {
  it('loads the SMS Spam Collection format as is', () => {
    const rows = parseLabeledText(SMS, 'SMSSpamCollection');
    expect(rows.map((r) => r.label)).toEqual(['ham', 'ham', 'spam']);
    expect(rows[0].text).toBe(
      'Go until jurong point, crazy.. Available only in bugis n great world la e buffet... Cine there got amore wat...',
    );
    expect(rows[2].source).toBe('SMSSpamCollection:3');
  });

  it('parses quoted CSV fields with commas, quotes and newlines, skipping a header and empty trailing columns', () => {
    const csv = 'label,text\nham,"Hello, world"\r\nspam,"Say ""win"" now\nreally",,,\nham,plain text\n';
    const rows = parseLabeledText(csv, 'data.csv');
    expect(rows).toEqual([
      { label: 'ham', text: 'Hello, world', source: 'data.csv:2' },
      { label: 'spam', text: 'Say "win" now\nreally', source: 'data.csv:3' },
      { label: 'ham', text: 'plain text', source: 'data.csv:5' },
    ]);
  });

  it('names the file and line of malformed rows, empty texts and open quotes', () => {
    expect(() => parseLabeledText('ham,ok\nspam,one, two\n', 'a.csv')).toThrow(
      /a\.csv:2: expected 2 fields.*got 3.*quote/,
    );
    expect(() => parseLabeledText('ham\tok\nspam\t   \n', 'b.tsv')).toThrow(
      /b\.tsv:2: the text of this "spam" example is empty/,
    );
    expect(() => parseLabeledText('ham\tok\njust text\n', 'c.tsv')).toThrow(/c\.tsv:2: expected 2 fields/);
    expect(() => parseLabeledText('ham,ok\nspam,"never closed\nmore\n', 'd.csv')).toThrow(
      /d\.csv:2: a quoted field is never closed/,
    );
    expect(() => parseLabeledText('\n\n', 'e.csv')).toThrow(/e\.csv: has no examples/);
    expect(() => readLabeledFile('/nonexistent/f.csv')).toThrow(/f\.csv: does not exist/);
  });

  it('reads a file with a byte-order mark', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'forge-csv-')), 'sms.tsv');
    fs.writeFileSync(file, `\uFEFF${SMS}`);
    expect(readLabeledFile(file)[0].label).toBe('ham');
  });
});

describe('classification datasets', () => {
  it('resolves labels sorted, or as given, rejecting unknown ones by source', () => {
    const data = examples({ spam: 2, ham: 3 });
    expect(resolveLabels(data)).toEqual(['ham', 'spam']);
    expect(resolveLabels(data, ['spam', 'ham'])).toEqual(['spam', 'ham']);
    expect(() =>
      resolveLabels([...data, { label: 'eggs', text: 't', source: 'f.csv:9' }], ['ham', 'spam']),
    ).toThrow(/f\.csv:9: unknown label "eggs"/);
    expect(() => resolveLabels(examples({ ham: 3 }))).toThrow(/at least 2 labels/);
  });

  it('balances by downsampling and splits 70/10/20 per class, deterministically in the seed', () => {
    const data = examples({ ham: 300, spam: 100 });
    const balanced = balanceByDownsampling(data, ['ham', 'spam'], 1);
    expect(balanced.filter((e) => e.label === 'ham')).toHaveLength(100);
    expect(balanced.filter((e) => e.label === 'spam')).toHaveLength(100);
    const split = stratifiedSplit(balanced, ['ham', 'spam'], { train: 0.7, validation: 0.1 }, 7);
    for (const [name, n] of [
      ['train', 70],
      ['validation', 10],
      ['test', 20],
    ] as const) {
      expect(split[name].filter((e) => e.label === 'ham')).toHaveLength(n);
      expect(split[name].filter((e) => e.label === 'spam')).toHaveLength(n);
    }
    const all = [...split.train, ...split.validation, ...split.test].map((e) => e.text);
    expect(new Set(all).size).toBe(200);
    expect(stratifiedSplit(balanced, ['ham', 'spam'], { train: 0.7, validation: 0.1 }, 7)).toEqual(split);
    expect(stratifiedSplit(balanced, ['ham', 'spam'], { train: 0.7, validation: 0.1 }, 8)).not.toEqual(split);
    const limited = limitExamples(data, ['ham', 'spam'], 40, 3);
    expect(limited.filter((e) => e.label === 'ham')).toHaveLength(30);
    expect(limited.filter((e) => e.label === 'spam')).toHaveLength(10);
  });

  it('pads to the longest training example (or the given maximum) with 50256, truncating longer texts', () => {
    const tokenizer = createTokenizer();
    const split = {
      train: [
        { label: 'a', text: 'one two three', source: '1' },
        { label: 'b', text: 'one', source: '2' },
      ],
      validation: [{ label: 'a', text: 'one two three four five six', source: '3' }],
      test: [{ label: 'b', text: 'two', source: '4' }],
    };
    const { splits, maxLength } = encodeSplits(split, ['a', 'b'], tokenizer, { contextLength: 64 });
    expect(maxLength).toBe(3);
    expect(splits.validation.tokens[0]).toEqual(tokenizer.encode(' one two three'.slice(1)));
    expect(splits.train.labels).toEqual([0, 1]);
    const batch = padBatch(splits.train.tokens, splits.train.labels, maxLength);
    expect(Array.from(batch.ids)).toEqual([
      ...tokenizer.encode('one two three'),
      ...tokenizer.encode('one'),
      END_OF_TEXT_ID,
      END_OF_TEXT_ID,
    ]);
    expect(Array.from(batch.lengths)).toEqual([3, 1]);
    expect(encodeSplits(split, ['a', 'b'], tokenizer, { contextLength: 64, maxLength: 5 }).maxLength).toBe(5);
    expect(encodeSplits(split, ['a', 'b'], tokenizer, { contextLength: 2 }).maxLength).toBe(2);
  });

  it('encodes long texts from a prefix with the same first tokens as the whole text', () => {
    const tokenizer = createTokenizer();
    const text = 'Subject: cheap meds\n'.concat('Buy now, limited offer! '.repeat(400));
    expect(encodeTruncated(tokenizer, text, 20)).toEqual(tokenizer.encode(text).slice(0, 20));
  });
});

describe('metrics', () => {
  it('computes accuracy, per-class precision/recall/F1 and the confusion matrix', () => {
    // actual:    ham ham ham spam spam ; predicted: ham spam ham spam ham
    const m = classificationMetrics([0, 0, 0, 1, 1], [0, 1, 0, 1, 0], ['ham', 'spam']);
    expect(m.accuracy).toBeCloseTo(3 / 5);
    expect(m.confusion).toEqual([
      [2, 1],
      [1, 1],
    ]);
    expect(m.classes.spam).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(m.classes.ham.precision).toBeCloseTo(2 / 3);
    expect(m.classes.ham.recall).toBeCloseTo(2 / 3);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 0.5) / 2);
  });
});

describe('SpamAssassin corpus', () => {
  it('keeps the subject and body of an email, without other headers or HTML', () => {
    const raw = 'From: a@b.c\nSubject: Win big\nX-Spam: yes\n\n<html><b>Click</b>&nbsp;here\n\n now</html>';
    expect(emailText(raw)).toBe('Win big Click here now');
  });

  it('loads every email as ham or spam', () => {
    const data = spamAssassinExamples();
    const spam = data.filter((e) => e.label === 'spam').length;
    expect(data.length).toBeGreaterThan(6000);
    expect(spam).toBeGreaterThan(1850);
    expect(data.length - spam).toBeGreaterThan(4100);
    expect(data.every((e) => e.text.length > 0)).toBe(true);
    // Headers are gone; only forwarded messages quote them in their bodies.
    expect(data.filter((e) => e.text.includes('Return-Path:')).length).toBeLessThan(data.length / 100);
  });
});
