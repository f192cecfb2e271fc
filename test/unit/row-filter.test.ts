// What a row filter may contain: only what depends on the row alone, so that the copy (on the
// source) and replay (on the target) select the same rows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { rowFilterProblem } from '../../src/config/row-filter.js';
import { ConfigError } from '../../src/errors.js';

describe('row filter validation', () => {
  for (const filter of [
    "tenant_id = 42",
    "e = 'c' AND FIND_IN_SET('y', s) > 0",
    "name LIKE 'ABC%' COLLATE utf8mb4_bin",
    "created >= '2024-06-01' AND created < TIMESTAMP '2025-01-01 00:00:00'",
    "JSON_VALUE(attributes, '$.tier') = 'gold' OR attributes IS NULL",
    "b & 1 = 1 AND id % 3 = 0 AND t.region IN ('eu', 'us')",
    "UNIX_TIMESTAMP(created) > 1700000000 AND DATE(created) = '2024-01-02'",
    "CONVERT_TZ(created, '+00:00', '+02:00') > '2024-01-01'",
    // Names that look like refused functions, but are columns or strings.
    "`now` > 5 AND `user` = 'select now()' AND t.`rand` = 1 AND user = 'bob' AND t.default = 2",
    "note = 'it''s -- not a comment' AND other = \"#nor this\" AND x = 'a\\'b'",
  ]) {
    it(`accepts ${filter}`, () => assert.equal(rowFilterProblem(filter), undefined));
  }

  for (const [filter, reason] of [
    ['created > NOW() - INTERVAL 1 DAY', /^NOW\(\) reads the clock/],
    ['created > now (  )', /^NOW\(\) reads the clock/],
    ['d = CURRENT_DATE', /^CURRENT_DATE reads the clock/],
    ['created < CURRENT_TIMESTAMP(6)', /^CURRENT_TIMESTAMP reads the clock/],
    ['d = CURDATE()', /^CURDATE\(\) reads the clock/],
    ['created < SYSDATE()', /^SYSDATE\(\) reads the clock/],
    ['created < UTC_TIMESTAMP', /^UTC_TIMESTAMP reads the clock/],
    ['epoch < UNIX_TIMESTAMP()', /^UNIX_TIMESTAMP\(\) reads the clock/],
    ['RAND() < 0.1', /^RAND\(\) gives another value at every evaluation/],
    ['id = UUID_SHORT()', /^UUID_SHORT\(\) gives another value/],
    ['id < NEXT VALUE FOR seq', /^NEXT VALUE FOR gives another value/],
    ['id < NEXTVAL(seq)', /^NEXTVAL\(\) gives another value/],
    ['owner = CURRENT_USER', /^CURRENT_USER depends on the session/],
    ['owner = USER()', /^USER\(\) depends on the session/],
    ['db = DATABASE()', /^DATABASE\(\) depends on the session/],
    ['tenant = @tenant', /reads a variable \(@…\)/],
    ['id > @@auto_increment_offset', /reads a variable/],
    ['id IN (SELECT id FROM shop.vip)', /^SELECT contains a subquery: replay evaluates the filter on the target/],
    ['EXISTS (TABLE shop.vip)', /^TABLE contains a subquery/],
    ['shop.is_vip(id)', /calls the stored function shop\.is_vip\(\)/],
    ['`shop`.`is_vip`(id) = 1', /calls the stored function shop\.is_vip\(\)/],
    ['shop.customers.id > 5', /names a column as database\.table\.column \(shop\.customers\.id\)/],
    ['amount > DEFAULT(amount)', /^DEFAULT reads a column's DEFAULT/],
    ["MATCH (bio) AGAINST ('rust')", /^MATCH is a full-text search/],
    ["CONVERT_TZ(created, 'UTC', 'Europe/Paris') > '2024-01-01'", /CONVERT_TZ\(\) with a named time zone/],
    ['SLEEP(1) = 0', /^SLEEP\(\) has effects or waits/],
    ['id = 1 -- only one', /contains a comment/],
    ['id = 1 /* or two */', /contains a comment/],
    ['id = 1 # one', /contains a comment/],
    ['id = 1; DROP TABLE shop.customers', /contains ';'/],
    ['id = 1) OR (1 = 1', /unbalanced parentheses/],
    ['(id = 1', /unbalanced parentheses/],
    ["name = 'open", /unterminated string/],
    ['   ', /is empty/],
  ] as const) {
    it(`refuses ${filter}`, () => assert.match(rowFilterProblem(filter) ?? 'accepted', reason));
  }

  it('refuses at config load, naming the key and the filter', () => {
    const config = {
      source: { host: 'db1', user: 'u' },
      target: { host: 'db2', user: 'u' },
      databases: ['shop'],
      rowFilters: { 'shop.customers': 'tenant_id = 7', 'shop.orders': 'created > NOW() - INTERVAL 30 DAY' },
    };
    assert.throws(() => parseConfig(config), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /"rowFilters\.shop\.orders": "created > NOW\(\) - INTERVAL 30 DAY" cannot be a row filter: NOW\(\) reads the clock/);
      assert.doesNotMatch(error.message, /shop\.customers/);
      return true;
    });
  });
});
