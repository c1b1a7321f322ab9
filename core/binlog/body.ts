import { inflateSync } from 'node:zlib';
import { EventType } from './events.js';
import { decimalBinarySize, Malformed, parseTableMap, readPacked, walkRows, type TableDef } from './rows.js';

/**
 * Structural checks of event bodies: every length field fits its event, counts and bitmaps agree
 * with the TABLE_MAP they refer to, strings end where they say. What a binlog without checksums
 * (binlog_checksum=NONE, every file of MySQL 5.5 and older) has instead of a CRC. Layouts as the
 * servers' own readers decode them (MySQL libbinlogevents / libs/mysql/binlog/event, MariaDB
 * sql/log_event.cc); a field a server may legitimately add later (an unknown status variable,
 * an unknown optional-metadata type) ends the check of that event, never fails it.
 */

const { QUERY, ROTATE, XID, GTID, ANONYMOUS_GTID, PREVIOUS_GTIDS, GTID_TAGGED, MARIADB_GTID, MARIADB_GTID_LIST, MARIADB_BINLOG_CHECKPOINT } = EventType;
const INTVAR = 5;
const APPEND_BLOCK = 9;
const RAND = 13;
const USER_VAR = 14;
const BEGIN_LOAD_QUERY = 17;
const EXECUTE_LOAD_QUERY = 18;
const TABLE_MAP = 19;
const INCIDENT = 26;
const XA_PREPARE = 38;
const PARTIAL_UPDATE_ROWS = 39;
const TRANSACTION_PAYLOAD = 40;
const MARIADB_QUERY_COMPRESSED = 165;

/** Rows events: v1 (23–25), v2 (30–32), MySQL's partial JSON update (39), MariaDB's compressed v1 (166–168) and v2 (169–171). */
const ROWS = new Set([23, 24, 25, 30, 31, 32, PARTIAL_UPDATE_ROWS, 166, 167, 168, 169, 170, 171]);
/** Rows events whose rows carry a before and an after image. */
const UPDATES = new Set([24, 31, PARTIAL_UPDATE_ROWS, 167, 170]);
const COMPRESSED_ROWS = new Set([166, 167, 168, 169, 170, 171]);
/** Rows event flag: the last rows event of its statement; the applier forgets the statement's table maps after it. */
const STMT_END_F = 0x1;
/** The table id of the dummy end-of-statement rows event some servers write without a TABLE_MAP. */
const DUMMY_TABLE_IDS = new Set([0xffffff, 0xffffffff, 0xffffffffffff]);

/** Events whose bodies are checked. */
export const CHECKED_EVENTS = new Set<number>([
  QUERY,
  ROTATE,
  INTVAR,
  APPEND_BLOCK,
  RAND,
  USER_VAR,
  XID,
  BEGIN_LOAD_QUERY,
  EXECUTE_LOAD_QUERY,
  TABLE_MAP,
  INCIDENT,
  GTID,
  ANONYMOUS_GTID,
  PREVIOUS_GTIDS,
  XA_PREPARE,
  TRANSACTION_PAYLOAD,
  GTID_TAGGED,
  MARIADB_BINLOG_CHECKPOINT,
  MARIADB_GTID,
  MARIADB_GTID_LIST,
  MARIADB_QUERY_COMPRESSED,
  ...ROWS,
]);

/** Thrown when a check needs bytes beyond the part of a very large event that was kept: nothing more to check. */
class Unseen extends Error {}

/** The zstd frame magic, little-endian: every compressed TRANSACTION_PAYLOAD starts with it. */
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** What the checks of one event found, beyond whether it is sound. */
export interface BodyCheck {
  /** The problem with the event's structure, when it has one. */
  problem?: string;
  /** A GTID event's transaction length: where the next transaction must start, from this event's start. */
  transactionLength?: number;
}

/** What a statement or a table map names. */
export interface EventNames {
  /** A statement's default database (`USE`), empty when none. */
  database?: string;
  statement?: string;
  /** The table a TABLE_MAP maps. */
  table?: { database: string; name: string };
}

/** The format the events that follow were written in, from the last FORMAT_DESCRIPTION event. */
export interface EventFormat {
  /** Post-header length per event type (index type − 1). */
  postHeader: Buffer;
  flavor: 'mysql' | 'mariadb' | undefined;
  /** MySQL's major version (0 for MariaDB): a GTID event of a version this reader knows ends with its last known field. */
  mysqlMajor: number;
  /** MySQL ≥ 5.6 or MariaDB ≥ 10.0: an INT USER_VAR ends with exactly one flags byte. */
  userVarFlags: boolean;
}

