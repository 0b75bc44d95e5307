/** REST API of pretraining runs. */
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { openApiSchema } from '../common/openapi-schema';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import type { CheckpointInfo } from './checkpoints';
import { type RunSpec, runSpecSchema } from '@llm-forge/cluster-protocol';
import type { Run, RunWithMetrics } from './run.model';
import { RunsService } from './runs.service';
import { z } from 'zod';

/** Body of `POST /runs/:id/resume`. */
const resumeSchema = z
  .object({
    checkpoint: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'a checkpoint name such as step-000100')
      .optional(),
  })
  .strict()
  .optional();
type ResumeRequest = z.infer<typeof resumeSchema>;

/** `/runs`: create, list, inspect, pause, resume and cancel pretraining runs. */
@ApiTags('runs')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing or invalid bearer token' })
@Controller('runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  /** Creates a run and enqueues its first step. */
  @Post()
  @ApiOperation({
    summary:
      'create a pretraining run (the flags of `forge train` as JSON; `{}` is the quick start run: tiny GPT, builtin:moby-dick, 200 steps)',
  })
  @ApiBody({ schema: openApiSchema(runSpecSchema) })
  @ApiResponse({ status: 201, description: 'the queued run' })
  @ApiResponse({
    status: 400,
    description:
      'validation failed, or data.text, data.manifest or model.init does not exist or is unreadable; `issues` names each field',
  })
  create(@Body(new ZodValidationPipe(runSpecSchema)) spec: RunSpec): Promise<Run> {
    return this.runs.create(spec);
  }

  /** All runs, newest first. */
  @Get()
  @ApiOperation({ summary: 'list runs, newest first' })
  list(): Promise<Run[]> {
    return this.runs.list();
  }

  /** One run with status, progress and metrics. */
  @Get(':id')
  @ApiOperation({ summary: 'a run: status, progress and step metrics' })
  @ApiResponse({ status: 404, description: 'no such run' })
  get(@Param('id') id: string): Promise<RunWithMetrics> {
    return this.runs.get(id);
  }

  /** Pauses a queued or running run. */
  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'pause a queued or running run (pending step jobs are removed)' })
  @ApiResponse({ status: 409, description: 'the run is in a state that cannot be paused' })
  pause(@Param('id') id: string): Promise<Run> {
    return this.runs.pause(id);
  }

  /** Resumes a paused run, optionally from a chosen checkpoint. */
  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({
    summary: 'resume a paused run from its current step, or from {"checkpoint": "step-000100"}',
  })
  @ApiBody({ required: false, schema: openApiSchema(resumeSchema) })
  @ApiResponse({ status: 404, description: 'no such run or checkpoint' })
  @ApiResponse({ status: 409, description: 'the run is not paused' })
  resume(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(resumeSchema)) body: ResumeRequest | undefined,
  ): Promise<Run> {
    return this.runs.resume(id, body?.checkpoint);
  }

  /** Cancels an unfinished run. */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'cancel a run that has not finished (pending step jobs are removed)' })
  @ApiResponse({ status: 409, description: 'the run has already finished' })
  cancel(@Param('id') id: string): Promise<Run> {
    return this.runs.cancel(id);
  }

  /** Checkpoints written so far. */
  @Get(':id/checkpoints')
  @ApiOperation({ summary: "checkpoints in the run's checkpoint directory (empty until workers write some)" })
  checkpoints(@Param('id') id: string): Promise<CheckpointInfo[]> {
    return this.runs.checkpoints(id);
  }
}
