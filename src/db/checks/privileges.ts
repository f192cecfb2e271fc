// The migration user needs: on the source, to read the tables and the binlog (and to set
// read_only when cutover does); on the target, to create tables and write rows. Privileges
// granted through enabled roles count (db/grants.ts).
import { PreflightError } from '../../errors.js';
import type { Endpoint } from '../connection.js';
import { describeName, disabledRoles, hasPrivilege, readGrants, type Grants, type SessionGrants } from '../grants.js';
import type { Check } from './context.js';

type Requirement = readonly [privilege: string | readonly string[], database: string | undefined];

function missing(grants: Grants, required: readonly Requirement[]): string[] {
  return required
    .filter(([privilege, database]) => !hasPrivilege(grants, privilege, database))
    .map(([privilege, database]) => {
      const name = typeof privilege === 'string' ? privilege : privilege.join(' or ');
      return database ? `${name} on ${database}.*` : `${name} on *.*`;
    });
}

/** Why a granted role did not help: it is not enabled when the user logs in. */
function roleHint(session: SessionGrants, endpoint: Endpoint): string {
  const roles = disabledRoles(session);
  if (roles.length === 0) return '';
  const names = roles.map(describeName).join(', ');
  return (
    ` (${roles.length === 1 ? 'role' : 'roles'} ${names} ${roles.length === 1 ? 'is' : 'are'} granted to ${endpoint.user} but not enabled at login: ` +
    `SET DEFAULT ROLE ${names} FOR ${endpoint.user} on MariaDB; SET DEFAULT ROLE ${names} TO ${endpoint.user}, or activate_all_roles_on_login=ON, on MySQL)`
  );
}

export const privilegesCheck: Check = {
  name: 'privileges',
  async run({ source, target, sourceEndpoint, targetEndpoint, selectedTables, cutoverSetsReadOnly }) {
    const databases = [...new Set(selectedTables.map((table) => table.database))];
    const sourceSession = await readGrants(source);
    const sourceMissing = missing(sourceSession.grants, [
      ['REPLICATION SLAVE', undefined],
      [['REPLICATION CLIENT', 'BINLOG MONITOR', 'SUPER'], undefined],
      ...(cutoverSetsReadOnly ? ([[['SUPER', 'READ_ONLY ADMIN', 'SYSTEM_VARIABLES_ADMIN'], undefined]] as const) : []),
      ...databases.map((database) => ['SELECT', database] as const),
    ]);
    if (sourceMissing.length > 0) {
      throw new PreflightError(
        this.name,
        `the source user ${sourceEndpoint.user} lacks privileges: ${sourceMissing.join(', ')}${roleHint(sourceSession, sourceEndpoint)}. ` +
          `Grant them on the source, e.g. GRANT ${sourceMissing.map((item) => item.split(' on ')[0]!.split(' or ')[0]).join(', ')} ...`,
      );
    }
    const targetSession = await readGrants(target);
    const targetMissing = missing(
      targetSession.grants,
      databases.flatMap((database) => ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE'].map((privilege) => [privilege, database] as const)),
    );
    if (targetMissing.length > 0) {
      throw new PreflightError(
        this.name,
        `the target user ${targetEndpoint.user} lacks privileges: ${targetMissing.join(', ')}${roleHint(targetSession, targetEndpoint)}. Grant them on the target.`,
      );
    }
  },
};
