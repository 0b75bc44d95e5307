/**
 * bfloat16 conversion: the upper 16 bits of an f32, rounded to nearest even.
 * Assumes a little-endian host (checked by the ring), as the wire format is little-endian.
 */

/** Rounds the f32 bit pattern `bits` to the nearest-even bf16 and returns its 16 bits. */
export function bf16Bits(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0)
    return ((bits >>> 16) | 0x0040) & 0xffff; // NaN stays a (quiet) NaN
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Writes the bf16 encoding (round to nearest even) of `src` into `dst` (same length). */
export function f32ToBf16(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = bf16Bits(bits[i]);
}

/** Widens bf16 values `src` into f32 `dst` (same length); exact. */
export function bf16ToF32(src: Uint16Array, dst: Float32Array): void {
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
}

/** Rounds every element of `values` to the nearest bf16-representable f32, in place. */
export function roundToBf16InPlace(values: Float32Array): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) bits[i] = bf16Bits(bits[i]) << 16;
}
