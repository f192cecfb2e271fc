// What a row filter may contain. A filter is evaluated in two places: by the copy, in the WHERE
// of its reads on the source, and by replay, over each change's row image on the target
// (binlog/apply/row-filter.ts). Both must select the same rows, so a filter may depend on the
// row alone. Whatever depends on when, where or by whom it is evaluated is refused here, before
// anything runs: the clock, randomness, the session, variables, sequences, subqueries (in replay
// they would read the target's tables), stored functions, the column's DEFAULT.
//
// The filter is tokenised, not parsed (as binlog/stream/statement-guard.ts does for statements):
// strings and quoted identifiers are skipped, so a column `now` or a string 'select' is fine.
// Whether the filter is valid SQL at all is the source's to say, at preflight.

interface Token {
  readonly kind: 'word' | 'quoted' | 'string' | 'symbol';
  readonly text: string;
}

type Tokens = { readonly tokens: Token[] } | { readonly problem: string };

function tokenize(filter: string): Tokens {
  const tokens: Token[] = [];
  let index = 0;
  const length = filter.length;
  while (index < length) {
    const character = filter[index]!;
    const next = filter[index + 1];
    if (/\s/.test(character)) {
      index++;
    } else if (character === '#' || (character === '-' && next === '-') || (character === '/' && next === '*')) {
      return { problem: 'it contains a comment: the filter is placed inside tideferry\'s queries, where a comment would hide the rest of the query' };
    } else if (character === '`' || character === '"' || character === "'") {
      // Double quotes are strings: tideferry's sessions do not set ANSI_QUOTES.
      let text = '';
      let closed = false;
      index++;
      while (index < length) {
        const current = filter[index]!;
        if (current === '\\' && character !== '`') {
          text += filter[index + 1] ?? '';
          index += 2;
        } else if (current === character && filter[index + 1] === character) {
          text += character;
          index += 2;
        } else if (current === character) {
          index++;
          closed = true;
          break;
        } else {
          text += current;
          index++;
        }
      }
      if (!closed) return { problem: `it has an unterminated ${character === '`' ? 'quoted name' : 'string'}` };
      tokens.push({ kind: character === '`' ? 'quoted' : 'string', text });
    } else if (/[\p{L}\p{N}_$]/u.test(character)) {
      let end = index + 1;
      while (end < length && /[\p{L}\p{N}_$]/u.test(filter[end]!)) end++;
      tokens.push({ kind: 'word', text: filter.slice(index, end) });
      index = end;
    } else {
      tokens.push({ kind: 'symbol', text: character });
      index++;
    }
  }
  return { tokens };
}

const CLOCK = 'reads the clock: the copy evaluates the filter when it reads a row, replay when it applies a change, so they would judge by different moments; compare with a constant time instead';
const RANDOM = 'gives another value at every evaluation, so the copy and replay would not select the same rows';
const SESSION = 'depends on the session that evaluates it (the copy\'s on the source, replay\'s on the target), so the copy and replay would not agree';
const WAITS = 'has effects or waits, which a filter must not';
const SUBQUERY = 'contains a subquery: replay evaluates the filter on the target, where it would read the target\'s tables, not the source\'s; a filter may only look at the row itself';

/** Reserved words: never a bare column name, so refused with or without parentheses. */
const RESERVED: ReadonlyMap<string, string> = new Map([
  ...['CURRENT_TIMESTAMP', 'CURRENT_DATE', 'CURRENT_TIME', 'LOCALTIME', 'LOCALTIMESTAMP', 'UTC_DATE', 'UTC_TIME', 'UTC_TIMESTAMP'].map((word) => [word, CLOCK] as const),
  ...['CURRENT_USER', 'CURRENT_ROLE'].map((word) => [word, SESSION] as const),
  ...['SELECT', 'TABLE', 'VALUES', 'WITH'].map((word) => [word, SUBQUERY] as const),
  ['DEFAULT', "reads a column's DEFAULT, which is not part of a row image: replay judges the images of changes; write the value instead"],
  ['MATCH', "is a full-text search, whose result depends on the table's full-text index and its other rows, not on the row alone"],
]);

/** Function names (not reserved: a column may be called `user`), refused when called. */
const FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ...['NOW', 'CURDATE', 'CURTIME', 'SYSDATE'].map((word) => [word, CLOCK] as const),
  ...['RAND', 'UUID', 'UUID_SHORT', 'SYS_GUID', 'RANDOM_BYTES', 'NEXTVAL', 'LASTVAL', 'SETVAL'].map((word) => [word, RANDOM] as const),
  ...['LAST_INSERT_ID', 'ROW_COUNT', 'FOUND_ROWS', 'CONNECTION_ID', 'USER', 'SESSION_USER', 'SYSTEM_USER', 'DATABASE', 'SCHEMA', 'VERSION', 'ROWNUM', 'VALUE',
    'BINLOG_GTID_POS', 'PS_CURRENT_THREAD_ID', 'PS_THREAD_ID', 'ICU_VERSION'].map((word) => [word, SESSION] as const),
  ...['SLEEP', 'BENCHMARK', 'GET_LOCK', 'RELEASE_LOCK', 'RELEASE_ALL_LOCKS', 'IS_FREE_LOCK', 'IS_USED_LOCK', 'MASTER_POS_WAIT', 'SOURCE_POS_WAIT', 'MASTER_GTID_WAIT',
    'WAIT_FOR_EXECUTED_GTID_SET', 'WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS', 'LOAD_FILE'].map((word) => [word, WAITS] as const),
]);

