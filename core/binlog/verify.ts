import { crc32 } from 'node:zlib';
import { MariadbGtidState, MysqlGtidSet, formatMariadbGtid, type MariadbGtid } from '../gtid.js';
import { parseServerVersion, versionAtLeast } from '../server.js';
import { isoSeconds } from '../time.js';
import { BodyChecker, CHECKED_EVENTS, type EventFormat, type EventNames } from './body.js';
import { BINLOG_MAGIC, EventType } from './events.js';
import { loadState, saveState } from '../snapshot.js';

/** Event type names, as the servers' own sources call them (MariaDB's with a MARIA_ prefix). */
export const EVENT_NAMES: Record<number, string> = {
  0: 'UNKNOWN', 1: 'START_V3', 2: 'QUERY', 3: 'STOP', 4: 'ROTATE', 5: 'INTVAR', 6: 'LOAD', 7: 'SLAVE',
  8: 'CREATE_FILE', 9: 'APPEND_BLOCK', 10: 'EXEC_LOAD', 11: 'DELETE_FILE', 12: 'NEW_LOAD', 13: 'RAND',
  14: 'USER_VAR', 15: 'FORMAT_DESCRIPTION', 16: 'XID', 17: 'BEGIN_LOAD_QUERY', 18: 'EXECUTE_LOAD_QUERY',
  19: 'TABLE_MAP', 20: 'PRE_GA_WRITE_ROWS', 21: 'PRE_GA_UPDATE_ROWS', 22: 'PRE_GA_DELETE_ROWS',
  23: 'WRITE_ROWS_V1', 24: 'UPDATE_ROWS_V1', 25: 'DELETE_ROWS_V1', 26: 'INCIDENT', 27: 'HEARTBEAT',
  28: 'IGNORABLE', 29: 'ROWS_QUERY', 30: 'WRITE_ROWS', 31: 'UPDATE_ROWS', 32: 'DELETE_ROWS', 33: 'GTID',
  34: 'ANONYMOUS_GTID', 35: 'PREVIOUS_GTIDS', 36: 'TRANSACTION_CONTEXT', 37: 'VIEW_CHANGE',
  38: 'XA_PREPARE', 39: 'PARTIAL_UPDATE_ROWS', 40: 'TRANSACTION_PAYLOAD', 41: 'HEARTBEAT_V2',
  42: 'GTID_TAGGED', 160: 'MARIA_ANNOTATE_ROWS', 161: 'MARIA_BINLOG_CHECKPOINT', 162: 'MARIA_GTID',
  163: 'MARIA_GTID_LIST', 164: 'MARIA_START_ENCRYPTION', 165: 'MARIA_QUERY_COMPRESSED',
  166: 'MARIA_WRITE_ROWS_COMPRESSED_V1', 167: 'MARIA_UPDATE_ROWS_COMPRESSED_V1',
  168: 'MARIA_DELETE_ROWS_COMPRESSED_V1', 169: 'MARIA_WRITE_ROWS_COMPRESSED',
  170: 'MARIA_UPDATE_ROWS_COMPRESSED', 171: 'MARIA_DELETE_ROWS_COMPRESSED', 172: 'MARIA_PARTIAL_ROW_DATA',
};

const HEADER = 19;
/** No pre-checksum server wrote a FORMAT_DESCRIPTION event this long (MySQL 5.5: 103 bytes; 5.6: 116). */
const CHECKSUM_ERA_FDE_BYTES = 110;
const { GTID, GTID_TAGGED } = EventType;
/** FDE flag: the server had the file open (not closed cleanly, or still being written). */
const LOG_EVENT_BINLOG_IN_USE_F = 0x1;
/** FDE flag: this is a relay log; master events keep the master's positions. */
const LOG_EVENT_RELAY_LOG_F = 0x40;
/** Event flag: made up by the replica (artificial ROTATE of a relay log). */
const LOG_EVENT_ARTIFICIAL_F = 0x20;

/** Reasons kept per file: a damaged file can yield one per event; the count says how many there were. */
export const MAX_PROBLEMS = 100;
/**
 * An event up to this size is held whole when it spans chunks, so its body can be checked in full.
 * Servers cap an event at max_allowed_packet (1 GiB): above this size only the first PREFIX_BYTES
 * of a body are checked, and memory stays bounded whatever the file holds.
 */
