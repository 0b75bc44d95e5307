/** REST API of text generation. */
import { Body, Controller, Post, Res, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { openApiSchema } from '../common/openapi-schema';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import { GenerateExceptionFilter } from './generate-exception.filter';
import { type GenerateRequest, generateRequestSchema } from './generate.schema';
import { GenerateService, MAX_CONCURRENT_GENERATIONS } from './generate.service';
import { streamGeneration } from './sse';

/** `/generate`: continue a prompt with a checkpoint, streamed as server-sent events. */
@ApiTags('generate')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing or invalid bearer token' })
@UseFilters(GenerateExceptionFilter)
@Controller('generate')
export class GenerateController {
  constructor(private readonly generation: GenerateService) {}

  /** Streams the continuation of a prompt: `token` events, then `done` (or `error`). */
  @Post()
  @ApiOperation({
    summary: 'generate text after a prompt from a checkpoint, streamed as server-sent events',
    description:
      'Events: `token` {"text"} per decoded piece, then `done` {"tokens","tokensPerSecond"}; a failure ' +
      'after the stream started is `error` {"message"}. Closing the connection stops generation.',
  })
  @ApiBody({ schema: openApiSchema(generateRequestSchema) })
  @ApiProduces('text/event-stream')
  @ApiResponse({
    status: 200,
    description: 'the event stream: `event: token|done|error` lines, each with one JSON `data:` line',
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          example:
            'event: token\ndata: {"text":" the"}\n\nevent: done\ndata: {"tokens":50,"tokensPerSecond":120.5}\n\n',
        },
      },
    },
  })
  @ApiResponse({ status: 400, description: 'validation failed; `issues` names each field' })
  @ApiResponse({ status: 404, description: 'no such run, checkpoint or checkpoint directory' })
  @ApiResponse({ status: 422, description: 'the checkpoint cannot be loaded (corrupt or foreign)' })
  @ApiResponse({
    status: 503,
    description: `${MAX_CONCURRENT_GENERATIONS} generations are already running (Retry-After)`,
  })
  async generate(
    @Body(new ZodValidationPipe(generateRequestSchema)) request: GenerateRequest,
    @Res() res: Response,
  ): Promise<void> {
    await streamGeneration(await this.generation.start(request), res);
  }
}
