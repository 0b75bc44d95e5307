import { ConfigError } from '@llm-forge/gpt';
import {
  ALPACA_STYLE,
  PHI3_STYLE,
  promptStyle,
  promptStyleNames,
  promptText,
  registerPromptStyle,
  trainingText,
} from './prompt-style';

const withInput = {
  instruction: 'Edit the following sentence for grammar.',
  input: 'He go to the park.',
  output: 'He goes to the park.',
};
const noInput = {
  instruction: 'Convert 45 kilometers to meters.',
  input: '',
  output: '45 kilometers is 45000 meters.',
};

describe('prompt styles', () => {
  it('Alpaca: the book text, with the input section only when there is an input', () => {
    expect(trainingText(ALPACA_STYLE, withInput)).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.' +
        '\n\n### Instruction:\nEdit the following sentence for grammar.' +
        '\n\n### Input:\nHe go to the park.' +
        '\n\n### Response:\nHe goes to the park.',
    );
    expect(promptText(ALPACA_STYLE, noInput)).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.' +
        '\n\n### Instruction:\nConvert 45 kilometers to meters.\n\n### Response:\n',
    );
  });

  it('Phi-3: <|user|> and <|assistant|> turns', () => {
    expect(trainingText(PHI3_STYLE, withInput)).toBe(
      '<|user|>\nEdit the following sentence for grammar.\nHe go to the park.\n<|assistant|>\nHe goes to the park.',
    );
    expect(promptText(PHI3_STYLE, noInput)).toBe(
      '<|user|>\nConvert 45 kilometers to meters.\n<|assistant|>\n',
    );
  });

  it('looks styles up by name, lists them in errors, and accepts new ones', () => {
    expect(promptStyle('phi3')).toBe(PHI3_STYLE);
    expect(() => promptStyle('chatml')).toThrow(ConfigError);
    expect(() => promptStyle('chatml')).toThrow('style must be one of alpaca, phi3, got "chatml"');
    registerPromptStyle({
      name: 'chatml',
      formatInput: (e) => `<|im_start|>user\n${e.instruction}${e.input ? `\n${e.input}` : ''}<|im_end|>`,
      responseHeader: '\n<|im_start|>assistant\n',
    });
    expect(promptStyleNames()).toContain('chatml');
    expect(trainingText(promptStyle('chatml'), noInput)).toBe(
      '<|im_start|>user\nConvert 45 kilometers to meters.<|im_end|>\n<|im_start|>assistant\n45 kilometers is 45000 meters.',
    );
  });
});
