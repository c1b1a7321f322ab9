import { open } from 'node:fs/promises';

/** The 4 bytes every binlog starts with. */
export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);

/** Event type codes both MySQL and MariaDB use, and each one's own. */
export const EventType = {
  QUERY: 2,
  STOP: 3,
  ROTATE: 4,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  GTID: 33,
  ANONYMOUS_GTID: 34,
  PREVIOUS_GTIDS: 35,
  GTID_TAGGED: 42,
  MARIADB_ANNOTATE_ROWS: 160,
  MARIADB_BINLOG_CHECKPOINT: 161,
  MARIADB_GTID: 162,
  MARIADB_GTID_LIST: 163,
  MARIADB_START_ENCRYPTION: 164,
} as const;

/** Events a server writes into every new binlog by itself: none of them is a change. */
const BOOKKEEPING = new Set<number>([
  EventType.ROTATE,
  EventType.STOP,
  EventType.FORMAT_DESCRIPTION,
  EventType.PREVIOUS_GTIDS,
  EventType.MARIADB_BINLOG_CHECKPOINT,
  EventType.MARIADB_GTID_LIST,
]);

const HEADER_BYTES = 19;

/**
 * Whether the first `end` bytes of a binlog hold any event other than the bookkeeping a server
 * writes into every new file — i.e. whether rotating it would ship a change. Reads only event
 * headers, and stops at the first change. A file it cannot walk counts as changed.
 */
export const binlogHasChanges = async (path: string, end: number): Promise<boolean> => {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const magic = Buffer.alloc(4);
    if ((await file.read(magic, 0, 4, 0)).bytesRead < 4 || !magic.equals(BINLOG_MAGIC)) return true;
    let position = 4;
    while (position < end) {
      if ((await file.read(header, 0, HEADER_BYTES, position)).bytesRead < HEADER_BYTES) return true;
      const type = header.readUInt8(4);
      const size = header.readUInt32LE(9);
      if (!BOOKKEEPING.has(type)) return true;
      if (size < HEADER_BYTES) return true;
      position += size;
    }
    return false;
  } finally {
    await file.close();
  }
};

/** The timestamp (seconds since the epoch) of a binlog's first event: when the server opened it. */
export const binlogOpenedAt = async (path: string): Promise<number | undefined> => {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    if ((await file.read(head, 0, 8, 0)).bytesRead < 8 || !head.subarray(0, 4).equals(BINLOG_MAGIC)) return undefined;
    return head.readUInt32LE(4);
  } finally {
    await file.close();
  }
};
