// The retry policy (db/retry.ts): what is transient, backoff, give-up, outages said once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError, OutageTracker, RetryPolicy, ServerRefusedError, ServerUnreachableError, tagServer } from '../../../src/db/retry.js';
import { silentLogger } from '../../../src/log.js';

const error = (fields: Record<string, unknown>, message = 'boom') => Object.assign(new Error(message), fields);

describe('retry policy', () => {
  it('classifies transient and fatal errors', () => {
    assert.equal(classifyError(error({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }, 'Connection lost: The server closed the connection.')), 'connection');
    assert.equal(classifyError(error({ code: 'ECONNREFUSED' })), 'connection');
    assert.equal(classifyError(error({ code: 'ECONNRESET' })), 'connection');
    assert.equal(classifyError(error({ code: 'ER_SERVER_SHUTDOWN', errno: 1053 })), 'connection');
    assert.equal(classifyError(error({ code: 'ER_CON_COUNT_ERROR', errno: 1040 })), 'connection');
    assert.equal(classifyError(error({ errno: 1927 })), 'connection');
    assert.equal(classifyError(error({ fatal: true }, "Can't add new command when connection is in closed state")), 'connection');
    assert.equal(classifyError(error({ code: 'ER_LOCK_DEADLOCK', errno: 1213 })), 'lock');
    assert.equal(classifyError(error({ code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 })), 'lock');
    assert.equal(classifyError(error({ code: 'ER_OPTION_PREVENTS_STATEMENT', errno: 1290 })), 'read-only');
    assert.equal(classifyError(error({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true })), 'fatal');
    assert.equal(classifyError(error({ code: 'ER_NO_SUCH_TABLE', errno: 1146 })), 'fatal');
    assert.equal(classifyError(error({ code: 'ER_PARSE_ERROR', errno: 1064 })), 'fatal');
    assert.equal(classifyError(error({ code: 'ER_NET_PACKET_TOO_LARGE', errno: 1153 })), 'fatal');
  });

  it('retries a transient error until it passes, logging the outage once at each end', async () => {
    const lines: string[] = [];
    const logger = Object.assign(silentLogger(), { warn: (_: unknown, message: string) => lines.push(message) });
    const tracker = new OutageTracker(logger as never, { target: 'u@h:1' });
    const retried: string[] = [];
    tracker.listen({ retried: (server, part, code) => retried.push(`${server}/${part}/${code}`) });
    const policy = new RetryPolicy({ giveUpAfterSeconds: 10, initialDelayMs: 1, maxDelayMs: 5 }, tracker);
    let calls = 0;
    const result = await policy.run({ server: 'source', part: 'copy' }, async () => {
      if (++calls < 4) throw tagServer(error({ code: 'ECONNREFUSED' }), 'target');
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.equal(calls, 4);
    assert.deepEqual(retried, ['target/copy/ECONNREFUSED', 'target/copy/ECONNREFUSED', 'target/copy/ECONNREFUSED']);
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^target unreachable from the row copy/);
    assert.match(lines[1]!, /^target reachable again from the row copy after/);
    assert.equal(tracker.isDown('target'), false);
    assert.ok(tracker.outageSeconds().some((o) => o.server === 'target' && o.part === 'copy'));
  });

  it('fails at once on a fatal error, naming the server', async () => {
    const policy = new RetryPolicy({ giveUpAfterSeconds: 10, initialDelayMs: 1, maxDelayMs: 5 }, new OutageTracker(silentLogger(), { source: 'u@h:2' }));
    let calls = 0;
    await assert.rejects(policy.run({ server: 'source', part: 'admin' }, async () => {
      calls++;
      throw error({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }, "Access denied for user 'u'");
    }), (e: unknown) => e instanceof ServerRefusedError && /the source server \(u@h:2\) refused/.test(e.message) && /password and grants/.test(e.message));
    assert.equal(calls, 1);
  });

  it("keeps a fatal error's number and code, for callers that fall back on them (SHOW MASTER STATUS → SHOW BINARY LOG STATUS on 1064)", async () => {
    const policy = new RetryPolicy({ giveUpAfterSeconds: 10, initialDelayMs: 1, maxDelayMs: 5 }, new OutageTracker(silentLogger(), { target: 'u@h:3' }));
    await assert.rejects(policy.run({ server: 'target', part: 'admin' }, async () => {
      throw error({ code: 'ER_NO_SUCH_TABLE', errno: 1146 }, "Table 'nowhere.heartbeat' doesn't exist");
    }), (e: unknown) => e instanceof ServerRefusedError && e.errno === 1146 && e.code === 'ER_NO_SUCH_TABLE');
  });

  it('gives up past the bound with a sentence naming the server and how long', async () => {
    const tracker = new OutageTracker(silentLogger(), { target: 'u@h:3' });
    const policy = new RetryPolicy({ giveUpAfterSeconds: 0.2, initialDelayMs: 10, maxDelayMs: 20 }, tracker);
    await assert.rejects(policy.run({ server: 'target', part: 'binlog' }, async () => {
      throw error({ code: 'PROTOCOL_CONNECTION_LOST' }, 'Connection lost: The server closed the connection.');
    }), (e: unknown) => e instanceof ServerUnreachableError && /^the target server \(u@h:3\) was unreachable for \d+ s/.test(e.message) && /tideferry resume/.test(e.message));
    assert.equal(tracker.isDown('target'), false);
  });

  it('backs off exponentially, capped, with jitter', () => {
    const policy = new RetryPolicy({ giveUpAfterSeconds: 10, initialDelayMs: 100, maxDelayMs: 1000 });
    for (let i = 0; i < 50; i++) {
      const first = policy.delayMs(1);
      assert.ok(first >= 50 && first <= 100);
      const late = policy.delayMs(10);
      assert.ok(late >= 500 && late <= 1000);
    }
  });

  it('says what the run waits for', () => {
    const tracker = new OutageTracker(silentLogger());
    tracker.failed('target', 'copy', error({ code: 'ECONNREFUSED' }));
    assert.match(tracker.waitingFor()!, /^waiting for the target since \d\d:\d\d:\d\d$/);
    assert.equal(tracker.current()[0]!.server, 'target');
  });
});
