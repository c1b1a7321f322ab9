import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BinlogVerifier, type BinlogFacts } from '../../../../core/binlog/verify.js';
import { MysqlGtidSet } from '../../../../core/gtid.js';
import { REAL_BINLOGS } from '../../../helpers/fixtures.js';

interface Expected {
  server_version: string;
  checksum_alg: string;
  event_count: number;
  events_by_type: Record<string, number>;
  first_event_ts: string;
  last_event_ts: string;
  last_event_type: string;
  rotate: { next: string; pos: number } | null;
  crc_ok: number;
  crc_bad: number;
  log_pos_zero: number;
  server_ids: number[];
  previous_gtids: string[];
  mariadb_gtid_list: string[];
  mysql_gtid_count: number;
  mariadb_gtid_count: number;
  problems: string[];
  fde_in_use_flag: boolean;
  size: number;
}

const expected = JSON.parse(readFileSync(`${REAL_BINLOGS}expected.json`, 'utf8')) as Record<string, Expected>;

/** Verifies a file fed in chunks of the given size (1 byte proves events may split anywhere). */
const verify = (bytes: Buffer, chunk = 65_536): BinlogFacts => {
  const verifier = new BinlogVerifier();
  for (let i = 0; i < bytes.length; i += chunk) verifier.update(bytes.subarray(i, i + chunk));
  return verifier.finish();
};

const checksumName = (alg: string): string => (alg.startsWith('none') ? 'NONE' : alg);

describe('BinlogVerifier on the real binlogs of MySQL 5.0–9.6 and MariaDB 10.0–11.8', () => {
  it('has all 27 fixtures', () => {
    expect(Object.keys(expected)).toHaveLength(27);
  });

  describe.each(Object.keys(expected))('%s', (name) => {
    const want = expected[name] as Expected;
    const bytes = readFileSync(`${REAL_BINLOGS}${name}`);
    const facts = verify(bytes);

    it('reads the header facts, counts and times as expected', () => {
      expect(facts).toMatchObject({
        size: want.size,
        serverVersion: want.server_version,
        checksum: checksumName(want.checksum_alg),
        events: want.event_count,
        eventsByType: want.events_by_type,
        firstEventTime: want.first_event_ts,
        lastEventTime: want.last_event_ts,
        lastEventType: want.last_event_type,
        crc: { ok: want.crc_ok, bad: want.crc_bad },
        logPosZero: want.log_pos_zero,
        serverIds: want.server_ids,
        inUse: want.fde_in_use_flag,
        mysqlGtidCount: want.mysql_gtid_count,
        mariadbGtidCount: want.mariadb_gtid_count,
      });
    });

    it('knows how the file ends and where it rotates to', () => {
      const truncated = want.problems.some((p) => p.startsWith('truncated'));
      const end = truncated ? 'cut' : want.last_event_type === 'ROTATE' ? 'rotate' : want.last_event_type === 'STOP' ? 'stop' : 'cut';
      expect(facts.end).toBe(end);
      expect(facts.rotate ? { next: facts.rotate.next, pos: facts.rotate.position } : null).toEqual(want.rotate);
      if (end === 'rotate') expect(facts.rotateTo).toBe(want.rotate?.next);
    });

    it('reads the previous GTIDs (PREVIOUS_GTIDS or GTID_LIST)', () => {
      const previous = want.mariadb_gtid_list.length > 0 ? want.mariadb_gtid_list : want.previous_gtids;
      if (want.mariadb_gtid_list.length > 0) expect(facts.previousGtids).toBe(previous[0]);
      else expect(MysqlGtidSet.parse(facts.previousGtids).equals(MysqlGtidSet.parse(previous[0] ?? ''))).toBe(true);
    });

    it('is sound exactly when the probe found no problem (a relay log’s master positions aside)', () => {
      if (facts.relayLog) {
        expect(facts.logPosMismatches.slice(0, want.problems.length)).toEqual(want.problems);
        expect(facts.problems).toEqual([]);
      } else {
        expect(facts.problems).toEqual(want.problems);
      }
    });

    it('gives the same facts whatever the chunking', () => {
      expect(verify(bytes, 1)).toEqual(facts);
      expect(verify(bytes, 7)).toEqual(facts);
    });
  });

  it('collects the GTIDs seen as a set in the server’s own form', () => {
    expect(verify(readFileSync(`${REAL_BINLOGS}mysql57-gtid-row-crc32-inuse.000001`)).gtids).toBe('10440e47-3885-11eb-ac5b-0242ac110002:6-22');
    expect(verify(readFileSync(`${REAL_BINLOGS}mysql96-tagged-gtid-crc32-rotate.000001`))).toMatchObject({
      gtids: '55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3',
      previousGtids: '55778904-0299-11f1-b1b8-4ef0c4956feb:1-13:mytag:1-2',
    });
    expect(verify(readFileSync(`${REAL_BINLOGS}mariadb118-gtid-stmt-crc32-rotate.000005`))).toMatchObject({
      gtids: '0-10-262667',
      mariadbFirstGtids: '0-10-262581',
      previousGtids: '0-10-262580',
    });
  });

  it('fails the truncated file with a clear reason', () => {
    const facts = verify(readFileSync(`${REAL_BINLOGS}mysql57-crc32-truncated-after-fde.000001`));
    expect(facts.problems).toEqual(['truncated header at 120: 9 bytes left']);
    expect(facts.end).toBe('cut');
  });
});
