/**
 * The replicas of a data-parallel run no longer hold bit-identical parameters: some rank applied a
 * different update (a bug, a flipped bit, a non-deterministic kernel), so continuing would train N
 * different models while reporting one loss.
 */
export class ReplicaDivergenceError extends Error {
  /** What to check or do about it. */
  readonly hint: string;

  /**
   * @param step - optimizer steps done when the checksums were compared.
   * @param checksums - every rank's parameter checksum, in rank order.
   */
  constructor(
    readonly step: number,
    readonly checksums: readonly string[],
  ) {
    const groups = groupRanks(checksums);
    const described = groups.map(({ checksum, ranks }) => `ranks [${ranks.join(', ')}] have ${checksum}`);
    const hint =
      'restart every rank from the last checkpoint; if it recurs, look for a non-deterministic kernel or a rank-dependent option';
    super(`replica parameters diverged after step ${step}: ${described.join('; ')} (hint: ${hint})`);
    this.name = 'ReplicaDivergenceError';
    this.hint = hint;
  }

  /** The ranks whose checksum differs from rank 0's. */
  get divergentRanks(): number[] {
    return this.checksums.flatMap((c, rank) => (c === this.checksums[0] ? [] : [rank]));
  }
}

/** Ranks grouped by checksum, in order of first appearance. */
function groupRanks(checksums: readonly string[]): Array<{ checksum: string; ranks: number[] }> {
  const groups = new Map<string, number[]>();
  checksums.forEach((c, rank) => groups.set(c, [...(groups.get(c) ?? []), rank]));
  return [...groups].map(([checksum, ranks]) => ({ checksum, ranks }));
}
