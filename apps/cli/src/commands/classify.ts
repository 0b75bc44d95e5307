/** `forge classify`: the label and probability a finetuned classifier gives a text. */
import { Command } from 'commander';
import { createTokenizer } from '@llm-forge/gpt';
import { encodeTruncated, GPTClassifier, padBatch } from '@llm-forge/finetune';
import { info, printJson } from '../output';
import { startBackend } from '../backend';

interface ClassifyFlags {
  model: string;
  text: string;
  json?: boolean;
}

/** Registers `forge classify`. */
export function classifyCommand(): Command {
  return new Command('classify')
    .description('classify a text with a checkpoint from `forge finetune classify`')
    .requiredOption('--model <dir>', 'classifier checkpoint directory')
    .requiredOption('--text <text>', 'the text to classify')
    .option('--json', 'print {"label", "probability", "probabilities"} as the last line')
    .action(async (flags: ClassifyFlags) => {
      await startBackend();
      const classifier = GPTClassifier.load(flags.model);
      const { maxLength, padTokenId, labels } = classifier.spec;
      // Shaped as in training: truncated and padded to the same length (the last token may be a pad).
      const ids = encodeTruncated(createTokenizer(), flags.text, maxLength);
      const [probs] = classifier.probabilities(padBatch([ids], [0], maxLength, padTokenId));
      classifier.dispose();
      const best = probs.indexOf(Math.max(...probs));
      if (flags.json) {
        const probabilities = Object.fromEntries(labels.map((l, i) => [l, probs[i]]));
        printJson({ label: labels[best], probability: probs[best], probabilities });
      } else info(false, `${labels[best]} (probability ${probs[best].toFixed(4)})`);
    });
}
