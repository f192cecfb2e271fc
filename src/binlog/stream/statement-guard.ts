// Which QUERY events touch a selected table. In a row-based binlog the statements are DDL and
// transaction control; a DDL statement on a selected table changes the shape the applier writes
// into (or, like TRUNCATE and EXCHANGE PARTITION, changes rows without logging them), and a DML
// statement there means some session logged statements instead of rows. Either way the run
// must stop rather than diverge.
//
// The statement is tokenised, not parsed: comments are dropped (MySQL's executable comments
// /*!50100 … */ and MariaDB's /*M!100100 … */ are kept, as the server runs them), strings are
// skipped, identifiers are read with their quoting. Only the positions that name the changed
// table are looked at (after ALTER TABLE, DROP TABLE, RENAME TABLE, TRUNCATE, CREATE TABLE,
// CREATE/DROP INDEX … ON), so a column that happens to share a table's name does not stop a run.
import type { TableRef } from '../../db/schema.js';

export type StatementEffect =
  | { readonly kind: 'none' }
  | { readonly kind: 'schema-change'; readonly tables: readonly TableRef[] }
  | { readonly kind: 'row-change'; readonly tables: readonly TableRef[] };

interface Token {
  readonly kind: 'word' | 'quoted' | 'string' | 'symbol';
  readonly text: string;
}

function tokenize(statement: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const length = statement.length;
  while (index < length) {
    const character = statement[index]!;
    const next = statement[index + 1];
    if (/\s/.test(character)) {
      index++;
    } else if (character === '#' || (character === '-' && next === '-' && /\s|^$/.test(statement[index + 2] ?? ''))) {
      while (index < length && statement[index] !== '\n') index++;
    } else if (character === '/' && next === '*') {
      const executable = /^\/\*M?!\d*/.exec(statement.slice(index, index + 12));
      if (executable) {
        index += executable[0].length; // the body is tokenised; its closing */ is skipped below
      } else {
        const end = statement.indexOf('*/', index + 2);
        index = end < 0 ? length : end + 2;
      }
    } else if (character === '*' && next === '/') {
      index += 2;
    } else if (character === '`' || character === '"' || character === "'") {
      // Backticks quote identifiers; double quotes are strings unless ANSI_QUOTES, and treating
      // them as identifiers too errs on the side of stopping.
      let text = '';
      index++;
      while (index < length) {
        const current = statement[index]!;
        if (current === '\\' && character !== '`') {
          text += statement[index + 1] ?? '';
          index += 2;
        } else if (current === character && statement[index + 1] === character) {
          text += character;
          index += 2;
        } else if (current === character) {
          index++;
          break;
        } else {
          text += current;
          index++;
        }
      }
      tokens.push({ kind: character === "'" ? 'string' : 'quoted', text });
    } else if (/[\p{L}\p{N}_$]/u.test(character)) {
      let end = index + 1;
      while (end < length && /[\p{L}\p{N}_$]/u.test(statement[end]!)) end++;
      tokens.push({ kind: 'word', text: statement.slice(index, end) });
      index = end;
    } else {
      tokens.push({ kind: 'symbol', text: character });
      index++;
    }
  }
  return tokens;
}

const isName = (token: Token | undefined): boolean => token !== undefined && (token.kind === 'word' || token.kind === 'quoted');
const isKeyword = (token: Token | undefined, ...keywords: string[]): boolean =>
  token?.kind === 'word' && keywords.includes(token.text.toUpperCase());

class TokenCursor {
  index = 0;
  constructor(readonly tokens: readonly Token[], readonly defaultDatabase: string) {}

  get current(): Token | undefined {
    return this.tokens[this.index];
  }

  /** Skips the keywords in order while they are there (e.g. IF NOT EXISTS). */
  skip(...keywords: string[]): void {
    for (const keyword of keywords) {
      if (!isKeyword(this.current, keyword)) return;
      this.index++;
    }
  }

  /** Reads `name` or `database.name` at the cursor. */
  readTable(): TableRef | undefined {
    if (!isName(this.current)) return undefined;
    const first = this.current!.text;
    this.index++;
    if (this.current?.text === '.' && isName(this.tokens[this.index + 1])) {
      const second = this.tokens[this.index + 1]!.text;
      this.index += 2;
      return { database: first, name: second };
    }
    return { database: this.defaultDatabase, name: first };
  }

  /** Reads a comma-separated list of tables (DROP TABLE a, b). */
  readTableList(): TableRef[] {
    const tables: TableRef[] = [];
    for (;;) {
      const table = this.readTable();
      if (table) tables.push(table);
      if (this.current?.text !== ',') return tables;
      this.index++;
    }
  }

