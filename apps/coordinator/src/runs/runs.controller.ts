/** REST API of pretraining runs. */
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { createReadStream } from 'fs';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { openApiSchema } from '../common/openapi-schema';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import type { CheckpointInfo } from './checkpoints';
import {
  CHECKPOINT_SCHEMA,
  DELETED_SCHEMA,
  RUN_DETAIL_SCHEMA,
  RUN_SCHEMA,
  RUN_SUMMARY_SCHEMA,
} from './runs.openapi';
import { type RunSpec, runSpecSchema } from '@llm-forge/cluster-protocol';
import { EXPORT_FORMATS, type ExportFormat } from './metrics-export';
import { annotationPatchSchema, type AnnotationPatch, type RunAnnotation } from './run-annotations';
import { RunCatalog, type DeletedRun } from './run-catalog.service';
import type { RunFigures, RunSummary } from './run-summary';
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

/** Query of `DELETE /runs/:id`: `files=true` removes the checkpoint directory too. */
const deleteQuerySchema = z.object({ files: z.enum(['true', 'false']).default('false') });
/** Query of `GET /runs/:id/metrics`. */
const exportQuerySchema = z.object({ format: z.enum(EXPORT_FORMATS).default('csv') });

/** `/runs`: create, list, inspect, pause, resume and cancel pretraining runs. */
@ApiTags('runs')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing or invalid bearer token' })
@Controller('runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly catalog: RunCatalog,
  ) {}

  /** Creates a run and enqueues its first step. */
  @Post()
  @ApiOperation({
    summary:
      'create a pretraining run (the flags of `forge train` as JSON; `{}` is the quick start run: tiny GPT, builtin:moby-dick, 200 steps)',
  })
  @ApiBody({ schema: openApiSchema(runSpecSchema) })
  @ApiResponse({ status: 201, description: 'the queued run', schema: RUN_SCHEMA })
  @ApiResponse({
    status: 400,
    description:
      'validation failed, or data.text, data.manifest or model.init does not exist or is unreadable; `issues` names each field',
  })
  create(@Body(new ZodValidationPipe(runSpecSchema)) spec: RunSpec): Promise<Run> {
    return this.runs.create(spec);
  }

  /** All runs, newest first, with best/final validation loss, duration, throughput and annotations. */
  @Get()
  @ApiOperation({
    summary:
      'list runs, newest first, each with bestValLoss, finalValLoss, durationSeconds, tokensPerSecond, tags, notes, archived',
  })
  @ApiResponse({ status: 200, description: 'the runs', schema: { type: 'array', items: RUN_SUMMARY_SCHEMA } })
  list(): Promise<RunSummary[]> {
    return this.catalog.list();
  }

  /** One run with status, progress and metrics. */
  @Get(':id')
  @ApiOperation({ summary: 'a run: status, progress, step metrics, derived figures and annotations' })
  @ApiResponse({ status: 200, description: 'the run', schema: RUN_DETAIL_SCHEMA })
  @ApiResponse({ status: 404, description: 'no such run' })
  get(@Param('id') id: string): Promise<RunWithMetrics & RunFigures & RunAnnotation> {
    return this.catalog.get(id);
  }

  /** Sets a run's tags, notes or archived flag. */
  @Patch(':id')
  @ApiOperation({
    summary: 'change tags, notes or archived of a run ({"tags": [...], "notes": "...", "archived": true})',
  })
  @ApiBody({ schema: openApiSchema(annotationPatchSchema) })
  @ApiResponse({ status: 200, description: 'the run as GET /runs lists it', schema: RUN_SUMMARY_SCHEMA })
  @ApiResponse({ status: 404, description: 'no such run' })
  annotate(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(annotationPatchSchema)) patch: AnnotationPatch,
  ): Promise<RunSummary> {
    return this.catalog.annotate(id, patch);
  }

  /** Deletes a finished run's record; its checkpoint directory only with `?files=true`. */
  @Delete(':id')
  @ApiOperation({
    summary: "delete a finished run's record (?files=true removes its checkpoint directory too)",
  })
  @ApiQuery({ name: 'files', required: false, enum: ['true', 'false'] })
  @ApiResponse({ status: 404, description: 'no such run' })
  @ApiResponse({ status: 200, description: 'what was deleted', schema: DELETED_SCHEMA })
  @ApiResponse({ status: 409, description: 'the run has not finished' })
  remove(
    @Param('id') id: string,
    @Query(new ZodValidationPipe(deleteQuerySchema)) query: z.infer<typeof deleteQuerySchema>,
  ): Promise<DeletedRun> {
    return this.catalog.delete(id, query.files === 'true');
  }

  /** One file of a checkpoint, streamed as a download. */
  @Get(':id/checkpoints/:name/files/:file')
  @ApiOperation({
    summary: "download a file of one of the run's checkpoints (model.safetensors, config.json, …)",
  })
  @ApiProduces('application/octet-stream')
  @ApiResponse({
    status: 200,
    description: 'the file, as an attachment',
    schema: { type: 'string', format: 'binary' },
  })
  @ApiResponse({ status: 404, description: 'no such run, checkpoint or file' })
  async checkpointFile(
    @Param('id') id: string,
    @Param('name') name: string,
    @Param('file') file: string,
    @Res() res: Response,
  ): Promise<void> {
    const found = await this.catalog.checkpointFile(id, name, file);
    res
      .status(200)
      .type('application/octet-stream')
      .setHeader('Content-Length', String(found.sizeBytes))
      .setHeader('Content-Disposition', `attachment; filename="${found.downloadName}"`);
    // a read failing half-way (the file removed meanwhile) ends the response: the client sees a cut download
    createReadStream(found.path)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  /** The run's step metrics as a CSV or JSON-lines file. */
  @Get(':id/metrics')
  @ApiOperation({ summary: 'export the step metrics: ?format=csv (default) or jsonl, one row per step' })
  @ApiQuery({ name: 'format', required: false, enum: EXPORT_FORMATS })
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiResponse({
    status: 200,
    description: 'a header line and one line per step (csv), or one JSON object per step (jsonl)',
    schema: { type: 'string' },
  })
  @ApiResponse({ status: 404, description: 'no such run' })
  async exportMetrics(
    @Param('id') id: string,
    @Query(new ZodValidationPipe(exportQuerySchema)) query: { format: ExportFormat },
    @Res() res: Response,
  ): Promise<void> {
    const file = await this.catalog.exportMetrics(id, query.format);
    res
      .status(200)
      .type(file.contentType)
      .setHeader('Content-Disposition', `attachment; filename="${file.fileName}"`)
      .send(file.body);
  }

  /** Pauses a queued or running run. */
  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'pause a queued or running run (pending step jobs are removed)' })
  @ApiResponse({ status: 200, description: 'the paused run', schema: RUN_SCHEMA })
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
  @ApiResponse({ status: 200, description: 'the queued run', schema: RUN_SCHEMA })
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
  @ApiResponse({ status: 200, description: 'the cancelled run', schema: RUN_SCHEMA })
  @ApiResponse({ status: 409, description: 'the run has already finished' })
  cancel(@Param('id') id: string): Promise<Run> {
    return this.runs.cancel(id);
  }

  /** Checkpoints written so far. */
  @Get(':id/checkpoints')
  @ApiOperation({ summary: "checkpoints in the run's checkpoint directory (empty until workers write some)" })
  @ApiResponse({
    status: 200,
    description: 'the checkpoints by step',
    schema: { type: 'array', items: CHECKPOINT_SCHEMA },
  })
  checkpoints(@Param('id') id: string): Promise<CheckpointInfo[]> {
    return this.runs.checkpoints(id);
  }
}
