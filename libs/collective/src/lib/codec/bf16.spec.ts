import { bf16Bits, bf16ToF32, f32ToBf16, roundToBf16InPlace } from './bf16';

const bitsOf = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0];

describe('bf16', () => {
  it('rounds to nearest, ties to even', () => {
    expect(bf16Bits(bitsOf(1))).toBe(0x3f80);
    expect(bf16Bits(0x3f808000)).toBe(0x3f80); // tie, even stays
    expect(bf16Bits(0x3f818000)).toBe(0x3f82); // tie, odd rounds up
    expect(bf16Bits(0x3f808001)).toBe(0x3f81); // above the tie
    expect(bf16Bits(bitsOf(-2.5))).toBe(0xc020);
  });

  it('keeps infinities and NaN', () => {
    expect(bf16Bits(bitsOf(Infinity))).toBe(0x7f80);
    expect(bf16Bits(bitsOf(-Infinity))).toBe(0xff80);
    expect(Number.isNaN(new Float32Array(new Uint32Array([bf16Bits(0x7f800001) << 16]).buffer)[0])).toBe(
      true,
    );
  });

  it('round-trips within 2^-8 relative and matches the in-place rounding', () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 7) - 3));
    const wire = new Uint16Array(x.length);
    f32ToBf16(x, wire);
    const back = new Float32Array(x.length);
    bf16ToF32(wire, back);
    const rounded = x.slice();
    roundToBf16InPlace(rounded);
    expect(Array.from(back)).toEqual(Array.from(rounded));
    for (let i = 0; i < x.length; i++)
      expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -8);
  });
});