/**
 * Checks event bodies in file order; keeps the table maps of the statement being read, which the
 * rows events after them must match.
 */
export class BodyChecker {
  /** Table maps of the statement being read; null for one whose TABLE_MAP was itself malformed. */
  private readonly tables = new Map<number, TableDef | null>();
  /** A relay log may begin in the middle of a transaction whose table maps are in the previous file. */
  public relay = false;

  public constructor(private format: EventFormat | undefined = undefined) {}

  public setFormat(format: EventFormat): void {
    this.format = format;
  }

  /**
   * What an event names, for a listener that wants it: a statement's default database and text
   * (QUERY, EXECUTE_LOAD_QUERY, MariaDB's compressed QUERY; of a very large event, its first part),
   * or the database and table a TABLE_MAP maps. Undefined for other events, or one it cannot read.
   */
  public describe(type: number, view: Buffer, length: number): EventNames | undefined {
    const format = this.format;
    if (!format) return undefined;
    const post = format.postHeader[type - 1] ?? 0;
    try {
      if (type === QUERY || type === EXECUTE_LOAD_QUERY || type === MARIADB_QUERY_COMPRESSED) {
        if (post < 13 || view.length < post) return undefined;
        const dbLength = view[8] ?? 0;
        const dbStart = post + view.readUInt16LE(11);
        const queryStart = dbStart + dbLength + 1;
        if (queryStart > view.length) return undefined;
        const text = view.subarray(queryStart, Math.min(length, view.length));
        const statement = type === MARIADB_QUERY_COMPRESSED ? inflate(text, 'statement') : text;
        return { database: view.toString('utf8', dbStart, dbStart + dbLength), statement: statement.toString('utf8') };
      }
      if (type === TABLE_MAP) {
        const { table } = parseTableMap(view.subarray(0, Math.min(length, view.length)), post, format.flavor);
        return { table: { database: table.database, name: table.name } };
      }
    } catch {
      // Unreadable: the structure checks say why, where they apply.
    }
    return undefined;
  }

  /**
   * Checks one event's body: `view` holds the body (after the 19-byte header, before a CRC
   * trailer), or only its first bytes when the event is very large; `length` is the body's length.
   */
  public check(type: number, view: Buffer, length: number): BodyCheck {
    const format = this.format;
    if (!format) return {};
    try {
      return this.dispatch(type, view, length, format) ?? {};
    } catch (error) {
      if (error instanceof Malformed) return { problem: error.message };
      if (error instanceof Unseen) return {};
      // A read past the body that no check above guarded: the body is too short for its fields.
      if (error instanceof RangeError) return { problem: `a ${length}-byte body, too short for its fields` };
      // Anything else is a bug in a check: let it show rather than pass for corruption.
      throw error;
    }
  }

