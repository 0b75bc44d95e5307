/**
 * Reads safetensors files by hand, lazily: the header is parsed and checked on open, tensors are
 * read by name straight from the file descriptor into the caller's buffer (a 6 GB GPT-2 XL file
 * is never held in memory twice).
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`,
 * then the data buffer; offsets are relative to its start and must tile it without holes.
 */
import * as fs from 'fs';
import * as os from 'os';
import { CheckpointError } from '../errors/forge-error';
import {
  decodeFloat32,
  DTYPE_SIZES,
  FLOAT_DTYPES,
  isSafetensorsDtype,
  type SafetensorsDtype,
} from './safetensors-dtypes';

/** One tensor's entry in a safetensors header. */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range [begin, end) relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

/** The safetensors format caps the header at 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;
/** Bytes per read call; keeps conversion scratch buffers small. */
const CHUNK_BYTES = 64 * 1024 * 1024;
const RESAVE = 're-download or re-save it';

/** Number of elements of a shape (1 for a scalar []). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function parseEntry(file: string, name: string, raw: unknown): TensorInfo {
  const bad = (what: string): CheckpointError =>
    new CheckpointError(file, `tensor "${name}" has ${what} in the header; the file is corrupt`, RESAVE);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw bad('no {dtype, shape, data_offsets} entry');
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (!isSafetensorsDtype(dtype)) {
    throw new CheckpointError(
      file,
      `tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`,
      `supported: ${Object.keys(DTYPE_SIZES).join(', ')}; convert the file to F32, F16 or BF16`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`an invalid shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw bad(`invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const expectedBytes = shapeSize(shape) * DTYPE_SIZES[dtype];
  if (offsets[1] - offsets[0] !== expectedBytes) {
    throw bad(
      `${offsets[1] - offsets[0]} bytes for shape [${shape.join(', ')}] of ${dtype} (needs ${expectedBytes})`,
    );
  }
  return { name, dtype, shape: [...shape], dataOffsets: [offsets[0], offsets[1]] };
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CheckpointError(
      file,
      '__metadata__ in the header is not an object of strings; the file is corrupt',
      RESAVE,
    );
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') {
      throw new CheckpointError(file, `__metadata__.${k} is not a string; the file is corrupt`, RESAVE);
    }
    out[k] = v;
  }
  return out;
}

/** Checks that the tensors tile the data buffer exactly: no gaps, no overlaps, nothing missing. */
function checkLayout(file: string, tensors: TensorInfo[], bufferBytes: number): void {
  const sorted = [...tensors].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let end = 0;
  for (const t of sorted) {
    const [begin, stop] = t.dataOffsets;
    if (begin !== end) {
      const what =
        begin < end ? 'overlaps the tensor before it' : `starts at byte ${begin}, leaving a gap after ${end}`;
      throw new CheckpointError(file, `tensor "${t.name}" ${what}; the file is corrupt`, RESAVE);
    }
    end = stop;
  }
  if (end > bufferBytes) {
    throw new CheckpointError(
      file,
      `the header describes ${end} bytes of tensor data but the file holds only ${bufferBytes}; it looks truncated`,
      RESAVE,
    );
  }
  if (end < bufferBytes) {
    throw new CheckpointError(
      file,
      `${bufferBytes - end} bytes follow the last tensor; the file is corrupt`,
      RESAVE,
    );
  }
}

