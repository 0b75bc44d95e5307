/**
 * The dashboard's pages, addressed in the URL hash (`#/runs/<id>`), so that a reload or a shared link
 * never reaches the API's own `/runs/<id>` and the server needs no SPA fallback.
 */

/** A page of the dashboard. */
export type Route =
  | { page: 'runs' }
  | { page: 'new-run' }
  | { page: 'run'; id: string }
  | { page: 'compare'; query: string }
  | { page: 'finetunes' }
  | { page: 'new-finetune' }
  | { page: 'finetune'; id: string }
  | { page: 'generate'; checkpoint?: string }
  | { page: 'workers' }
  | { page: 'not-found'; path: string };

/** The route of a location hash (`''`, `#/`, `#/runs/abc`, `#/generate?checkpoint=run-1/step-000100`). */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [pathPart, query = ''] = raw.split('?', 2);
  const parts = pathPart.split('/').filter(Boolean).map(safeDecode);
  const params = new URLSearchParams(query);
  const [first, second, ...rest] = parts;
  if (rest.length > 0) return { page: 'not-found', path: raw };
  if (first === undefined || (first === 'runs' && second === undefined)) return { page: 'runs' };
  if (first === 'runs') return second === 'new' ? { page: 'new-run' } : { page: 'run', id: second };
  // the compare view keeps its whole state (runs, x-axis, smoothing) in the query: ComparePage parses it
  if (first === 'compare' && second === undefined) return { page: 'compare', query };
  if (first === 'finetunes' && second === undefined) return { page: 'finetunes' };
  if (first === 'finetunes')
    return second === 'new' ? { page: 'new-finetune' } : { page: 'finetune', id: second };
  if (first === 'generate' && second === undefined) {
    const checkpoint = params.get('checkpoint');
    return checkpoint ? { page: 'generate', checkpoint } : { page: 'generate' };
  }
  if (first === 'workers' && second === undefined) return { page: 'workers' };
  return { page: 'not-found', path: raw };
}

/** The hash link of a route (inverse of {@link parseRoute}). */
export function href(route: Route): string {
  switch (route.page) {
    case 'runs':
      return '#/runs';
    case 'new-run':
      return '#/runs/new';
    case 'run':
      return `#/runs/${encodeURIComponent(route.id)}`;
    case 'compare':
      return route.query ? `#/compare?${route.query}` : '#/compare';
    case 'finetunes':
      return '#/finetunes';
    case 'new-finetune':
      return '#/finetunes/new';
    case 'finetune':
      return `#/finetunes/${encodeURIComponent(route.id)}`;
    case 'generate':
      return route.checkpoint
        ? `#/generate?checkpoint=${encodeURIComponent(route.checkpoint)}`
        : '#/generate';
    case 'workers':
      return '#/workers';
    case 'not-found':
      return `#/${route.path}`;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
