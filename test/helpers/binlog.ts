import { crc32 } from 'node:zlib';
import { BinlogVerifier, EVENT_NAMES, type BinlogFacts } from '../../core/binlog/verify.js';

/** One event of a binlog, as its header says. */
export interface RawEvent {
  position: number;
  type: number;
  name: string;
  size: number;
}

/** The events of a well-formed binlog, walked by their sizes. */
export const eventsOf = (bytes: Buffer): RawEvent[] => {
  const events: RawEvent[] = [];
  for (let position = 4; position + 19 <= bytes.length; ) {
    const type = bytes[position + 4] ?? 0;
    const size = bytes.readUInt32LE(position + 9);
    events.push({ position, type, name: EVENT_NAMES[type] ?? `TYPE_${type}`, size });
    position += size;
  }
  return events;
};

/** The first event of a type (by name), or a failure that says which file lacks it. */
export const firstEvent = (bytes: Buffer, name: string, nth = 0): RawEvent => {
  const event = eventsOf(bytes).filter((e) => e.name === name)[nth];
  if (!event) throw new Error(`no ${name} event #${nth + 1} in this binlog`);
  return event;
};

/** Whether events carry a CRC32 trailer: the first FDE's checksum algorithm (checksum-era FDEs are ≥ 110 bytes). */
export const hasChecksums = (bytes: Buffer): boolean => {
  const size = bytes.readUInt32LE(4 + 9);
  return size >= 110 && bytes[4 + size - 5] === 1;
};

/**
 * A copy of a binlog with one event's body changed by `mutate` (given the body: after the header,
 * before a CRC trailer) and, when the file has checksums, its CRC32 made right again — so that only
 * the structure can tell the change.
 */
export const withBody = (bytes: Buffer, event: RawEvent, mutate: (body: Buffer) => void): Buffer => {
  const copy = Buffer.from(bytes);
  const crc = hasChecksums(bytes) || (event.type === 15 && event.size >= 110) ? 4 : 0;
  const ev = copy.subarray(event.position, event.position + event.size);
  mutate(ev.subarray(19, ev.length - crc));
  if (crc) {
    // An FDE's CRC32 is computed with the in-use flag cleared.
    const head = Buffer.from(ev.subarray(0, ev.length - 4));
    if (event.type === 15) head.writeUInt16LE(head.readUInt16LE(17) & ~1, 17);
    ev.writeUInt32LE(crc32(head), ev.length - 4);
  }
  return copy;
};

/** Verifies a whole binlog fed in chunks of the given size. */
export const verifyBinlog = (bytes: Buffer, chunk = 65_536): BinlogFacts => {
  const verifier = new BinlogVerifier();
  for (let i = 0; i < bytes.length; i += chunk) verifier.update(bytes.subarray(i, i + chunk));
  return verifier.finish();
};

/** An event header: timestamp, type, server id, size, log_pos, flags. */
export const eventHeader = (h: { timestamp: number; type: number; serverId: number; size: number; logPos: number; flags: number }): Buffer => {
  const header = Buffer.alloc(19);
  header.writeUInt32LE(h.timestamp, 0);
  header.writeUInt8(h.type, 4);
  header.writeUInt32LE(h.serverId, 5);
  header.writeUInt32LE(h.size, 9);
  header.writeUInt32LE(h.logPos, 13);
  header.writeUInt16LE(h.flags, 17);
  return header;
};
