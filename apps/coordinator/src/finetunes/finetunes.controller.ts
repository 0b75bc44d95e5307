/** REST API of finetune jobs. */
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { finetuneSpecSchema, type FinetuneSpec } from '@llm-forge/cluster-protocol';
import { openApiSchema } from '../common/openapi-schema';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import type { Finetune, FinetuneDetail } from './finetune.model';
import { FINETUNE_DETAIL_SCHEMA, FINETUNE_SCHEMA } from './finetunes.openapi';
import { FinetunesService } from './finetunes.service';

/** `/finetunes`: submit, list, inspect and cancel finetune jobs (classification or instruction). */
@ApiTags('finetunes')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing or invalid bearer token' })
@Controller('finetunes')
export class FinetunesController {
  constructor(private readonly finetunes: FinetunesService) {}

  /** Creates a job; it runs as soon as its workers are free. */
  @Post()
  @ApiOperation({
    summary: 'submit a finetune job (the flags of `forge finetune classify|instruct` as JSON)',
  })
  @ApiBody({ schema: openApiSchema(finetuneSpecSchema) })
  @ApiResponse({ status: 201, description: 'the queued job', schema: FINETUNE_SCHEMA })
  @ApiResponse({
    status: 400,
    description:
      'validation failed (or the base checkpoint or dataset is missing); `issues` names each field',
  })
  create(@Body(new ZodValidationPipe(finetuneSpecSchema)) spec: FinetuneSpec): Promise<Finetune> {
    return this.finetunes.create(spec);
  }

  /** All jobs, newest first. */
  @Get()
  @ApiOperation({ summary: 'list finetune jobs, newest first' })
  @ApiResponse({ status: 200, description: 'the jobs', schema: { type: 'array', items: FINETUNE_SCHEMA } })
  list(): Promise<Finetune[]> {
    return this.finetunes.list();
  }

  /** One job with metrics and evaluation. */
  @Get(':id')
  @ApiOperation({
    summary: 'a finetune job: status, progress, logged losses and accuracies, evaluation, sample responses',
  })
  @ApiResponse({ status: 200, description: 'the job', schema: FINETUNE_DETAIL_SCHEMA })
  @ApiResponse({ status: 404, description: 'no such job' })
  get(@Param('id') id: string): Promise<FinetuneDetail> {
    return this.finetunes.get(id);
  }

  /** Cancels a queued or running job. */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'cancel a queued or running job (its pending step is removed)' })
  @ApiResponse({ status: 200, description: 'the cancelled job', schema: FINETUNE_SCHEMA })
  @ApiResponse({ status: 404, description: 'no such job' })
  @ApiResponse({ status: 409, description: 'the job already finished' })
  cancel(@Param('id') id: string): Promise<Finetune> {
    return this.finetunes.cancel(id);
  }
}
