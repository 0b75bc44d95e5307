import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator';
import { RedisService } from '../redis/redis.service';

/** Body of a healthy `GET /health`. */
export interface HealthBody {
  status: 'ok';
  redis: 'up';
}

/** `GET /health`: liveness and Redis reachability; the only route without auth. */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly redis: RedisService) {}

  /** 200 when Redis answers, 503 otherwise. */
  @Public()
  @Get()
  @ApiOperation({ summary: 'liveness and Redis reachability (no auth)' })
  async health(): Promise<HealthBody> {
    if (!(await this.redis.isUp())) throw new ServiceUnavailableException('Redis does not answer');
    return { status: 'ok', redis: 'up' };
  }
}
