import { SetMetadata, type CustomDecorator } from '@nestjs/common';

/** Metadata key set by {@link Public}. */
export const IS_PUBLIC = 'forge:isPublic';

/** Marks a route as reachable without the bearer token (only /health). */
export const Public = (): CustomDecorator<string> => SetMetadata(IS_PUBLIC, true);

/** Metadata key set by {@link QueryToken}. */
export const ALLOWS_QUERY_TOKEN = 'forge:allowsQueryToken';

/**
 * Lets a route take the token as `?token=` too (server-sent events: a browser's EventSource cannot
 * send an Authorization header).
 */
export const QueryToken = (): CustomDecorator<string> => SetMetadata(ALLOWS_QUERY_TOKEN, true);
