/**
 * TABLE_MAP and ROWS event bodies (MySQL 5.1+ and MariaDB, v1 and v2 rows events): the layout of a
 * table as a TABLE_MAP declares it, and a walk over the row images of a rows event that checks every
 * row ends where its columns say, and the last row where the event ends. Layouts as the servers'
 * own readers decode them (MySQL `Table_map_event`, `Rows_event`, `table_def`, `calc_field_size`;
 * MariaDB `Table_map_log_event`, `Rows_log_event`).
 */

/** Column types as the servers number them (`enum_field_types`). */
export const ColumnType = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  /** MariaDB's compressed columns: laid out as VARCHAR and BLOB, their data compressed. */
  VARCHAR_COMPRESSED: 140,
  BLOB_COMPRESSED: 141,
  VECTOR: 242,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

const T = ColumnType;

/**
 * How a column's value is laid out in a row image, as one number (the walk over millions of rows
 * reads it per value): n >= 0, a fixed size of n bytes; -1 to -4, a little-endian length of that
 * many bytes followed by that many bytes; UNKNOWN, a layout this reader is not sure of.
 */
type Layout = number;
const UNKNOWN = -128;
const fixed = (bytes: number): Layout => bytes;
const lengthPrefixed = (bytes: number): Layout => -bytes;

export interface TableDef {
  /** The table's database and name, as the TABLE_MAP event gives them. */
  database: string;
  name: string;
  columns: number;
  /** Per column, how its values are laid out (see Layout). */
  layouts: Int32Array;
  /** Per column, the most bytes a length-prefixed value can have (a VARCHAR's or CHAR's size); 0: no bound checked. */
  maxima: Int32Array;
}

/** A problem in an event's structure; the message says what does not fit. */
export class Malformed extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'Malformed';
  }
}

/** Bytes of metadata a column type carries in a TABLE_MAP, or undefined for a type this reader does not know. */
const metadataBytes = (type: number): number | undefined => {
  switch (type) {
    case T.TINY_BLOB:
    case T.BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB_COMPRESSED:
    case T.DOUBLE:
    case T.FLOAT:
    case T.GEOMETRY:
    case T.JSON:
    case T.VECTOR:
    case T.TIME2:
    case T.DATETIME2:
    case T.TIMESTAMP2:
      return 1;
    case T.SET:
    case T.ENUM:
    case T.STRING:
    case T.BIT:
    case T.VARCHAR:
    case T.VARCHAR_COMPRESSED:
    case T.NEWDECIMAL:
      return 2;
    case T.TINY:
    case T.SHORT:
    case T.LONG:
    case T.LONGLONG:
    case T.INT24:
    case T.NULL:
    case T.YEAR:
    case T.DATE:
    case T.NEWDATE:
    case T.TIME:
    case T.DATETIME:
    case T.TIMESTAMP:
      return 0;
    default:
      return undefined;
  }
};

const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/** Bytes of a DECIMAL(precision, scale) in its binary form (`decimal_bin_size`). */
export const decimalBinarySize = (precision: number, scale: number): number => {
  const intg = precision - scale;
  const intg0 = Math.floor(intg / 9);
  const frac0 = Math.floor(scale / 9);
  return intg0 * 4 + (DIG2BYTES[intg - intg0 * 9] ?? 0) + frac0 * 4 + (DIG2BYTES[scale - frac0 * 9] ?? 0);
};

/**
 * A column's value layout from its type and metadata bytes, or UNKNOWN when the layout is not
 * certain. Throws Malformed for metadata no server writes.
 */
