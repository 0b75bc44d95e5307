import { SetMetadata, type CustomDecorator } from '@nestjs/common';

/** Metadata key set by {@link Public}. */
export const IS_PUBLIC = 'forge:isPublic';

/** Marks a route as reachable without the bearer token (only /health). */
export const Public = (): CustomDecorator<string> => SetMetadata(IS_PUBLIC, true);