const WHOLE_EVENT_BYTES = 16 * 1024 * 1024;
/** Enough for every post-header, a QUERY's status variables (at most 65,535 bytes) and its database name. */
const PREFIX_BYTES = 128 * 1024;
/** Events that start a MySQL transaction (and state its length, since 8.0.2). */
const TRANSACTION_STARTS = new Set<number>([EventType.GTID, EventType.ANONYMOUS_GTID, EventType.GTID_TAGGED]);
/** Bookkeeping events a relay log has between its own FDE and the master's: a relay log's shape. */
const RELAY_PREAMBLE = new Set<number>([EventType.PREVIOUS_GTIDS, EventType.MARIADB_GTID_LIST, EventType.MARIADB_BINLOG_CHECKPOINT]);

/** Events whose body is parsed for facts; every other event is only checked (size, position, CRC, structure). */
const PARSED = new Set<number>([
  EventType.FORMAT_DESCRIPTION,
  EventType.ROTATE,
  GTID,
  GTID_TAGGED,
  EventType.PREVIOUS_GTIDS,
  EventType.MARIADB_GTID,
  EventType.MARIADB_GTID_LIST,
]);

/** What one pass over a binlog establishes. Times are ISO 8601 UTC. */
export interface BinlogFacts {
  size: number;
  binlogVersion?: number;
  serverVersion?: string;
  flavor?: 'mysql' | 'mariadb';
  /** `CRC32` or `OFF` from the FDE; `NONE` for servers older than checksums (MySQL < 5.6.1, MariaDB < 5.3). */
  checksum?: 'CRC32' | 'OFF' | 'NONE';
  events: number;
  eventsByType: Record<string, number>;
  firstEventTime?: string;
  lastEventTime?: string;
  /** Offset of the first event (4) and the end of the last whole event. */
  firstPosition: number;
  lastPosition: number;
  lastEventType?: string;
  serverIds: number[];
  inUse: boolean;
  relayLog: boolean;
  end: 'rotate' | 'stop' | 'cut';
  /** The last ROTATE event's target (for a relay log, possibly an artificial one mid-file). */
  rotate?: { next: string; position: number };
  /** The file this one rotated to, when it ends with a ROTATE. */
  rotateTo?: string;
  crc: { ok: number; bad: number };
  logPosZero: number;
  /** The first MAX_PROBLEMS events whose log_pos does not chain (a relay log's are the master's). */
  logPosMismatches: string[];
  /** All of them. */
  logPosMismatchCount: number;
  /** MySQL GTID set of the GTIDs seen, or MariaDB's last GTID per domain and server. */
  gtids: string;
  /** MySQL PREVIOUS_GTIDS, or MariaDB GTID_LIST: the GTID state before this file. */
  previousGtids: string;
  mysqlGtidCount: number;
  anonymousGtidCount: number;
  mariadbGtidCount: number;
  /** MariaDB: the first GTID seen per domain and server (for continuity with the previous file). */
  mariadbFirstGtids: string;
  /** Reasons the file is not sound, the first MAX_PROBLEMS of them; empty when it is sound. */
  problems: string[];
  /** How many reasons there were in all (more than `problems` lists when the file is badly damaged). */
  problemCount: number;
  /** Facts worth knowing that are no fault (a relay log's master positions). */
  notes: string[];
}


/** A varlen unsigned integer of `mysql::serialization`: trailing one-bits of the first byte give the length. */
const readVarlen = (buf: Buffer, pos: number): { value: number; next: number } => {
  const first = buf[pos];
  if (first === undefined) throw new RangeError('varlen past the end');
  if (first === 0xff) return { value: Number(buf.readBigUInt64LE(pos + 1)), next: pos + 9 };
  let n = 1;
  while ((first >> (n - 1)) & 1) n++;
  let value = 0n;
  for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(buf[pos + i] ?? 0);
  return { value: Number(value >> BigInt(n)), next: pos + n };
};