const layoutOf = (type: number, meta: Buffer, flavor: 'mysql' | 'mariadb' | undefined, column: number): Layout => {
  const m0 = meta[0] ?? 0;
  const m1 = meta[1] ?? 0;
  switch (type) {
    case T.TINY:
    case T.YEAR:
      return fixed(1);
    case T.SHORT:
      return fixed(2);
    case T.INT24:
    case T.DATE:
    case T.NEWDATE:
      return fixed(3);
    case T.LONG:
      return fixed(4);
    case T.LONGLONG:
      return fixed(8);
    case T.NULL:
      return fixed(0);
    // MariaDB's own high-resolution temporal formats (tables from 5.3–10.0) keep these type codes
    // with other sizes: only MySQL's are certain.
    case T.TIMESTAMP:
      return flavor === 'mysql' ? fixed(4) : UNKNOWN;
    case T.TIME:
      return flavor === 'mysql' ? fixed(3) : UNKNOWN;
    case T.DATETIME:
      return flavor === 'mysql' ? fixed(8) : UNKNOWN;
    case T.FLOAT:
      if (m0 !== 4) throw new Malformed(`column ${column}: FLOAT with a size of ${m0} bytes`);
      return fixed(4);
    case T.DOUBLE:
      if (m0 !== 8) throw new Malformed(`column ${column}: DOUBLE with a size of ${m0} bytes`);
      return fixed(8);
    case T.TIMESTAMP2:
    case T.DATETIME2:
    case T.TIME2: {
      if (m0 > 6) throw new Malformed(`column ${column}: ${m0} fractional digits (at most 6)`);
      const base = type === T.TIMESTAMP2 ? 4 : type === T.DATETIME2 ? 5 : 3;
      return fixed(base + Math.floor((m0 + 1) / 2));
    }
    case T.NEWDECIMAL: {
      // Metadata is precision then scale; MariaDB allows a scale up to 38, MySQL 30.
      if (m0 < 1 || m0 > 65 || m1 > 38 || m1 > m0) throw new Malformed(`column ${column}: DECIMAL(${m0},${m1})`);
      return fixed(decimalBinarySize(m0, m1));
    }
    case T.BIT: {
      // Metadata is the bits past whole bytes, then the whole bytes.
      if (m0 > 7 || m1 > 8 || (m1 === 8 && m0 > 0) || (m0 === 0 && m1 === 0)) throw new Malformed(`column ${column}: BIT with metadata ${m0},${m1}`);
      return fixed(m1 + (m0 > 0 ? 1 : 0));
    }
    case T.VARCHAR:
    case T.VARCHAR_COMPRESSED: {
      const max = m0 | (m1 << 8);
      return lengthPrefixed(max > 255 ? 2 : 1);
    }
    case T.TINY_BLOB:
    case T.BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB_COMPRESSED:
    case T.JSON:
    case T.GEOMETRY:
    case T.VECTOR:
      if (m0 < 1 || m0 > 4) throw new Malformed(`column ${column}: a ${m0}-byte length prefix (1 to 4)`);
      return lengthPrefixed(m0);
    case T.ENUM:
    case T.SET:
    case T.STRING: {
      // m0 is the real type, with bits 4–5 flipped to carry bits 8–9 of a CHAR's length over 255.
      if (m0 === T.ENUM) {
        if (m1 !== 1 && m1 !== 2) throw new Malformed(`column ${column}: ENUM of ${m1} bytes`);
        return fixed(m1);
      }
      if (m0 === T.SET) {
        if (m1 < 1 || (m1 > 4 && m1 !== 8)) throw new Malformed(`column ${column}: SET of ${m1} bytes`);
        return fixed(m1);
      }
      if ((m0 | 0x30) !== T.STRING) return UNKNOWN;
      const max = (((m0 & 0x30) ^ 0x30) << 4) + m1;
      return lengthPrefixed(max > 255 ? 2 : 1);
    }
    default:
      return UNKNOWN;
  }
};

/** A packed integer (`net_field_length`) at `pos`, and where the next field starts. */
export const readPacked = (buf: Buffer, pos: number, end: number, what: string): { value: number; next: number } => {
  if (pos >= end) throw new Malformed(`${what} runs past the end of the event`);
  const first = buf[pos] ?? 0;
  if (first < 251) return { value: first, next: pos + 1 };
  const width = first === 252 ? 2 : first === 253 ? 3 : first === 254 ? 8 : 0;
  if (width === 0) throw new Malformed(`${what} has the invalid length prefix 0x${first.toString(16)}`);
  if (pos + 1 + width > end) throw new Malformed(`${what} runs past the end of the event`);
  const value = width === 8 ? Number(buf.readBigUInt64LE(pos + 1)) : buf.readUIntLE(pos + 1, width);
  return { value, next: pos + 1 + width };
};

