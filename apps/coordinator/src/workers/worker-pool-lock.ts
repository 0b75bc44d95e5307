/**
 * One lock over choosing workers: every kind of job forms its ring from the same pool, and each
 * decides "free" from what the others have recorded. Forming a ring (choose, then record the members)
 * under this lock means two jobs can never pick the same worker in between. Only {@link WorkerPool}
 * takes it.
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