  private dispatch(type: number, view: Buffer, length: number, format: EventFormat): BodyCheck | undefined {
    const post = (t: number): number => format.postHeader[t - 1] ?? 0;
    const need = (end: number): void => {
      if (end > length) throw new Malformed(`a ${length}-byte body, too short for its fields`);
      if (end > view.length) throw new Unseen();
    };
    if (ROWS.has(type)) return this.rows(type, view, length, post(type), need);
    switch (type) {
      case QUERY:
      case EXECUTE_LOAD_QUERY:
      case MARIADB_QUERY_COMPRESSED:
        return query(type, view, length, post(type), need);
      case TABLE_MAP: {
        need(length);
        try {
          const { tableId, table } = parseTableMap(view.subarray(0, length), post(TABLE_MAP), format.flavor);
          this.tables.set(tableId, table);
        } catch (error) {
          // Its rows events would only repeat that the table map is bad.
          if (length >= 6) this.tables.set(post(TABLE_MAP) === 6 ? view.readUInt32LE(0) : view.readUIntLE(0, 6), null);
          throw error;
        }
        return undefined;
      }
      case XID:
        exactly(length, post(XID) + 8);
        return undefined;
      case INTVAR: {
        exactly(length, post(INTVAR) + 9);
        need(length);
        const kind = view[post(INTVAR)] ?? 0;
        if (kind !== 1 && kind !== 2) throw new Malformed(`variable type ${kind} (LAST_INSERT_ID is 1, INSERT_ID 2)`);
        return undefined;
      }
      case RAND:
        exactly(length, post(RAND) + 16);
        return undefined;
      case USER_VAR:
        return userVar(view, length, post(USER_VAR), format.userVarFlags, need);
      case ROTATE:
        return rotate(view, length, post(ROTATE), need);
      case APPEND_BLOCK:
      case BEGIN_LOAD_QUERY:
        // A file id, then the block of the loaded file: any bytes.
        if (length < 4) throw new Malformed(`${length} bytes, too short for its file id`);
        return undefined;
      case INCIDENT:
        return incident(view, length, post(INCIDENT), need);
      case XA_PREPARE:
        return xaPrepare(view, length, post(XA_PREPARE), need);
      case GTID:
      case ANONYMOUS_GTID:
        return mysqlGtid(type, view, length, post(type), format.mysqlMajor <= 9, need);
      case GTID_TAGGED:
        return taggedGtid(view, length, need);
      case PREVIOUS_GTIDS:
        need(length);
        previousGtids(view.subarray(post(PREVIOUS_GTIDS), length));
        return undefined;
      case TRANSACTION_PAYLOAD:
        return transactionPayload(view, length, need);
      case MARIADB_GTID:
        return mariadbGtid(view, length, post(MARIADB_GTID), need);
      case MARIADB_GTID_LIST: {
        need(4);
        const count = view.readUInt32LE(0) & 0x0fffffff;
        if (length !== padded(4 + 16 * count)) throw new Malformed(`a list of ${count} GTIDs takes ${4 + 16 * count} bytes, the event has ${length}`);
        return undefined;
      }
      case MARIADB_BINLOG_CHECKPOINT: {
        need(4);
        const nameLength = view.readUInt32LE(0);
        if (padded(4 + nameLength) !== length) throw new Malformed(`a file name of ${nameLength} bytes where the event has ${length - 4}`);
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private rows(type: number, view: Buffer, length: number, post: number, need: (end: number) => void): BodyCheck | undefined {
    // 6: servers before 5.1.4 (4-byte table ids); 8: v1; 10: v2 with its variable header.
    if (post !== 6 && post !== 8 && post !== 10) return undefined;
    need(post);
    const tableId = post === 6 ? view.readUInt32LE(0) : view.readUIntLE(0, 6);
    const flags = view.readUInt16LE(post === 6 ? 4 : 6);
    let pos = post;
    if (post === 10) {
      const extra = view.readUInt16LE(8);
      if (extra < 2) throw new Malformed(`an extra-row-info length of ${extra} (it counts its own 2 bytes)`);
      const end = 10 + extra - 2;
      need(end);
      extraRowInfo(view, pos, end, UPDATES.has(type));
      pos = end;
    }
    const width = packed(view, pos, length, need, 'the column count');
    const dummy = DUMMY_TABLE_IDS.has(tableId) && (flags & STMT_END_F) !== 0;
    if ((width.value === 0 || width.value > 4096) && !dummy) throw new Malformed(`${width.value} columns (1 to 4096)`);
    const bitmapBytes = (width.value + 7) >> 3;
    const images = UPDATES.has(type) ? 2 : 1;
    const rowsStart = width.next + images * bitmapBytes;
    if (rowsStart > length) throw new Malformed(`the column bitmaps of ${width.value} columns do not fit in the event`);
    const table = this.tables.get(tableId);
    if (flags & STMT_END_F) this.tables.clear();
    if (table === null) return undefined;
    if (!table) {
      if (this.relay || dummy) return undefined;
      throw new Malformed(`table id ${tableId} has no TABLE_MAP before it in its statement`);
    }
    if (table.columns !== width.value) throw new Malformed(`${width.value} columns where the TABLE_MAP of table id ${tableId} has ${table.columns}`);
    // MySQL's partial JSON updates carry a diff format in the after image: not walked.
    if (type === PARTIAL_UPDATE_ROWS) return undefined;
    need(length);
    const bitmaps = [view.subarray(width.next, width.next + bitmapBytes)];
    if (images === 2) bitmaps.push(view.subarray(width.next + bitmapBytes, rowsStart));
    if (COMPRESSED_ROWS.has(type)) {
      const rows = inflate(view.subarray(rowsStart, length), 'rows');
      walkRows(rows, 0, rows.length, table, bitmaps);
    } else walkRows(view, rowsStart, length, table, bitmaps);
    return undefined;
  }
}

/**
 * MariaDB writes its own events at least 25 bytes long (a 6-byte body), so that a master can
 * replace one with a dummy event for a replica too old to know it.
 */
const padded = (body: number): number => Math.max(body, 6);

const exactly = (length: number, expected: number): void => {
  if (length !== expected) throw new Malformed(`a ${length}-byte body where it has ${expected} bytes`);
};

/** A packed integer read within a view, which may be a kept prefix of a larger body. */
const packed = (view: Buffer, pos: number, length: number, need: (end: number) => void, what: string): { value: number; next: number } => {
  need(pos + 1);
  const first = view[pos] ?? 0;
  need(pos + (first < 251 ? 1 : first === 252 ? 3 : first === 253 ? 4 : 9));
  return readPacked(view, pos, length, what);
};

/** Status variables of a QUERY event whose length this reader knows, by code; others end the block's check. */
const statusVariable = (code: number, view: Buffer, pos: number, end: number): number => {
  const fixed = STATUS_FIXED[code];
  if (fixed !== undefined) return pos + fixed;
  switch (code) {
    case 2: // Q_CATALOG_CODE (MySQL 5.0.0–5.0.3): length, name, NUL
    case 6: {
      // Q_CATALOG_NZ_CODE: length, name. The only catalog there ever was is "std".
      if (pos >= end) return pos + 1;
      const next = pos + 1 + (view[pos] ?? 0) + (code === 2 ? 1 : 0);
      if (next <= end && (view[pos] !== 3 || view.toString('latin1', pos + 1, pos + 4) !== 'std')) throw new Malformed(`a catalog name of ${view[pos] ?? 0} bytes that is not "std"`);
      return next;
    }
    case 5: {
      // Q_TIME_ZONE_CODE: length, name (a time zone name or offset: printable ASCII).
      if (pos >= end) return pos + 1;
      const next = pos + 1 + (view[pos] ?? 0);
      for (let p = pos + 1; p < Math.min(next, end); p++) {
        const c = view[p] ?? 0;
        if (c < 0x20 || c > 0x7e) throw new Malformed(`a time zone name of ${view[pos] ?? 0} bytes with the byte 0x${c.toString(16)} in it`);
      }
      return next;
    }
    case 11: {
      // Q_INVOKER: user and host, each a length and bytes
      if (pos >= end) return pos + 1;
      const host = pos + 1 + (view[pos] ?? 0);
      return host < end ? host + 1 + (view[host] ?? 0) : host + 1;
    }
    case 12: {
      // Q_UPDATED_DB_NAMES: a count, then that many NUL-terminated names, or 254 (too many to list).
      if (pos >= end) return pos + 1;
      const count = view[pos] ?? 0;
      if (count === 254) return pos + 1;
      if (count === 0 || count > 16) throw new Malformed(`the updated-databases count is ${count} (1 to 16, or 254)`);
      let p = pos + 1;
      for (let k = 0; k < count; k++) {
        const nul = view.indexOf(0, p);
        if (nul < 0 || nul >= end) throw new Malformed(`updated database ${k + 1} of ${count} does not end within the status variables`);
        p = nul + 1;
      }
      return p;
    }
    default:
      return -1;
  }
};

/** Fixed-size status variables: MySQL codes 0–20 and MariaDB's 128–129. */
const STATUS_FIXED: Record<number, number> = { 0: 4, 1: 8, 3: 4, 4: 6, 7: 2, 8: 2, 9: 8, 10: 4, 13: 3, 16: 1, 17: 8, 18: 2, 19: 1, 20: 1, 128: 3, 129: 8 };

/** QUERY (and EXECUTE_LOAD_QUERY, MariaDB's QUERY_COMPRESSED): status variables, the database name and its NUL, the statement. */
const query = (type: number, view: Buffer, length: number, post: number, need: (end: number) => void): undefined => {
  // Post-header: thread id 4, exec time 4, db length 1, error code 2, status variables length 2.
  if (post < 13) return undefined;
  if (length < post) throw new Malformed(`${length} bytes, shorter than its ${post}-byte post-header`);
  need(post);
  const dbLength = view[8] ?? 0;
  const statusLength = view.readUInt16LE(11);
  const dbStart = post + statusLength;
  if (dbStart > length) throw new Malformed(`the status variables length ${statusLength} does not fit in the event's ${length}-byte body`);
  need(dbStart);
  for (let pos = post; pos < dbStart; ) {
    const next = statusVariable(view[pos] ?? 0, view, pos + 1, dbStart);
    if (next < 0) break;
    if (next > dbStart) throw new Malformed(`status variable ${view[pos] ?? 0} runs past the ${statusLength}-byte status block`);
    pos = next;
  }
  const queryStart = dbStart + dbLength + 1;
  if (queryStart > length) throw new Malformed(`the database name of ${dbLength} bytes does not fit in the event`);
  need(queryStart);
  if (view[dbStart + dbLength] !== 0) throw new Malformed(`the database name of ${dbLength} bytes does not end with its NUL`);
  const queryLength = length - queryStart;
  if (type === EXECUTE_LOAD_QUERY) {
    // After the query post-header: file id 4, file name start 4, end 4, duplicates handling 1.
    if (post < 26) return undefined;
    const start = view.readUInt32LE(17);
    const end = view.readUInt32LE(21);
    const duplicates = view[25] ?? 0;
    if (start > end || end > queryLength) throw new Malformed(`the file name at ${start}–${end} is not within the ${queryLength}-byte statement`);
    if (duplicates > 2) throw new Malformed(`duplicates handling ${duplicates} (0 to 2)`);
  }
  if (type === MARIADB_QUERY_COMPRESSED) {
    need(length);
    inflate(view.subarray(queryStart, length), 'statement');
  }
  return undefined;
};

/**
 * MariaDB's compressed field: a byte 0x80 | n, the uncompressed length in n big-endian bytes, then
 * a zlib stream of exactly that many bytes.
 */
const inflate = (field: Buffer, what: string): Buffer => {
  const head = field[0] ?? 0;
  const lengthBytes = head & 0x07;
  if ((head & 0xe0) !== 0x80 || lengthBytes < 1 || lengthBytes > 4 || field.length < 1 + lengthBytes) {
    throw new Malformed(`the compressed ${what} does not start with a compression header`);
  }
  const expected = field.readUIntBE(1, lengthBytes);
  let out: Buffer;
  try {
    out = inflateSync(field.subarray(1 + lengthBytes));
  } catch (error) {
    throw new Malformed(`cannot inflate the compressed ${what} (${(error as Error).message})`);
  }
  if (out.length !== expected) throw new Malformed(`the compressed ${what} inflates to ${out.length} bytes where its header says ${expected}`);
  return out;
};

/** USER_VAR: name length 4, name, is-NULL 1; then type 1, charset 4, value length 4, value, and (newer servers) a flags byte. */
const userVar = (view: Buffer, length: number, post: number, flagsByte: boolean, need: (end: number) => void): undefined => {
  need(post + 4);
  const nameLength = view.readUInt32LE(post);
  if (nameLength === 0) throw new Malformed('a variable with an empty name');
  const nullAt = post + 4 + nameLength;
  if (nullAt + 1 > length) throw new Malformed(`the variable name of ${nameLength} bytes does not fit in the event`);
  need(nullAt + 1);
  if (view[nullAt] !== 0) {
    if (length - (nullAt + 1) > 1) throw new Malformed(`${length - (nullAt + 1)} bytes after a NULL value`);
    return undefined;
  }
  const valueAt = nullAt + 10;
  if (valueAt > length) throw new Malformed('the value type, charset and length do not fit in the event');
  need(valueAt);
  const type = view[nullAt + 1] ?? 0;
  const valueLength = view.readUInt32LE(nullAt + 6);
  const rest = length - valueAt - valueLength;
  if (rest < 0) throw new Malformed(`the value of ${valueLength} bytes does not fit in the event`);
  // Newer servers follow an INT value with its flags byte (UNSIGNED_F); other values may have one.
  const flagsRequired = flagsByte && type === 2;
  if (rest > 1 || (flagsRequired && rest !== 1)) {
    throw new Malformed(`${rest} bytes after the value of ${valueLength} bytes where ${flagsRequired ? 'one flags byte' : 'at most a flags byte'} follows`);
  }
  // STRING_RESULT 0, REAL_RESULT 1, INT_RESULT 2, DECIMAL_RESULT 4 (ROW_RESULT 3 has no value).
  if (type === 1 || type === 2) {
    if (valueLength !== 8) throw new Malformed(`${type === 1 ? 'a REAL' : 'an INT'} value of ${valueLength} bytes (8)`);
  } else if (type === 4) {
    // Precision and scale, then the number in binary form: exactly its size for that precision.
    need(valueAt + 2);
    const precision = view[valueAt] ?? 0;
    const scale = view[valueAt + 1] ?? 0;
    const expected = scale <= precision ? 2 + decimalBinarySize(precision, scale) : -1;
    if (valueLength !== expected) throw new Malformed(`a DECIMAL(${precision},${scale}) value of ${valueLength} bytes${expected > 0 ? ` (${expected})` : ''}`);
  } else if (type !== 0) throw new Malformed(`value type ${type}`);
  return undefined;
};

/** ROTATE: position 8, then the next file's name (no NUL, at most FN_REFLEN − 1 bytes). */
const rotate = (view: Buffer, length: number, post: number, need: (end: number) => void): undefined => {
  if (length <= post) throw new Malformed(`${length} bytes: no file name after its ${post}-byte post-header`);
  need(length);
  const name = view.subarray(post, length);
  if (name.length > 511) throw new Malformed(`a file name of ${name.length} bytes (at most 511)`);
  if (name.includes(0)) throw new Malformed('a NUL byte in the file name');
  if (post >= 8 && view.readBigUInt64LE(0) < 4n) throw new Malformed(`position ${view.readBigUInt64LE(0)} (a file's first event is at 4)`);
  return undefined;
};

/** INCIDENT: incident number 2, then a message of at most 255 bytes with its length byte. */
const incident = (view: Buffer, length: number, post: number, need: (end: number) => void): undefined => {
  need(post + 1);
  const messageLength = view[post] ?? 0;
  if (post + 1 + messageLength !== length) throw new Malformed(`a message of ${messageLength} bytes where the event has ${length - post - 1}`);
  return undefined;
};

/** XA_PREPARE: one-phase 1, format id 4, gtrid length 4, bqual length 4, then both. */
const xaPrepare = (view: Buffer, length: number, post: number, need: (end: number) => void): undefined => {
  need(post + 13);
  const gtrid = view.readUInt32LE(post + 5);
  const bqual = view.readUInt32LE(post + 9);
  if (gtrid < 1 || gtrid > 64 || bqual > 64) throw new Malformed(`an XID of gtrid length ${gtrid} and bqual length ${bqual} (at most 64 each)`);
  if (post + 13 + gtrid + bqual !== length) throw new Malformed(`an XID of ${gtrid + bqual} bytes where the event has ${length - post - 13}`);
  return undefined;
};

/** MySQL's v2 rows event extra info: NDB info (type 0, its own length byte) and partition ids (type 1). */
const extraRowInfo = (view: Buffer, pos: number, end: number, update: boolean): void => {
  while (pos < end) {
    const type = view[pos] ?? 0;
    if (type === 0) pos += 1 + (view[pos + 1] ?? 0);
    else if (type === 1) pos += 1 + (update ? 4 : 2);
    else return;
    if (pos > end) throw new Malformed('the extra row info runs past its length');
  }
};

/**
 * MySQL GTID and ANONYMOUS_GTID: flags 1, SID 16, GNO 8 (5.6); logical clock type 1, last committed
 * 8, sequence number 8 (5.7); commit timestamps 7 or 14, transaction length, server versions 4 or 8
 * (8.0), commit group ticket 8 (8.0.33+, when set).
 */
const mysqlGtid = (type: number, view: Buffer, length: number, post: number, knownVersion: boolean, need: (end: number) => void): BodyCheck | undefined => {
  need(Math.min(length, 25));
  if (length < 25) throw new Malformed(`${length} bytes, too short for a GTID`);
  const gno = view.readBigInt64LE(17);
  if (type === GTID ? gno < 1n || gno >= 0x7fffffffffffffffn : gno !== 0n) throw new Malformed(`GNO ${gno}`);
  if (length === 25 && post <= 25) return undefined;
  need(26);
  const clock = view[25] ?? 0;
  // 5.7.4 and older wrote another clock type code and shorter fields, with a 25-byte post-header.
  if (clock !== 2) {
    if (post >= 42) throw new Malformed(`logical clock type ${clock} (2)`);
    return undefined;
  }
  if (length < 42) throw new Malformed(`${length} bytes, too short for its logical clock`);
  let pos = 42;
  let transactionLength: number | undefined;
  if (length - pos >= 7) {
    need(pos + 7);
    // The high bit of the immediate commit timestamp says an original one follows.
    const original = ((view[pos + 6] ?? 0) & 0x80) !== 0;
    pos += original ? 14 : 7;
    if (pos > length) throw new Malformed('the original commit timestamp does not fit in the event');
    if (pos < length) {
      const trx = packed(view, pos, length, need, 'the transaction length');
      transactionLength = trx.value;
      pos = trx.next;
      if (length - pos >= 4) {
        need(pos + 4);
        pos += ((view[pos + 3] ?? 0) & 0x80) !== 0 ? 8 : 4;
        if (pos > length) throw new Malformed('the original server version does not fit in the event');
        if (length - pos >= 8) pos += 8;
      }
    }
  }
  if (pos !== length && knownVersion) throw new Malformed(`${length - pos} bytes after its last field`);
  return transactionLength ? { transactionLength } : undefined;
};

/** A `mysql::serialization` varlen unsigned integer: the first byte's trailing one-bits give its length. */
const varlen = (view: Buffer, pos: number, end: number): { value: bigint; next: number } => {
  if (pos >= end) throw new Malformed('a field runs past the end of the event');
  const first = view[pos] ?? 0;
  let n = 1;
  while (n < 9 && (first >> (n - 1)) & 1) n++;
  if (pos + n > end) throw new Malformed('a field runs past the end of the event');
  if (n === 9) return { value: view.readBigUInt64LE(pos + 1), next: pos + 9 };
  let value = 0n;
  for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(view[pos + i] ?? 0);
  return { value: value >> BigInt(n), next: pos + n };
};

/**
 * MySQL 8.4+ GTID_TAGGED_LOG_EVENT: format version, message size (the whole body), last
 * non-ignorable field id, then fields by id: 0 flags, 1 UUID (16 varlens), 2 GNO (zigzag), 3 tag,
 * 4–11 integers (clocks, timestamps, 8 the transaction length, server versions, ticket).
 */
const taggedGtid = (view: Buffer, length: number, need: (end: number) => void): BodyCheck | undefined => {
  need(length);
  let pos = varlen(view, 0, length).next;
  const size = varlen(view, pos, length);
  if (Number(size.value) !== length) throw new Malformed(`a message of ${size.value} bytes in a ${length}-byte event`);
  pos = varlen(view, size.next, length).next;
  let gno: bigint | undefined;
  let transactionLength: number | undefined;
  let uuid = false;
  let last = -1;
  while (pos < length) {
    const id = Number(varlen(view, pos, length).value);
    pos = varlen(view, pos, length).next;
    if (id <= last) throw new Malformed(`field ${id} after field ${last}`);
    last = id;
    if (id === 1) {
      for (let k = 0; k < 16; k++) {
        const byte = varlen(view, pos, length);
        if (byte.value > 255n) throw new Malformed(`UUID byte ${k} is ${byte.value}`);
        pos = byte.next;
      }
      uuid = true;
    } else if (id === 3) {
      const tag = varlen(view, pos, length);
      if (tag.value > 32n) throw new Malformed(`a tag of ${tag.value} bytes (at most 32)`);
      pos = tag.next + Number(tag.value);
      if (pos > length) throw new Malformed('the tag runs past the end of the event');
    } else if (id <= 11) {
      const value = varlen(view, pos, length);
      if (id === 2) gno = value.value % 2n === 0n ? value.value / 2n : -(value.value + 1n) / 2n;
      if (id === 8) transactionLength = Number(value.value);
      pos = value.next;
    } else return undefined;
  }
  if (!uuid) throw new Malformed('no UUID');
  if (gno === undefined || gno < 1n) throw new Malformed(`GNO ${gno ?? 'missing'}`);
  return transactionLength ? { transactionLength } : undefined;
};

/**
 * PREVIOUS_GTIDS: the number of SIDs (a tagged set marks it `0x01 | n << 8 | 0x01 << 56`), then per
 * SID its UUID, (tag), interval count and [start, end) intervals — to exactly the end of the event.
 */
const previousGtids = (body: Buffer): void => {
  const end = body.length;
  if (end < 8) throw new Malformed(`${end} bytes, too short for a SID count`);
  const word = body.readBigUInt64LE(0);
  const tagged = (word & 0xffn) === 1n && word >> 56n === 1n;
  const sids = Number(tagged ? (word >> 8n) & 0xffffffffffffn : word);
  let pos = 8;
  for (let s = 0; s < sids; s++) {
    pos += 16;
    if (tagged) {
      const tag = varlen(body, pos, end);
      if (tag.value > 32n) throw new Malformed(`SID ${s + 1}: a tag of ${tag.value} bytes (at most 32)`);
      pos = tag.next + Number(tag.value);
    }
    if (pos + 8 > end) throw new Malformed(`${sids} SIDs do not fit in the event`);
    const intervals = body.readBigUInt64LE(pos);
    pos += 8;
    if (BigInt(end - pos) < intervals * 16n) throw new Malformed(`SID ${s + 1}: ${intervals} intervals do not fit in the event`);
    for (let k = 0n; k < intervals; k++) {
      const start = body.readBigInt64LE(pos);
      const stop = body.readBigInt64LE(pos + 8);
      if (start < 1n || stop <= start) throw new Malformed(`SID ${s + 1}: the interval [${start}, ${stop})`);
      pos += 16;
    }
  }
  if (pos !== end) throw new Malformed(`${end - pos} bytes after the last of ${sids} SIDs`);
};

/**
 * TRANSACTION_PAYLOAD (MySQL 8.0.20+): a header of packed (type, length, value) fields — 1 payload
 * size, 2 compression type (0 ZSTD, 255 none), 3 uncompressed size — ended by type 0, then the
 * payload, to the end of the event. The FDE gives this type a post-header length it does not have.
 */
const transactionPayload = (view: Buffer, length: number, need: (end: number) => void): undefined => {
  let pos = 0;
  let payloadSize: number | undefined;
  let compression = 255;
  for (;;) {
    const type = packed(view, pos, length, need, 'a payload header field');
    pos = type.next;
    if (type.value === 0) break;
    const fieldLength = packed(view, pos, length, need, 'a payload header field length');
    pos = fieldLength.next;
    if (type.value <= 3) {
      const value = packed(view, pos, length, need, 'a payload header value');
      if (value.next - pos !== fieldLength.value) throw new Malformed(`header field ${type.value} says ${fieldLength.value} bytes, its value takes ${value.next - pos}`);
      if (type.value === 1) payloadSize = value.value;
      if (type.value === 2) compression = value.value;
    }
    pos += fieldLength.value;
  }
  if (payloadSize === undefined) throw new Malformed('no payload size in its header');
  if (payloadSize !== length - pos) throw new Malformed(`a payload of ${payloadSize} bytes where ${length - pos} follow its header`);
  if (compression === 0) {
    need(pos + 4);
    if (!view.subarray(pos, pos + 4).equals(ZSTD_MAGIC)) throw new Malformed('a ZSTD payload that does not start with the zstd frame magic');
  } else if (compression === 255) {
    // Uncompressed: the transaction's events, with no CRC of their own, to exactly the end.
    need(length);
    let p = pos;
    while (p < length) {
      if (p + 19 > length) throw new Malformed('an event header in the payload runs past its end');
      const size = view.readUInt32LE(p + 9);
      if (size < 19) throw new Malformed(`an event of ${size} bytes in the payload`);
      p += size;
    }
    if (p !== length) throw new Malformed('the events in the payload run past its end');
  } else throw new Malformed(`compression type ${compression} (0 ZSTD, 255 none)`);
  return undefined;
};

/**
 * MariaDB GTID: sequence number 8, domain 4, flags 1; a commit id 8 (FL_GROUP_COMMIT_ID); an XID
 * (FL_PREPARED_XA / FL_COMPLETED_XA); then, when bytes remain, extra flags and what they announce.
 */
const mariadbGtid = (view: Buffer, length: number, post: number, need: (end: number) => void): undefined => {
  if (length < Math.max(post, 13)) throw new Malformed(`${length} bytes, too short for a GTID`);
  need(13);
  if (view.readBigUInt64LE(0) === 0n) throw new Malformed('sequence number 0');
  const flags = view[12] ?? 0;
  let pos = 13;
  if (flags & 0x02) {
    pos += 8;
    if (pos > length) throw new Malformed('the commit id does not fit in the event');
  }
  if (flags & (0x40 | 0x80)) {
    need(pos + 6);
    const gtrid = view[pos + 4] ?? 0;
    const bqual = view[pos + 5] ?? 0;
    if (gtrid > 64 || bqual > 64) throw new Malformed(`an XID of gtrid length ${gtrid} and bqual length ${bqual} (at most 64 each)`);
    pos += 6 + gtrid + bqual;
    if (pos > length) throw new Malformed('the XID does not fit in the event');
  }
  if (pos < length) {
    need(pos + 1);
    const extra = view[pos] ?? 0;
    pos++;
    if (extra & 0x01) pos++;
    if (extra & (0x04 | 0x08)) pos += 8;
    if (pos > length) throw new Malformed(`the extra fields (flags 0x${extra.toString(16)}) do not fit in the event`);
  }
  return undefined;
};