/** The bytes of a NUL-terminated name of `length` bytes at `pos`: checks it fits and ends with its NUL. */
const terminatedName = (buf: Buffer, pos: number, length: number, end: number, what: string): number => {
  if (pos + length + 1 > end) throw new Malformed(`${what} of ${length} bytes does not fit in the event`);
  if (buf[pos + length] !== 0) throw new Malformed(`${what} of ${length} bytes does not end with its NUL`);
  return pos + length + 1;
};

/** Optional metadata field types (MySQL 8.0 `binlog_row_metadata`, MariaDB 10.5+). */
const COLUMN_NAME = 4;

/**
 * Checks a TABLE_MAP body and returns its table id and layout. `postHeader` is the FDE's post-header
 * length for TABLE_MAP (6 on servers older than 5.1.4, whose table ids are 4 bytes).
 */
export const parseTableMap = (
  body: Buffer,
  postHeader: number,
  flavor: 'mysql' | 'mariadb' | undefined,
): { tableId: number; table: TableDef } => {
  const end = body.length;
  if (end < postHeader) throw new Malformed(`${end} bytes, shorter than its ${postHeader}-byte post-header`);
  const tableId = postHeader === 6 ? body.readUInt32LE(0) : body.readUIntLE(0, 6);
  let pos = postHeader;
  const db = readPacked(body, pos, end, 'the database name length');
  pos = terminatedName(body, db.next, db.value, end, 'the database name');
  const name = readPacked(body, pos, end, 'the table name length');
  const names = { database: body.toString('utf8', db.next, db.next + db.value), name: body.toString('utf8', name.next, name.next + name.value) };
  pos = terminatedName(body, name.next, name.value, end, 'the table name');
  const count = readPacked(body, pos, end, 'the column count');
  const columns = count.value;
  if (columns === 0 || columns > 4096) throw new Malformed(`${columns} columns (1 to 4096)`);
  pos = count.next;
  if (pos + columns > end) throw new Malformed(`${columns} column types do not fit in the event`);
  const types = body.subarray(pos, pos + columns);
  pos += columns;
  const layouts = new Int32Array(columns).fill(UNKNOWN);
  const maxima = new Int32Array(columns);
  if (pos === end) {
    // Servers before 5.1.18 wrote no metadata: only fixed-size columns can be walked.
    for (let c = 0; c < columns; c++) {
      const type = types[c] ?? 0;
      if (metadataBytes(type) === 0) layouts[c] = layoutOf(type, Buffer.alloc(0), flavor, c);
    }
    return { tableId, table: { database: names.database, name: names.name, columns, layouts, maxima } };
  }
  const metaLength = readPacked(body, pos, end, 'the metadata length');
  pos = metaLength.next;
  const metaEnd = pos + metaLength.value;
  if (metaEnd > end) throw new Malformed(`${metaLength.value} bytes of column metadata do not fit in the event`);
  let m = pos;
  let sized = true;
  for (let c = 0; c < columns; c++) {
    const type = types[c] ?? 0;
    const bytes = metadataBytes(type);
    // A type this reader does not know: its metadata size, and every later column's, is unknown.
    if (bytes === undefined) {
      sized = false;
      break;
    }
    if (m + bytes > metaEnd) throw new Malformed(`the column metadata is ${metaLength.value} bytes, too short for the column types`);
    const meta = body.subarray(m, m + bytes);
    layouts[c] = layoutOf(type, meta, flavor, c);
    maxima[c] = maximum(type, meta);
    m += bytes;
  }
  if (sized && m !== metaEnd) throw new Malformed(`the column metadata is ${metaLength.value} bytes where the column types take ${m - pos}`);
  pos = metaEnd;
  const nullBytes = (columns + 7) >> 3;
  if (pos + nullBytes > end) throw new Malformed(`the NULL-able bitmap of ${nullBytes} bytes does not fit in the event`);
  pos += nullBytes;
  // Optional metadata: fields of a type byte, a packed length and that many bytes, to the end.
  while (pos < end) {
    const type = body[pos] ?? 0;
    const length = readPacked(body, pos + 1, end, `optional metadata field ${type}'s length`);
    const fieldEnd = length.next + length.value;
    if (fieldEnd > end) throw new Malformed(`optional metadata field ${type} of ${length.value} bytes does not fit in the event`);
    if (type === COLUMN_NAME) {
      let p = length.next;
      while (p < fieldEnd) {
        const nameLength = readPacked(body, p, fieldEnd, 'a column name length');
        p = nameLength.next + nameLength.value;
      }
      if (p !== fieldEnd) throw new Malformed('the column names run past their field');
    }
    pos = fieldEnd;
  }
  return { tableId, table: { database: names.database, name: names.name, columns, layouts, maxima } };
};

