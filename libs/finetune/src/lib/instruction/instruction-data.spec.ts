import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DataError } from '@llm-forge/gpt';
import { describeIfShared, sharedPath } from '@llm-forge/gpt/testing';
import { loadInstructionData, parseInstructionData } from './instruction-data';

const entry = {
  instruction: 'Convert 45 kilometers to meters.',
  input: '',
  output: '45 kilometers is 45000 meters.',
};

describe('parseInstructionData', () => {
  it('reads a JSON array and JSON Lines alike, ignoring extra fields and defaulting input to ""', () => {
    const array = parseInstructionData(
      JSON.stringify([entry, { instruction: 'Say hi.', output: 'Hi.', extra: 1 }]),
    );
    const lines = parseInstructionData(
      `${JSON.stringify(entry)}\n\n${JSON.stringify({ instruction: 'Say hi.', output: 'Hi.', extra: 1 })}\n`,
    );
    expect(array).toEqual([entry, { instruction: 'Say hi.', input: '', output: 'Hi.' }]);
    expect(lines).toEqual(array);
  });

  it('names the file, line and column of a JSON syntax error', () => {
    const text = `[\n  {"instruction": "a", "output": "b"},\n  {"instruction" "c"}\n]`;
    expect(() => parseInstructionData(text, 'data.json')).toThrow(
      /^data\.json is not valid JSON at line 3, column 18/,
    );
    expect(() => parseInstructionData(`${JSON.stringify(entry)}\nnot json\n`, 'data.jsonl')).toThrow(
      /data\.jsonl is not valid JSON at line 2/,
    );
  });

  it('names the entry index of a missing or mistyped field', () => {
    const missing = JSON.stringify([entry, entry, { instruction: 'x', input: '' }]);
    expect(() => parseInstructionData(missing, 'd.json')).toThrow('d.json: entry 2 has no "output" field');
    const jsonl = `${JSON.stringify(entry)}\n${JSON.stringify({ output: 'y' })}`;
    expect(() => parseInstructionData(jsonl, 'd.jsonl')).toThrow(
      'd.jsonl: entry 1 (line 2) has no "instruction" field',
    );
    const mistyped = JSON.stringify([{ ...entry, input: 3 }]);
    expect(() => parseInstructionData(mistyped, 'd.json')).toThrow('entry 0 field "input" must be a string');
    expect(() => parseInstructionData('[1]', 'd.json')).toThrow('d.json: entry 0 is not an object');
    expect(() => parseInstructionData('[{"instruction": " ", "output": "o"}]')).toThrow(
      'empty "instruction"',
    );
  });

  it('rejects empty input with a DataError', () => {
    expect(() => parseInstructionData('  \n', 'e.json')).toThrow(DataError);
    expect(() => parseInstructionData('  \n', 'e.json')).toThrow('e.json is empty');
    expect(() => parseInstructionData('[]', 'e.json')).toThrow('e.json has no entries');
    expect(() => parseInstructionData('{"a": 1', 'e.json')).toThrow(/e\.json is not valid JSON at line 1/);
  });

  it('reports a missing file by name', () => {
    const file = path.join(os.tmpdir(), 'forge-no-such-instructions.json');
    expect(() => loadInstructionData(file)).toThrow(`cannot read instruction data ${file}: no such file`);
  });
});

describeIfShared('loadInstructionData on the book set', () => {
  it('reads the 1,100 entries of instruction-data.json', () => {
    const file = sharedPath('data', 'instruction-data.json');
    const entries = loadInstructionData(file);
    expect(entries).toHaveLength(1100);
    expect(entries[0]).toEqual(JSON.parse(fs.readFileSync(file, 'utf8'))[0]);
    expect(entries.filter((e) => e.input === '').length).toBeGreaterThan(0);
  });
});
