// Which tables a run migrates: the config's databases, filtered by include/exclude patterns.
import type { Connection } from 'mysql2/promise';
import type { TableRef } from './schema.js';
import { listTables } from './introspect.js';

function patternMatches(pattern: string, table: TableRef): boolean {
  const subject = pattern.includes('.') ? `${table.database}.${table.name}` : table.name;
  const regex = new RegExp('^' + pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return regex.test(subject);
}

export interface TableSelection {
  readonly databases: readonly string[];
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export function isSelected(table: TableRef, selection: TableSelection): boolean {
  return (
    selection.databases.includes(table.database) &&
    selection.include.some((pattern) => patternMatches(pattern, table)) &&
    !selection.exclude.some((pattern) => patternMatches(pattern, table))
  );
}

export async function selectTables(connection: Connection, selection: TableSelection): Promise<TableRef[]> {
  const selected: TableRef[] = [];
  for (const database of selection.databases) {
    for (const name of await listTables(connection, database)) {
      const table = { database, name };
      if (isSelected(table, selection)) selected.push(table);
    }
  }
  return selected;
}
