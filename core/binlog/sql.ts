/**
 * What binvault reads of a logged statement's text: never a parser of SQL, only what a few decisions
 * need, on text with its quoted strings, quoted identifiers and comments told apart.
 */

/** A statement's tokens outside strings and comments: words, quoted identifiers (unquoted), punctuation. */
export const tokens = (sql: string): string[] => {
  const out: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? ' ')) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '#') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      // Executable comments (`/*!50003 … */`) hold SQL the server runs: read inside them.
      const executable = sql[i + 2] === '!' || (sql[i + 2] === 'M' && sql[i + 3] === '!');
      if (executable) {
        i += 3;
        while (/[\dM!]/.test(sql[i] ?? '')) i++;
      } else {
        const end = sql.indexOf('*/', i + 2);
        i = end < 0 ? sql.length : end + 2;
      }
    } else if (c === '*' && sql[i + 1] === '/') {
      i += 2;
    } else if (c === "'" || c === '"') {
      // A string (or, in ANSI_QUOTES mode, a "quoted identifier": read as a string here).
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      if (sql[j + 1] === c) {
        // '' inside a string.
        j++;
        while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      }
      out.push("'");
      i = j + 1;
    } else if (c === '`') {
      let name = '';
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === '`') {
          if (sql[j + 1] === '`') {
            name += '`';
            j++;
          } else break;
        } else name += sql[j];
      }
      out.push(`\`${name}`);
      i = j + 1;
    } else if (/[\w$\u0080-\uffff]/.test(c)) {
      let j = i;
      while (j < sql.length && /[\w$\u0080-\uffff]/.test(sql[j] ?? '')) j++;
      out.push(sql.slice(i, j));
      i = j;
    } else {
      out.push(c);
      i++;
    }
  }
  return out;
};

/** An identifier token's name: a quoted one without its mark, a word as it is. */
const identifier = (token: string | undefined): string | undefined => {
  if (token === undefined) return undefined;
  if (token.startsWith('`')) return token.slice(1);
  // A number (3.5) is not a name: an unquoted identifier is never all digits.
  return /^[\w$\u0080-\uffff]+$/.test(token) && !/^\d+$/.test(token) ? token : undefined;
};

const word = (token: string | undefined, w: string): boolean => token !== undefined && !token.startsWith('`') && token.toUpperCase() === w;

/**
 * The database names a statement qualifies something with (`db`.`t`, db.t.c), and its default
 * database: the candidates a selective restore checks against the databases that exist. A table
 * alias (`t.id`) reads as a candidate too; the caller keeps only names of real databases.
 */
export const qualifiers = (sql: string): string[] => {
  const t = tokens(sql);
  const names = new Set<string>();
  for (let i = 0; i + 2 < t.length; i++) {
    const first = identifier(t[i]);
    if (first !== undefined && t[i + 1] === '.' && identifier(t[i + 2]) !== undefined && t[i - 1] !== '.') names.add(first);
  }
  return [...names];
};

/** What a statement does to a scheduled event, when it does: its name (`db`, `name`) and state afterwards. */
export type EventChange =
  | { kind: 'set'; database?: string; name: string; state?: 'ENABLE' | 'DISABLE'; renamed?: { database?: string; name: string } }
  | { kind: 'drop'; database?: string; name: string };

/** Reads `CREATE … EVENT`, `ALTER … EVENT` and `DROP EVENT` (their clauses before `DO`). */
export const eventChange = (sql: string): EventChange | undefined => {
  const t = tokens(sql);
  let i = 0;
  const verb = t[0]?.toUpperCase();
  if (verb !== 'CREATE' && verb !== 'ALTER' && verb !== 'DROP') return undefined;
  i = 1;
  // [OR REPLACE] [DEFINER = user] [IF [NOT] EXISTS]
  for (;;) {
    if (word(t[i], 'OR') && word(t[i + 1], 'REPLACE')) i += 2;
    else if (word(t[i], 'DEFINER')) {
      i += 2;
      while (i < t.length && !word(t[i], 'EVENT') && !word(t[i], 'PROCEDURE') && !word(t[i], 'FUNCTION') && !word(t[i], 'TRIGGER') && !word(t[i], 'VIEW')) i++;
    } else break;
  }
  if (!word(t[i], 'EVENT')) return undefined;
  i++;
  if (word(t[i], 'IF')) i += word(t[i + 1], 'NOT') ? 3 : 2;
  const readName = (): { database?: string; name: string } | undefined => {
    const a = identifier(t[i]);
    if (a === undefined) return undefined;
    if (t[i + 1] === '.' && identifier(t[i + 2]) !== undefined) {
      const b = identifier(t[i + 2]) as string;
      i += 3;
      return { database: a, name: b };
    }
    i++;
    return { name: a };
  };
  const target = readName();
  if (!target) return undefined;
  if (verb === 'DROP') return { kind: 'drop', ...target };
  let state: 'ENABLE' | 'DISABLE' | undefined = verb === 'CREATE' ? 'ENABLE' : undefined;
  let renamed: { database?: string; name: string } | undefined;
  for (; i < t.length && !word(t[i], 'DO'); i++) {
    if (word(t[i], 'ENABLE')) state = 'ENABLE';
    else if (word(t[i], 'DISABLE')) state = 'DISABLE';
    else if (word(t[i], 'RENAME') && word(t[i + 1], 'TO')) {
      i += 2;
      renamed = readName();
      i--;
    }
  }
  return { kind: 'set', ...target, ...(state ? { state } : {}), ...(renamed ? { renamed } : {}) };
};
