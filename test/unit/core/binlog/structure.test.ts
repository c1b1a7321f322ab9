import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BodyChecker, CHECKED_EVENTS } from '../../../../core/binlog/body.js';
import { eventsOf, firstEvent, verifyBinlog, withBody, type RawEvent } from '../../../helpers/binlog.js';
import { REAL_BINLOGS } from '../../../helpers/fixtures.js';

/**
 * One field of one event of a real binlog changed, as damage would change it. Files with CRC32 get
 * their CRC made right again, so only the structure can tell. Each case names the layout it breaks
 * (after the 19-byte event header; offsets are into the body).
 */
const real = (name: string): Buffer => readFileSync(`${REAL_BINLOGS}${name}`);

const eventsOfType = (bytes: Buffer, name: string): RawEvent[] => eventsOf(bytes).filter((e) => e.name === name);

const bump = (body: Buffer, at: number, by: number): void => {
  body.writeUInt8(((body[at] ?? 0) + by) & 0xff, at);
};

const damaged = (file: string, eventName: string, mutate: (body: Buffer) => void, nth = 0): { facts: ReturnType<typeof verifyBinlog>; event: RawEvent } => {
  const bytes = real(file);
  const event = firstEvent(bytes, eventName, nth);
  const facts = verifyBinlog(withBody(bytes, event, mutate));
  return { facts, event };
};

