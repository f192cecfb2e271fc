// Whether a TABLE_MAP still describes the table read at preflight, and which columns tideferry
// cannot carry at all. A TABLE_MAP that no longer fits means the table was altered: its rows
// would be read into the wrong columns, so the stream stops instead.
import type { ColumnSchema, TableSchema } from '../../db/schema.js';
import { valueKind } from '../../db/schema.js';
import { binlogTypeMatches, binlogTypeName } from './column-types.js';
import type { TableMap } from './table-map.js';

/** Why a TABLE_MAP does not fit the schema read at preflight (undefined when it does). */
export function tableMapMismatch(table: TableSchema, map: TableMap): string | undefined {
  if (map.columns.length !== table.columns.length) {
    return `the binlog describes ${map.columns.length} columns, the schema read at start has ${table.columns.length}`;
  }
  for (const [index, column] of table.columns.entries()) {
    const loggedName = map.columnNames?.[index];
    if (loggedName !== undefined && loggedName.toLowerCase() !== column.name.toLowerCase()) {
      return `column ${index + 1} is ${loggedName} in the binlog but ${column.name} in the schema read at start`;
    }
    const binlog = map.columns[index]!;
    if (!binlogTypeMatches(binlog.type, column.dataType)) {
      return `column ${column.name} is logged as ${binlogTypeName(binlog.type)} but is ${column.columnType} in the schema read at start`;
    }
  }
  return undefined;
}

/** Columns whose values literal() cannot write back exactly (spatial, MariaDB UUID/INET, …). */
export const unsupportedColumns = (table: TableSchema): readonly ColumnSchema[] =>
  table.columns.filter((column) => !column.generated && valueKind(column) === 'other');
