import { SseParser } from './sse-parser';

describe('SseParser', () => {
  it('parses named events with JSON data', () => {
    const p = new SseParser();
    expect(p.push('event: token\ndata: {"text":"Hi"}\n\nevent: done\ndata: {}\n\n')).toEqual([
      { event: 'token', data: '{"text":"Hi"}' },
      { event: 'done', data: '{}' },
    ]);
  });

  it('joins events split across chunks at any byte', () => {
    const text = 'event: token\ndata: {"text":"a b"}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(got).toEqual([{ event: 'token', data: '{"text":"a b"}' }]);
    }
  });

  it('handles CRLF and CR line endings, a CRLF split between chunks', () => {
    const p = new SseParser();
    expect(p.push('data: x\r')).toEqual([]);
    expect(p.push('\n\r\ndata: y\r\r')).toEqual([{ event: 'message', data: 'x' }]);
    // the trailing CR may be half of a CRLF, so "y" is complete only once the next chunk arrives
    expect(p.push('\n')).toEqual([{ event: 'message', data: 'y' }]);
  });

  it('joins multi-line data, keeps ids, ignores comments and unknown fields', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\nid: 7\nretry: 100\ndata: one\ndata:two\n\n')).toEqual([
      { event: 'message', data: 'one\ntwo', id: '7' },
    ]);
  });

  it('dispatches nothing for an event without data, and drops an unterminated event at the end', () => {
    const p = new SseParser();
    expect(p.push('event: ping\n\n')).toEqual([]);
    expect(p.push('data: half')).toEqual([]);
    p.end();
    expect(p.push('\n\n')).toEqual([]);
  });
});