const uuidText = (bytes: Buffer | number[]): string => {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/**
 * Why a file's first bytes are not the binlog magic, told by what they are: the first 8 bytes in
 * hex and as text, and what probably made them. A text-mode copy turns the magic's 0xfe into
 * U+FFFD (ef bf bd in UTF-8) or "?".
 */
const badMagicReason = (bytes: Buffer): string => {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const latin1 = bytes.toString('latin1');
  const cause =
    bytes[0] === 0xef && bytes[1] === 0xbf && bytes[2] === 0xbd
      ? 'U+FFFD in place of the 0xfe byte: the file went through a text-mode copy or a UTF-8 conversion'
      : latin1.startsWith('?bin')
        ? '"?" in place of the 0xfe byte: the file went through a text conversion'
        : bytes[0] === 0x1f && bytes[1] === 0x8b
          ? 'gzip data: the file was compressed twice'
          : /^(-- |\/\*)/.test(latin1)
            ? 'the start of a dump or an SQL script, not of a binlog'
            : undefined;
  return `not a binlog: bad magic ${hex} ("${text}") where a binlog starts with fe 62 69 6e${cause ? `; ${cause}` : ''}`;
};

/**
 * Post-header lengths every v4 FDE of every server gives these types, where its list reaches them
 * (from the servers' own tables: MySQL 5.0–9.x, MariaDB 5.x–11.x). ROTATE's is frozen; the rows
 * events' were 6 before 5.1.4 and MySQL 8.4 dropped the v1 ones (0); MariaDB has no MySQL GTIDs (0).
 */
const FIXED_POST_HEADERS: Record<number, number[]> = {
  1: [0, 56], // START_V3 (0 once it was dropped, as for LOAD and the other pre-5.0 LOAD DATA events)
  2: [13], // QUERY
  3: [0], // STOP
  4: [8], // ROTATE
  5: [0], // INTVAR
  6: [0, 18], // LOAD
  7: [0], // SLAVE
  8: [0, 4], // CREATE_FILE
  9: [4], // APPEND_BLOCK
  10: [0, 4], // EXEC_LOAD
  11: [4], // DELETE_FILE
  12: [0, 18], // NEW_LOAD
  13: [0], // RAND
  14: [0], // USER_VAR
  16: [0], // XID
  17: [4], // BEGIN_LOAD_QUERY
  18: [26], // EXECUTE_LOAD_QUERY
  19: [6, 8], // TABLE_MAP
  20: [0], // PRE_GA_WRITE_ROWS
  21: [0], // PRE_GA_UPDATE_ROWS
  22: [0], // PRE_GA_DELETE_ROWS
  23: [0, 6, 8], // WRITE_ROWS_V1
  24: [0, 6, 8], // UPDATE_ROWS_V1
  25: [0, 6, 8], // DELETE_ROWS_V1
  26: [2], // INCIDENT
  27: [0], // HEARTBEAT
  28: [0], // IGNORABLE
  29: [0], // ROWS_QUERY
  30: [10], // WRITE_ROWS
  31: [10], // UPDATE_ROWS
  32: [10], // DELETE_ROWS
  33: [0, 25, 42], // GTID
  34: [0, 25, 42], // ANONYMOUS_GTID
  35: [0], // PREVIOUS_GTIDS
  160: [0], // MARIA_ANNOTATE_ROWS
  161: [4], // MARIA_BINLOG_CHECKPOINT
  162: [19], // MARIA_GTID
  163: [4], // MARIA_GTID_LIST
};

/**
 * The structure of a FORMAT_DESCRIPTION event (after the 19-byte header: binlog version 2, server
 * version 50, created 4, header length 1, a post-header length per event type, then — checksum-era
 * servers — the checksum algorithm and a CRC32): undefined when sound.
 */
const fdeProblem = (ev: Buffer, versionField: Buffer, trailer: number): string | undefined => {
  const nul = versionField.indexOf(0);
  if (nul < 0) return 'the server version does not end within its 50 bytes';
  if (!/^\d+\.\d+\.\d+/.test(versionField.subarray(0, nul).toString('latin1'))) {
    return `the server version ${JSON.stringify(versionField.subarray(0, nul).toString('latin1'))} does not start with a version number`;
  }
  const headerLength = ev[HEADER + 56] ?? 0;
  if (headerLength !== HEADER) return `an event header length of ${headerLength} (19)`;
  const types = ev.length - HEADER - 57 - trailer;
  if (types < 15) return `post-header lengths for ${types} event types (at least 15)`;
  // Its own post-header length covers everything after the 19-byte header but the checksum trailer.
  const own = ev[HEADER + 57 + EventType.FORMAT_DESCRIPTION - 1] ?? 0;
  if (own !== 57 + types) return `a post-header length of ${own} for itself where it has ${57 + types} bytes`;
  for (const [type, allowed] of Object.entries(FIXED_POST_HEADERS)) {
    const value = ev[HEADER + 57 + Number(type) - 1];
    if (Number(type) <= types && value !== undefined && !allowed.includes(value)) {
      return `a post-header length of ${value} for ${EVENT_NAMES[Number(type)] ?? type} events (${allowed.join(' or ')})`;
    }
  }
  if (trailer > 0) {
    const alg = ev[ev.length - 5] ?? 0;
    // 0 off, 1 CRC32; 255 is "undefined", which a server may leave in a relay log.
    if (alg !== 0 && alg !== 1 && alg !== 255) return `checksum algorithm ${alg} (0 none, 1 CRC32)`;
  }
  return undefined;
};

/** One event's header, for a listener that wants them all (tests, a future `binvault inspect`). */
export interface EventInfo {
  position: number;
  type: number;
  name: string;
  timestamp: number;
  serverId: number;
  size: number;
  logPos: number;
  /** The transaction a GTID event starts: `domain-server-seq` (MariaDB) or `uuid[:tag]:gno` (MySQL). */
  gtid?: string;
  /** With `names`: what a statement or a table map names (core/binlog/body.ts EventNames). */
  names?: EventNames;
}

export interface BinlogVerifierOptions {
  /** Tell the listener what each statement and table map names (costs a read of each one). @default false */
  names?: boolean;
}

interface Partial {
  start: number;
  size: number;
  header: Buffer;
  got: number;
  crc: number;
  tail: Buffer;
  keep?: Buffer[];
  /** The first bytes of a very large event whose body is checked: PREFIX_BYTES after its header. */
  prefix?: Buffer;
}

/**
 * A one-pass, constant-memory binlog checker: feed it the raw bytes in chunks of any size, then
 * call finish(). Checks the magic, the Format Description Event, every event header (size,
 * position chain), every event's CRC32 when the server wrote them, the structure of every event
 * body it knows (lengths that fit, rows that match their TABLE_MAP, strings that end where they
 * say: what a file without checksums has instead), and collects times, server ids, GTIDs and how
 * the file ends. An event is held whole only while it spans chunks, and only up to
 * WHOLE_EVENT_BYTES.
 */
export class BinlogVerifier {
  public constructor(
    private readonly onEvent?: (event: EventInfo) => void,
    private readonly options: BinlogVerifierOptions = {},
  ) {}

  private position = 0;
  private pending: Buffer | undefined;
  private partial: Partial | undefined;
  private broken = false;
  private checksumOn = false;
  private readonly bodies = new BodyChecker();
  /** MariaDB's START_ENCRYPTION: the bodies after it are ciphertext, with no structure to check. */
  private encrypted = false;
  /** Where the transaction a GTID event announced must end (its transaction_length). */
  private transactionEnd: { at: number; gtidAt: number; length: number } | undefined;
  /** Still among the bookkeeping events at the start of the file (where a relay log shows its shape). */
  private preamble = true;
  /** A ROTATE with log_pos 0 in that preamble: in a relay log, the master's file and position. */
  private preambleRotate = false;
  private readonly mysqlGtids = new MysqlGtidSet();
  private readonly mariadbGtids = new MariadbGtidState();
  private readonly mariadbFirst = new MariadbGtidState();
  private readonly serverIds = new Set<number>();
  private lastEventFlags = 0;
  private lastLogPos = 0;
  private lastType: number | undefined;
  private readonly facts: BinlogFacts = {
    size: 0,
    events: 0,
    eventsByType: {},
    firstPosition: 4,
    lastPosition: 4,
    serverIds: [],
    inUse: false,
    relayLog: false,
    end: 'cut',
    crc: { ok: 0, bad: 0 },
    logPosZero: 0,
    logPosMismatches: [],
    logPosMismatchCount: 0,
    gtids: '',
    previousGtids: '',
    mysqlGtidCount: 0,
    anonymousGtidCount: 0,
    mariadbGtidCount: 0,
    mariadbFirstGtids: '',
    problems: [],
    problemCount: 0,
    notes: [],
  };

  /** Its state part way through a file, for a verify that goes on in another invocation (see core/snapshot.ts). */
  public save(): Buffer {
    return saveState(this);
  }

  /** A verifier that goes on from a state {@link save} returned. */
  public static load(state: Uint8Array): BinlogVerifier {
    return loadState(new BinlogVerifier(), state);
  }

  public update(chunk: Buffer): void {
    this.facts.size += chunk.length;
    if (this.broken) return;
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let i = 0;
    if (this.position === 0) {
      // A wrong magic is shown with the 8 bytes that start the file, whatever the chunking.
      const magic = data.length >= 4 && data.subarray(0, 4).equals(BINLOG_MAGIC);
      if (data.length < 4 || (!magic && data.length < 8)) {
        this.pending = Buffer.from(data);
        return;
      }
      if (!magic) {
        this.badMagic(data);
        return;
      }
      i = 4;
      this.position = 4;
    }
    while (i < data.length && !this.broken) {
      if (this.partial) {
        const used = this.feedPartial(data, i);
        i += used;
        this.position += used;
        continue;
      }
      const left = data.length - i;
      if (left < HEADER) {
        this.pending = Buffer.from(data.subarray(i));
        return;
      }
      const size = data.readUInt32LE(i + 9);
      if (size < HEADER) {
        this.fail(`event at ${this.position}: size ${size} is smaller than an event header`);
        return;
      }
      if (left >= size) {
        this.event(data.subarray(i, i + size), this.position);
        i += size;
        this.position += size;
      } else {
        const type = data.readUInt8(i + 4);
        const checked = PARSED.has(type) || CHECKED_EVENTS.has(type);
        this.partial = {
          start: this.position,
          size,
          header: Buffer.from(data.subarray(i, i + HEADER)),
          got: 0,
          crc: 0,
          tail: Buffer.alloc(4),
          ...(checked && size <= WHOLE_EVENT_BYTES ? { keep: [] } : checked ? { prefix: Buffer.alloc(PREFIX_BYTES) } : {}),
        };
      }
    }
  }

  /** Consumes bytes of an event that spans chunks; returns how many it took. */
  private feedPartial(data: Buffer, from: number): number {
    const p = this.partial as Partial;
    const take = Math.min(p.size - p.got, data.length - from);
    const part = data.subarray(from, from + take);
    if (p.keep) {
      p.keep.push(Buffer.from(part));
    } else {
      const crcEnd = p.size - 4;
      const inCrc = Math.max(0, Math.min(take, crcEnd - p.got));
      if (inCrc > 0) p.crc = crc32(part.subarray(0, inCrc), p.crc);
      for (let k = inCrc; k < take; k++) p.tail[p.got + k - crcEnd] = part[k] ?? 0;
      // The prefix holds body bytes [0, PREFIX_BYTES): event bytes [HEADER, HEADER + PREFIX_BYTES).
      if (p.prefix && p.got + take > HEADER && p.got < HEADER + PREFIX_BYTES) {
        const from = Math.max(HEADER, p.got);
        const to = Math.min(HEADER + PREFIX_BYTES, p.got + take);
        part.copy(p.prefix, from - HEADER, from - p.got, to - p.got);
      }
    }
    p.got += take;
    if (p.got === p.size) {
      this.partial = undefined;
      if (p.keep) this.event(Buffer.concat(p.keep), p.start);
      else this.event(undefined, p.start, p);
    }
    return take;
  }

  private badMagic(start: Buffer): void {
    this.fail(badMagicReason(start.subarray(0, 8)));
  }

  private fail(reason: string): void {
    this.broken = true;
    this.problem(reason);
  }

  private problem(reason: string): void {
    const f = this.facts;
    f.problemCount++;
    if (f.problems.length < MAX_PROBLEMS) f.problems.push(reason);
  }

  /** One whole event: `ev` holds it, or (for a large event) `streamed` holds its CRC, trailer and body prefix. */
  private event(ev: Buffer | undefined, start: number, streamed?: Partial): void {
    const header = ev ?? (streamed as Partial).header;
    const timestamp = header.readUInt32LE(0);
    const type = header.readUInt8(4);
    const serverId = header.readUInt32LE(5);
    const size = header.readUInt32LE(9);
    const logPos = header.readUInt32LE(13);
    const flags = header.readUInt16LE(17);
    const name = EVENT_NAMES[type] ?? `TYPE_${type}`;
    const f = this.facts;

    if (f.events === 0 && type !== EventType.FORMAT_DESCRIPTION) {
      this.fail(`the first event at 4 is ${name}, not a FORMAT_DESCRIPTION event`);
      return;
    }
    f.events++;
    const info: EventInfo = { position: start, type, name, timestamp, serverId, size, logPos };
    f.eventsByType[name] = (f.eventsByType[name] ?? 0) + 1;
    this.serverIds.add(serverId);
    if (timestamp !== 0) {
      f.firstEventTime ??= isoSeconds(timestamp);
      f.lastEventTime = isoSeconds(timestamp);
    }
    f.lastPosition = start + size;
    this.lastType = type;
    this.lastEventFlags = flags;
    this.lastLogPos = logPos;

    if (type === EventType.ANONYMOUS_GTID) f.anonymousGtidCount++;
    if (logPos === 0) f.logPosZero++;
    else if (logPos !== start + size) {
      if (f.logPosMismatches.length < MAX_PROBLEMS) {
        f.logPosMismatches.push(`log_pos mismatch at ${start} (${name}): log_pos=${logPos} expected ${start + size}`);
      }
      f.logPosMismatchCount++;
    }
    if (f.events > 1) this.relayShape(type, logPos, flags);
    const trx = this.transactionEnd;
    if (trx) {
      const says = `GTID event at ${trx.gtidAt}: its transaction of ${trx.length} bytes should end at ${trx.at}`;
      if (start === trx.at) this.transactionEnd = undefined;
      else if (TRANSACTION_STARTS.has(type)) {
        this.problem(`${says}, but the next transaction starts at ${start}`);
        this.transactionEnd = undefined;
      } else if (start + size > trx.at) {
        this.problem(`${says}, inside the ${name} event at ${start}`);
        this.transactionEnd = undefined;
      }
    }

    if (type === EventType.FORMAT_DESCRIPTION && ev) {
      this.formatDescription(ev, start, flags);
      this.onEvent?.(info);
      return;
    }

    let body = ev?.subarray(HEADER);
    let crcOk = true;
    if (this.checksumOn) {
      if (ev) {
        crcOk = crc32(ev.subarray(0, size - 4)) === ev.readUInt32LE(size - 4);
        body = ev.subarray(HEADER, size - 4);
      } else {
        const s = streamed as Partial;
        crcOk = s.crc === s.tail.readUInt32LE(0);
      }
      if (crcOk) f.crc.ok++;
      else {
        f.crc.bad++;
        this.problem(`CRC32 mismatch in ${name} event at ${start}`);
      }
    }
    if (type === EventType.MARIADB_START_ENCRYPTION) this.encrypted = true;
    // A body whose CRC failed is known bad: its structure would only repeat that.
    let sound = crcOk;
    if (crcOk && !this.encrypted && CHECKED_EVENTS.has(type)) {
      const length = size - HEADER - (this.checksumOn ? 4 : 0);
      // Very large events are checked on their first PREFIX_BYTES, whatever the chunking.
      const view = body ? (length > WHOLE_EVENT_BYTES ? body.subarray(0, PREFIX_BYTES) : body) : streamed?.prefix;
      if (view) {
        const result = this.bodies.check(type, view.subarray(0, Math.min(view.length, length)), length);
        if (result.problem) {
          this.problem(`${name} event at ${start}: ${result.problem}`);
          sound = false;
        } else if (result.transactionLength && !f.relayLog) {
          this.transactionEnd = { at: start + result.transactionLength, gtidAt: start, length: result.transactionLength };
        }
      }
    }
    if (this.options.names && sound && !this.encrypted) {
      const length = size - HEADER - (this.checksumOn ? 4 : 0);
      const view = body ? (length > WHOLE_EVENT_BYTES ? body.subarray(0, PREFIX_BYTES) : body) : streamed?.prefix;
      const names = view ? this.bodies.describe(type, view.subarray(0, Math.min(view.length, length)), length) : undefined;
      if (names) info.names = names;
    }
    if (body && sound) {
      try {
        const gtid = this.parseBody(type, body, serverId);
        if (gtid) info.gtid = gtid;
      } catch (error) {
        this.problem(`unreadable ${name} event at ${start}: ${(error as Error).message}`);
      }
    }
    this.onEvent?.(info);
  }

  /**
   * Relay logs written before MySQL 5.6 carry no relay-log flag: their shape tells them. The relay
   * log's own FDE, then (after its own bookkeeping) a ROTATE with log_pos 0 naming the master's
   * file, or the master's FDE marked artificial, then the master's FDE — after which every event
   * keeps the master's positions. No binlog a server writes has a second FDE there.
   */
  private relayShape(type: number, logPos: number, flags: number): void {
    if (!this.preamble) return;
    if (type === EventType.ROTATE && logPos === 0) this.preambleRotate = true;
    else if (type === EventType.FORMAT_DESCRIPTION) {
      this.preamble = false;
      if (!this.facts.relayLog && (this.preambleRotate || logPos === 0 || flags & LOG_EVENT_ARTIFICIAL_F)) {
        this.facts.relayLog = true;
        this.bodies.relay = true;
        this.facts.notes.push("relay log without the relay-log flag (written before MySQL 5.6): its own FDE, then the master's, whose positions follow");
      }
    } else if (!RELAY_PREAMBLE.has(type)) this.preamble = false;
  }

  private formatDescription(ev: Buffer, start: number, flags: number): void {
    const f = this.facts;
    if (ev.length < HEADER + 57) {
      this.problem(`FORMAT_DESCRIPTION event at ${start} is too short (${ev.length} bytes)`);
      return;
    }
    const binlogVersion = ev.readUInt16LE(HEADER);
    const versionField = ev.subarray(HEADER + 2, HEADER + 52);
    const serverVersion = versionField.toString('latin1').replace(/\0.*$/s, '');
    const version = parseServerVersion(serverVersion);
    // Checksum-era FDEs are at least 116 bytes, older ones at most 103: the size backs the version
    // text up, so a flipped bit in the version cannot switch the CRC checks off unseen.
    const capable =
      (version.flavor === 'mariadb' ? versionAtLeast(version, 5, 3) : versionAtLeast(version, 5, 6, 1)) ||
      ev.length >= CHECKSUM_ERA_FDE_BYTES;
    if (f.binlogVersion === undefined) {
      f.binlogVersion = binlogVersion;
      f.serverVersion = serverVersion;
      f.flavor = version.flavor;
      f.inUse = (flags & LOG_EVENT_BINLOG_IN_USE_F) !== 0;
      f.relayLog = (flags & LOG_EVENT_RELAY_LOG_F) !== 0;
      this.bodies.relay = f.relayLog;
      if (binlogVersion !== 4) this.problem(`binlog version ${binlogVersion} is not supported (only version 4)`);
    }
    const trailer = capable ? 5 : 0;
    const structure = fdeProblem(ev, versionField, trailer);
    if (structure) this.problem(`FORMAT_DESCRIPTION event at ${start}: ${structure}`);
    else {
      this.bodies.setFormat({
        postHeader: Buffer.from(ev.subarray(HEADER + 57, ev.length - trailer)),
        flavor: version.flavor,
        mysqlMajor: version.flavor === 'mysql' ? version.major : 0,
        userVarFlags: version.flavor === 'mariadb' ? versionAtLeast(version, 10) : versionAtLeast(version, 5, 6),
      } satisfies EventFormat);
    }
    if (!capable) {
      f.checksum ??= 'NONE';
      this.checksumOn = false;
      return;
    }
    const alg = ev.readUInt8(ev.length - 5);
    // The FDE carries a CRC32 whatever the algorithm, computed with the in-use flag cleared.
    const copy = Buffer.from(ev.subarray(0, ev.length - 4));
    copy.writeUInt16LE(copy.readUInt16LE(17) & ~LOG_EVENT_BINLOG_IN_USE_F, 17);
    if (crc32(copy) === ev.readUInt32LE(ev.length - 4)) f.crc.ok++;
    else {
      f.crc.bad++;
      this.problem(`CRC32 mismatch in FORMAT_DESCRIPTION event at ${start}`);
    }
    f.checksum ??= alg === 1 ? 'CRC32' : alg === 0 ? 'OFF' : 'NONE';
    this.checksumOn = alg === 1;
  }

  /** Reads what the catalog needs of an event's body; returns the GTID a GTID event starts. */
  private parseBody(type: number, body: Buffer, serverId: number): string | undefined {
    const f = this.facts;
    switch (type) {
      case EventType.ROTATE: {
        const position = Number(body.readBigUInt64LE(0));
        const next = body.subarray(8).toString('latin1');
        f.rotate = { next, position };
        break;
      }
      case GTID: {
        if (body.length < 25) throw new RangeError('short GTID event');
        const uuid = uuidText(body.subarray(1, 17));
        const gno = Number(body.readBigInt64LE(17));
        this.mysqlGtids.add(uuid, '', gno);
        f.mysqlGtidCount++;
        return `${uuid}:${gno}`;
      }
      case GTID_TAGGED: {
        const gtid = this.taggedGtid(body);
        this.mysqlGtids.add(gtid.uuid, gtid.tag, gtid.gno);
        f.mysqlGtidCount++;
        return `${gtid.uuid}:${gtid.tag}:${gtid.gno}`;
      }
      case EventType.PREVIOUS_GTIDS:
        f.previousGtids = this.previousGtids(body).toString();
        break;
      case EventType.MARIADB_GTID: {
        const gtid: MariadbGtid = { domain: body.readUInt32LE(8), serverId, seq: Number(body.readBigUInt64LE(0)) };
        this.mariadbGtids.add(gtid);
        if (!this.mariadbFirst.entries().some((g) => g.domain === gtid.domain && g.serverId === gtid.serverId)) {
          this.mariadbFirst.add(gtid);
        }
        f.mariadbGtidCount++;
        return formatMariadbGtid(gtid);
      }
      case EventType.MARIADB_GTID_LIST: {
        const count = body.readUInt32LE(0) & 0x0fffffff;
        const list: string[] = [];
        for (let k = 0; k < count; k++) {
          const o = 4 + k * 16;
          list.push(
            formatMariadbGtid({ domain: body.readUInt32LE(o), serverId: body.readUInt32LE(o + 4), seq: Number(body.readBigUInt64LE(o + 8)) }),
          );
        }
        f.previousGtids = list.join(',');
        break;
      }
      default:
        break;
    }
    return undefined;
  }

  /** MySQL 8.4+ GTID_TAGGED_LOG_EVENT: a `mysql::serialization` message; fields 1–3 are uuid, gno, tag. */
  private taggedGtid(body: Buffer): { uuid: string; gno: number; tag: string } {
    let pos = readVarlen(body, 0).next; // format version
    pos = readVarlen(body, pos).next; // message size
    pos = readVarlen(body, pos).next; // last non-ignorable field id
    const uuid: number[] = [];
    let gno = 0;
    let tag = '';
    while (pos < body.length) {
      const id = readVarlen(body, pos);
      pos = id.next;
      if (id.value === 0) pos = readVarlen(body, pos).next;
      else if (id.value === 1) {
        for (let k = 0; k < 16; k++) {
          const byte = readVarlen(body, pos);
          uuid.push(byte.value);
          pos = byte.next;
        }
      } else if (id.value === 2) {
        const raw = readVarlen(body, pos);
        gno = raw.value % 2 === 0 ? raw.value / 2 : -(raw.value + 1) / 2;
        pos = raw.next;
      } else if (id.value === 3) {
        const length = readVarlen(body, pos);
        tag = body.subarray(length.next, length.next + length.value).toString('utf8').toLowerCase();
        pos = length.next + length.value;
      } else break;
    }
    if (uuid.length !== 16) throw new RangeError('tagged GTID without a UUID');
    return { uuid: uuidText(uuid), gno, tag };
  }

  /** PREVIOUS_GTIDS, classic or tagged (`0x01 | n_sids << 8 | 0x01 << 56`, a tag after each SID). */
  private previousGtids(body: Buffer): MysqlGtidSet {
    const set = new MysqlGtidSet();
    const word = body.readBigUInt64LE(0);
    const tagged = (word & 0xffn) === 1n && word >> 56n === 1n;
    const sids = Number(tagged ? (word >> 8n) & 0xffffffffffffn : word);
    let pos = 8;
    for (let s = 0; s < sids; s++) {
      const uuid = uuidText(body.subarray(pos, pos + 16));
      pos += 16;
      let tag = '';
      if (tagged) {
        const length = readVarlen(body, pos);
        tag = body.subarray(length.next, length.next + length.value).toString('utf8').toLowerCase();
        pos = length.next + length.value;
      }
      const intervals = Number(body.readBigUInt64LE(pos));
      pos += 8;
      for (let k = 0; k < intervals; k++) {
        const startGno = Number(body.readBigInt64LE(pos));
        const endGno = Number(body.readBigInt64LE(pos + 8));
        pos += 16;
        set.addInterval(uuid, tag, startGno, endGno - 1);
      }
    }
    return set;
  }

  /** Ends the pass: what was left over is a truncation. */
  public finish(): BinlogFacts {
    const f = this.facts;
    let truncated = false;
    if (!this.broken) {
      if ((this.position === 0 || (this.pending && this.position < 4)) && (this.pending?.length ?? 0) >= 4) {
        this.badMagic(this.pending as Buffer);
      } else if (this.position === 0 || (this.pending && this.position < 4)) {
        this.problem(`not a binlog: ${f.size} bytes, shorter than the binlog magic`);
      } else if (this.partial) {
        truncated = true;
        this.problem(`truncated event at ${this.partial.start}: ${this.partial.got} of ${this.partial.size} bytes`);
      } else if (this.pending && this.pending.length > 0) {
        truncated = true;
        this.problem(`truncated header at ${this.position}: ${this.pending.length} bytes left`);
      } else if (f.events === 0) {
        this.problem('no FORMAT_DESCRIPTION event: the file holds only the binlog magic');
      }
    }
    f.serverIds = [...this.serverIds].sort((a, b) => a - b);
    f.lastEventType = this.lastType !== undefined ? (EVENT_NAMES[this.lastType] ?? `TYPE_${this.lastType}`) : undefined;
    const complete = !truncated;
    // A relay log's artificial ROTATE (log_pos 0; flagged so since MySQL 5.0) names the master's
    // file; it is not where this file ends.
    const artificial = (this.lastEventFlags & LOG_EVENT_ARTIFICIAL_F) !== 0 || (f.relayLog && this.lastLogPos === 0);
    f.end =
      complete && this.lastType === EventType.ROTATE && !artificial
        ? 'rotate'
        : complete && this.lastType === EventType.STOP
          ? 'stop'
          : 'cut';
    if (f.end === 'rotate' && f.rotate) f.rotateTo = f.rotate.next;
    f.gtids = f.flavor === 'mariadb' ? this.mariadbGtids.toString() : this.mysqlGtids.toString();
    f.mariadbFirstGtids = this.mariadbFirst.toString();
    if (f.logPosMismatchCount > 0) {
      // A relay log keeps the master's positions in the master's events: by design, not damage.
      if (f.relayLog) f.notes.push(`relay log: ${f.logPosMismatchCount} events carry the master's positions`);
      else {
        for (const mismatch of f.logPosMismatches) this.problem(mismatch);
        // The ones not kept are counted all the same.
        f.problemCount += f.logPosMismatchCount - f.logPosMismatches.length;
      }
    }
    return f;
  }
}
