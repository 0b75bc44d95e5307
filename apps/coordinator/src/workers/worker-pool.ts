/**
 * The worker pool: the one place that decides which workers a training job gets. Every kind of job
 * (pretraining runs, finetunes) forms its ring here, so "free" means the same for all of them:
 *
 *   free for job J = registered, alive (liveness.ts) and in the ring of no other active job, of any kind.
 *
 * Which jobs are active, and who their members are, lives in each kind's repository; each kind's
 * driver tells the pool through a {@link MembershipSource} (the pool sits below the job modules and
 * reads none of their stores itself). A ring is chosen and recorded under the pool lock, so two jobs
 * never get the same worker; each member's registry assignment then names the job and its attempt
 * (what `GET /workers` shows and what stops a superseded finetune rank by heartbeat).
 */
import { Inject, Injectable } from '@nestjs/common';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { isAlive, memberAlive } from './liveness';
import { WorkerPoolLock } from './worker-pool-lock';
import { WorkerRegistry, type JobKind, type WorkerAssignment, type WorkerRecord } from './worker-registry';

/** A training job as the pool knows it: its kind and id (ids are unique across kinds). */
export interface JobRef {
  kind: JobKind;
  id: string;
}

/** One member of a job's ring, as the job's record stores it (rank order). */
export interface RingMember {
  workerId: string;
  /** host:port of the worker's collective server. */
  address: string;
  /** The worker's registration session when the ring was formed (a restart changes it). */
  sessionId: string;
}

/** A job whose ring members are taken, as a {@link MembershipSource} reports it. */
export interface HoldingJob {
  id: string;
  members?: readonly RingMember[];
}

/** Tells the pool which jobs of one kind hold workers now. */
export interface MembershipSource {
  readonly kind: JobKind;
  /** The jobs of this kind whose members are taken (active ones; a paused run holds none). */
  holding(): Promise<HoldingJob[]>;
}

/** What a driver asks for when it forms a ring for a job. */
export interface RingRequest extends JobRef {
  /** Workers wanted (the job's spec). */
  size: number;
  /** Fewest to form with: `size` for a job not yet begun, 1 for one continuing with whoever is left. */
  minimum: number;
  /** The attempt the new ring runs, written into each member's assignment. */
  attempt: number;
  /** The job's ring so far: its members are preferred, and released if left out. */
  current?: readonly RingMember[];
  /** Whether a worker holds the job's state in memory (chosen before any other). */
  holds?: (worker: WorkerRecord) => boolean;
}

/** A ring chosen by the pool, in rank order. */
export interface Ring {
  /** The registry records of the members (what they hold, their sessions). */
  workers: WorkerRecord[];
  members: RingMember[];
}

/** Chooses, reserves and releases workers for every kind of training job. */
@Injectable()
export class WorkerPool {
  /** When this coordinator started: ring members get a grace period after it (see memberAlive). */
  private readonly startedAt = Date.now();
  private readonly sources = new Map<JobKind, MembershipSource>();

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly lock: WorkerPoolLock,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Adds (or replaces) the source of one kind's memberships; each driver adds its own at construction. */
  addSource(source: MembershipSource): void {
    this.sources.set(source.kind, source);
  }

  /**
   * Forms a ring for a job, with the pool to itself: chooses free workers ({@link chooseRing}),
   * assigns each member to the job's attempt (and frees former members left out), then lets `record`
   * store the ring in the job's record before another job may choose. Returns what `record` returned,
   * or undefined (nothing assigned or recorded) when too few workers are free. Assignments come
   * first: a coordinator that dies before `record` leaves a job that simply forms again, while an
   * attempt recorded (and so re-enqueued after a restart) always finds its members assigned to it.
   * The caller enqueues the attempt after this returns.
   */
  form<T>(request: RingRequest, record: (ring: Ring) => Promise<T>): Promise<T | undefined> {
    return this.lock.claim(async () => {
      // Read under the claim: what another job recorded a moment ago counts.
      const chosen = chooseRing(await this.free(request), request);
      if (chosen === undefined) return undefined;
      const members = chosen.map(toMember);
      const left = (request.current ?? []).filter((m) => !members.some((c) => c.workerId === m.workerId));
      await this.release(request, left);
      await Promise.all(
        members.map((m, rank) =>
          this.registry.setAssignment(m.workerId, {
            kind: request.kind,
            jobId: request.id,
            rank,
            worldSize: members.length,
            attempt: request.attempt,
          }),
        ),
      );
      return record({ workers: chosen, members });
    });
  }

  /** The live workers free for `job` now (by id): alive and in no other active job's ring. */
  async free(job: JobRef, now = Date.now()): Promise<WorkerRecord[]> {
    const [workers, busy] = await Promise.all([this.registry.list(), this.busy(job)]);
    return workers.filter((w) => isAlive(w, now, this.config.workerTimeoutMs) && !busy.has(w.id));
  }

  /** Frees `members` of `job`: each assignment is cleared if it still names the job (never another's). */
  async release(job: JobRef, members: readonly RingMember[] | undefined): Promise<void> {
    await Promise.all(
      (members ?? []).map(async (m) => {
        const worker = await this.registry.get(m.workerId);
        if (worker?.assignment && assignedTo(worker.assignment, job)) {
          await this.registry.setAssignment(m.workerId, undefined);
        }
      }),
    );
  }

  /**
   * The members of a ring that are gone: unregistered, restarted (another session) or silent past the
   * worker timeout (with a grace of one timeout after this coordinator started; see memberAlive).
   */
  async lost(members: readonly RingMember[] | undefined, now = Date.now()): Promise<RingMember[]> {
    if (!members || members.length === 0) return [];
    const workers = await this.registry.list();
    const timeout = this.config.workerTimeoutMs;
    return members.filter((m) => !memberAlive(m, workers, now, timeout, this.startedAt));
  }

  /** Ids of the workers in the rings of active jobs other than `job`, of every kind. */
  private async busy(job: JobRef): Promise<Set<string>> {
    const busy = new Set<string>();
    for (const source of this.sources.values()) {
      for (const other of await source.holding()) {
        if (source.kind === job.kind && other.id === job.id) continue;
        for (const m of other.members ?? []) busy.add(m.workerId);
      }
    }
    return busy;
  }
}

/**
 * The ring for `request` from the `free` workers, in rank order: workers holding the job's state in
 * memory first (they continue without a rewind), then its former members, then by id, so the choice
 * is deterministic; at most `size` of them. Undefined when fewer than `minimum` are free.
 */
export function chooseRing(free: readonly WorkerRecord[], request: RingRequest): WorkerRecord[] | undefined {
  if (free.length < Math.max(request.minimum, 1)) return undefined;
  const holds = (w: WorkerRecord) => (request.holds?.(w) ? 0 : 1);
  const former = (w: WorkerRecord) => (request.current?.some((m) => m.workerId === w.id) ? 0 : 1);
  return [...free]
    .sort((a, b) => holds(a) - holds(b) || former(a) - former(b) || a.id.localeCompare(b.id))
    .slice(0, request.size);
}

/** Whether an assignment names `job` (one stored without a kind is a run's, as written before kinds). */
export function assignedTo(assignment: WorkerAssignment, job: JobRef): boolean {
  return assignment.jobId === job.id && (assignment.kind ?? 'run') === job.kind;
}

function toMember(w: WorkerRecord): RingMember {
  return { workerId: w.id, address: w.address, sessionId: w.sessionId };
}
