import * as http from 'http';
import type { AddressInfo } from 'net';
import type { InstructionResponse } from '../instruction/responses';
import { finetuneSpecSchema } from '@llm-forge/cluster-protocol';
import { InstructionTask } from '../jobs/instruction-task';
import { chatCompletionsUrl, JudgeClient, judgeOptionsFrom, parseJudgeUrl } from './judge-client';
import { JudgeError } from './judge-error';
import { judgePrompt, parseScore, scoreResponses } from './judge-scores';

/** A request the fake judge received. */
interface Received {
  url: string;
  authorization?: string;
  body: { model: string; messages: Array<{ role: string; content: string }>; temperature: number };
}

/** A local HTTP server playing an OpenAI-compatible judge; `reply` decides each answer. */
async function startJudge(reply: (req: Received) => { status?: number; body: string }) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      const r = { url: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(data) };
      received.push(r);
      const { status = 200, body } = reply(r);
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const completion = (content: string) =>
  JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] });

const responses: InstructionResponse[] = [
  { instruction: 'Add 2 and 3.', input: '', output: '5', prompt: '', model_response: '5' },
  { instruction: 'Name a color.', input: 'warm', output: 'Red.', prompt: '', model_response: 'Blue.' },
  { instruction: 'Say hi.', input: '', output: 'Hi.', prompt: '', model_response: 'Bye.' },
];

describe('parseScore', () => {
  it.each([
    ['85', 85],
    [' 100\n', 100],
    ['Score: 72/100', 72],
    ['**90**', 90],
    ['I would rate this 0.', 0],
    ['The score is 150, no: 95', 95],
    ['7.5', null],
    ['-3', null],
    ['no idea', null],
  ])('%j -> %p', (reply, score) => expect(parseScore(reply)).toBe(score));
});

describe('judgePrompt', () => {
  it('is the book prompt around the Alpaca-formatted input', () => {
    expect(judgePrompt(responses[1])).toBe(
      'Given the input `Below is an instruction that describes a task. Write a response that appropriately completes the request.' +
        '\n\n### Instruction:\nName a color.\n\n### Input:\nwarm` and correct output `Red.`, score the model response `Blue.`' +
        ' on a scale from 0 to 100, where 100 is the best score. Respond with the integer number only.',
    );
  });
});

describe('judge configuration', () => {
  it('completes base URLs to the chat-completions path', () => {
    expect(chatCompletionsUrl('http://localhost:11434')).toBe('http://localhost:11434/v1/chat/completions');
    expect(chatCompletionsUrl('http://localhost:11434/')).toBe('http://localhost:11434/v1/chat/completions');
    expect(chatCompletionsUrl('https://api.openai.com/v1')).toBe(
      'https://api.openai.com/v1/chat/completions',
    );
    expect(chatCompletionsUrl('http://h/api/chat/completions')).toBe('http://h/api/chat/completions');
    expect(() => chatCompletionsUrl('localhost:11434')).toThrow(/must be http or https/);
    expect(() => chatCompletionsUrl('not a url')).toThrow(/not a valid URL/);
  });

  it('says how to configure a judge when none is given', () => {
    expect(() => judgeOptionsFrom({}, {})).toThrow(JudgeError);
    expect(() => judgeOptionsFrom({}, {})).toThrow(
      /no judge endpoint configured \(missing URL and model name\).*--judge-url.*FORGE_JUDGE_URL/,
    );
    expect(() => judgeOptionsFrom({ url: 'http://x' }, {})).toThrow('missing model name');
    expect(
      judgeOptionsFrom({ model: 'm' }, { FORGE_JUDGE_URL: 'http://x', FORGE_JUDGE_API_KEY: 'k' }),
    ).toEqual({
      url: 'http://x',
      model: 'm',
      apiKey: 'k',
    });
  });
});

describe('judge URL schemes', () => {
  it.each(['file:///etc/passwd', 'gopher://127.0.0.1:70/x', 'ftp://h/x', 'data:text/plain,hi'])(
    'refuses %s before any request',
    (url) => {
      const fetchSpy = jest.spyOn(globalThis, 'fetch');
      try {
        expect(() => parseJudgeUrl(url)).toThrow(JudgeError);
        expect(() => new JudgeClient({ url, model: 'm' })).toThrow(/must be http or https/);
        expect(fetchSpy).not.toHaveBeenCalled();
      } finally {
        fetchSpy.mockRestore();
      }
    },
  );

  it('fails an instruction job at its start, before its data or model is read, for a judge it could never ask', () => {
    const spec = finetuneSpecSchema.parse({
      kind: 'instruction',
      dataset: '/nonexistent/alpaca.json',
      preset: 'tiny',
      judge: { url: 'gopher://127.0.0.1:70/x', model: 'm' },
    });
    expect(() => InstructionTask.create(spec)).toThrow(
      /judge URL gopher:\/\/127\.0\.0\.1:70\/x must be http or https/,
    );
  });
});

