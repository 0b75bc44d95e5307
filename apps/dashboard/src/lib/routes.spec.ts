import { href, parseRoute, type Route } from './routes';

describe('routes', () => {
  it('parses every page', () => {
    expect(parseRoute('')).toEqual({ page: 'runs' });
    expect(parseRoute('#/')).toEqual({ page: 'runs' });
    expect(parseRoute('#/runs')).toEqual({ page: 'runs' });
    expect(parseRoute('#/runs/new')).toEqual({ page: 'new-run' });
    expect(parseRoute('#/runs/run-1')).toEqual({ page: 'run', id: 'run-1' });
    expect(parseRoute('#/finetunes')).toEqual({ page: 'finetunes' });
    expect(parseRoute('#/finetunes/new')).toEqual({ page: 'new-finetune' });
    expect(parseRoute('#/finetunes/ft-2')).toEqual({ page: 'finetune', id: 'ft-2' });
    expect(parseRoute('#/generate')).toEqual({ page: 'generate' });
    expect(parseRoute('#/workers')).toEqual({ page: 'workers' });
    expect(parseRoute('#/compare?runs=a,b')).toEqual({ page: 'compare', query: 'runs=a,b' });
    expect(parseRoute('#/nope/x/y')).toEqual({ page: 'not-found', path: '/nope/x/y' });
    expect(parseRoute('#/%E0%A4%A')).toEqual({ page: 'not-found', path: '/%E0%A4%A' });
  });

  it('round-trips through href, escaping ids and checkpoints', () => {
    const routes: Route[] = [
      { page: 'runs' },
      { page: 'new-run' },
      { page: 'run', id: 'run with/slash' },
      { page: 'finetunes' },
      { page: 'new-finetune' },
      { page: 'finetune', id: 'ft-1' },
      { page: 'generate' },
      { page: 'generate', checkpoint: 'run-1/step-000100' },
      { page: 'workers' },
      { page: 'compare', query: 'runs=run-1,run-2&x=tokens&smooth=0.6' },
    ];
    for (const r of routes) expect(parseRoute(href(r))).toEqual(r);
  });
});
