import { PreflightError } from '../../errors.js';
import type { Check } from './context.js';

export const tablesSelectedCheck: Check = {
  name: 'tables-selected',
  async run({ selectedTables }) {
    if (selectedTables.length > 0) return;
    throw new PreflightError(
      this.name,
      'no table selected: check that the databases in `databases` exist on the source and that tables.include/exclude match something',
    );
  },
};
