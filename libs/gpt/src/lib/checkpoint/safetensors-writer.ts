/** Writes safetensors files by hand, streaming each tensor from its own buffer (no concatenation). */
import * as os from 'os';
import { CheckpointError, ForgeError } from '../errors/forge-error';
import { writeAll, writeFileAtomic } from './atomic-write';
import { DTYPE_SIZES, type SafetensorsDtype } from './safetensors-dtypes';
import { shapeSize } from './safetensors-reader';

/** A tensor to write: its bytes are `data`'s, little-endian, in `dtype` (e.g. a Float32Array for F32). */
export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Any typed array (or view) whose byte length is shape × dtype size; e.g. a Uint16Array of F16 bits. */
  data: ArrayBufferView;
}

/**
 * Writes a safetensors file atomically (temporary name, then rename). Tensors are laid out in the
 * given order; the header is padded with spaces to a multiple of 8 bytes, as Hugging Face does.
 * Throws a ForgeError naming the tensor when a size does not match its shape and dtype.
 */
export function writeSafetensors(
  file: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = {},
): void {
  if (os.endianness() !== 'LE') throw new ForgeError('writing safetensors needs a little-endian machine');
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) {
      throw new ForgeError(`cannot write ${file}: tensor name "${t.name}" is reserved or repeated`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ForgeError(
        `cannot write ${file}: tensor "${t.name}" has an invalid shape [${t.shape.join(', ')}]`,
      );
    }
    const bytes = shapeSize(t.shape) * DTYPE_SIZES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new ForgeError(
        `cannot write ${file}: tensor "${t.name}" has ${t.data.byteLength} bytes, shape [${t.shape.join(', ')}] of ${t.dtype} needs ${bytes}`,
      );
    }
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil((8 + json.byteLength) / 8) * 8 - 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.byteLength, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.byteLength));
  try {
    writeFileAtomic(file, (fd) => {
      writeAll(fd, prefix);
      writeAll(fd, json);
      for (const t of tensors) writeAll(fd, t.data);
    });
  } catch (e) {
    if (e instanceof ForgeError) throw e;
    throw new CheckpointError(
      file,
      `could not be written (${(e as Error).message})`,
      'check the disk space and permissions',
    );
  }
}
