// What the lag readers make of the servers' answers: the status rows' reasons for an unknown lag,
// pt-heartbeat's timestamps, and the replicas a SHOW SLAVE HOSTS / SHOW REPLICAS answer names.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatHeartbeat, parseHeartbeat } from '../../../src/throttle/heartbeat.js';
import { statusLag } from '../../../src/throttle/replica-lag.js';
import { reportedReplicas } from '../../../src/throttle/discovery.js';
import { parseConfig } from '../../../src/config/load.js';

describe('statusLag', () => {
  it('says why a NULL lag is unknown: replication stopped, or just NULL', () => {
    assert.match(statusLag([{ Slave_SQL_Running: 'No', Slave_IO_Running: 'Yes', Seconds_Behind_Master: null }]).problem!, /replication stopped: SQL thread No, IO thread Yes/);
    assert.match(statusLag([{ Replica_SQL_Running: 'Yes', Replica_IO_Running: 'Yes', Seconds_Behind_Source: null }]).problem!, /Seconds_Behind_Source is NULL/);
    assert.equal(statusLag([{ Seconds_Behind_Master: null }]).seconds, Infinity);
    assert.match(statusLag([]).problem!, /not a replica/);
    assert.deepEqual(statusLag([{ Seconds_Behind_Master: '4' }]), { seconds: 4 });
  });
});

describe('pt-heartbeat timestamps', () => {
  it('writes and reads pt-heartbeat\'s format with microseconds, UTC and local', () => {
    const micros = Date.UTC(2026, 11, 2, 5, 45, 26) * 1000 + 123_456;
    assert.equal(formatHeartbeat(micros, true), '2026-12-02T05:45:26.123456');
    assert.equal(parseHeartbeat('2026-12-02T05:45:26.123456', true), micros);
    assert.equal(parseHeartbeat(formatHeartbeat(micros, false), false), micros);
    assert.equal(parseHeartbeat('2026-12-02T05:45:26', true), micros - 123_456, 'pt-heartbeat leaves out a zero fraction');
    assert.ok(Number.isNaN(parseHeartbeat('yesterday', true)));
  });
});

describe('reportedReplicas', () => {
  it('takes the replicas that set report_host, with their port (3306 when none is reported)', () => {
    assert.deepEqual(reportedReplicas([
      { Server_id: 301, Host: '127.0.0.1', Port: 3307, Master_id: 201 },
      { Server_id: 302, Host: '', Port: 3306, Master_id: 201 },
      { Server_Id: 303, Host: 'db3', Port: 0, Source_Id: 201 },
    ]), [{ host: '127.0.0.1', port: 3307, serverId: 301 }, { host: 'db3', port: 3306, serverId: 303 }]);
  });
});

describe('throttle config', () => {
  const base = { source: { host: 'a', user: 'u' }, target: { host: 'b', user: 'u' }, databases: ['d'] };
  it('defaults: floor 0, discovery on, no heartbeat', () => {
    const { throttle } = parseConfig(base);
    assert.equal(throttle.floor, 0);
    assert.equal(throttle.discoverReplicas, true);
    assert.equal(throttle.heartbeat, undefined);
  });
  it('takes floor lhm and a heartbeat, and refuses a heartbeat interval outside 100–500 ms or a table without its database', () => {
    const { throttle } = parseConfig({ ...base, throttle: { floor: 'lhm', heartbeat: { table: 'percona.heartbeat', write: true } } });
    assert.equal(throttle.floor, 'lhm');
    assert.deepEqual(throttle.heartbeat, { table: 'percona.heartbeat', write: true, intervalMs: 250, utc: false });
    assert.throws(() => parseConfig({ ...base, throttle: { heartbeat: { table: 'percona.heartbeat', intervalMs: 50 } } }), /intervalMs/);
    assert.throws(() => parseConfig({ ...base, throttle: { heartbeat: { table: 'heartbeat' } } }), /database\.table/);
    assert.throws(() => parseConfig({ ...base, throttle: { floor: 'fast' } }), /floor/);
  });
});
