/**
 * Names of a run's step checkpoints inside its checkpoint directory: `step-000120` holds the state
 * after 120 optimizer steps. Zero-padded so that names sort by step.
 */

/** The directory name of the checkpoint after `step` optimizer steps. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** The step of a checkpoint directory name, or undefined when the name is not one. */
export function parseCheckpointName(name: string): number | undefined {
  const match = /^step-(\d{6,})$/.exec(name);
  return match ? Number(match[1]) : undefined;
}
