/**
 * Safetensors element types: sizes, and conversions between float32 and the 16-bit float formats
 * (IEEE half F16 and bfloat16 BF16) that checkpoints are often stored in.
 */

/** Element sizes in bytes of every dtype the safetensors format defines. */
export const DTYPE_SIZES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
} as const;

/** A safetensors dtype name, e.g. `F32`. */
export type SafetensorsDtype = keyof typeof DTYPE_SIZES;

/** Whether a string is a safetensors dtype this library knows. */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZES, value);
}

/** Dtypes that decode to float32 ({@link decodeFloat32}). */
export const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];

let halfTable: Float32Array | undefined;

/** float32 value of every 16-bit half pattern (256 KB, built on first use). */
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      if (exp === 0)
        halfTable[h] = sign * frac * 2 ** -24; // zero and subnormals
      else if (exp === 31) halfTable[h] = frac ? Number.NaN : sign * Infinity;
      else halfTable[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
    }
  }
  return halfTable;
}

/** Converts one IEEE half bit pattern to a number. */
export function float16ToFloat32(bits: number): number {
  return halfToFloatTable()[bits & 0xffff];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a number to the nearest IEEE half (ties to even) and returns its bit pattern. */
export function float32ToFloat16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    const m = mant | 0x800000; // subnormal: shift the implicit 1 in
    const shift = 14 - e;
    const half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and 0x7bff + 1 is Inf).
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}

/** Converts one bfloat16 bit pattern to a number. */
export function bfloat16ToFloat32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** Rounds a number to the nearest bfloat16 (ties to even) and returns its bit pattern. */
export function float32ToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40; // keep NaN a NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Decodes little-endian elements of a float dtype from `bytes` into `out[outOffset ...]`.
 * `bytes.byteLength` must be a multiple of the element size.
 */
export function decodeFloat32(
  dtype: SafetensorsDtype,
  bytes: Uint8Array,
  out: Float32Array,
  outOffset: number,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DTYPE_SIZES[dtype];
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[outOffset + i] = view.getFloat32(4 * i, true);
      return;
    case 'F16': {
      const table = halfToFloatTable();
      for (let i = 0; i < n; i++) out[outOffset + i] = table[view.getUint16(2 * i, true)];
      return;
    }
    case 'BF16': {
      const bits = new Uint32Array(out.buffer, out.byteOffset + 4 * outOffset, n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[outOffset + i] = view.getFloat64(8 * i, true);
      return;
    default:
      throw new RangeError(`dtype ${dtype} is not a float type`);
  }
}
