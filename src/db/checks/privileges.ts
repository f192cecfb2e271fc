// The migration user needs: on the source, to read the tables and the binlog (and to set
// read_only when cutover does); on the target, to create tables and write rows.
// Read from SHOW GRANTS; table- and column-level grants are not considered (grant per database).
import type { Connection } from 'mysql2/promise';
import { PreflightError } from '../../errors.js';
import type { Check } from './context.js';

type Grants = Map<string, Set<string>>; // scope ('*' for global, else database) → privileges

export async function readGrants(connection: Connection): Promise<Grants> {
  const [rows] = await connection.query('SHOW GRANTS');
  const grants: Grants = new Map();
  for (const row of rows as Record<string, string>[]) {
    const text = String(Object.values(row)[0] ?? '');
    const match = /^GRANT (.+?) ON (?:(?:FUNCTION|PROCEDURE|PACKAGE(?: BODY)?) )?(\S+) TO /i.exec(text);
    if (!match || !match[1] || !match[2]) continue;
    const target = match[2];
    if (!/\.\*$/.test(target)) continue; // table-level grant
    const database = target === '*.*' ? '*' : target.slice(0, -2).replace(/^`|`$/g, '').replace(/``/g, '`');
    const set = grants.get(database) ?? new Set<string>();
    for (const privilege of match[1].split(',')) set.add(privilege.trim().toUpperCase().replace(/\s*\(.*\)$/, ''));
    grants.set(database, set);
  }
  return grants;
}

export function hasPrivilege(grants: Grants, privilege: string | readonly string[], database?: string): boolean {
  const alternatives = typeof privilege === 'string' ? [privilege] : privilege;
  const scopes = database ? ['*', database] : ['*'];
  return scopes.some((scope) => {
    const set = grants.get(scope);
    return !!set && (set.has('ALL PRIVILEGES') || set.has('ALL') || alternatives.some((name) => set.has(name)));
  });
}

function missing(grants: Grants, required: readonly (readonly [string | readonly string[], string | undefined])[]): string[] {
  return required
    .filter(([privilege, database]) => !hasPrivilege(grants, privilege, database))
    .map(([privilege, database]) => {
      const name = typeof privilege === 'string' ? privilege : privilege.join(' or ');
      return database ? `${name} on ${database}.*` : `${name} on *.*`;
    });
}

export const privilegesCheck: Check = {
  name: 'privileges',
  async run({ source, target, sourceEndpoint, targetEndpoint, selectedTables, cutoverSetsReadOnly }) {
    const databases = [...new Set(selectedTables.map((table) => table.database))];
    const sourceGrants = await readGrants(source);
    const sourceMissing = missing(sourceGrants, [
      ['REPLICATION SLAVE', undefined],
      [['REPLICATION CLIENT', 'BINLOG MONITOR', 'SUPER'], undefined],
      ...(cutoverSetsReadOnly ? ([[['SUPER', 'READ_ONLY ADMIN', 'SYSTEM_VARIABLES_ADMIN'], undefined]] as const) : []),
      ...databases.map((database) => ['SELECT', database] as const),
    ]);
    if (sourceMissing.length > 0) {
      throw new PreflightError(
        this.name,
        `the source user ${sourceEndpoint.user} lacks privileges: ${sourceMissing.join(', ')}. ` +
          `Grant them on the source, e.g. GRANT ${sourceMissing.map((item) => item.split(' on ')[0]!.split(' or ')[0]).join(', ')} ...`,
      );
    }
    const targetGrants = await readGrants(target);
    const targetMissing = missing(
      targetGrants,
      databases.flatMap((database) => ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE'].map((privilege) => [privilege, database] as const)),
    );
    if (targetMissing.length > 0) {
      throw new PreflightError(this.name, `the target user ${targetEndpoint.user} lacks privileges: ${targetMissing.join(', ')}. Grant them on the target.`);
    }
  },
};
