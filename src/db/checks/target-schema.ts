// A table that already exists on the target must have the source's shape; otherwise rows would
// be written into the wrong columns or fail half-way.
import { PreflightError } from '../../errors.js';
import { schemaFingerprint, tableKey } from '../schema.js';
import type { Check } from './context.js';

export const targetSchemaCheck: Check = {
  name: 'target-schema',
  async run({ sourceTables, targetTables }) {
    for (const sourceTable of sourceTables) {
      const targetTable = targetTables.get(tableKey(sourceTable));
      if (!targetTable || schemaFingerprint(targetTable) === schemaFingerprint(sourceTable)) continue;
      const differences: string[] = [];
      const targetColumns = new Map(targetTable.columns.map((column) => [column.name, column]));
      for (const column of sourceTable.columns) {
        const other = targetColumns.get(column.name);
        if (!other) differences.push(`column ${column.name} is missing on the target`);
        else if (other.columnType !== column.columnType || other.charset !== column.charset || other.nullable !== column.nullable)
          differences.push(`column ${column.name} is ${column.columnType} on the source, ${other.columnType} on the target`);
      }
      for (const column of targetTable.columns) {
        if (!sourceTable.columns.some((candidate) => candidate.name === column.name)) differences.push(`column ${column.name} exists only on the target`);
      }
      if (sourceTable.primaryKey.join(',') !== targetTable.primaryKey.join(','))
        differences.push(`primary key (${sourceTable.primaryKey.join(', ')}) on the source, (${targetTable.primaryKey.join(', ')}) on the target`);
      if (differences.length === 0) differences.push('column order or generated columns differ');
      throw new PreflightError(
        this.name,
        `target table ${tableKey(sourceTable)} exists with a different schema: ${differences.join('; ')}. ` +
          `Drop it (tideferry creates it from the source's definition) or make it match.`,
      );
    }
  },
};
