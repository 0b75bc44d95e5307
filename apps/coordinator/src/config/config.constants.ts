/** Injection token of the validated {@link CoordinatorConfig}. */
export const FORGE_CONFIG = Symbol('FORGE_CONFIG');
