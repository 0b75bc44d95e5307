/** One set of defaults: the flags of forge train / forge submit pretrain and POST /runs agree. */
import { Command } from 'commander';
import {
  DATASET_MANIFEST_FILE,
  MODEL_CONFIG_FILE,
  MODEL_PRESETS,
  MODEL_WEIGHTS_FILE,
  MODEL_WEIGHTS_INDEX_FILE,
  PRESET_CONTEXT_LENGTHS,
  PRETRAIN_DEFAULTS as D,
  runSpecSchema,
} from '@llm-forge/cluster-protocol';
import { MANIFEST_FILE } from '@llm-forge/data-shards';
import { CONFIG_FILE, MODEL_FILE, MODEL_INDEX_FILE, PRESET_NAMES, presetConfig } from '@llm-forge/gpt';
import { addTrainingOptions, given, sharedSpecFields, type TrainingFlags } from './training-options';

/** The shared flags parsed from `argv`, and the command (for where each value came from). */
function parse(...argv: string[]): { flags: TrainingFlags; command: Command } {
  const command = addTrainingOptions(new Command('x'), 'batch', 'text').exitOverride();
  command.parse(argv, { from: 'user' });
  return { flags: command.opts<TrainingFlags>(), command };
}

describe('training flags', () => {
  it('default to PRETRAIN_DEFAULTS, as POST /runs does for {}', () => {
    const { flags } = parse();
    const spec = runSpecSchema.parse({});
    expect(flags).toEqual({
      text: D.text,
      preset: D.preset,
      batchSize: D.batchSize,
      steps: D.steps,
      lr: D.lr,
      warmupSteps: D.warmupSteps,
      schedule: D.schedule,
      weightDecay: D.weightDecay,
      gradClip: D.gradClip,
      shuffle: D.shuffle,
      valFraction: D.valFraction,
      evalEvery: D.evalEvery,
      seed: D.seed,
      sync: D.sync.mode,
      overlap: true,
      innerSteps: D.diloco.innerSteps,
      outerLr: D.diloco.outerLr,
      outerMomentum: D.diloco.outerMomentum,
    });
    expect(spec).toMatchObject({
      model: { preset: flags.preset },
      data: { text: flags.text, valFraction: flags.valFraction },
      optimizer: {
        lr: flags.lr,
        minLr: flags.lr / 10,
        warmupSteps: flags.warmupSteps,
        schedule: flags.schedule,
        weightDecay: flags.weightDecay,
        gradClip: flags.gradClip,
      },
      batchSize: flags.batchSize,
      steps: flags.steps,
      seed: flags.seed,
      shuffle: flags.shuffle,
      evalEvery: flags.evalEvery,
    });
  });

  it('refuse steps, batch and context beyond the cluster limits, as POST /runs does', () => {
    const quiet = (argv: string[]) => () => {
      const command = addTrainingOptions(new Command('x'), 'batch', 'text')
        .exitOverride()
        .configureOutput({ writeErr: () => undefined });
      command.parse(argv, { from: 'user' });
    };
    expect(quiet(['--steps', '1e20'])).toThrow(/--steps.*an integer in \[1, 10000000\]/);
    expect(quiet(['--batch-size', '1000000000'])).toThrow(/--batch-size.*an integer in \[1, 65536\]/);
    expect(quiet(['--context-length', '1000000000'])).toThrow(/--context-length.*\[1, 32768\]/);
    expect(parse('--steps', '10000000').flags.steps).toBe(10_000_000);
  });

  it('map --no-overlap to the ddp spec that sums gradients after backward', () => {
    expect(sharedSpecFields(parse().flags).sync).toEqual({ mode: 'ddp' });
    const off = sharedSpecFields(parse('--no-overlap').flags).sync;
    expect(off).toEqual({ mode: 'ddp', overlap: false });
    expect(runSpecSchema.parse({ sync: off }).sync).toEqual({ mode: 'ddp', overlap: false });
  });

  it('tell a given flag from a default', () => {
    const { flags, command } = parse('--steps', '200', '--lr', '0.01');
    expect(flags).toMatchObject({ steps: 200, lr: 0.01 });
    expect(given(command, 'steps')).toBe(true);
    expect(given(command, 'text')).toBe(false);
  });
});

describe('names copied into @llm-forge/cluster-protocol (it must not load the tensor backend)', () => {
  it('match the libraries that write the files', () => {
    expect([MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE, MODEL_WEIGHTS_INDEX_FILE]).toEqual([
      CONFIG_FILE,
      MODEL_FILE,
      MODEL_INDEX_FILE,
    ]);
    expect(DATASET_MANIFEST_FILE).toBe(MANIFEST_FILE);
    expect([...MODEL_PRESETS].sort()).toEqual([...PRESET_NAMES].sort());
    for (const preset of MODEL_PRESETS) {
      expect([preset, PRESET_CONTEXT_LENGTHS[preset]]).toEqual([preset, presetConfig(preset).contextLength]);
    }
  });
});
