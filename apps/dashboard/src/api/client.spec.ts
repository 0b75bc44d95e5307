import { ApiClient, ApiError, UnauthorizedError } from './client';

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that records calls and answers with `respond`. */
function fakeFetch(respond: (call: Call) => Response): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const impl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const call = { url: String(input), init: init ?? {} };
    calls.push(call);
    return respond(call);
  };
  return { fetch: impl as typeof fetch, calls };
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('ApiClient', () => {
  it('sends the bearer token and JSON body, and returns the parsed run', async () => {
    const { fetch, calls } = fakeFetch(() => json(201, { id: 'run-1', status: 'queued' }));
    const client = new ApiClient({ baseUrl: 'http://c:3000/', getToken: () => 'tok', fetch });
    const run = await client.createRun({ data: { text: 'a.txt' }, steps: 3 });
    expect(run.id).toBe('run-1');
    expect(calls[0].url).toBe('http://c:3000/runs');
    expect(calls[0].init.method).toBe('POST');
    const headers = calls[0].init.headers as Record<string, string>;
    expect(headers.Authorization).toBe('Bearer tok');
    expect(headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ data: { text: 'a.txt' }, steps: 3 });
  });

  it('escapes ids in paths and sends the resume checkpoint', async () => {
    const { fetch, calls } = fakeFetch(() => json(200, { id: 'a/b' }));
    const client = new ApiClient({ getToken: () => 't', fetch });
    await client.resumeRun('a/b', { checkpoint: 'step-000010' });
    expect(calls[0].url).toBe('/runs/a%2Fb/resume');
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ checkpoint: 'step-000010' });
  });

  it('raises UnauthorizedError on 401 and tells the app to ask for the token again', async () => {
    const { fetch } = fakeFetch(() => json(401, { statusCode: 401, message: 'invalid bearer token' }));
    const onUnauthorized = jest.fn();
    const client = new ApiClient({ getToken: () => 'bad', fetch, onUnauthorized });
    await expect(client.listRuns()).rejects.toThrow(UnauthorizedError);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("surfaces the coordinator's message, code and field issues", async () => {
    const { fetch } = fakeFetch(() =>
      json(400, {
        statusCode: 400,
        error: 'validation_failed',
        message: 'invalid request: steps: Required',
        issues: [{ field: 'steps', message: 'Required' }],
      }),
    );
    const client = new ApiClient({ getToken: () => 't', fetch });
    const err = await client.createRun({ data: { text: 'x' } } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).code).toBe('validation_failed');
    expect((err as ApiError).message).toBe('invalid request: steps: Required');
    expect((err as ApiError).issues).toEqual([{ field: 'steps', message: 'Required' }]);
  });

  it('names the call and status when the error body is not JSON', async () => {
    const { fetch } = fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502 }));
    const client = new ApiClient({ getToken: () => 't', fetch });
    await expect(client.getRun('r')).rejects.toThrow(/GET \/runs\/r failed: HTTP 502/);
  });

  it('rejects a response of the wrong shape', async () => {
    const { fetch } = fakeFetch(() => json(200, { runs: [] }));
    const client = new ApiClient({ getToken: () => 't', fetch });
    await expect(client.listRuns()).rejects.toThrow('GET /runs: expected a JSON array, got object');
  });

  it('streams generated tokens until event: done', async () => {
    const chunks = [
      'event: token\ndata: {"text":"Call"}\n',
      '\nevent: tok',
      'en\ndata: {"text":" me"}\n\n',
      'event: done\ndata: {}\n\n',
    ];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    const { fetch, calls } = fakeFetch(() => new Response(body, { status: 200 }));
    const client = new ApiClient({ getToken: () => 't', fetch });
    const tokens: string[] = [];
    await client.generate({ checkpoint: 'run-1/step-000010', prompt: 'Hi', maxNewTokens: 2 }, (t) =>
      tokens.push(t),
    );
    expect(tokens).toEqual(['Call', ' me']);
    expect((calls[0].init.headers as Record<string, string>).Accept).toBe('text/event-stream');
  });

  it('rejects with the server message on event: error', async () => {
    const { fetch } = fakeFetch(
      () => new Response('event: error\ndata: {"message":"checkpoint not found"}\n\n', { status: 200 }),
    );
    const client = new ApiClient({ getToken: () => 't', fetch });
    await expect(
      client.generate({ checkpoint: 'x', prompt: 'p', maxNewTokens: 1 }, () => undefined),
    ).rejects.toThrow('checkpoint not found');
  });

  it('puts the token in the events URL', () => {
    const client = new ApiClient({ baseUrl: '', getToken: () => 'a b', fetch: jest.fn() });
    expect(client.eventsUrl()).toBe('/events?token=a%20b');
  });
});
