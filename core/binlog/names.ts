/**
 * Binlog file names: `{basename}.{sequence}`, the sequence at least six digits
 * (`binlog.000123`, `mysql-bin.001`, `mariadb-bin.1000000`). Order comes from the sequence,
 * never from upload time.
 */
export interface BinlogName {
  name: string;
  base: string;
  sequence: number;
}

export const parseBinlogName = (name: string): BinlogName | undefined => {
  const match = /^(.+)\.(\d+)$/.exec(name);
  if (!match?.[1] || !match[2]) return undefined;
  return { name, base: match[1], sequence: Number.parseInt(match[2], 10) };
};

/** The names strictly between two binlogs of one base, for naming what is missing. */
export const namesBetween = (after: BinlogName, before: BinlogName): string[] => {
  const width = after.name.length - after.base.length - 1;
  const names: string[] = [];
  for (let seq = after.sequence + 1; seq < before.sequence; seq++) {
    names.push(`${after.base}.${String(seq).padStart(width, '0')}`);
  }
  return names;
};

export const compareBinlogNames = (a: BinlogName, b: BinlogName): number =>
  a.base === b.base ? a.sequence - b.sequence : a.base < b.base ? -1 : 1;
