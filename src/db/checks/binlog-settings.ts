// The source must write row events with full images and column metadata: the applier replays
// whole rows, and the binlog client reads column names from the events, not from a live query.
import { PreflightError } from '../../errors.js';
import { type Check, variables } from './context.js';

export const binlogSettingsCheck: Check = {
  name: 'binlog-settings',
  async run({ source }) {
    const settings = await variables(source, ['log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata']);
    const required: [string, string][] = [
      ['log_bin', 'ON'],
      ['binlog_format', 'ROW'],
      ['binlog_row_image', 'FULL'],
      ['binlog_row_metadata', 'FULL'],
    ];
    const wrong = required.filter(([name, value]) => (settings.get(name) ?? '').toUpperCase() !== value);
    if (wrong.length === 0) return;
    const found = wrong.map(([name, value]) => `${name} is ${settings.get(name) ?? 'not supported by this server'} (needs ${value})`);
    throw new PreflightError(
      this.name,
      `the source binlog is not usable: ${found.join('; ')}. ` +
        `Set them in the source server's config (log_bin, binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL) ` +
        `or at runtime with SET GLOBAL for the variables that allow it; binlog_row_metadata needs MariaDB 10.5+ or MySQL 8.0.1+.`,
    );
  },
};