const isName = (token: Token | undefined): boolean => token !== undefined && (token.kind === 'word' || token.kind === 'quoted') && !/^\d/.test(token.text);
const isSymbol = (token: Token | undefined, text: string): boolean => token?.kind === 'symbol' && token.text === text;
const isWord = (token: Token | undefined, text: string): boolean => token?.kind === 'word' && token.text.toUpperCase() === text;
const OFFSET = /^[+-]\d{1,2}:\d{2}$/;

/** The arguments of the call whose '(' is at `open`: each a list of tokens. */
function callArguments(tokens: readonly Token[], open: number): Token[][] {
  const args: Token[][] = [[]];
  let depth = 0;
  for (let index = open; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (isSymbol(token, '(')) depth++;
    if (isSymbol(token, ')')) depth--;
    if (depth === 0) break;
    if (depth === 1 && (isSymbol(token, ',') || index === open)) {
      if (index !== open) args.push([]);
      continue;
    }
    args[args.length - 1]!.push(token);
  }
  return args;
}

function tokenProblem(tokens: readonly Token[], index: number): string | undefined {
  const token = tokens[index]!;
  const next = tokens[index + 1];
  if (token.kind === 'symbol') {
    if (token.text === '@') return 'it reads a variable (@…): its value belongs to the session that evaluates it (the copy\'s on the source, replay\'s on the target)';
    if (token.text === ';') return "it contains ';': a filter is one condition, not statements";
    return undefined;
  }
  // A string, or a name after a dot (a column, which may be called anything): nothing to judge.
  if (token.kind === 'string' || isSymbol(tokens[index - 1], '.')) return undefined;
  if (isName(token) && isSymbol(next, '.') && isName(tokens[index + 2])) {
    if (isSymbol(tokens[index + 3], '(')) {
      return `it calls the stored function ${token.text}.${tokens[index + 2]!.text}(), which may read tables or the clock and would run on the target in replay; write the condition with built-in functions`;
    }
    if (isSymbol(tokens[index + 3], '.') && isName(tokens[index + 4])) {
      return `it names a column as database.table.column (${token.text}.${tokens[index + 2]!.text}.${tokens[index + 4]!.text}); replay judges rows under the table's own name: write table.column or just column`;
    }
  }
  if (token.kind !== 'word') return undefined; // a quoted name is a column, whatever its name
  const word = token.text.toUpperCase();
  const calls = isSymbol(next, '(');
  const reserved = RESERVED.get(word);
  if (reserved) return `${word} ${reserved}`;
  if ((word === 'NEXT' || word === 'PREVIOUS') && isWord(next, 'VALUE') && isWord(tokens[index + 2], 'FOR')) return `${word} VALUE FOR ${RANDOM}`;
  if (!calls) return undefined;
  const called = FUNCTIONS.get(word);
  if (called) return `${word}() ${called}`;
  if (word === 'UNIX_TIMESTAMP' && isSymbol(tokens[index + 2], ')')) return `UNIX_TIMESTAMP() ${CLOCK}`;
  if (word === 'CONVERT_TZ') {
    const zones = callArguments(tokens, index + 1).slice(1);
    const offsets = zones.length === 2 && zones.every((zone) => zone.length === 1 && zone[0]!.kind === 'string' && OFFSET.test(zone[0]!.text));
    if (!offsets) return "CONVERT_TZ() with a named time zone (or SYSTEM) depends on each server's time-zone tables and system zone; give both zones as offsets such as '+02:00'";
  }
  return undefined;
}

/** Why `filter` cannot mean the same in the copy and in replay (a sentence); undefined when it may be used. */
export function rowFilterProblem(filter: string): string | undefined {
  const tokenized = tokenize(filter);
  if ('problem' in tokenized) return tokenized.problem;
  const { tokens } = tokenized;
  if (tokens.length === 0) return 'it is empty';
  let depth = 0;
  for (let index = 0; index < tokens.length; index++) {
    if (isSymbol(tokens[index], '(')) depth++;
    if (isSymbol(tokens[index], ')') && --depth < 0) break;
    const problem = tokenProblem(tokens, index);
    if (problem) return problem;
  }
  // A stray ')' would close tideferry's own parenthesis around the filter.
  if (depth !== 0) return 'it has unbalanced parentheses';
  return undefined;
}
