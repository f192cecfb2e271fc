// PUT /config's validation, pure: nested and dotted keys, the config schema's own bounds,
// unknown keys and keys that cannot change mid-run named, every problem at once, nothing
// half-applied (a refused patch has no patch to apply).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSettings } from '../../../src/config/live.js';
import { parseConfig } from '../../../src/config/load.js';
import { isConfigKey, LIVE_KEY_NAMES, parseConfigPatch } from '../../../src/server/config-patch.js';
import { parseAssignments, urlForListen } from '../../../src/ctl.js';
import { resolveControlToken, checkBearer } from '../../../src/server/auth.js';
import { ConfigError } from '../../../src/errors.js';

const refusal = (body: unknown): string => {
  const result = parseConfigPatch(body);
  assert.equal(result.ok, false, `accepted ${JSON.stringify(body)}`);
  return result.ok ? '' : result.error;
};

describe('PUT /config bodies', () => {
  it('reads nested and dotted keys into one patch', () => {
    const result = parseConfigPatch({ copy: { concurrency: 8 }, 'throttle.maxLagSeconds': 2.5 });
    assert.ok(result.ok);
    assert.deepEqual(result.patch, { copy: { concurrency: 8 }, throttle: { maxLagSeconds: 2.5 } });
    const settings = new LiveSettings(parseConfig({ source: { host: 'a', user: 'u' }, target: { host: 'b', user: 'u' }, databases: ['d'] }));
    assert.deepEqual(settings.apply(result.patch).sort(), ['copy.concurrency', 'throttle.maxLagSeconds']);
    assert.equal(settings.copy.concurrency, 8);
  });

  it("uses the config schema's bounds", () => {
    assert.match(refusal({ copy: { concurrency: 65 } }), /"copy\.concurrency": Too big: expected number to be <=64 \(got 65\)/);
    assert.match(refusal({ copy: { concurrency: 0 } }), /"copy\.concurrency": Too small/);
    assert.match(refusal({ copy: { batchRows: 1.5 } }), /"copy\.batchRows": .*int/i);
    assert.match(refusal({ throttle: { maxLagSeconds: 0 } }), /"throttle\.maxLagSeconds": Too small: expected number to be >0/);
    assert.match(refusal({ 'copy.concurrency': '8' }), /"copy\.concurrency": Invalid input: expected number, received string/);
    assert.ok(parseConfigPatch({ copy: { batchRows: 100_000 } }).ok, 'the schema maximum is allowed');
  });

  it('names unknown keys and keys that cannot change mid-run, and lists what can', () => {
    const error = refusal({ copy: { concurrency: 8, lockingRead: 'update' }, cutover: { mode: 'manual' }, colour: 'blue', 'copy.speed': 3 });
    assert.match(error, /"copy\.lockingRead", "cutover\.mode" cannot change while the run runs/);
    assert.match(error, /unknown key "colour", "copy\.speed"/);
    assert.match(error, new RegExp(`what can change mid-run: ${LIVE_KEY_NAMES.join(', ').replace(/\./g, '\\.')}`));
    assert.match(error, /nothing was changed$/);
  });

  it('refuses a key given twice, an empty object, a section given a number, and non-objects', () => {
    assert.match(refusal({ copy: { concurrency: 2 }, 'copy.concurrency': 3 }), /"copy\.concurrency" is given twice/);
    assert.match(refusal({}), /nothing to change/);
    assert.match(refusal({ copy: 8 }), /"copy" must be an object of its keys/);
    for (const body of [null, [1], 'copy.concurrency=8', 8]) assert.match(refusal(body), /must be a JSON object/);
  });

  it('tells config keys from unknown ones', () => {
    assert.equal(isConfigKey('cutover.mode'), true);
    assert.equal(isConfigKey('http.tokenEnv'), true);
    assert.equal(isConfigKey('copy.nope'), false);
    assert.equal(isConfigKey('copy.concurrency.x'), false);
  });
});

describe('tideferry ctl arguments', () => {
  it('reads key=value pairs as JSON values, strings otherwise', () => {
    assert.deepEqual(parseAssignments(['copy.concurrency=8', 'throttle.maxLagSeconds=2.5', 'x=abc']), { 'copy.concurrency': 8, 'throttle.maxLagSeconds': 2.5, x: 'abc' });
    assert.throws(() => parseAssignments(['copy.concurrency']), /not key=value/);
  });

  it('reaches a wildcard listener on loopback, and refuses port 0', () => {
    assert.equal(urlForListen('127.0.0.1:9107'), 'http://127.0.0.1:9107');
    assert.equal(urlForListen('0.0.0.0:80'), 'http://127.0.0.1:80');
    assert.equal(urlForListen('[::]:9107'), 'http://[::1]:9107');
    assert.equal(urlForListen('9200'), 'http://127.0.0.1:9200');
    assert.throws(() => urlForListen('127.0.0.1:0'), /chosen when the run starts.*--url/);
  });
});

describe('the control token', () => {
  it('is read from the environment variable http.tokenEnv names; unset or empty is a config error naming it', () => {
    assert.equal(resolveControlToken(undefined, {}), undefined);
    assert.throws(() => resolveControlToken('TF_TOKEN', {}), (error: unknown) => error instanceof ConfigError && /http\.tokenEnv names the environment variable TF_TOKEN, which is not set/.test(error.message));
    assert.throws(() => resolveControlToken('TF_TOKEN', { TF_TOKEN: ' ' }), /TF_TOKEN, which is empty/);
    const token = resolveControlToken('TF_TOKEN', { TF_TOKEN: 's3cret' })!;
    assert.deepEqual(checkBearer('Bearer s3cret', token), { ok: true });
    assert.deepEqual(checkBearer('bearer  s3cret ', token), { ok: true });
    assert.equal(checkBearer('Bearer s3cre', token).ok, false);
    assert.equal(checkBearer('Basic czNjcmV0', token).ok, false);
    assert.equal(checkBearer(undefined, token).ok, false);
    assert.ok(!JSON.stringify(token).includes('s3cret'), 'the token is kept as a digest');
  });

  it('is checked by the config schema to be a variable name', () => {
    const base = { source: { host: 'a', user: 'u' }, target: { host: 'b', user: 'u' }, databases: ['d'] };
    assert.throws(() => parseConfig({ ...base, http: { tokenEnv: 'not a name' } }), /"http\.tokenEnv": must be the name of an environment variable/);
    assert.equal(parseConfig({ ...base, http: { tokenEnv: 'TF_TOKEN' } }).http.tokenEnv, 'TF_TOKEN');
  });
});