describe('JudgeClient against a local server', () => {
  it('does not follow a redirect to another address', async () => {
    const target = await startJudge(() => ({ body: completion('99') }));
    const redirector = http.createServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: `${target.url}/v1/chat/completions` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const client = new JudgeClient({
        url: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`,
        model: 'm',
      });
      await expect(client.complete('x')).rejects.toThrow(JudgeError);
      expect(target.received).toHaveLength(0);
    } finally {
      await new Promise<void>((resolve) => redirector.close(() => resolve()));
      await target.close();
    }
  });

  it('scores each response with the book prompt and averages the scores that parse', async () => {
    const scores = ['90', 'Score: 20/100', 'I cannot judge this.'];
    const judge = await startJudge((req) => {
      const i = responses.findIndex((r) => req.body.messages[0].content === judgePrompt(r));
      return { body: completion(scores[i]) };
    });
    try {
      const client = new JudgeClient({ url: judge.url, model: 'llama3', apiKey: 'sk-test' });
      const seen: number[] = [];
      const summary = await scoreResponses(client, responses, (j) => seen.push(j.index));
      expect(summary.judged.map((j) => j.score)).toEqual([90, 20, null]);
      expect(summary.average).toBe(55);
      expect(summary).toMatchObject({ scored: 2, unparsed: 1 });
      expect(summary.judged[2].reply).toBe('I cannot judge this.');
      expect(seen).toEqual([0, 1, 2]);
      expect(judge.received).toHaveLength(3);
      expect(judge.received[0]).toMatchObject({
        url: '/v1/chat/completions',
        authorization: 'Bearer sk-test',
        body: { model: 'llama3', temperature: 0, messages: [{ role: 'user' }] },
      });
    } finally {
      await judge.close();
    }
  });

  it('gives an average of null when no reply holds a score', async () => {
    const judge = await startJudge(() => ({ body: completion('excellent!') }));
    try {
      const summary = await scoreResponses(
        new JudgeClient({ url: judge.url, model: 'm' }),
        responses.slice(0, 1),
      );
      expect(summary).toMatchObject({ average: null, scored: 0, unparsed: 1 });
    } finally {
      await judge.close();
    }
  });

  it('turns HTTP errors, non-JSON and foreign JSON into JudgeErrors naming the endpoint', async () => {
    const answers = [
      { status: 404, body: '{"error": "model \\"nope\\" not found"}' },
      { status: 200, body: '<html>hello</html>' },
      { status: 200, body: '{"message": {"content": "80"}}' },
    ];
    let n = 0;
    const judge = await startJudge(() => answers[n++]);
    try {
      const client = new JudgeClient({ url: `${judge.url}/v1`, model: 'nope' });
      const endpoint = `${judge.url}/v1/chat/completions`;
      await expect(client.complete('x')).rejects.toThrow(`the judge at ${endpoint} answered HTTP 404`);
      await expect(client.complete('x')).rejects.toThrow('answered with non-JSON: <html>');
      await expect(client.complete('x')).rejects.toThrow('without choices[0].message.content');
    } finally {
      await judge.close();
    }
  });

  it('reports an unreachable endpoint clearly', async () => {
    const judge = await startJudge(() => ({ body: completion('1') }));
    await judge.close(); // the port is now closed
    const client = new JudgeClient({ url: judge.url, model: 'm' });
    const error = await client.complete('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JudgeError);
    expect((error as Error).message).toMatch(
      /^cannot reach the judge at http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: ECONNREFUSED/,
    );
    await expect(scoreResponses(client, responses)).rejects.toThrow(JudgeError);
  });

  it('times out a judge that never answers', async () => {
    const server = http.createServer(() => undefined); // accepts, never replies
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new JudgeClient({ url, model: 'm', timeoutMs: 200 });
      await expect(client.complete('x')).rejects.toThrow('no answer before the timeout');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
