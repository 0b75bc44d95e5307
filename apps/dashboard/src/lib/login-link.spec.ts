import { acceptLoginLink, loginLinkToken } from './login-link';

describe('login link', () => {
  it('reads the token of #token=…, and nothing else', () => {
    expect(loginLinkToken('#token=abc%2B1')).toBe('abc+1');
    expect(loginLinkToken('#/runs')).toBeUndefined();
    expect(loginLinkToken('#token=')).toBeUndefined();
    expect(loginLinkToken('#token=%E0%A4%A')).toBeUndefined();
  });

  it('saves the token and replaces the address, so the token stays in neither the bar nor the history', () => {
    const saved: string[] = [];
    const replaced: string[] = [];
    const location = { hash: '#token=t0k3n', pathname: '/', search: '' };
    const history = {
      replaceState: (_s: unknown, _t: string, url?: string | URL | null) => void replaced.push(String(url)),
    };
    expect(acceptLoginLink((t) => saved.push(t), location, history)).toBe(true);
    expect(saved).toEqual(['t0k3n']);
    expect(replaced).toEqual(['/#/runs']);
    expect(acceptLoginLink((t) => saved.push(t), { ...location, hash: '#/runs' }, history)).toBe(false);
  });
});