/** An open safetensors file: a checked header, and tensors read on demand. Call {@link close}. */
export class SafetensorsFile {
  /** The header's `__metadata__` (empty when absent). */
  readonly metadata: Record<string, string>;
  /** Every tensor, by name, in header order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  private fd: number | undefined;

  private constructor(
    /** Path of the file, as given (used in every error). */
    readonly path: string,
    fd: number,
    private readonly dataStart: number,
    metadata: Record<string, string>,
    tensors: Map<string, TensorInfo>,
  ) {
    this.fd = fd;
    this.metadata = metadata;
    this.tensors = tensors;
  }

  /**
   * Opens a file and checks its header against the file size. Throws a CheckpointError naming the
   * file when it is missing, truncated, corrupt or not safetensors.
   */
  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CheckpointError(
        path,
        code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code ?? String(e)})`,
      );
    }
    try {
      return SafetensorsFile.parse(path, fd);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  private static parse(path: string, fd: number): SafetensorsFile {
    const fileBytes = fs.fstatSync(fd).size;
    if (fileBytes < 8) {
      throw new CheckpointError(
        path,
        `is ${fileBytes} bytes, too short for a safetensors file; it looks truncated`,
        RESAVE,
      );
    }
    const prefix = Buffer.alloc(8);
    fs.readSync(fd, prefix, 0, 8, 0);
    const headerBytes = prefix.readBigUInt64LE(0);
    if (headerBytes > BigInt(MAX_HEADER_BYTES) || headerBytes < 2n) {
      throw new CheckpointError(
        path,
        `header length ${headerBytes} is impossible; this is not a safetensors file`,
        RESAVE,
      );
    }
    const n = Number(headerBytes);
    if (8 + n > fileBytes) {
      throw new CheckpointError(
        path,
        `header length ${n} exceeds the file size ${fileBytes}; it looks truncated or corrupt`,
        RESAVE,
      );
    }
    const headerBuf = Buffer.alloc(n);
    fs.readSync(fd, headerBuf, 0, n, 8);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBuf));
    } catch (e) {
      throw new CheckpointError(
        path,
        `header is not valid JSON (${(e as Error).message}); the file is corrupt or not safetensors`,
        RESAVE,
      );
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) {
      throw new CheckpointError(
        path,
        'header is not a JSON object; the file is corrupt or not safetensors',
        RESAVE,
      );
    }
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') metadata = parseMetadata(path, raw);
      else tensors.set(name, parseEntry(path, name, raw));
    }
    checkLayout(path, [...tensors.values()], fileBytes - 8 - n);
    return new SafetensorsFile(path, fd, 8 + n, metadata, tensors);
  }

  /** The entry of a tensor; throws a CheckpointError naming the file when absent. */
  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError(this.path, `has no tensor "${name}"`);
    return t;
  }

  /** Reads a tensor's raw little-endian bytes into `into` (a view of exactly its byte size). */
  private readInto(t: TensorInfo, into: Uint8Array, skipBytes = 0): void {
    if (this.fd === undefined) throw new CheckpointError(this.path, 'is already closed');
    let done = 0;
    while (done < into.byteLength) {
      const len = Math.min(CHUNK_BYTES, into.byteLength - done);
      const got = fs.readSync(this.fd, into, done, len, this.dataStart + t.dataOffsets[0] + skipBytes + done);
      if (got === 0) {
        throw new CheckpointError(this.path, `ended inside tensor "${t.name}"; it looks truncated`, RESAVE);
      }
      done += got;
    }
  }

  /**
   * Reads a float tensor (F32, F16, BF16 or F64) as float32. With `out` (exactly its size, e.g. a
   * subarray of a flat parameter buffer) the values land there without an intermediate copy of F32.
   */
  readFloat32(name: string, out?: Float32Array): Float32Array {
    const t = this.info(name);
    const size = shapeSize(t.shape);
    const target = out ?? new Float32Array(size);
    if (target.length !== size) {
      throw new CheckpointError(
        this.path,
        `tensor "${name}" has ${size} elements, the destination ${target.length}`,
      );
    }
    if (!FLOAT_DTYPES.includes(t.dtype)) {
      throw new CheckpointError(
        this.path,
        `tensor "${name}" has dtype ${t.dtype}, not a float type (F32, F16, BF16, F64)`,
      );
    }
    if (t.dtype === 'F32' && os.endianness() === 'LE') {
      this.readInto(t, new Uint8Array(target.buffer, target.byteOffset, target.byteLength));
      return target;
    }
    const elementBytes = DTYPE_SIZES[t.dtype];
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / elementBytes));
    const scratch = new Uint8Array(Math.min(size, perChunk) * elementBytes);
    for (let first = 0; first < size; first += perChunk) {
      const count = Math.min(perChunk, size - first);
      const bytes = scratch.subarray(0, count * elementBytes);
      this.readInto(t, bytes, first * elementBytes);
      decodeFloat32(t.dtype, bytes, target, first);
    }
    return target;
  }

  /** Reads an integer tensor (I32, or I64 whose values fit in int32) as an Int32Array. */
  readInt32(name: string): Int32Array {
    const t = this.info(name);
    const size = shapeSize(t.shape);
    if (t.dtype !== 'I32' && t.dtype !== 'I64') {
      throw new CheckpointError(this.path, `tensor "${name}" has dtype ${t.dtype}, not I32 or I64`);
    }
    const bytes = new Uint8Array(size * DTYPE_SIZES[t.dtype]);
    this.readInto(t, bytes);
    const view = new DataView(bytes.buffer);
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      if (t.dtype === 'I32') {
        out[i] = view.getInt32(4 * i, true);
        continue;
      }
      const v = view.getBigInt64(8 * i, true);
      if (v < -2147483648n || v > 2147483647n) {
        throw new CheckpointError(
          this.path,
          `tensor "${name}" holds ${v} at index ${i}, outside the int32 range`,
        );
      }
      out[i] = Number(v);
    }
    return out;
  }

  /** Closes the file descriptor; further reads throw. Safe to call twice. */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Opens a safetensors file, runs `fn`, and closes it whatever happens. */
export function withSafetensorsFile<R>(path: string, fn: (file: SafetensorsFile) => R): R {
  const file = SafetensorsFile.open(path);
  try {
    return fn(file);
  } finally {
    file.close();
  }
}
