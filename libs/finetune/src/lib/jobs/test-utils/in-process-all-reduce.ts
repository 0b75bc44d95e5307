/**
 * Test helper: N ranks of a data-parallel job in one thread. Each rank's `allReduce` waits until
 * all N contributions of that round arrived, then every rank receives the sum (added in rank
 * order, so all ranks get the same bits, as a ring all-reduce gives them).
 */

/** A shared all-reduce for `worldSize` in-process ranks. */
export class InProcessAllReduce {
  private contributions: Array<Float32Array | undefined>;
  private arrived = 0;
  private waiting: Array<{ resolve(): void; reject(error: Error): void }> = [];
  private failure?: Error;
  /** Completed rounds. */
  rounds = 0;

  constructor(readonly worldSize: number) {
    this.contributions = new Array<Float32Array | undefined>(worldSize);
  }

  /** The `allReduce` of rank `rank`. */
  forRank(rank: number): (values: Float32Array) => Promise<void> {
    return (values) => this.contribute(rank, values);
  }

  /** Rejects every waiting and later call (a rank failed, as a broken ring would). */
  fail(error: Error): void {
    this.failure = error;
    for (const w of this.waiting.splice(0)) w.reject(error);
  }

  private contribute(rank: number, values: Float32Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.contributions[rank]) throw new Error(`rank ${rank} contributed twice to round ${this.rounds}`);
    this.contributions[rank] = values;
    this.arrived++;
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (this.arrived === this.worldSize) this.complete();
    return done;
  }

  private complete(): void {
    const parts = this.contributions as Float32Array[];
    const length = parts[0].length;
    if (parts.some((p) => p.length !== length)) {
      this.fail(
        new Error(`round ${this.rounds}: ranks sent lengths ${parts.map((p) => p.length).join(', ')}`),
      );
      return;
    }
    const sum = new Float32Array(length);
    for (const part of parts) for (let i = 0; i < length; i++) sum[i] += part[i];
    for (const part of parts) part.set(sum);
    this.contributions = new Array<Float32Array | undefined>(this.worldSize);
    this.arrived = 0;
    this.rounds++;
    for (const w of this.waiting.splice(0)) w.resolve();
  }
}

/**
 * Runs `run(rank, allReduce)` for every rank concurrently; when one rank fails, the others' pending
 * all-reduces are rejected so nothing hangs. Resolves to every rank's result, or rejects with the
 * first failure.
 */
export async function runRanks<T>(
  worldSize: number,
  run: (rank: number, allReduce: (values: Float32Array) => Promise<void>) => Promise<T>,
): Promise<T[]> {
  const reducer = new InProcessAllReduce(worldSize);
  const results = Array.from({ length: worldSize }, (_, rank) =>
    run(rank, reducer.forRank(rank)).catch((error: Error) => {
      reducer.fail(error);
      throw error;
    }),
  );
  const settled = await Promise.allSettled(results);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
