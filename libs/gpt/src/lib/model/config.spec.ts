import { presetConfig, PRESET_NAMES, validateConfig } from './config';
import { countParameters, parameterLayout } from './parameter-layout';

describe('GPT config and parameter layout', () => {
  it('counts the book 124M parameters: 163,009,536 untied without qkv bias, 124,412,160 tied', () => {
    expect(countParameters(presetConfig('gpt2-small', { qkvBias: false, tiedHead: false }))).toBe(
      163_009_536,
    );
    expect(countParameters(presetConfig('gpt2-small', { qkvBias: false, tiedHead: true }))).toBe(124_412_160);
  });

  it('matches OpenAI GPT-2 sizes (qkv bias, tied): 124M, 355M, 774M, 1.56B', () => {
    expect(countParameters(presetConfig('gpt2-small'))).toBe(124_439_808);
    expect(countParameters(presetConfig('gpt2-medium'))).toBe(354_823_168);
    expect(countParameters(presetConfig('gpt2-large'))).toBe(774_030_080);
    expect(countParameters(presetConfig('gpt2-xl'))).toBe(1_557_611_200);
  });

  it('has the CPU presets the issue names', () => {
    expect(presetConfig('tiny')).toMatchObject({
      nLayers: 2,
      nHeads: 4,
      embDim: 128,
      contextLength: 64,
      vocabSize: 50257,
    });
    expect(presetConfig('small')).toMatchObject({
      nLayers: 6,
      nHeads: 6,
      embDim: 384,
      contextLength: 256,
      vocabSize: 50257,
    });
    expect(PRESET_NAMES).toEqual(['gpt2-small', 'gpt2-medium', 'gpt2-large', 'gpt2-xl', 'tiny', 'small']);
  });

  it('lays parameters out contiguously with Hugging Face names', () => {
    const layout = parameterLayout(presetConfig('tiny', { tiedHead: false }));
    expect(layout.specs[0]).toEqual({
      name: 'wte.weight',
      shape: [50257, 128],
      offset: 0,
      size: 50257 * 128,
    });
    expect(layout.specs.map((s) => s.name)).toContain('h.1.attn.c_attn.weight');
    expect(layout.specs[layout.specs.length - 1].name).toBe('lm_head.weight');
    let offset = 0;
    for (const spec of layout.specs) {
      expect(spec.offset).toBe(offset);
      offset += spec.size;
    }
    expect(layout.totalSize).toBe(offset);
  });

  it('rejects bad values naming the field and value', () => {
    expect(() => presetConfig('huge')).toThrow(/preset must be one of gpt2-small.*got "huge"/);
    expect(() => presetConfig('tiny', { nHeads: 3 })).toThrow(
      /embDim must be divisible by nHeads \(3\), got 128/,
    );
    expect(() => validateConfig({ ...presetConfig('tiny'), dropRate: 1.5 })).toThrow(
      /dropRate must be in \[0, 1\), got 1.5/,
    );
    expect(() => validateConfig({ ...presetConfig('tiny'), nLayers: 0 })).toThrow(
      /nLayers must be a positive integer/,
    );
  });
});