/**
 * The most bytes a VARCHAR or CHAR value can have: the column's size in bytes, which its metadata
 * states (a CHAR's bits 8–9 ride in its real-type byte). MariaDB's compressed columns state the
 * size before compression, so they are not bounded here.
 */
const maximum = (type: number, meta: Buffer): number => {
  const m0 = meta[0] ?? 0;
  const m1 = meta[1] ?? 0;
  if (type === T.VARCHAR) return m0 | (m1 << 8);
  if (type === T.STRING && (m0 | 0x30) === T.STRING) return (((m0 & 0x30) ^ 0x30) << 4) + m1;
  return 0;
};

/**
 * Walks the row images of a rows event from `pos` to `end`: each row is a NULL bitmap over the
 * columns present in its image, then the value of every present, non-NULL column. `images` holds
 * the present-columns bitmap of each image a row has (two for an update: before and after).
 * Returns the number of rows, or -1 when a present column's layout is unknown (nothing to check);
 * throws Malformed when a row does not end where its columns say or the last row not where the
 * event ends.
 */
export const walkRows = (body: Buffer, pos: number, end: number, table: TableDef, images: Buffer[]): number => {
  const present: Int32Array[] = [];
  const bounds: Int32Array[] = [];
  for (const bitmap of images) {
    const cols: number[] = [];
    const max: number[] = [];
    for (let c = 0; c < table.columns; c++) {
      if (!((bitmap[c >> 3] ?? 0) & (1 << (c & 7)))) continue;
      const layout = table.layouts[c] ?? UNKNOWN;
      if (layout === UNKNOWN) return -1;
      cols.push(layout);
      max.push(table.maxima[c] ?? 0);
    }
    present.push(Int32Array.from(cols));
    bounds.push(Int32Array.from(max));
  }
  let rows = 0;
  while (pos < end) {
    for (let image = 0; image < present.length; image++) {
      const cols = present[image] as Int32Array;
      const max = bounds[image] as Int32Array;
      const count = cols.length;
      const nulls = pos;
      pos += (count + 7) >> 3;
      if (pos > end) throw new Malformed(`row ${rows + 1}: its NULL bitmap runs past the end of the event`);
      if (count & 7) {
        // The bits past the last column: ones from MySQL 5.x and MariaDB, zeros from MySQL 8.0+.
        const padding = 0xff & ~((1 << (count & 7)) - 1);
        const last = (body[pos - 1] as number) & padding;
        if (last !== padding && last !== 0) throw new Malformed(`row ${rows + 1}: its NULL bitmap's unused bits are mixed (0x${(body[pos - 1] as number).toString(16)} for ${count} columns)`);
      }
      for (let k = 0; k < count; k++) {
        if ((body[nulls + (k >> 3)] as number) & (1 << (k & 7))) continue;
        const layout = cols[k] as number;
        if (layout >= 0) {
          pos += layout;
          continue;
        }
        const n = -layout;
        if (pos + n > end) throw new Malformed(`row ${rows + 1}: a value's length runs past the end of the event`);
        const length = n === 1 ? (body[pos] as number) : body.readUIntLE(pos, n);
        const bound = max[k] as number;
        if (bound > 0 && length > bound) throw new Malformed(`row ${rows + 1}: a value of ${length} bytes in a column of at most ${bound}`);
        pos += n + length;
      }
      if (pos > end) throw new Malformed(`row ${rows + 1}: its values run past the end of the event by ${pos - end} ${pos - end === 1 ? 'byte' : 'bytes'}`);
    }
    rows++;
  }
  return rows;
};
