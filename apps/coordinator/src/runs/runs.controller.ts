/** REST API of pretraining runs. */
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { openApiSchema } from '../common/openapi-schema';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import type { CheckpointInfo } from './checkpoints';
import { type CreateRunDto, createRunSchema } from './dto/create-run.dto';
import type { Run, RunWithMetrics } from './run.model';
import { RunsService } from './runs.service';

/** `/runs`: create, list, inspect, pause, resume and cancel pretraining runs. */
@ApiTags('runs')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing or invalid bearer token' })
@Controller('runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  /** Creates a run and enqueues its first step. */
  @Post()
  @ApiOperation({ summary: 'create a pretraining run (the flags of `forge train` as JSON)' })
  @ApiBody({ schema: openApiSchema(createRunSchema) })
  @ApiResponse({ status: 201, description: 'the queued run' })
  @ApiResponse({ status: 400, description: 'validation failed; `issues` names each field' })
  create(@Body(new ZodValidationPipe(createRunSchema)) spec: CreateRunDto): Promise<Run> {
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

  /** Resumes a paused run. */
  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'resume a paused run from its current step' })
  @ApiResponse({ status: 409, description: 'the run is not paused' })
  resume(@Param('id') id: string): Promise<Run> {
    return this.runs.resume(id);
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
