/** Finetune jobs: creation (with the base checkpoint and dataset checked), queries, cancel. Throws domain errors only. */
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import type { Logger } from 'pino';
import { MODEL_CONFIG_FILE, SPAMASSASSIN_DATASET, type FinetuneSpec } from '@llm-forge/cluster-protocol';
import { FinetuneNotFoundError, InvalidTransitionError } from '../common/errors';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { formatJudgeEndpoint, judgeAllowed, type JudgeEndpoint } from '../config/judge-allowlist';
import { CheckpointResolver } from '../runs/checkpoint-resolver';
import { confineInput, pathPolicyOf } from '../runs/path-policy';
import { SubmissionGate } from '../runs/submission-gate';
import { checkFinetuneDataset, invalid } from '../runs/input-checks';
import { PINO_LOGGER } from '../logging/logger';
import { TRANSITIONS } from '../runs/run-state';
import type { Finetune, FinetuneDetail } from './finetune.model';
import { JobDriver } from '../jobs/job-driver.service';
import { FinetunesRepository } from './finetunes.repository';

/** Creates, lists, inspects and cancels finetune jobs; the {@link JobDriver} runs them. */
@Injectable()
export class FinetunesService {
  private readonly log: Logger;

  constructor(
    private readonly repo: FinetunesRepository,
    private readonly driver: JobDriver,
    private readonly checkpoints: CheckpointResolver,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
    private readonly gate: SubmissionGate,
  ) {
    this.log = log.child({ component: 'finetunes' });
    gate.addSource('finetune', async () => (await repo.list()).filter((j) => j.status === 'queued').length);
  }

  /**
   * Stores a new queued job; it starts as soon as `spec.workers` workers are free. The base
   * checkpoint and the dataset are checked here, so a typo is a 400 now rather than a failed job. A
   * QueueFullError (429) when the cluster's queue cap is reached.
   */
  create(spec: FinetuneSpec): Promise<Finetune> {
    return this.gate.admit(() => this.store(spec));
  }

  private async store(spec: FinetuneSpec): Promise<Finetune> {
    const baseCheckpoint =
      spec.baseCheckpoint === undefined
        ? undefined
        : await this.checkpoints.resolveField('baseCheckpoint', spec.baseCheckpoint);
    const paths = pathPolicyOf(this.config);
    if (baseCheckpoint !== undefined) {
      confineInput('baseCheckpoint', baseCheckpoint, paths);
      await checkBaseFits(baseCheckpoint, spec);
    }
    const dataset = await checkFinetuneDataset('dataset', spec.dataset);
    if (dataset !== SPAMASSASSIN_DATASET) confineInput('dataset', dataset, paths);
    if (spec.judge) checkJudge(spec.judge.url, this.config.judgeAllowList);
    const id = `ft-${randomUUID()}`;
    const now = new Date().toISOString();
    const job: Finetune = {
      id,
      kind: spec.kind,
      status: 'queued',
      spec: { ...spec, dataset, ...(baseCheckpoint !== undefined ? { baseCheckpoint } : {}) },
      dataset: spec.dataset,
      progress: { step: 0, totalSteps: 0, epoch: 0, attempt: 0 },
      outDir: path.resolve(this.config.runsDir, 'finetunes', id),
      retries: 0,
      badCheckpoints: [],
      createdAt: now,
      updatedAt: now,
    };
    if (spec.name !== undefined) job.name = spec.name;
    if (spec.baseCheckpoint !== undefined) job.baseCheckpoint = spec.baseCheckpoint;
    await this.repo.create(job);
    this.log.info({ finetuneId: id, kind: spec.kind, workers: spec.workers }, 'finetune created');
    this.driver.kick();
    return job;
  }

  /** All jobs, newest first. */
  list(): Promise<Finetune[]> {
    return this.repo.list();
  }

  /** One job with its logged metrics and, once completed, its evaluation. */
  async get(id: string): Promise<FinetuneDetail> {
    const job = await this.require(id);
    const [metrics, evaluation] = await Promise.all([this.repo.history(id), this.repo.evaluation(id)]);
    return { ...job, metrics, ...(evaluation ? { evaluation } : {}) };
  }

  /**
   * Cancels a job that has not finished: its pending step is removed; a step already running
   * finishes (a final evaluation stops at its next check, told by heartbeat) and is ignored.
   */
  async cancel(id: string): Promise<Finetune> {
    return this.driver.withLock(id, async () => {
      const { from, to } = TRANSITIONS.cancel;
      const result = await this.repo.transition(id, from, to);
      if (!result.ok) {
        if (result.current === undefined) throw new FinetuneNotFoundError(id);
        throw new InvalidTransitionError(id, 'cancel', result.current, from, 'finetune');
      }
      await this.driver.release('finetune', id);
      this.log.info({ finetuneId: id }, 'finetune cancelled');
      return this.require(id);
    });
  }

  private async require(id: string): Promise<Finetune> {
    const job = await this.repo.get(id);
    if (!job) throw new FinetuneNotFoundError(id);
    return job;
  }
}

/** Refuses a judge URL not on the operator's allow-list (FORGE_JUDGE_ALLOWLIST): a 400 naming `judge.url`. */
function checkJudge(url: string, allowed: readonly JudgeEndpoint[]): void {
  if (judgeAllowed(url, allowed)) return;
  const list = allowed.length > 0 ? allowed.map(formatJudgeEndpoint).join(', ') : 'none';
  throw invalid(
    'judge.url',
    `${url} is not an allowed judge endpoint (allowed: ${list}); the operator lists judge endpoints as scheme://host:port in FORGE_JUDGE_ALLOWLIST`,
  );
}

/** GPT-2's vocabulary size: finetuning data is tokenized with GPT-2 BPE. */
const GPT2_VOCAB_SIZE = 50257;

/**
 * Refuses a base checkpoint the job could not use, from its config.json (Hugging Face GPT-2 keys):
 * another vocabulary, or a context shorter than `maxLength`. Fields it lacks are left to the worker.
 */
async function checkBaseFits(dir: string, spec: FinetuneSpec): Promise<void> {
  let config: { vocab_size?: unknown; n_positions?: unknown };
  try {
    config = JSON.parse(await fs.readFile(path.join(dir, MODEL_CONFIG_FILE), 'utf8')) as typeof config;
  } catch (error) {
    throw invalid(
      'baseCheckpoint',
      `${path.join(dir, MODEL_CONFIG_FILE)} is not readable JSON (${(error as Error).message})`,
    );
  }
  if (typeof config.vocab_size === 'number' && config.vocab_size !== GPT2_VOCAB_SIZE) {
    throw invalid(
      'baseCheckpoint',
      `${dir}: the checkpoint's vocabulary has ${config.vocab_size} tokens, not GPT-2's ${GPT2_VOCAB_SIZE}; finetuning data is tokenized with GPT-2 BPE, so use a GPT-2-vocabulary checkpoint`,
    );
  }
  const maxLength = spec.hyperparameters.maxLength;
  if (typeof config.n_positions === 'number' && maxLength !== undefined && maxLength > config.n_positions) {
    throw invalid(
      'hyperparameters.maxLength',
      `${maxLength} exceeds the base checkpoint's context length ${config.n_positions} (${dir})`,
    );
  }
}