describe('BinlogVerifier: the structure of event bodies, in files without checksums', () => {
  // MySQL 5.7.20, binlog_checksum=NONE. Its first QUERY: post-header (thread 4, exec time 4, db
  // length 1 = 10, error 2, status length 2 = 39), 39 bytes of status variables, "account_db\0",
  // the statement.
  const nochecksum = 'mysql57-row-nochecksum-stop.000001';

  it('QUERY: a status-variables length the event cannot hold (the case the server’s tool caught and the walk did not)', () => {
    const { facts, event } = damaged(nochecksum, 'QUERY', (body) => body.writeUInt16LE(16_949, 11));
    expect(facts.problems).toEqual([`QUERY event at ${event.position}: the status variables length 16949 does not fit in the event's ${event.size - 19}-byte body`]);
  });

  it('QUERY: a status-variables block one byte short cuts its last variable (the updated-databases list)', () => {
    const { facts, event } = damaged(nochecksum, 'QUERY', (body) => body.writeUInt16LE(38, 11));
    expect(facts.problems).toEqual([`QUERY event at ${event.position}: updated database 1 of 1 does not end within the status variables`]);
  });

  it('QUERY: a database name length one byte longer reaches past its NUL', () => {
    const { facts, event } = damaged(nochecksum, 'QUERY', (body) => body.writeUInt8(11, 8));
    expect(facts.problems).toEqual([`QUERY event at ${event.position}: the database name of 11 bytes does not end with its NUL`]);
  });

  // Its TABLE_MAP: table id 6, flags 2, "account_db" and "account" with their lengths and NULs,
  // 9 columns (CHAR, 2 DATETIME2, 6 VARCHAR), 16 bytes of metadata, 2 bytes of NULL-able bits.
  it('TABLE_MAP: a metadata length that disagrees with what the column types take', () => {
    const { facts, event } = damaged(nochecksum, 'TABLE_MAP', (body) => bump(body, body.indexOf(0x10, 30), 1));
    expect(facts.problems).toEqual([`TABLE_MAP event at ${event.position}: the column metadata is 17 bytes where the column types take 16`]);
  });

  it('TABLE_MAP: a column type changed (VARCHAR, 2 bytes of metadata, to INT, none)', () => {
    const { facts, event } = damaged(nochecksum, 'TABLE_MAP', (body) => body.writeUInt8(3, body.indexOf(0x0f, 30)));
    expect(facts.problems).toEqual([`TABLE_MAP event at ${event.position}: the column metadata is 16 bytes where the column types take 14`]);
  });

  // Its first WRITE_ROWS (v2): table id 6, flags 2, extra-info length 2 = 2, 9 columns, the
  // present-columns bitmap 2, then rows: a NULL bitmap of 2, CHAR(36) as a length byte and 36 bytes, …
  it('WRITE_ROWS: a column count that differs from its TABLE_MAP’s', () => {
    const { facts, event } = damaged(nochecksum, 'WRITE_ROWS', (body) => body.writeUInt8(8, 10));
    expect(facts.problems).toEqual([`WRITE_ROWS event at ${event.position}: 8 columns where the TABLE_MAP of table id 509 has 9`]);
  });

  it('WRITE_ROWS: a table id no TABLE_MAP of its statement declared', () => {
    const { facts, event } = damaged(nochecksum, 'WRITE_ROWS', (body) => body.writeUInt8(0xfe, 0));
    expect(facts.problems).toEqual([`WRITE_ROWS event at ${event.position}: table id 510 has no TABLE_MAP before it in its statement`]);
  });

  it('WRITE_ROWS: a value length one byte longer makes the next value’s length land in the data', () => {
    // CHAR(36) id, 36 → 37 bytes: the next column's length is read from its first byte of text.
    const { facts, event } = damaged(nochecksum, 'WRITE_ROWS', (body) => body.writeUInt8(37, 15));
    expect(facts.problems).toEqual([`WRITE_ROWS event at ${event.position}: row 1: a value of 53 bytes in a column of at most 48`]);
  });

  it('WRITE_ROWS: a value longer than its column can hold', () => {
    const { facts, event } = damaged(nochecksum, 'WRITE_ROWS', (body) => body.writeUInt8(255, 15));
    expect(facts.problems).toEqual([`WRITE_ROWS event at ${event.position}: row 1: a value of 255 bytes in a column of at most 108`]);
  });

  it('WRITE_ROWS: the last value one byte longer runs past the event', () => {
    // MySQL 5.5 sakila.film_text rows: SMALLINT, VARCHAR(255), TEXT (a 2-byte length): the event
    // ends with the last row's description.
    const bytes = real('mysql55-row-nochecksum-inuse-sakila.000001');
    const map = eventsOfType(bytes, 'TABLE_MAP').find((e) => bytes.subarray(e.position, e.position + e.size).includes('film_text'));
    const rows = eventsOfType(bytes, 'WRITE_ROWS_V1').find((e) => e.position > (map?.position ?? 0)) as RawEvent;
    const body = bytes.subarray(rows.position + 19, rows.position + rows.size);
    // Table id 6, flags 2, 3 columns, their bitmap; each row: NULL bits 1, film_id 2, title, description.
    let at = 10;
    for (let pos = 10; pos < body.length; ) {
      pos += 3;
      pos += 2 + body.readUInt16LE(pos);
      at = pos;
      pos += 2 + body.readUInt16LE(pos);
    }
    const length = body.readUInt16LE(at);
    expect(at + 2 + length).toBe(body.length);
    const facts = verifyBinlog(withBody(bytes, rows, (b) => b.writeUInt16LE(length + 1, at)));
    expect(facts.problems).toHaveLength(1);
    expect(facts.problems[0]).toMatch(new RegExp(`^WRITE_ROWS_V1 event at ${rows.position}: row \\d+: its values run past the end of the event by 1 byte$`));
  });

  it('WRITE_ROWS: a NULL bit set on a column that has a value leaves bytes no row accounts for', () => {
    const { facts, event } = damaged(nochecksum, 'WRITE_ROWS', (body) => body.writeUInt8(0x01, 13));
    expect(facts.problems).toHaveLength(1);
    expect(facts.problems[0]).toMatch(new RegExp(`^WRITE_ROWS event at ${event.position}: row \\d+: `));
  });

  it('WRITE_ROWS: an extra-row-info length that does not count its own 2 bytes', () => {
    const { facts, event } = damaged(nochecksum, 'WRITE_ROWS', (body) => body.writeUInt16LE(1, 8));
    expect(facts.problems).toEqual([`WRITE_ROWS event at ${event.position}: an extra-row-info length of 1 (it counts its own 2 bytes)`]);
  });

  // ANONYMOUS_GTID (5.7): flags 1, SID 16 (zeros), GNO 8 (0), clock type 1 (2), last committed 8, sequence 8.
  it('ANONYMOUS_GTID: a GNO other than 0, and a logical clock type other than 2', () => {
    const gno = damaged(nochecksum, 'ANONYMOUS_GTID', (body) => body.writeUInt8(5, 17));
    expect(gno.facts.problems).toEqual([`ANONYMOUS_GTID event at ${gno.event.position}: GNO 5`]);
    const clock = damaged(nochecksum, 'ANONYMOUS_GTID', (body) => body.writeUInt8(3, 25));
    expect(clock.facts.problems).toEqual([`ANONYMOUS_GTID event at ${clock.event.position}: logical clock type 3 (2)`]);
  });

  // MySQL 5.1.23 (no checksums): USER_VAR `x` = 4 (name length 4, name, not NULL, INT, charset 4,
  // value length 4 = 8, value); INTVAR (type 1, value 8); EXECUTE_LOAD_QUERY (a QUERY post-header,
  // then file id, the file name's start and end in the statement, duplicates handling).
  const old = 'mysql51-mixed-nochecksum-loaddata-stop.001';

  it('USER_VAR: a value longer than the event, an INT value of 7 bytes, a variable without a name', () => {
    const long = damaged(old, 'USER_VAR', (body) => body.writeUInt32LE(9, 11));
    expect(long.facts.problems).toEqual([`USER_VAR event at ${long.event.position}: the value of 9 bytes does not fit in the event`]);
    // 7 leaves one byte after the value, which a newer server's flags byte would be: the type tells.
    const value = damaged(old, 'USER_VAR', (body) => body.writeUInt32LE(7, 11));
    expect(value.facts.problems).toEqual([`USER_VAR event at ${value.event.position}: an INT value of 7 bytes (8)`]);
    const name = damaged(old, 'USER_VAR', (body) => body.writeUInt32LE(0, 0));
    expect(name.facts.problems).toEqual([`USER_VAR event at ${name.event.position}: a variable with an empty name`]);
  });

  it('INTVAR: a variable type that is neither LAST_INSERT_ID nor INSERT_ID', () => {
    const { facts, event } = damaged(old, 'INTVAR', (body) => body.writeUInt8(7, 0));
    expect(facts.problems).toEqual([`INTVAR event at ${event.position}: variable type 7 (LAST_INSERT_ID is 1, INSERT_ID 2)`]);
  });

  it('EXECUTE_LOAD_QUERY: a file name placed past the end of its statement', () => {
    const { facts, event } = damaged(old, 'EXECUTE_LOAD_QUERY', (body) => body.writeUInt32LE(4000, 21));
    expect(facts.problems).toHaveLength(1);
    expect(facts.problems[0]).toMatch(new RegExp(`^EXECUTE_LOAD_QUERY event at ${event.position}: the file name at \\d+–4000 is not within the \\d+-byte statement$`));
  });

  // MariaDB 10.0 (binlog_checksum=NONE): GTID_LIST (count 4 = 1, then domain, server, sequence of
  // 16 bytes each); GTID (sequence 8, domain 4, flags 1, padding); BINLOG_CHECKPOINT (name length 4, name).
  const mariadb = 'mariadb100-gtid-row-nochecksum-inuse.000007';

  it('MARIA_GTID_LIST: a count of GTIDs the event cannot hold', () => {
    const { facts, event } = damaged(mariadb, 'MARIA_GTID_LIST', (body) => body.writeUInt32LE(2, 0));
    expect(facts.problems).toEqual([`MARIA_GTID_LIST event at ${event.position}: a list of 2 GTIDs takes 36 bytes, the event has 20`]);
  });

  it('MARIA_GTID: sequence number 0, which no transaction has', () => {
    const { facts, event } = damaged(mariadb, 'MARIA_GTID', (body) => body.fill(0, 0, 8));
    expect(facts.problems).toEqual([`MARIA_GTID event at ${event.position}: sequence number 0`]);
  });

  it('MARIA_BINLOG_CHECKPOINT: a file name length that disagrees with the event', () => {
    const { facts, event } = damaged(mariadb, 'MARIA_BINLOG_CHECKPOINT', (body) => body.writeUInt32LE(body.readUInt32LE(0) + 1, 0));
    expect(facts.problems).toEqual([`MARIA_BINLOG_CHECKPOINT event at ${event.position}: a file name of ${event.size - 19 - 4 + 1} bytes where the event has ${event.size - 19 - 4}`]);
  });
});

