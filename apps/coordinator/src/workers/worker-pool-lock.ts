/**
 * One lock over choosing workers: the run driver and the finetune driver both form rings from the
 * same pool of free workers, and each decides "free" from what the other has recorded. Forming a
 * ring (choose, then record the members) under this lock means the two can never pick the same
 * worker in between.
 */
import { Injectable } from '@nestjs/common';
import { KeyedLock } from '../common/keyed-lock';

const POOL = 'worker-pool';

/** Serialises ring formation across every driver in this coordinator. */
@Injectable()
export class WorkerPoolLock {
  private readonly lock = new KeyedLock();

  /** Runs `fn` (choose workers and record them) with the pool to itself. */
  claim<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(POOL, fn);
  }
}
