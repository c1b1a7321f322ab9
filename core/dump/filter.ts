/**
 * Keeps the part of a mysqldump / mariadb-dump stream that belongs to some databases, for a restore
 * of selected databases: the header (session settings, coordinates, GTID state), each selected
 * database's section (its CREATE DATABASE, tables, rows, triggers, routines, events, views), and the
 * trailer's session resets. A dump of several databases (`--all-databases`, `--databases`) marks each
 * section with `-- Current Database: \`name\``, which the dump tools write at the start of a line and
 * a dump never holds inside a string (rows are written with escaped line breaks). Everything of an
 * unselected database, the `mysql` system database included, is left out.
 *
 * Whether the dump has the markers at all (a single database dumped without `--databases` has none)
 * is for the caller to know from the dump's facts: such a dump passes whole.
 *
 * @example
 * const filter = new DumpDatabaseFilter(['shop']);
 * for await (const chunk of gunzipped) for (const kept of filter.push(chunk)) load(kept);
 * for (const kept of filter.end()) load(kept);
 */
const MARKER = Buffer.from('-- Current Database: `');
/** The trailer's `SET … = @OLD_…` lines put the session back: kept whatever section they end. */
const RESET = /^\/\*!\d+ SET [^\n]*=\s*@OLD_/;

export class DumpDatabaseFilter {
  private readonly selected: Set<string>;
  /** Whether the section being read is kept (the header is). */
  private keep = true;
  /** The start of a line not yet long enough to tell whether it is a marker or a reset. */
  private pending: Buffer | undefined;
  private atLineStart = true;
  /** The databases whose sections were seen, kept or not. */
  public readonly seen: string[] = [];

  public constructor(databases: Iterable<string>) {
    this.selected = new Set(databases);
  }

  public push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let start = 0;
    while (start < data.length) {
      const nl = data.indexOf(10, start);
      const end = nl < 0 ? data.length : nl + 1;
      if (this.atLineStart) {
        const line = data.subarray(start, end);
        // Too short to tell yet (and no line end): wait for more.
        if (nl < 0 && line.length < 256 && (MARKER.subarray(0, line.length).equals(line.subarray(0, MARKER.length)) || line[0] === 0x2f)) {
          this.pending = Buffer.from(line);
          break;
        }
        this.classify(line);
      }
      const keep = this.keep || (this.atLineStart && RESET.test(data.subarray(start, Math.min(end, start + 256)).toString('latin1')));
      if (keep) out.push(data.subarray(start, end));
      this.atLineStart = nl >= 0;
      start = end;
    }
    return out;
  }

  public end(): Buffer[] {
    const rest = this.pending;
    this.pending = undefined;
    if (!rest) return [];
    this.classify(rest);
    return this.keep || RESET.test(rest.toString('latin1')) ? [rest] : [];
  }

  /** A line that starts a database's section switches what is kept. */
  private classify(line: Buffer): void {
    if (line.length < MARKER.length || !line.subarray(0, MARKER.length).equals(MARKER)) return;
    const rest = line.subarray(MARKER.length).toString('utf8');
    // The name ends at the first backtick that is not a doubled one (`` inside a name).
    let name = '';
    let i = 0;
    for (; i < rest.length; i++) {
      if (rest[i] !== '`') name += rest[i];
      else if (rest[i + 1] === '`') name += rest[i++];
      else break;
    }
    if (i >= rest.length) return;
    this.seen.push(name);
    this.keep = this.selected.has(name);
  }
}
