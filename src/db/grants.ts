// What a session may do, read from SHOW GRANTS, privileges granted through roles included.
// MariaDB's SHOW GRANTS already lists the grants of the session's enabled role (and of the roles
// granted to it). MySQL 8's lists only the role names; the roles' privileges need
// `SHOW GRANTS FOR CURRENT_USER() USING <roles>`, with the roles active in the session
// (default roles, or all with activate_all_roles_on_login), which CURRENT_ROLE() names.
// Table- and column-level grants are not considered (grant per database).
import type { Connection } from 'mysql2/promise';
import { quoteIdentifier } from './sql.js';

/** Scope ('*' for global, else a database name) → privileges, upper case. */
export type Grants = Map<string, Set<string>>;

/** A role or account: `name` (MariaDB roles have no host) or `name`@`host`. */
export interface GrantName {
  readonly name: string;
  readonly host: string | undefined;
}

export interface SessionGrants {
  readonly grants: Grants;
  /** Roles granted to the session's account itself (not through another role). */
  readonly grantedRoles: readonly GrantName[];
  /** Roles active in the session: their privileges count. */
  readonly enabledRoles: readonly GrantName[];
}

// `name`, 'name', "name" or name, each optionally followed by @host in the same forms.
const PART = String.raw`(?:\x60(?:[^\x60]|\x60\x60)*\x60|'(?:[^']|'')*'|"(?:[^"]|"")*"|[^\s@,\x60'"]+)`;
const NAME = new RegExp(String.raw`(${PART})(?:@(${PART}))?`, 'g');

const unquote = (part: string): string => {
  const quote = part[0];
  if (quote === '`' || quote === "'" || quote === '"') return part.slice(1, -1).split(quote + quote).join(quote);
  return part;
};

/** Parses a list of names as SHOW GRANTS and CURRENT_ROLE() print them; NONE or NULL is no role. */
export function parseNames(text: string | null | undefined): GrantName[] {
  if (!text || text.trim().toUpperCase() === 'NONE') return [];
  return [...text.matchAll(NAME)].map((match) => ({ name: unquote(match[1]!), host: match[2] === undefined ? undefined : unquote(match[2]) }));
}

const sameName = (a: GrantName, b: GrantName): boolean => a.name === b.name && (a.host ?? '%') === (b.host ?? '%');

export const describeName = (name: GrantName): string =>
  name.host === undefined ? quoteIdentifier(name.name) : `${quoteIdentifier(name.name)}@${quoteIdentifier(name.host)}`;

const PRIVILEGE_GRANT = /^GRANT (.+?) ON (?:(?:FUNCTION|PROCEDURE|PACKAGE(?: BODY)?) )?(\S+) TO /i;
const ROLE_GRANT = /^GRANT (.+?) TO (.+?)(?: WITH ADMIN OPTION)?$/i;

/**
 * Parses SHOW GRANTS lines. `account` is the session's account (CURRENT_USER()), to tell the
 * roles granted to it from the roles granted to those roles (MariaDB lists both).
 */
export function parseGrants(lines: readonly string[], account: GrantName | undefined): { grants: Grants; grantedRoles: GrantName[] } {
  const grants: Grants = new Map();
  const grantedRoles: GrantName[] = [];
  for (const line of lines) {
    const privilege = PRIVILEGE_GRANT.exec(line);
    if (privilege) {
      const target = privilege[2]!;
      if (!/\.\*$/.test(target)) continue; // table-level grant
      const database = target === '*.*' ? '*' : unquote(target.slice(0, -2));
      const set = grants.get(database) ?? new Set<string>();
      for (const name of privilege[1]!.split(',')) set.add(name.trim().toUpperCase().replace(/\s*\(.*\)$/, ''));
      grants.set(database, set);
      continue;
    }
    const role = ROLE_GRANT.exec(line);
    if (!role || /^PROXY ON /i.test(role[1]!)) continue;
    const grantee = parseNames(role[2])[0];
    if (!account || (grantee && sameName(grantee, account))) grantedRoles.push(...parseNames(role[1]));
  }
  return { grants, grantedRoles };
}

export function hasPrivilege(grants: Grants, privilege: string | readonly string[], database?: string): boolean {
  const alternatives = typeof privilege === 'string' ? [privilege] : privilege;
  const scopes = database ? ['*', database] : ['*'];
  return scopes.some((scope) => {
    const set = grants.get(scope);
    return !!set && (set.has('ALL PRIVILEGES') || set.has('ALL') || alternatives.some((name) => set.has(name)));
  });
}

export interface Session {
  readonly account: GrantName | undefined;
  readonly enabledRoles: readonly GrantName[];
  readonly mariadb: boolean;
}

async function readSession(connection: Connection): Promise<Session> {
  const query = async (sql: string) => ((await connection.query(sql))[0] as Record<string, string | null>[])[0] ?? {};
  let row: Record<string, string | null>;
  try {
    row = await query('SELECT CURRENT_USER() AS account, CURRENT_ROLE() AS roles, VERSION() AS version');
  } catch {
    row = await query('SELECT CURRENT_USER() AS account, VERSION() AS version'); // no roles (MySQL 5.7)
  }
  // CURRENT_USER() is user@host unquoted; the user part may itself contain '@'.
  const account = String(row['account'] ?? '');
  const at = account.lastIndexOf('@');
  return {
    account: at < 0 ? undefined : { name: account.slice(0, at), host: account.slice(at + 1) },
    enabledRoles: parseNames(row['roles']),
    mariadb: /mariadb/i.test(String(row['version'] ?? '')),
  };
}

/** The statements that list the session's grants, best first. */
export function grantStatements(session: Pick<Session, 'enabledRoles' | 'mariadb'>): string[] {
  if (session.mariadb || session.enabledRoles.length === 0) return ['SHOW GRANTS'];
  return [`SHOW GRANTS FOR CURRENT_USER() USING ${session.enabledRoles.map(describeName).join(', ')}`, 'SHOW GRANTS'];
}

async function showGrants(connection: Connection, session: Session): Promise<string[]> {
  const [best, ...fallbacks] = grantStatements(session);
  for (const sql of [best!, ...fallbacks]) {
    try {
      return ((await connection.query({ sql, rowsAsArray: true }))[0] as unknown[][]).map((row) => String(row[0] ?? ''));
    } catch (error) {
      // Whatever USING refuses, the account's own grants still count.
      if (sql === 'SHOW GRANTS') throw error;
    }
  }
  return [];
}

/** The session's grants, its own and those of its enabled roles. */
export async function readGrants(connection: Connection): Promise<SessionGrants> {
  const session = await readSession(connection);
  const { grants, grantedRoles } = parseGrants(await showGrants(connection, session), session.account);
  return { grants, grantedRoles, enabledRoles: session.enabledRoles };
}

/** Roles granted to the account that are not enabled when it logs in: their privileges do not count. */
export const disabledRoles = (session: SessionGrants): GrantName[] =>
  session.grantedRoles.filter((role) => !session.enabledRoles.some((enabled) => sameName(enabled, role)));
