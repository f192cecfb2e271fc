// The lag a replica's status rows say, in the column names of each server family (MySQL is
// not available on the test machines: its rows are written here as its manual shows them).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lagFromStatus } from '../../../src/throttle/replica-lag.js';

describe('lagFromStatus', () => {
  it('reads Seconds_Behind_Source (MySQL 8.0.22+, SHOW REPLICA STATUS)', () => {
    assert.equal(lagFromStatus([{ Replica_IO_Running: 'Yes', Seconds_Behind_Source: 7 }]), 7);
  });

  it('reads Seconds_Behind_Master (MariaDB, older MySQL, SHOW SLAVE STATUS)', () => {
    assert.equal(lagFromStatus([{ Slave_IO_Running: 'Yes', Seconds_Behind_Master: '3' }]), 3);
  });

  it('takes the worst of several replication channels', () => {
    assert.equal(lagFromStatus([{ Channel_Name: 'a', Seconds_Behind_Source: 2 }, { Channel_Name: 'b', Seconds_Behind_Source: 9 }]), 9);
  });

  it('counts a stopped channel (NULL) as unknown: Infinity', () => {
    assert.equal(lagFromStatus([{ Seconds_Behind_Source: 0 }, { Seconds_Behind_Source: null }]), Infinity);
  });

  it('counts a server that is not a replica (no row) as unknown: Infinity', () => {
    assert.equal(lagFromStatus([]), Infinity);
  });
});
