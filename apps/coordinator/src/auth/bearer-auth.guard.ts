import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { ALLOWS_QUERY_TOKEN, IS_PUBLIC } from './public.decorator';
import { checkBearer } from './token';

/** Global guard: every route needs `Authorization: Bearer FORGE_API_TOKEN` unless marked {@link Public} or auth is off. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Throws 401 with a message saying what is missing or wrong. */
  canActivate(context: ExecutionContext): boolean {
    if (!this.config.authEnabled || this.config.apiToken === undefined) return true;
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const allowsQuery = this.reflector.getAllAndOverride<boolean | undefined>(ALLOWS_QUERY_TOKEN, [
      context.getHandler(),
      context.getClass(),
    ]);
    const queryToken = allowsQuery && typeof req.query.token === 'string' ? req.query.token : undefined;
    const header =
      req.headers.authorization ?? (queryToken !== undefined ? `Bearer ${queryToken}` : undefined);
    const check = checkBearer(header, this.config.apiToken);
    if (!check.ok) throw new UnauthorizedException(check.message);
    return true;
  }
}