describe('BinlogVerifier: the structure of event bodies whose CRC32 was made right again', () => {
  it('FORMAT_DESCRIPTION: a post-header length for QUERY events other than 13, and its own length wrong', () => {
    const query = damaged('mysql57-row-crc32-rotate.000001', 'FORMAT_DESCRIPTION', (body) => body.writeUInt8(14, 57 + 1));
    expect(query.facts.problems[0]).toBe('FORMAT_DESCRIPTION event at 4: a post-header length of 14 for QUERY events (13)');
    const own = damaged('mysql57-row-crc32-rotate.000001', 'FORMAT_DESCRIPTION', (body) => body.writeUInt8(94, 57 + 14));
    expect(own.facts.problems[0]).toBe('FORMAT_DESCRIPTION event at 4: a post-header length of 94 for itself where it has 95 bytes');
  });

  it('ROTATE: a NUL byte inside the next file’s name', () => {
    const { facts, event } = damaged('mysql80-gtidchain-row-crc32-rotate.000001', 'ROTATE', (body) => body.writeUInt8(0, 10));
    expect(facts.problems).toEqual([`ROTATE event at ${event.position}: a NUL byte in the file name`]);
  });

  // 8.0 GTID: after the 42 bytes of 5.7, the commit timestamp (7 bytes; its top bit says an
  // original one follows), the transaction length (a packed integer), the server version (4).
  it('GTID: a transaction length that does not end where the next transaction starts', () => {
    const bytes = real('mysql80-gtidchain-row-crc32-rotate.000001');
    const gtid = firstEvent(bytes, 'GTID');
    const next = firstEvent(bytes, 'GTID', 1);
    const facts = verifyBinlog(withBody(bytes, gtid, (body) => bump(body, 49, 1)));
    expect(facts.problems).toEqual([
      `GTID event at ${gtid.position}: its transaction of ${next.position - gtid.position + 1} bytes should end at ${next.position + 1}, but the next transaction starts at ${next.position}`,
    ]);
  });

  it('GTID_TAGGED (8.4+): a message size that is not the event’s', () => {
    const { facts, event } = damaged('mysql96-tagged-gtid-crc32-rotate.000001', 'GTID_TAGGED', (body) => body.writeUInt8(61 << 1, 1));
    expect(facts.problems).toEqual([`GTID_TAGGED event at ${event.position}: a message of 61 bytes in a 60-byte event`]);
  });

  it('PREVIOUS_GTIDS: an interval count the event cannot hold', () => {
    // One SID: count 8, UUID 16, interval count 8, one interval [1, 5) of 16.
    const { facts, event } = damaged('mysql80-gtidchain-row-crc32-stop.000002', 'PREVIOUS_GTIDS', (body) => body.writeUInt8(2, 24));
    expect(facts.problems).toEqual([`PREVIOUS_GTIDS event at ${event.position}: SID 1: 2 intervals do not fit in the event`]);
  });

  // TRANSACTION_PAYLOAD: header fields 02 01 00 (ZSTD), 03 01 b3 (uncompressed size), 01 01 7c
  // (payload size), 00 (end), then a zstd frame.
  it('TRANSACTION_PAYLOAD: a payload size that is not what follows its header, and a ZSTD payload without the zstd magic', () => {
    const size = damaged('mysql80-compressed-payload-crc32-rotate.000001', 'TRANSACTION_PAYLOAD', (body) => bump(body, 8, -1));
    expect(size.facts.problems).toEqual([`TRANSACTION_PAYLOAD event at ${size.event.position}: a payload of ${size.event.size - 19 - 4 - 10 - 1} bytes where ${size.event.size - 19 - 4 - 10} follow its header`]);
    const magic = damaged('mysql80-compressed-payload-crc32-rotate.000001', 'TRANSACTION_PAYLOAD', (body) => bump(body, 10, 1));
    expect(magic.facts.problems).toEqual([`TRANSACTION_PAYLOAD event at ${magic.event.position}: a ZSTD payload that does not start with the zstd frame magic`]);
  });

  it('gives the same verdict on a damaged file whatever the chunking', () => {
    const bytes = real('mysql57-row-nochecksum-stop.000001');
    const broken = withBody(bytes, firstEvent(bytes, 'WRITE_ROWS', 3), (body) => body.writeUInt8(0x01, 13));
    expect(verifyBinlog(broken, 1)).toEqual(verifyBinlog(broken));
    expect(verifyBinlog(broken, 7)).toEqual(verifyBinlog(broken));
  });
});

