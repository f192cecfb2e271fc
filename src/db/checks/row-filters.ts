// Row filters are evaluated twice: by the copy in its WHERE on the source, and by replay over
// each change's images on the target (binlog/apply/row-filter.ts). What the filter may contain
// is checked at config load (config/row-filter.ts); here, against the servers:
// - its key names a migrated table (a typo would otherwise move every row of the real one);
// - the source accepts it on that table, as the copy will run it;
// - the target accepts it as replay will run it, on the temporary table of the table's column
//   definitions (session-local, dropped at once: nothing persists on the target);
// - what makes it mean the same on both servers holds: an existing target table has the source's
//   collations (the verifier evaluates the filter on the target table), and the session
//   defaults that the filter's functions read are equal.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { PreflightError, errorMessage } from '../../errors.js';
import { createFilterTable, dropFilterTable, filterTableFor, selectMatching } from '../filter-table.js';
import { tableKey, type TableSchema } from '../schema.js';
import { quoteTable } from '../sql.js';
import type { Check } from './context.js';
import { hasPrivilege, readGrants } from '../grants.js';

const NAME = 'row-filters';

const refused = (key: string, message: string, cause?: unknown) =>
  new PreflightError(NAME, `rowFilters.${key}: ${message}`, cause === undefined ? undefined : { cause });

function serverSays(error: unknown): string {
  const code = (error as { code?: string }).code;
  const hint = code === 'ER_SP_DOES_NOT_EXIST' || code === 'ER_NO_DB_ERROR' ? ' (no built-in function has that name; a stored function cannot be used in a filter, as replay would run it on the target)' : '';
  return `${errorMessage(error)}${hint}`;
}

async function tryOnTarget(target: Connection, table: TableSchema, key: string, filter: string, migrated: Iterable<string>): Promise<void> {
  const [databases] = await target.query<RowDataPacket[]>('SELECT 1 FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = ?', [table.database]);
  if (databases.length === 0) {
    // Created before the run starts; the privilege is all that can be checked now.
    if (!hasPrivilege((await readGrants(target)).grants, ['CREATE TEMPORARY TABLES'], table.database)) {
      throw refused(key, `replay judges changes by the filter in a temporary table on the target: grant the target user CREATE TEMPORARY TABLES on ${table.database}.*`);
    }
    return;
  }
  const filterTable = filterTableFor(table, 0, migrated);
  try {
    for (const statement of createFilterTable(filterTable)) await target.query(statement);
    await target.query(`${selectMatching(filterTable, filter)} LIMIT 0`);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const privilege = code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_TABLEACCESS_DENIED_ERROR' ? ' (grant the target user CREATE TEMPORARY TABLES on the database)' : '';
    throw refused(key, `replay judges changes by the filter in a temporary table on the target, and the target refuses: ${serverSays(error)}${privilege}`, error);
  } finally {
    await target.query(dropFilterTable(filterTable)).catch(() => undefined);
  }
}

function collationDifferences(source: TableSchema, target: TableSchema | undefined): string[] {
  if (!target) return [];
  const targetColumns = new Map(target.columns.map((column) => [column.name, column]));
  return source.columns.flatMap((column) => {
    const other = targetColumns.get(column.name);
    return other && other.collation !== column.collation ? [`column ${column.name} is ${column.collation} on the source, ${other.collation} on the target`] : [];
  });
}

/** Session defaults that change what a function returns, and the functions that read them. */
const SESSION_DEPENDENT: readonly (readonly [string, RegExp])[] = [
  ['lc_time_names', /\b(DATE_FORMAT|MONTHNAME|DAYNAME|STR_TO_DATE)\s*\(/i],
  ['default_week_format', /\bWEEK\s*\(/i],
  ['div_precision_increment', /\//],
];

async function sessionValues(connection: Connection, names: readonly string[]): Promise<string[]> {
  const [rows] = await connection.query({ sql: `SELECT ${names.map((name) => `@@SESSION.${name}`).join(', ')}`, rowsAsArray: true });
  return ((rows as unknown[][])[0] ?? []).map(String);
}

export const rowFiltersCheck: Check = {
  name: NAME,
  async run({ source, target, sourceTables, targetTables, rowFilters }) {
    if (rowFilters.size === 0) return;
    const migrated = new Map(sourceTables.map((table) => [tableKey(table), table]));
    for (const [key, filter] of rowFilters) {
      const table = migrated.get(key);
      if (!table) {
        throw refused(key, `names no migrated table: a filter applies to a table of the run, written database.table (migrated: ${[...migrated.keys()].slice(0, 10).join(', ') || 'none'})`);
      }
      try {
        await source.query(`SELECT 1 FROM ${quoteTable(table)} WHERE (${filter}) LIMIT 0`);
      } catch (error) {
        throw refused(key, `the source refuses the filter ${JSON.stringify(filter)} on ${key}: ${serverSays(error)}`, error);
      }
      await tryOnTarget(target, table, key, filter, migrated.keys());
      const collations = collationDifferences(table, targetTables.get(key));
      if (collations.length > 0) {
        throw refused(key, `the target table's collations differ from the source's (${collations.join('; ')}), and the verifier judges the filter on the target table. Make them match, or drop the target table (tideferry creates it from the source's definition)`);
      }
      const read = SESSION_DEPENDENT.filter(([, uses]) => uses.test(filter)).map(([name]) => name);
      if (read.length === 0) continue;
      const [sourceValues, targetValues] = [await sessionValues(source, read), await sessionValues(target, read)];
      const differ = read.filter((_, index) => sourceValues[index] !== targetValues[index]);
      if (differ.length > 0) {
        const which = differ.map((name) => `${name} is ${sourceValues[read.indexOf(name)]} on the source, ${targetValues[read.indexOf(name)]} on the target`).join('; ');
        throw refused(key, `the filter's functions depend on session settings that differ between the servers (${which}); set the target's global value to the source's`);
      }
    }
  },
};
