/**
 * `judge.url` of POST /finetunes against the operator's allow-list (FORGE_JUDGE_ALLOWLIST): issue 14
 * found a request naming `http://127.0.0.1:18999/x` made the workers POST there. Checked at
 * submission, a 400 naming the field; nothing is stored.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { CoordinatorConfig } from '../config/config.schema';
import { TEST_TOKEN, useTestAppFactory } from '../test-utils/harness';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

describe('finetune judge endpoints (e2e, Redis)', () => {
  const apps = useTestAppFactory();
  let tmp = '';
  let dataset = '';

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-judge-'));
    dataset = path.join(tmp, 'alpaca.json');
    fs.writeFileSync(dataset, '[]');
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const server = (overrides: Partial<CoordinatorConfig>): Promise<App> =>
    apps.start({ logLevel: 'error', ...overrides });

  const submit = (app: App, url: string) =>
    request(app)
      .post('/finetunes')
      .set(auth)
      .send({ kind: 'instruction', preset: 'tiny', dataset, judge: { url, model: 'llama3' } });

  it('refuses every judge by default, naming judge.url and the setting', async () => {
    if (!apps.up) return;
    const app = await server({});
    const res = await submit(app, 'http://127.0.0.1:18999/x').expect(400);
    expect(res.body.issues).toEqual([
      {
        field: 'judge.url',
        message: expect.stringMatching(
          /^http:\/\/127\.0\.0\.1:18999\/x is not an allowed judge endpoint \(allowed: none\).*FORGE_JUDGE_ALLOWLIST/,
        ),
      },
    ]);
    expect((await request(app).get('/finetunes').set(auth).expect(200)).body).toEqual([]);
  });

  it('accepts a listed endpoint (any path) and refuses other hosts, ports and schemes', async () => {
    if (!apps.up) return;
    const app = await server({ judgeAllowList: [{ scheme: 'http', host: 'localhost', port: 11434 }] });
    await submit(app, 'http://localhost:11434/v1').expect(201);
    for (const url of [
      'http://localhost:11435',
      'https://localhost:11434',
      'http://169.254.169.254/latest/meta-data',
      'file:///etc/passwd',
      'gopher://localhost:11434/_x',
    ]) {
      const res = await submit(app, url);
      expect({ url, status: res.status, field: res.body.issues?.[0]?.field }).toEqual({
        url,
        status: 400,
        field: 'judge.url',
      });
    }
  });
});
