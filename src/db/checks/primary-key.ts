// Copy cursors, idempotent replay and verification all work by primary key.
import { PreflightError } from '../../errors.js';
import { tableKey } from '../schema.js';
import type { Check } from './context.js';

export const primaryKeyCheck: Check = {
  name: 'primary-key',
  async run({ sourceTables }) {
    const without = sourceTables.filter((table) => table.primaryKey.length === 0).map(tableKey);
    if (without.length === 0) return;
    throw new PreflightError(
      this.name,
      `${without.length === 1 ? 'table' : 'tables'} without a primary key: ${without.join(', ')}. ` +
        `tideferry copies and replays rows by primary key; add one, or leave the table out with tables.exclude.`,
    );
  },
};
