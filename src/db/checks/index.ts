// Preflight checks, one per file, run in this order. Adding a check is adding a file and a line here.
import { binlogSettingsCheck } from './binlog-settings.js';
import type { Check, CheckContext } from './context.js';
import { primaryKeyCheck } from './primary-key.js';
import { privilegesCheck } from './privileges.js';
import { rowFiltersCheck } from './row-filters.js';
import { serverIdCheck } from './server-id.js';
import { tablesSelectedCheck } from './tables-selected.js';
import { targetSchemaCheck } from './target-schema.js';

export const preflightChecks: readonly Check[] = [
  binlogSettingsCheck,
  // Privileges first: listing the source's replicas (server-id) needs one of its own.
  privilegesCheck,
  serverIdCheck,
  tablesSelectedCheck,
  primaryKeyCheck,
  targetSchemaCheck,
  rowFiltersCheck,
];

export async function runChecks(context: CheckContext, checks: readonly Check[] = preflightChecks): Promise<void> {
  for (const check of checks) await check.run(context);
}

export type { Check, CheckContext };