  /** Every table named right after one of the keywords, anywhere in the statement. */
  tablesAfter(...keywords: string[]): TableRef[] {
    const tables: TableRef[] = [];
    for (let position = 0; position < this.tokens.length; position++) {
      if (!isKeyword(this.tokens[position], ...keywords)) continue;
      this.index = position + 1;
      this.skip('TO');
      this.skip('AS');
      this.skip('TABLE');
      const table = this.readTable();
      if (table) tables.push(table);
    }
    return tables;
  }

  /** Every name or qualified name in the statement. */
  allNames(): TableRef[] {
    const tables: TableRef[] = [];
    for (this.index = 0; this.index < this.tokens.length;) {
      const table = isName(this.current) ? this.readTable() : undefined;
      if (table) tables.push(table);
      else this.index++;
    }
    return tables;
  }
}

/** The tables a statement changes the shape of (or changes unlogged), or modifies by statement. */
function statementTargets(statement: string, defaultDatabase: string): StatementEffect {
  const tokens = tokenize(statement);
  const cursor = new TokenCursor(tokens, defaultDatabase);
  const verb = tokens[0]?.kind === 'word' ? tokens[0].text.toUpperCase() : '';
  cursor.index = 1;
  switch (verb) {
    case 'ALTER': {
      cursor.skip('ONLINE');
      cursor.skip('IGNORE');
      if (!isKeyword(cursor.current, 'TABLE')) return { kind: 'none' };
      cursor.index++;
      cursor.skip('IF', 'EXISTS');
      const altered = cursor.readTable();
      // RENAME [TO] moves the table; EXCHANGE PARTITION … WITH TABLE swaps rows unlogged.
      const others = cursor.tablesAfter('RENAME', 'WITH');
      return { kind: 'schema-change', tables: altered ? [altered, ...others] : others };
    }
    case 'DROP': {
      cursor.skip('TEMPORARY');
      if (isKeyword(cursor.current, 'TABLE', 'TABLES')) {
        cursor.index++;
        cursor.skip('IF', 'EXISTS');
        return { kind: 'schema-change', tables: cursor.readTableList() };
      }
      if (isKeyword(cursor.current, 'DATABASE', 'SCHEMA')) {
        cursor.index++;
        cursor.skip('IF', 'EXISTS');
        const database = cursor.current?.text;
        // A whole database: '*' stands for every table in it.
        return database === undefined ? { kind: 'none' } : { kind: 'schema-change', tables: [{ database, name: '*' }] };
      }
      if (isKeyword(cursor.current, 'INDEX')) return { kind: 'schema-change', tables: cursor.tablesAfter('ON') };
      return { kind: 'none' };
    }
    case 'RENAME':
      if (!isKeyword(cursor.current, 'TABLE', 'TABLES')) return { kind: 'none' };
      cursor.index++;
      return { kind: 'schema-change', tables: cursor.allNames().filter((table) => !['TO', 'TABLE', 'TABLES', 'RENAME', 'WAIT', 'NOWAIT'].includes(table.name.toUpperCase())) };
    case 'TRUNCATE':
      cursor.skip('TABLE');
      return { kind: 'schema-change', tables: [cursor.readTable()].filter((table): table is TableRef => table !== undefined) };
    case 'CREATE': {
      cursor.skip('OR', 'REPLACE');
      cursor.skip('TEMPORARY');
      if (isKeyword(cursor.current, 'TABLE')) {
        cursor.index++;
        cursor.skip('IF', 'NOT', 'EXISTS');
        const created = cursor.readTable();
        return { kind: 'schema-change', tables: created ? [created] : [] };
      }
      cursor.skip('UNIQUE');
      cursor.skip('FULLTEXT');
      cursor.skip('SPATIAL');
      if (isKeyword(cursor.current, 'INDEX')) return { kind: 'schema-change', tables: cursor.tablesAfter('ON') };
      return { kind: 'none' };
    }
    case 'INSERT':
    case 'REPLACE':
    case 'UPDATE':
    case 'DELETE':
    case 'LOAD':
      return { kind: 'row-change', tables: cursor.allNames() };
    default:
      return { kind: 'none' };
  }
}

/**
 * What a logged statement does to the selected tables. `selectedMatching` answers with the
 * selected tables a name (as written) may refer to; a name of '*' stands for a whole database.
 */
export function classifyStatement(
  statement: string,
  defaultDatabase: string,
  selectedMatching: (table: TableRef) => readonly TableRef[],
): StatementEffect {
  const effect = statementTargets(statement, defaultDatabase);
  if (effect.kind === 'none') return effect;
  const touched: TableRef[] = [];
  for (const table of effect.tables) {
    for (const selected of selectedMatching(table)) if (!touched.includes(selected)) touched.push(selected);
  }
  return touched.length === 0 ? { kind: 'none' } : { kind: effect.kind, tables: touched };
}
