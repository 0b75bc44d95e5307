import { loginUrl } from './login-link';

describe('loginUrl', () => {
  it('puts the token in the fragment, never in the path or query a server would log', () => {
    const url = new URL(loginUrl('http://127.0.0.1:3000/', 'ab12+/='));
    expect(url.pathname).toBe('/');
    expect(url.search).toBe('');
    expect(decodeURIComponent(url.hash)).toBe('#token=ab12+/=');
    expect(loginUrl('http://h/#/runs', 't')).toBe('http://h/#token=t');
  });
});
