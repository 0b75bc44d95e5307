/**
 * Path prefixes of the coordinator's API. The dashboard's own routes live in the URL hash (`#/runs/…`),
 * so a server that hosts both only needs: these prefixes → the API, everything else → dist/.
 */
export const API_PATH_PREFIXES = [
  '/runs',
  '/workers',
  '/events',
  '/finetunes',
  '/generate',
  '/health',
  '/metrics',
  '/openapi.json',
  '/docs',
  '/queues',
] as const;

/** Whether a request path belongs to the API (rather than to the dashboard's static files). */
export function isApiPath(path: string): boolean {
  return API_PATH_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`));
}
