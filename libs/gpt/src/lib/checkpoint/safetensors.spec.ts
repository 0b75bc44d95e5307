import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CheckpointError } from '../errors/forge-error';
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
} from './safetensors-dtypes';
import { SafetensorsFile, withSafetensorsFile } from './safetensors-reader';
import { writeSafetensors } from './safetensors-writer';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-st-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes a raw file: u64 header length, header text, then `dataBytes` bytes of data. */
function writeRaw(file: string, header: string, dataBytes: number): void {
  const json = Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]));
}

function expectCheckpointError(fn: () => unknown, file: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(CheckpointError);
  expect((caught as CheckpointError).file).toBe(file);
  expect((caught as Error).message).toContain(path.basename(file));
  expect((caught as Error).message).toMatch(pattern);
}

describe('16-bit float conversions', () => {
  it('rounds float32 to IEEE half, ties to even, with overflow, subnormals and underflow', () => {
    expect(float32ToFloat16(1)).toBe(0x3c00);
    expect(float32ToFloat16(-2)).toBe(0xc000);
    expect(float32ToFloat16(0.1)).toBe(0x2e66);
    expect(float32ToFloat16(65504)).toBe(0x7bff);
    expect(float32ToFloat16(65520)).toBe(0x7c00);
    expect(float32ToFloat16(2 ** -24)).toBe(1);
    expect(float32ToFloat16(2 ** -26)).toBe(0);
    expect(float32ToFloat16(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(float32ToFloat16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(Number.isNaN(float16ToFloat32(float32ToFloat16(Number.NaN)))).toBe(true);
    for (const x of [0, 1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, -0.333251953125]) {
      expect(float16ToFloat32(float32ToFloat16(x))).toBe(x);
    }
  });

  it('rounds float32 to bfloat16, ties to even', () => {
    expect(float32ToBfloat16(1)).toBe(0x3f80);
    expect(bfloat16ToFloat32(0x3f80)).toBe(1);
    expect(bfloat16ToFloat32(float32ToBfloat16(-3.5))).toBe(-3.5);
    expect(bfloat16ToFloat32(float32ToBfloat16(1 + 2 ** -8))).toBe(1); // tie -> even
    expect(bfloat16ToFloat32(float32ToBfloat16(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    expect(Number.isNaN(bfloat16ToFloat32(float32ToBfloat16(Number.NaN)))).toBe(true);
  });
});

describe('safetensors read/write', () => {
  it('round-trips every supported dtype and the metadata', () => {
    const file = path.join(dir, 'a.safetensors');
    const values = [1.5, -2, 0.25, 3];
    writeSafetensors(
      file,
      [
        { name: 'f32', dtype: 'F32', shape: [2, 2], data: Float32Array.from(values) },
        { name: 'f16', dtype: 'F16', shape: [4], data: Uint16Array.from(values, float32ToFloat16) },
        { name: 'bf16', dtype: 'BF16', shape: [4], data: Uint16Array.from(values, float32ToBfloat16) },
        { name: 'f64', dtype: 'F64', shape: [4], data: Float64Array.from(values) },
        { name: 'i32', dtype: 'I32', shape: [3], data: Int32Array.from([1, -2, 3]) },
        { name: 'i64', dtype: 'I64', shape: [3], data: BigInt64Array.from([1n, -2n, 3n]) },
        { name: 'scalar', dtype: 'F32', shape: [], data: Float32Array.from([7]) },
        { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
      ],
      { format: 'pt', note: 'hi' },
    );
    expect((fs.statSync(file).size - 8) % 8).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['a.safetensors']); // no temporary file left
    withSafetensorsFile(file, (st) => {
      expect(st.metadata).toEqual({ format: 'pt', note: 'hi' });
      expect([...st.tensors.keys()]).toEqual(['f32', 'f16', 'bf16', 'f64', 'i32', 'i64', 'scalar', 'empty']);
      expect(st.info('f32').shape).toEqual([2, 2]);
      for (const name of ['f32', 'f16', 'bf16', 'f64'])
        expect(Array.from(st.readFloat32(name))).toEqual(values);
      expect(Array.from(st.readInt32('i32'))).toEqual([1, -2, 3]);
      expect(Array.from(st.readInt32('i64'))).toEqual([1, -2, 3]);
      expect(Array.from(st.readFloat32('scalar'))).toEqual([7]);
      expect(st.readFloat32('empty').length).toBe(0);
      const into = new Float32Array(6);
      st.readFloat32('f32', into.subarray(1, 5));
      expect(Array.from(into)).toEqual([0, ...values, 0]);
      expectCheckpointError(() => st.readFloat32('i32'), file, /dtype I32, not a float/);
      expectCheckpointError(() => st.readFloat32('nope'), file, /no tensor "nope"/);
    });
  });

  it('refuses writes whose data does not match shape and dtype', () => {
    const file = path.join(dir, 'b.safetensors');
    expect(() =>
      writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }]),
    ).toThrow(/tensor "x" has 8 bytes.*needs 12/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('calls a truncated file truncated, naming it', () => {
    const file = path.join(dir, 'model.safetensors');
    writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [100], data: new Float32Array(100) }]);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    expectCheckpointError(() => SafetensorsFile.open(file), file, /looks truncated.*re-download or re-save/);
    fs.writeFileSync(file, bytes.subarray(0, 20));
    expectCheckpointError(
      () => SafetensorsFile.open(file),
      file,
      /header length \d+ exceeds the file size 20/,
    );
    fs.writeFileSync(file, bytes.subarray(0, 5));
    expectCheckpointError(() => SafetensorsFile.open(file), file, /5 bytes, too short/);
  });

  it('rejects garbage, foreign and inconsistent files, naming them', () => {
    const file = path.join(dir, 'x.safetensors');
    writeRaw(file, '{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]', 8);
    expectCheckpointError(() => SafetensorsFile.open(file), file, /not valid JSON/);
    fs.writeFileSync(file, Buffer.from('PK\x03\x04 this is a zip file, not safetensors'));
    expectCheckpointError(() => SafetensorsFile.open(file), file, /not a safetensors file/);
    writeRaw(file, '[1, 2]', 0);
    expectCheckpointError(() => SafetensorsFile.open(file), file, /not a JSON object/);
    writeRaw(file, '{"x": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}}', 8);
    expectCheckpointError(() => SafetensorsFile.open(file), file, /unknown dtype "Q4"/);
    writeRaw(file, '{"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', 8);
    expectCheckpointError(
      () => SafetensorsFile.open(file),
      file,
      /8 bytes for shape \[3\] of F32 \(needs 12\)/,
    );
    writeRaw(
      file,
      '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}',
      12,
    );
    expectCheckpointError(() => SafetensorsFile.open(file), file, /"b" overlaps/);
    writeRaw(file, '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', 12);
    expectCheckpointError(() => SafetensorsFile.open(file), file, /4 bytes follow the last tensor/);
    writeRaw(file, '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}', 12);
    expectCheckpointError(() => SafetensorsFile.open(file), file, /leaving a gap/);
    writeRaw(file, '{"__metadata__": {"step": 3}}', 0);
    expectCheckpointError(() => SafetensorsFile.open(file), file, /__metadata__.step is not a string/);
    expectCheckpointError(
      () => SafetensorsFile.open(path.join(dir, 'missing.safetensors')),
      path.join(dir, 'missing.safetensors'),
      /does not exist/,
    );
  });
});
