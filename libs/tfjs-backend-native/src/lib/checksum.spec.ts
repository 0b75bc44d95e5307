import { checksum } from './checksum';

describe('checksum', () => {
  it('is stable, 16 hex digits, and sensitive to every bit and the length', () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => i * 0.25);
    const sum = checksum(x);
    expect(sum).toMatch(/^[0-9a-f]{16}$/);
    expect(checksum(x.slice())).toBe(sum);
    const flipped = x.slice();
    new Uint32Array(flipped.buffer)[517] ^= 1;
    expect(checksum(flipped)).not.toBe(sum);
    expect(checksum(x.subarray(0, 999))).not.toBe(sum);
    expect(checksum(new Float32Array([0]))).not.toBe(checksum(new Float32Array([-0])));
  });
});
