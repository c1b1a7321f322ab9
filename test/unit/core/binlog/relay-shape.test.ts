import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventHeader, eventsOf, verifyBinlog } from '../../../helpers/binlog.js';
import { REAL_BINLOGS } from '../../../helpers/fixtures.js';

/**
 * A relay log as a MySQL 5.0–5.5 replica writes it. No server on this machine can write one
 * (MariaDB 10.11 sets the relay-log flag its FDE has had since MySQL 5.6), so it is built from a
 * real MySQL 5.0 binlog, the way the replica's I/O thread lays out what it receives:
 *
 *   4    the relay log's own FORMAT_DESCRIPTION event: the replica's server id, log_pos chaining
 *        in the relay log, and no LOG_EVENT_RELAY_LOG_F (that flag came with 5.6)
 *   98   a ROTATE from the master naming its file and position, log_pos 0 (it is in no file of
 *        the master's), timestamp 0, flagged artificial
 *   142  the master's events verbatim, its FORMAT_DESCRIPTION first: their log_pos are the
 *        master's positions, 44 + 94 bytes ahead of where they sit in the relay log
 */
const master = readFileSync(`${REAL_BINLOGS}mysql50-stmt-nochecksum-rotate.000001`);
const masterFde = master.subarray(4, 4 + master.readUInt32LE(4 + 9));

const relayFde = (): Buffer => {
  const fde = Buffer.from(masterFde);
  eventHeader({ timestamp: fde.readUInt32LE(0) + 5, type: 15, serverId: 2, size: fde.length, logPos: 4 + fde.length, flags: 0 }).copy(fde);
  return fde;
};

const masterRotate = (file: string, position: number): Buffer => {
  const body = Buffer.concat([Buffer.alloc(8), Buffer.from(file, 'latin1')]);
  body.writeBigUInt64LE(BigInt(position), 0);
  return Buffer.concat([eventHeader({ timestamp: 0, type: 4, serverId: 1, size: 19 + body.length, logPos: 0, flags: 0x20 }), body]);
};

const magic = master.subarray(0, 4);

describe('BinlogVerifier on a relay log written before MySQL 5.6 (no relay-log flag)', () => {
  const relay = Buffer.concat([magic, relayFde(), masterRotate('master-bin.000001', 4), master.subarray(4)]);

  it('knows it by its shape (own FDE, ROTATE with log_pos 0, the master’s FDE) and takes the master’s positions as such', () => {
    const facts = verifyBinlog(relay);

    expect(facts.problems).toEqual([]);
    expect(facts.relayLog).toBe(true);
    expect(facts.notes).toEqual([
      "relay log without the relay-log flag (written before MySQL 5.6): its own FDE, then the master's, whose positions follow",
      `relay log: ${eventsOf(master).length} events carry the master's positions`,
    ]);
    expect(facts.eventsByType).toMatchObject({ FORMAT_DESCRIPTION: 2, ROTATE: 2 });
    expect(facts.serverIds).toEqual([1, 2]);
  });

  it('gives the same verdict whatever the chunking', () => {
    expect(verifyBinlog(relay, 1)).toEqual(verifyBinlog(relay));
  });

  it('knows the 5.1 shape of a rotated relay log too: own FDE, then the master’s marked artificial with log_pos 0', () => {
    const artificial = Buffer.from(master.subarray(4));
    artificial.writeUInt32LE(0, 13); // log_pos of the master's FDE
    artificial.writeUInt16LE(0x20, 17); // LOG_EVENT_ARTIFICIAL_F
    const facts = verifyBinlog(Buffer.concat([magic, relayFde(), artificial]));

    expect(facts.problems).toEqual([]);
    expect(facts.relayLog).toBe(true);
  });

  it('still fails a file whose positions break without the whole shape: the mismatches are then damage', () => {
    // The ROTATE but not the master's FDE after it: nothing says the positions are another
    // server's, and every event after the ROTATE is 44 bytes from where its log_pos says.
    const afterFde = master.subarray(4 + masterFde.length);
    const facts = verifyBinlog(Buffer.concat([magic, relayFde(), masterRotate('master-bin.000001', 4), afterFde]));

    expect(facts.relayLog).toBe(false);
    expect(facts.problems[0]).toBe(`log_pos mismatch at 142 (QUERY): log_pos=${98 + afterFde.readUInt32LE(9)} expected ${142 + afterFde.readUInt32LE(9)}`);
    expect(facts.problemCount).toBe(eventsOf(master).length - 1);
  });
});
