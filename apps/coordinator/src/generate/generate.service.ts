/** Text generation from checkpoints: resolves the checkpoint, holds a slot, starts the executor. */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { randomInt } from 'crypto';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../logging/logger';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { CheckpointResolver } from '../runs/checkpoint-resolver';
import { confineInput, pathPolicyOf } from '../runs/path-policy';
import type { GenerateRequest } from './generate.schema';
import { GenerationBusyError, GenerationFailedError, ModelUnreadableError } from './generate.errors';
import {
  type ActiveGeneration,
  createExecutor,
  type GenerationExecutor,
  StartRejection,
} from './generation-executor';

/** Generations running at once; each holds a model and a share of the CPU. */
export const MAX_CONCURRENT_GENERATIONS = 2;

/** Injection token of the executor (tests may provide their own). */
export const GENERATION_EXECUTOR = Symbol('GENERATION_EXECUTOR');

/** Starts generations, at most {@link MAX_CONCURRENT_GENERATIONS} at a time. Throws domain errors only. */
@Injectable()
export class GenerateService implements OnModuleDestroy {
  private readonly log: Logger;
  private active = 0;

  constructor(
    private readonly resolver: CheckpointResolver,
    @Inject(GENERATION_EXECUTOR) private readonly executor: GenerationExecutor,
    @Inject(PINO_LOGGER) log: Logger,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
  ) {
    this.log = log.child({ component: 'generate' });
  }

  /**
   * Resolves the checkpoint and loads its model; resolves once tokens can stream. Throws
   * {@link GenerationBusyError}, the resolver's not-found errors, {@link ModelUnreadableError} or
   * {@link GenerationFailedError}.
   */
  async start(request: GenerateRequest): Promise<ActiveGeneration> {
    if (this.active >= MAX_CONCURRENT_GENERATIONS) throw new GenerationBusyError(MAX_CONCURRENT_GENERATIONS);
    this.active++;
    let generation: ActiveGeneration;
    let dir = request.checkpoint;
    try {
      dir = await this.resolver.resolve(request.checkpoint);
      // A model is an input like any other: outside local mode, only from the cluster's directories.
      confineInput('checkpoint', dir, pathPolicyOf(this.config));
      generation = await this.executor.start({
        dir,
        prompt: request.prompt,
        maxNewTokens: request.maxNewTokens,
        temperature: request.temperature,
        topK: request.topK,
        seed: request.seed ?? randomInt(2 ** 31),
      });
    } catch (error) {
      this.active--;
      throw startError(error, dir);
    }
    this.log.info({ checkpoint: dir, executor: this.executor.mode }, 'generation started');
    void generation.finished.finally(() => this.active--);
    return generation;
  }

  /** Stops the generation thread with the app. */
  async onModuleDestroy(): Promise<void> {
    await this.executor.close();
  }
}

/** The executor's start failure as a domain error; other errors pass through. */
function startError(error: unknown, dir: string): unknown {
  if (!(error instanceof StartRejection)) return error;
  return error.failure.kind === 'checkpoint'
    ? new ModelUnreadableError(dir, error.failure.message)
    : new GenerationFailedError(error.failure.message);
}

/** The provider of the default executor: a worker thread in the built app, in-process under ts-jest. */
export const executorProvider = { provide: GENERATION_EXECUTOR, useFactory: createExecutor };