describe('BodyChecker on bodies of random bytes', () => {
  it('gives every checked event type a verdict, never an exception, whatever its bytes', () => {
    // The formats of a MySQL 8.0 and a MariaDB 10.0 binlog: their FDEs' post-header lengths.
    const formats = ['mysql80-row-crc32-large-stop.000001', 'mariadb100-gtid-row-nochecksum-inuse.000007'].map((name) => {
      const bytes = real(name);
      const fde = bytes.subarray(4, 4 + bytes.readUInt32LE(13));
      return new BodyChecker({ postHeader: fde.subarray(19 + 57, fde.length - 5), flavor: name.startsWith('mariadb') ? 'mariadb' : 'mysql', mysqlMajor: 8, userVarFlags: true });
    });
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let verdicts = 0;
    for (const checker of formats) {
      for (const type of CHECKED_EVENTS) {
        for (let k = 0; k < 300; k++) {
          const body = Buffer.from(Array.from({ length: Math.floor(next() * 80) }, () => Math.floor(next() * 256)));
          const result = checker.check(type, body, body.length);
          expect(typeof (result.problem ?? '')).toBe('string');
          verdicts++;
        }
      }
    }
    expect(verdicts).toBe(2 * CHECKED_EVENTS.size * 300);
  });
});

describe('BinlogVerifier on an event too large to hold whole', () => {
  // A QUERY event of 17 MB (a statement padded with spaces) after the FDE of a MySQL 5.7 binlog
  // without checksums: larger than the 16 MiB the verifier holds, so its body is checked on its
  // first 128 KiB (post-header, status variables, database name) while the rest streams by.
  const source = real('mysql57-row-nochecksum-stop.000001');
  const fde = source.subarray(4, 4 + source.readUInt32LE(13));
  const query = firstEvent(source, 'QUERY');
  const build = (mutate: (body: Buffer) => void = () => undefined): Buffer => {
    const body = Buffer.concat([source.subarray(query.position + 19, query.position + query.size), Buffer.alloc(17 * 1024 * 1024, 0x20)]);
    mutate(body);
    const header = Buffer.from(source.subarray(query.position, query.position + 19));
    header.writeUInt32LE(19 + body.length, 9);
    header.writeUInt32LE(4 + fde.length + 19 + body.length, 13);
    return Buffer.concat([source.subarray(0, 4), fde, header, body]);
  };

  it('finds it sound, whether it arrives in one piece or in 64 KiB chunks', () => {
    const whole = build();
    expect(verifyBinlog(whole, whole.length).problems).toEqual([]);
    expect(verifyBinlog(whole, 65_536)).toEqual(verifyBinlog(whole, whole.length));
  });

  it('catches a wrong status-variables length within its kept prefix, in either form', () => {
    // 16,949 bytes of "status variables" end in the padding, where the database name's NUL is not.
    const broken = build((body) => body.writeUInt16LE(16_949, 11));
    const expected = [`QUERY event at ${4 + fde.length}: the database name of 10 bytes does not end with its NUL`];
    expect(verifyBinlog(broken, broken.length).problems).toEqual(expected);
    expect(verifyBinlog(broken, 65_536).problems).toEqual(expected);
  });
});
