/** `forge classify`: the label and probability a finetuned classifier gives a text. */
import { Command } from 'commander';
import { resolveModelReference } from '@llm-forge/cluster-protocol';
import { createTokenizer } from '@llm-forge/gpt';
import { encodeTruncated, GPTClassifier, padBatch } from '@llm-forge/finetune';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { MODEL_HELP } from '../references';

interface ClassifyFlags {
  model: string;
  text: string;
  json?: boolean;
}

/** Registers `forge classify`. */
export function classifyCommand(): Command {
  return new Command('classify')
    .description('classify a text with a checkpoint from `forge finetune classify`')
    .requiredOption('--model <model>', `classifier from forge finetune classify: ${MODEL_HELP}`)
    .requiredOption('--text <text>', 'the text to classify')
    .option('--json', 'print {"label", "probability", "probabilities"} as the last line')
    .action(async (flags: ClassifyFlags) => {
      const dir = await resolveModelReference(flags.model);
      await startBackend();
      const classifier = GPTClassifier.load(dir);
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
