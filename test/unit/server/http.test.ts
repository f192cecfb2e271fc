// The control API's HTTP layer against stub actions (no database): each verb, the bearer token
// (401 with WWW-Authenticate without it, and nothing done), bad bodies (400/413/415 with the
// reason, and nothing changed), 404 and 405 with Allow, the cross-origin refusal for PUT too,
// and a token that never reaches the log.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import pino from 'pino';
import { LiveSettings } from '../../../src/config/live.js';
import { parseConfig } from '../../../src/config/load.js';
import { resolveControlToken } from '../../../src/server/auth.js';
import { MAX_BODY_BYTES, startHttpServer, type ControlAnswer } from '../../../src/server/http.js';

const TOKEN = 'tok-3f9a81c2-secret';
const config = parseConfig({ source: { host: 'a', user: 'u' }, target: { host: 'b', user: 'u' }, databases: ['d'] });

describe('control API over HTTP', () => {
  let server: Server;
  let url: string;
  const logLines: string[] = [];
  const calls: string[] = [];
  let settings: LiveSettings;
  let cutoverAnswer: ControlAnswer = { confirmed: false, reason: 'not waiting for a manual cutover yet (phase copy)' };
  let abortAnswer: ControlAnswer = { confirmed: true };

  before(async () => {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    const token = resolveControlToken('TF_UNIT_TOKEN', { TF_UNIT_TOKEN: TOKEN });
    server = await startHttpServer('127.0.0.1:0', new Registry(), {
      status: () => ({ phase: 'copy', settings: settings.values }),
      pause: () => void calls.push('pause'),
      resume: () => void calls.push('resume'),
      cutover: () => (calls.push('cutover'), cutoverAnswer),
      abort: () => (calls.push('abort'), abortAnswer),
      get settings() { return settings; },
    }, logger, { token });
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(() => server?.close());
  beforeEach(() => {
    calls.length = 0;
    settings = new LiveSettings(config);
  });

  const auth = { authorization: `Bearer ${TOKEN}` };
  const call = async (method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}) => {
    const response = await fetch(`${url}${path}`, { method, headers: options.headers, body: options.body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as Record<string, unknown> };
  };
  const put = (body: string, headers: Record<string, string> = { ...auth, 'content-type': 'application/json' }) => call('PUT', '/config', { headers, body });

  it('answers GET /status and GET /config without a token', async () => {
    const status = await call('GET', '/status');
    assert.equal(status.status, 200);
    assert.equal(status.body.phase, 'copy');
    const live = await call('GET', '/config');
    assert.equal(live.status, 200);
    assert.deepEqual(live.body.settings, settings.values);
    assert.ok((live.body.changeable as string[]).includes('copy.concurrency'));
  });

  it('refuses every change without the token (401, WWW-Authenticate: Bearer), and does nothing', async () => {
    for (const [method, path] of [['POST', '/pause'], ['POST', '/resume'], ['POST', '/cutover'], ['POST', '/abort'], ['PUT', '/config']] as const) {
      const answer = await call(method, path, { headers: { 'content-type': 'application/json' }, body: method === 'PUT' ? '{"copy":{"concurrency":9}}' : undefined });
      assert.equal(answer.status, 401, `${method} ${path}`);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer /);
      assert.match(String(answer.body.error), /needs the control token.*TF_UNIT_TOKEN/);
      const wrong = await call(method, path, { headers: { authorization: 'Bearer guess' } });
      assert.equal(wrong.status, 401);
      assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      assert.match(String(wrong.body.error), /does not match/);
    }
    assert.deepEqual(calls, [], 'no action ran');
    assert.equal(settings.copy.concurrency, config.copy.concurrency, 'nothing changed');
  });

  it('runs each verb with the token', async () => {
    assert.deepEqual((await call('POST', '/pause', { headers: auth })).body, { paused: true });
    assert.deepEqual((await call('POST', '/resume', { headers: auth })).body, { paused: false });
    const refused = await call('POST', '/cutover', { headers: auth });
    assert.equal(refused.status, 409);
    assert.match(String(refused.body.error), /not waiting for a manual cutover/);
    cutoverAnswer = { confirmed: true };
    assert.equal((await call('POST', '/cutover', { headers: auth })).status, 202);
    const aborted = await call('POST', '/abort', { headers: auth });
    assert.equal(aborted.status, 202);
    assert.match(String(aborted.body.message), /state is saved/);
    abortAnswer = { confirmed: false, reason: 'the run has already ended (phase done)' };
    const late = await call('POST', '/abort', { headers: auth });
    assert.equal(late.status, 409);
    assert.match(String(late.body.error), /already ended/);
    assert.deepEqual(calls, ['pause', 'resume', 'cutover', 'cutover', 'abort', 'abort']);
  });

  it('changes live settings with PUT /config, says what changed and logs it', async () => {
    const answer = await put('{"copy":{"concurrency":8},"throttle.binlogLagTargetSeconds":2}');
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body.changed, { 'copy.concurrency': { from: 4, to: 8 }, 'throttle.binlogLagTargetSeconds': { from: 1, to: 2 } });
    assert.equal(settings.copy.concurrency, 8);
    assert.equal(settings.throttle.binlogLagTargetSeconds, 2);
    assert.deepEqual((answer.body.settings as { copy: unknown }).copy, { batchRows: 1000, concurrency: 8 });
    assert.ok(logLines.some((line) => /live setting copy\.concurrency changed by the control API: 4 → 8/.test(line)), 'the change is logged');
    const same = await put('{"copy":{"concurrency":8}}');
    assert.deepEqual(same.body.changed, {}, 'no change when the value is already so');
  });

  it('refuses bad bodies with the reason and changes nothing', async () => {
    const cases: [string, Record<string, string> | undefined, number, RegExp][] = [
      ['{"copy":{"concurrency":8,"lockingRead":"update"}}', undefined, 400, /"copy\.lockingRead" cannot change while the run runs.*what can change mid-run: copy\.batchRows/],
      ['{"copy":{"concurrency":1000}}', undefined, 400, /"copy\.concurrency": Too big: expected number to be <=64/],
      ['{"copy":{"concurrency":8},"nope":1}', undefined, 400, /unknown key "nope"/],
      ['{"copy":{"concurrency":8}', undefined, 400, /not valid JSON: .+/],
      ['', undefined, 400, /body is empty/],
      ['copy.concurrency=8', { ...auth, 'content-type': 'text/plain' }, 415, /must be JSON.*got text\/plain/],
      ['{"copy":{"concurrency":8}}', { ...auth }, 415, /Content-Type: application\/json/],
      [JSON.stringify({ copy: { concurrency: 8 }, pad: 'x'.repeat(MAX_BODY_BYTES) }), undefined, 413, /larger than 16384 bytes/],
    ];
    for (const [body, headers, code, reason] of cases) {
      const answer = await put(body, headers);
      assert.equal(answer.status, code, `${body.slice(0, 60)}: ${answer.text}`);
      assert.equal(answer.headers.get('content-type'), 'application/json');
      assert.match(String(answer.body.error), reason);
      assert.deepEqual(settings.values, new LiveSettings(config).values, `${body.slice(0, 60)} changed something`);
    }
  });

  it('refuses a change from another site\'s page, PUT included', async () => {
    for (const [method, path] of [['POST', '/pause'], ['PUT', '/config']] as const) {
      const answer = await call(method, path, { headers: { ...auth, origin: 'http://elsewhere.example', 'content-type': 'application/json' }, body: method === 'PUT' ? '{"copy":{"concurrency":8}}' : undefined });
      assert.equal(answer.status, 403, `${method} ${path}`);
    }
    assert.deepEqual(calls, []);
    assert.equal(settings.copy.concurrency, 4);
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    const missing = await call('GET', '/nope');
    assert.equal(missing.status, 404);
    assert.match(String(missing.body.error), /no such path: \/nope/);
    const wrong = await call('GET', '/pause');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    const config405 = await call('POST', '/config', { headers: auth });
    assert.equal(config405.status, 405);
    assert.equal(config405.headers.get('allow'), 'GET, PUT');
    assert.deepEqual(calls, []);
  });

  it('never logs the token', () => {
    assert.ok(logLines.length > 5);
    assert.ok(!logLines.some((line) => line.includes(TOKEN) || line.includes('guess')), 'a token reached the log');
  });
});
