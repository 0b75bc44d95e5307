import { judgeAllowed, parseJudgeAllowList, type JudgeEndpoint } from './judge-allowlist';

describe('judge allow-list', () => {
  const list = parseJudgeAllowList('http://localhost:11434,https://judge.example.com') as JudgeEndpoint[];

  it('allows any path on a listed scheme, host and port', () => {
    expect(judgeAllowed('http://localhost:11434', list)).toBe(true);
    expect(judgeAllowed('http://LOCALHOST:11434/v1/chat/completions', list)).toBe(true);
    expect(judgeAllowed('https://judge.example.com:443/v1', list)).toBe(true);
  });

  it.each([
    'http://127.0.0.1:18999/x', // the SSRF of issue 14
    'http://localhost:11435', // another port
    'https://localhost:11434', // another scheme
    'http://judge.example.com', // https only was listed
    'http://localhost:11434@127.0.0.1:18999/', // credentials trick: the host is 127.0.0.1
    'file:///etc/passwd',
    'gopher://localhost:11434/',
    'not a url',
  ])('refuses %s', (url) => {
    expect(judgeAllowed(url, list)).toBe(false);
  });

  it('allows nothing when empty', () => {
    expect(parseJudgeAllowList('')).toEqual([]);
    expect(judgeAllowed('http://localhost:11434', [])).toBe(false);
  });
});
