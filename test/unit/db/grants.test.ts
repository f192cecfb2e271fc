// Reading grants in both servers' formats. MariaDB's are also read live (preflight-roles test);
// MySQL 8's are written here as its manual prints them (MySQL does not run on the test machines).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { disabledRoles, grantStatements, hasPrivilege, parseGrants, parseNames } from '../../../src/db/grants.js';

describe('grants', () => {
  it('parses role lists as CURRENT_ROLE() prints them', () => {
    assert.deepEqual(parseNames('`mover`@`%`,`reader`@`10.%`'), [{ name: 'mover', host: '%' }, { name: 'reader', host: '10.%' }]);
    assert.deepEqual(parseNames('mover'), [{ name: 'mover', host: undefined }]);
    assert.deepEqual(parseNames('NONE'), []);
    assert.deepEqual(parseNames(null), []);
    assert.deepEqual(parseNames("`we``ird`@'%'"), [{ name: 'we`ird', host: '%' }]);
  });

  it('asks MySQL for the privileges of the enabled roles with USING, MariaDB with plain SHOW GRANTS', () => {
    const roles = [{ name: 'mover', host: '%' }, { name: 'reader', host: '%' }];
    assert.deepEqual(grantStatements({ mariadb: false, enabledRoles: roles }), ['SHOW GRANTS FOR CURRENT_USER() USING `mover`@`%`, `reader`@`%`', 'SHOW GRANTS']);
    assert.deepEqual(grantStatements({ mariadb: false, enabledRoles: [] }), ['SHOW GRANTS']);
    assert.deepEqual(grantStatements({ mariadb: true, enabledRoles: [{ name: 'mover', host: undefined }] }), ['SHOW GRANTS']);
  });

  it("reads MySQL 8's SHOW GRANTS … USING output: the roles' privileges attributed to the user", () => {
    const { grants, grantedRoles } = parseGrants(
      [
        'GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `migrator`@`%`',
        'GRANT BINLOG_ADMIN,SYSTEM_VARIABLES_ADMIN ON *.* TO `migrator`@`%`',
        'GRANT SELECT ON `shop`.* TO `migrator`@`%`',
        'GRANT `mover`@`%`,`reader`@`%` TO `migrator`@`%`',
      ],
      { name: 'migrator', host: '%' },
    );
    assert.ok(hasPrivilege(grants, 'REPLICATION SLAVE'));
    assert.ok(hasPrivilege(grants, ['SUPER', 'SYSTEM_VARIABLES_ADMIN']));
    assert.ok(hasPrivilege(grants, 'SELECT', 'shop'));
    assert.ok(!hasPrivilege(grants, 'INSERT', 'shop'));
    assert.deepEqual(grantedRoles, [{ name: 'mover', host: '%' }, { name: 'reader', host: '%' }]);
  });

  it("tells the roles granted to the account from those granted to its roles (MariaDB lists both)", () => {
    const session = {
      ...parseGrants(
        [
          'GRANT `mover` TO `rd`@`%`',
          "GRANT USAGE ON *.* TO `rd`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122'",
          'GRANT `inner_r` TO `mover`',
          'GRANT REPLICATION SLAVE ON *.* TO `mover`',
          'GRANT DELETE ON `shop`.* TO `inner_r`',
          'SET DEFAULT ROLE `mover` FOR `rd`@`%`',
        ],
        { name: 'rd', host: '%' },
      ),
      enabledRoles: [{ name: 'mover', host: undefined }],
    };
    assert.deepEqual(session.grantedRoles, [{ name: 'mover', host: undefined }]);
    assert.deepEqual(disabledRoles(session), []);
    assert.deepEqual(disabledRoles({ ...session, enabledRoles: [] }), [{ name: 'mover', host: undefined }]);
    assert.ok(hasPrivilege(session.grants, 'DELETE', 'shop'));
  });

  it('ignores table-level and proxy grants', () => {
    const { grants, grantedRoles } = parseGrants(["GRANT SELECT ON `shop`.`items` TO `u`@`%`", "GRANT PROXY ON ''@'%' TO 'u'@'%' WITH GRANT OPTION"], { name: 'u', host: '%' });
    assert.equal(grants.size, 0);
    assert.deepEqual(grantedRoles, []);
  });
});
